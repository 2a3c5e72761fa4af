"""Benchmark: parse, validate and execute latency per query language, and sample-data speed.

    .venv/bin/python bench/bench_parse.py [--rounds N]

The golden queries are the rendered text of every plan in `tests/dialects/cases.py` (KQL, SPL and
SQL in the postgres dialect) plus the hand-written queries in `tests/dialects/kql_queries.py`,
`spl_queries.py` and `sql_queries.py` where those files exist. Per language it prints p50/p95 of

* parse only (`lexiquery.dialects.parse`), and
* parse + validate (`agents.validator.check_names` and `validate_query`) + execute in the DuckDB
  sandbox (SQL as written, KQL and SPL through the plan they parse to, with their semantics),

and the sample-data generator's rows per second over the built-in catalog. Queries that do not
parse or run (a hand-written query may be an error case on purpose) are counted, not timed.
Always exits 0: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("kql", "spl", "sql")


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")


def hand_written(lang: str) -> tuple[list[tuple[str, str]], list[Any]]:
    """(text, sql dialect) pairs from `tests/dialects/<lang>_queries.py`, and the extra sources
    that module defines; ([], []) when it is absent or cannot be imported yet.

    Shapes read: ``QUERIES = {name: (text, plan)}`` (KQL, SPL) and ``GOLDEN_QUERIES = {name:
    {"dialect": …, "sql": text, "plan": …}}`` (SQL)."""
    path = ROOT / "tests" / "dialects" / f"{lang}_queries.py"
    if not path.exists():
        return [], []
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        mod = importlib.import_module(f"dialects.{lang}_queries")
    except Exception as e:  # a file being written right now: report, do not crash
        print(f"  (skipped {path.name}: {type(e).__name__}: {e})")
        return [], []
    from lexiquery.catalog.model import Source

    out: list[tuple[str, str]] = []
    for entry in getattr(mod, "QUERIES", {}).values():
        if isinstance(entry, tuple) and entry and isinstance(entry[0], str):
            out.append((entry[0], "postgres"))
    for entry in getattr(mod, "GOLDEN_QUERIES", {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("sql"), str):
            out.append((entry["sql"], str(entry.get("dialect", "postgres"))))
    extra = [v for v in vars(mod).values() if isinstance(v, Source)]
    return out, extra


def rendered_goldens() -> dict[str, list[tuple[str, str]]]:
    """The rendered text of every golden plan per language (postgres for SQL)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from dialects.cases import CASES, SOURCES, plan_body  # type: ignore[import-not-found]

    from lexiquery.catalog.model import Platform
    from lexiquery.dialects import render
    from lexiquery.errors import PlanError
    from lexiquery.ir import QueryPlan

    out: dict[str, list[tuple[str, str]]] = {lang: [] for lang in LANGS}
    for case in CASES:
        plan = QueryPlan.model_validate(plan_body(case))
        for lang in LANGS:
            try:
                out[lang].append((render(plan, SOURCES[plan.source], Platform(lang)), "postgres"))
            except PlanError:
                pass
    return out


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def bench_language(lang: str, queries: list[tuple[str, str]], catalog: Any, box: Any,
                   rounds: int) -> dict[str, Any]:
    from lexiquery.dialects.name_check import check_names
    from lexiquery.agents.validator import validate_query
    from lexiquery.catalog.model import Platform
    from lexiquery.dialects import parse
    from lexiquery.errors import LexiQueryError

    platform = Platform(lang)

    def full(text: str, dialect: str) -> None:
        parsed = parse(text, platform, catalog, sql_dialect=dialect)
        check_names(parsed.plan, parsed.source, platform)
        validate_query(parsed.plan, parsed.source, platform, text, sql_dialect=dialect)
        if platform is Platform.sql:
            box.execute_sql(text, dialect, parsed.source)
        else:
            box.execute_plan(parsed.plan, parsed.source, semantics=platform)

    parse_ok, run_ok, failures = [], [], []
    for text, dialect in queries:  # sort out once which queries parse and which run
        try:
            parse(text, platform, catalog, sql_dialect=dialect)
        except LexiQueryError:
            continue
        parse_ok.append((text, dialect))
        try:
            full(text, dialect)
            run_ok.append((text, dialect))
        except LexiQueryError as e:
            failures.append(f"{type(e).__name__}: {e.message[:80]}")
    parse_ms = [_timed(lambda: parse(t, platform, catalog, sql_dialect=d))
                for _ in range(rounds) for t, d in parse_ok]
    full_ms = [_timed(lambda: full(t, d)) for _ in range(rounds) for t, d in run_ok]
    return {"queries": len(queries), "parsed": len(parse_ok), "ran": len(run_ok),
            "parse_p50": _pct(parse_ms, 50), "parse_p95": _pct(parse_ms, 95),
            "full_p50": _pct(full_ms, 50), "full_p95": _pct(full_ms, 95),
            "failures": failures}


def bench_sample_data(rows: int) -> tuple[int, float]:
    """(rows generated, rows per second) over every built-in source."""
    from lexiquery.catalog.builtin import builtin_catalog
    from lexiquery.engine.sample_data import generate_rows

    catalog = builtin_catalog()
    now = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
    t0 = time.perf_counter()
    total = 0
    for source in catalog:
        total += len(generate_rows(source, rows, seed=0, now=now))
    return total, total / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="passes over the queries")
    ap.add_argument("--rows", type=int, default=2000, help="sample rows per source")
    args = ap.parse_args()

    from lexiquery.catalog.builtin import builtin_catalog
    from lexiquery.catalog.model import Catalog

    sys.path.insert(0, str(ROOT / "tests"))
    from dialects.cases import TEST_SOURCE  # type: ignore[import-not-found]

    hand = {lang: hand_written(lang) for lang in LANGS}
    extra = [src for _, sources in hand.values() for src in sources]
    catalog = Catalog([*builtin_catalog(), TEST_SOURCE, *extra])
    try:
        from lexiquery.engine.sandbox import Sandbox

        box = Sandbox(catalog, rows_per_source=args.rows, seed=0)
    except ImportError as e:
        print(f"sandbox not available ({e}): nothing to execute on")
        return 0
    goldens = rendered_goldens()
    print(f"{'language':<9}{'queries':>8}{'parsed':>8}{'ran':>6}  "
          f"{'parse p50':>10}{'p95':>8}  {'parse+validate+execute p50':>27}{'p95':>8}   (ms)")
    notes: list[str] = []
    for lang in LANGS:
        queries = list(dict.fromkeys(goldens[lang] + hand[lang][0]))
        try:
            r = bench_language(lang, queries, catalog, box, args.rounds)
        except ImportError as e:
            print(f"{lang:<9}parser not available: {e}")
            continue
        print(f"{lang:<9}{r['queries']:>8}{r['parsed']:>8}{r['ran']:>6}  "
              f"{r['parse_p50']:>10.2f}{r['parse_p95']:>8.2f}  {r['full_p50']:>27.2f}"
              f"{r['full_p95']:>8.2f}")
        notes += [f"  {lang}: {f}" for f in r["failures"][:3]]
    if notes:
        print("parsed but did not run (first three per language):", *notes, sep="\n")
    try:
        total, rate = bench_sample_data(args.rows)
        print(f"sample data: {total} rows over the built-in catalog, {rate:,.0f} rows/s")
    except ImportError as e:
        print(f"sample data generator not available: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
