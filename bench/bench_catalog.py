"""Benchmark: the catalog at workspace scale — reference packs, big schema imports, linking.

    .venv/bin/python bench/bench_catalog.py [--rounds N] [--sizes 100,1000,5000]

Prints, in one run (ratios against the curated-only catalog of the same run):

1. catalog load (built-ins + the three reference packs) and the first link-index build, cold
   (no disk cache) and from the disk cache;
2. warm in-process journey p50/p95 (`lexiquery.ask`, every platform, sample check on) over the
   golden questions, with the reference packs on the shelves vs the 13 curated sources only
   (target: p50 ≤ 20 ms with the packs);
3. a cold `lexiquery ask` process, with and without the packs (target ≤ 1.0 s);
4. growth with synthetic Kusto schema imports of N tables × 28 columns: import, load,
   question-parse p50/p95 and the resident memory the catalog adds.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_ask import _pct, golden_questions  # noqa: E402


def _ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:.1f} ms · p95 {_pct(values, 95) * 1000:.1f} ms"


def bench_load(tmp: Path) -> None:
    from lexiquery.catalog import reference
    from lexiquery.catalog.store import load_catalog
    from lexiquery.nl import linker

    t = time.perf_counter()
    cat = load_catalog(None)
    load = time.perf_counter() - t
    os.environ["LEXIQUERY_CACHE_DIR"] = str(tmp / "cache")
    t = time.perf_counter()
    for shelf in cat.shelves:
        linker.link_index(shelf)  # type: ignore[arg-type]
    built = time.perf_counter() - t
    linker._MEMORY.clear()
    t = time.perf_counter()
    for shelf in cat.shelves:
        linker.link_index(shelf)  # type: ignore[arg-type]
    cached = time.perf_counter() - t
    t = time.perf_counter()
    load_catalog(None, reference=False)
    curated = time.perf_counter() - t
    n = sum(len(s) for s in cat.shelves)
    print(f"catalog load with {n} shelf tables: {load * 1000:.0f} ms (packs parsed once per "
          f"process; curated only, warm: {curated * 1000:.1f} ms)")
    print(f"link index: built {built * 1000:.0f} ms · from the disk cache {cached * 1000:.0f} ms "
          f"({built / max(cached, 1e-9):.1f}x)")
    del reference


def bench_journeys(rounds: int) -> None:
    from functools import partial

    from lexiquery.catalog.store import load_user_catalog
    from lexiquery.config import get_settings
    from lexiquery.engine.execute import make_sandbox
    from lexiquery.errors import LexiQueryError
    from lexiquery.orchestrator import ask as _ask

    results = {}
    for label, packs in (("curated only", False), ("with reference packs", True)):
        settings = get_settings(data_dir=Path(tempfile.mkdtemp()), reference_packs=packs)
        catalog = load_user_catalog(settings)
        ask = partial(_ask, sandbox=make_sandbox(catalog, settings), catalog=catalog,
                      settings=settings, store=False, sop=False)
        questions = golden_questions()
        for q in questions:
            try:
                ask(q)
            except LexiQueryError:
                pass
        times: list[float] = []
        for _ in range(rounds):
            for q in questions:
                t = time.perf_counter()
                try:
                    ask(q)
                except LexiQueryError:
                    pass
                times.append(time.perf_counter() - t)
        results[label] = times
        print(f"warm journey, 3 platforms, sample check on, {label}: {_ms(times)} "
              f"({len(questions)} questions × {rounds})")
    ratio = statistics.median(results["with reference packs"]) / \
        statistics.median(results["curated only"])
    print(f"  ratio with/without packs: {ratio:.2f}x")


def bench_cold(tmp: Path) -> None:
    exe = str(Path(sys.executable).with_name("lexiquery"))
    for label, packs in (("curated only", "false"), ("with reference packs", "true")):
        env = {**os.environ, "LEXIQUERY_DATA_DIR": str(tmp / f"cold-{packs}"),
               "LEXIQUERY_REFERENCE_PACKS": packs, "LEXIQUERY_LLM": "rules"}
        env.pop("LEXIQUERY_CACHE_DIR", None)
        times = []
        for i in range(4):
            t = time.perf_counter()
            subprocess.run([exe, "ask", "failed sign-ins by user in the last 24 hours",
                            "--no-sop"], env=env, capture_output=True, check=False)
            if i:  # the first run writes the link-index cache
                times.append(time.perf_counter() - t)
        print(f"cold `lexiquery ask` process, {label}: {statistics.median(times):.2f} s")


def _schema(n: int, path: Path) -> None:
    words = ["Device", "Network", "Process", "Registry", "File", "Logon", "Audit", "Vpn",
             "Proxy", "Dns", "Mail", "Cloud", "Identity", "Alert", "Firewall", "Web"]
    tables = {}
    for i in range(n):
        name = f"{words[i % 16]}{words[(i // 16) % 16]}Events{i}_CL"
        cols = [{"Name": "TimeGenerated", "CslType": "datetime"}] + [
            {"Name": f"{words[(i + j) % 16]}{words[j % 16]}Name{j}_s", "CslType": "string"}
            for j in range(27)]
        tables[name] = {"Name": name, "OrderedColumns": cols}
    path.write_text(json.dumps({"Databases": {"ws": {"Name": "ws", "Tables": tables}}}))


def _rss_mib() -> float:
    """The process's resident memory now (Linux), in MiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        line = next(ln for ln in f if ln.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def bench_scale(sizes: list[int], tmp: Path) -> None:
    from lexiquery.catalog.importers import import_file
    from lexiquery.catalog.store import load_catalog, save_imported
    from lexiquery.nl.rules import parse_question

    qs = ["failed vpn logons by user in the last day", "top 10 devices by process events",
          "registry events where name0 is run", "count of proxy events by web name"]
    for n in sizes:
        gc.collect()
        rss0 = _rss_mib()
        path = tmp / f"ws{n}.json"
        _schema(n, path)
        cdir = tmp / f"cat{n}"
        t = time.perf_counter()
        save_imported(import_file(path), cdir, name=f"ws{n}")
        imp = time.perf_counter() - t
        t = time.perf_counter()
        cat = load_catalog(cdir)
        load = time.perf_counter() - t
        parse_question(qs[0], cat)  # builds the catalog index once
        times = []
        for _ in range(5):
            for q in qs:
                t = time.perf_counter()
                try:
                    parse_question(q, cat)
                except Exception:  # noqa: BLE001 — an unanswerable question still costs time
                    pass
                times.append(time.perf_counter() - t)
        rss = _rss_mib() - rss0
        print(f"{n:>5} imported tables: import {imp:.2f} s · load {load:.2f} s · "
              f"parse {_ms(times)} · resident memory +{rss:.0f} MiB")
        del cat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="100,1000,5000")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["LEXIQUERY_DATA_DIR"] = str(tmp / "data")
        bench_load(tmp)
        bench_journeys(args.rounds)
        bench_cold(tmp)
        bench_scale([int(s) for s in args.sizes.split(",") if s], tmp)


if __name__ == "__main__":
    main()
