"""Benchmark: in-process `ask` latency over the golden questions, and CLI start-up time.

    .venv/bin/python bench/bench_ask.py [--rounds N]

Prints p50/p95 of `lexiquery.ask` (all three platforms, journeys not stored, catalog loaded once)
without and with the sample check (round trip + execution of every query in one shared DuckDB
sandbox, issue 3) and their ratio, and `lexiquery --help` as a fresh process. Targets (issue 2):
ask p50 < 20 ms without the check, start-up < 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def golden_questions() -> list[str]:
    sys.path.insert(0, str(ROOT / "tests" / "nl"))
    from questions import QUESTIONS  # type: ignore[import-not-found]

    return [q for q, _ in QUESTIONS]


def bench_ask(rounds: int, sample_check: bool) -> dict[str, float]:
    from functools import partial

    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError
    from lexiquery.engine.execute import make_sandbox
    from lexiquery.orchestrator import ask as _ask
    from lexiquery.catalog.store import load_user_catalog as load_catalog

    settings = get_settings(data_dir=Path(tempfile.mkdtemp()), sample_check=sample_check)
    catalog = load_catalog(settings)
    ask = partial(_ask, sandbox=make_sandbox(catalog, settings) if sample_check else None)
    questions = golden_questions()
    for q in questions:  # warm caches (catalog indexes, sqlglot) once, as a long-lived process
        try:
            ask(q, catalog=catalog, settings=settings, store=False)
        except LexiQueryError:
            pass
    answered = 0
    for q in questions:
        try:
            answered += bool(ask(q, catalog=catalog, settings=settings, store=False).queries)
        except LexiQueryError:
            pass
    times: list[float] = []
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            try:
                ask(q, catalog=catalog, settings=settings, store=False)
            except LexiQueryError:
                pass
            times.append((time.perf_counter() - t0) * 1000)
    return {"questions": len(questions), "answered": answered, "calls": len(times), "p50_ms": _pct(times, 50),
            "p95_ms": _pct(times, 95), "mean_ms": statistics.fmean(times)}


def bench_cold_ask(runs: int = 5) -> dict[str, float]:
    """`lexiquery ask --json` as a fresh process: what a user waits for at the prompt."""
    exe = Path(sys.executable).with_name("lexiquery")
    env = {**os.environ, "LEXIQUERY_DATA_DIR": tempfile.mkdtemp()}
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "ask", "--json", "top 10 users with failed sign-ins in the "
                        "last 24 hours"], check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return {"p50_s": _pct(times, 50), "p95_s": _pct(times, 95)}


def bench_startup(runs: int = 10) -> dict[str, float]:
    exe = Path(sys.executable).with_name("lexiquery")
    cmd = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "lexiquery.cli",
                                                     "--help"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env={**os.environ})
        times.append(time.perf_counter() - t0)
    # Baseline in the same run: a bare interpreter start, to show what is ours.
    base = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append(time.perf_counter() - t0)
    return {"p50_s": _pct(times, 50), "p95_s": _pct(times, 95),
            "python_bare_p50_s": _pct(base, 50),
            "ratio_to_bare_python": _pct(times, 50) / _pct(base, 50)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="passes over the questions")
    args = ap.parse_args()
    a = bench_ask(args.rounds, sample_check=False)
    print(f"ask without sample check (kql+spl+sql, {a['questions']} golden questions x "
          f"{args.rounds} rounds = {a['calls']} calls): p50 {a['p50_ms']:.2f} ms  "
          f"p95 {a['p95_ms']:.2f} ms  mean {a['mean_ms']:.2f} ms   target p50 < 20 ms  "
          f"({a['answered']} of {a['questions']} answered with queries)")
    b = bench_ask(max(1, args.rounds // 5), sample_check=True)
    print(f"ask with sample check (round trip + DuckDB execution of every query, shared "
          f"sandbox, {b['calls']} calls): p50 {b['p50_ms']:.2f} ms  p95 {b['p95_ms']:.2f} ms  "
          f"ratio p50 {b['p50_ms'] / a['p50_ms']:.1f}x the unchecked ask")
    c = bench_cold_ask()
    print(f"lexiquery ask as a fresh process (import, catalog, answer, store): "
          f"p50 {c['p50_s']:.3f} s  p95 {c['p95_s']:.3f} s")
    s = bench_startup()
    print(f"lexiquery --help start-up: p50 {s['p50_s']:.3f} s  p95 {s['p95_s']:.3f} s  "
          f"(bare python {s['python_bare_p50_s']:.3f} s, ratio {s['ratio_to_bare_python']:.1f}x)"
          f"   target < 0.5 s")


if __name__ == "__main__":
    main()
