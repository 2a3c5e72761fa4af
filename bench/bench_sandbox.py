"""Benchmark: sample-data generation, table loading and plan execution in the DuckDB sandbox.

    .venv/bin/python bench/bench_sandbox.py [--rows N] [--rounds N]

Prints generation throughput (rows/s, best of `--rounds`) per built-in source and overall
(target: >= 100k rows/s for a typical source), the time to create and fill every built-in
source's table at the sandbox's default 2,000 rows, and execute_plan p50/p95 over the golden
plans of `tests/dialects/cases.py` (the built-in sign-in source and the test source, each with
SQL, KQL and SPL semantics). Run it on an otherwise idle machine: the figures are CPU-bound.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def bench_generation(rows: int, rounds: int) -> None:
    from lexiquery.catalog.builtin import builtin_catalog
    from lexiquery.engine.sample_data import generate_rows

    total_rows, total_wall, total_cpu = 0, 0.0, 0.0
    print(f"sample-data generation (generate_rows), {rows} rows, best of {rounds}; wall clock "
          f"and CPU time of this process (they differ when other processes share the cores):")
    for source in builtin_catalog():
        runs = [_timed(lambda: generate_rows(source, rows, now=NOW)) for _ in range(rounds)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        total_rows += rows
        total_wall += wall
        total_cpu += cpu
        print(f"  {source.id:26s} {rows / wall:>10,.0f} rows/s wall {rows / cpu:>10,.0f} "
              f"rows/s cpu  ({len(source.fields)} fields)")
    print(f"  {'overall':26s} {total_rows / total_wall:>10,.0f} rows/s wall "
          f"{total_rows / total_cpu:>10,.0f} rows/s cpu")


def _timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def bench_load() -> None:
    from lexiquery.catalog.builtin import builtin_catalog
    from lexiquery.engine.sandbox import Sandbox

    catalog = builtin_catalog()
    with Sandbox(catalog, now=NOW) as sb:
        start = time.perf_counter()
        for source in catalog:
            sb.table(source)
        elapsed = time.perf_counter() - start
    print(f"table load: {len(catalog)} built-in sources x {sb.rows_per_source} rows "
          f"(generate + insert) in {elapsed * 1000:.0f} ms, "
          f"{elapsed * 1000 / len(catalog):.1f} ms per source")


def bench_plans(rounds: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from dialects.cases import CASES, SOURCES, plan_body  # type: ignore[import-not-found]

    from lexiquery.catalog.builtin import builtin_catalog
    from lexiquery.catalog.model import Platform
    from lexiquery.engine.sandbox import Sandbox
    from lexiquery.errors import LexiQueryError
    from lexiquery.ir import QueryPlan

    catalog = builtin_catalog()
    catalog.add(SOURCES["events"])
    plans = [(QueryPlan.model_validate(plan_body(n)), SOURCES[plan_body(n)["source"]])
             for n in CASES]
    times: dict[str, list[float]] = {"sql": [], "kql": [], "spl": []}
    failed = 0
    with Sandbox(catalog, now=NOW) as sb:
        for _, source in plans:
            sb.table(source)  # loading is measured above, not here
        for _ in range(rounds):
            for plan, source in plans:
                for label, semantics in (("sql", None), ("kql", Platform.kql),
                                         ("spl", Platform.spl)):
                    start = time.perf_counter()
                    try:
                        sb.execute_plan(plan, source, semantics=semantics)
                    except LexiQueryError:
                        failed += 1
                        continue
                    times[label].append((time.perf_counter() - start) * 1000)
    print(f"execute_plan over {len(plans)} golden plans x {rounds} rounds (2,000 rows):")
    for label, values in times.items():
        print(f"  {label} semantics: p50 {statistics.median(values):.2f} ms, "
              f"p95 {_pct(values, 95):.2f} ms  ({len(values)} runs)")
    if failed:
        print(f"  ({failed} runs raised a plan error: features the SQL renderer lacks)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    bench_generation(args.rows, args.rounds)
    bench_load()
    bench_plans(args.rounds)


if __name__ == "__main__":
    main()
