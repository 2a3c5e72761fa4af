"""Results are capped in bytes next to rows: wide values stop the reading early, the result says
it was cut and by which cap, and the reading holds no more than about the cap in memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from typing import Any

import pytest

from lexiquery.catalog.model import Catalog
from lexiquery.config import Settings
from lexiquery.engine.result_cap import cell_bytes, fetch_capped
from lexiquery.engine.results import ResultSet, compare_results
from lexiquery.engine.sandbox import Sandbox
from lexiquery.ir import QueryPlan

NOW = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)


class FakeCursor:
    """`fetchmany` over a list of rows, recording the batch sizes asked for."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.asked: list[int] = []

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        self.asked.append(size)
        out, self.rows = self.rows[:size], self.rows[size:]
        return out


def test_cell_bytes_counts_values_not_python_overhead() -> None:
    assert cell_bytes("abc") == 3 and cell_bytes(b"ab") == 2
    assert cell_bytes(None) == cell_bytes(7) == cell_bytes(NOW) == 8
    assert cell_bytes(["ab", "cd"]) == 4 + 8
    assert cell_bytes({"k": "vv"}) == 3 + 8
    assert cell_bytes(("x" * 10, 1)) == 10 + 8 + 8


def test_fetch_stops_at_the_row_cap() -> None:
    rows, why = fetch_capped(FakeCursor([(i,) for i in range(11)]), 10, 10**9)
    assert len(rows) == 10 and why == "rows"
    rows, why = fetch_capped(FakeCursor([(i,) for i in range(10)]), 10, 10**9)
    assert len(rows) == 10 and why is None


def test_fetch_stops_before_the_row_that_passes_the_byte_cap() -> None:
    cur = FakeCursor([("x" * 100,)] * 50)
    rows, why = fetch_capped(cur, 1000, 1000)
    assert why == "bytes" and len(rows) == 9  # 9 × (100 + 8) = 972; a 10th makes 1080


def test_huge_values_are_read_one_row_at_a_time() -> None:
    cur = FakeCursor([("x" * 1_000_000,)] * 200)
    rows, why = fetch_capped(cur, 10_000, 16 * 1024 * 1024)
    assert why == "bytes" and len(rows) == 16
    assert max(cur.asked) <= 4  # never a batch of many megabyte rows


def test_small_rows_are_read_in_large_batches() -> None:
    cur = FakeCursor([(i, "ab") for i in range(5000)])
    rows, why = fetch_capped(cur, 10_000, 16 * 1024 * 1024)
    assert len(rows) == 5000 and why is None
    assert len(cur.asked) < 15


def test_the_sandbox_marks_a_result_cut_by_bytes(catalog: Catalog) -> None:
    source = catalog.get("signin_logs")
    with Sandbox(catalog, rows_per_source=100, now=NOW, result_max_bytes=50_000) as sb:
        wide = sb.execute_sql("SELECT repeat('x', 10000) AS big FROM signin_logs", "duckdb",
                              source)
        assert wide.truncated and wide.truncated_by == "bytes"
        assert 0 < len(wide.rows) <= 5
        narrow = sb.execute_plan(QueryPlan(source="signin_logs"), source)
        assert len(narrow.rows) == 100 and not narrow.truncated and narrow.truncated_by is None
    with Sandbox(catalog, rows_per_source=100, now=NOW, row_cap=7) as sb:
        capped = sb.execute_plan(QueryPlan(source="signin_logs"), source)
        assert capped.truncated and capped.truncated_by == "rows" and len(capped.rows) == 7


def test_a_comparison_says_which_cap_cut_a_result() -> None:
    a = ResultSet(["n"], [(1,)], truncated=True, truncated_by="bytes")
    b = ResultSet(["n"], [(1,)])
    notes = compare_results({"kql": a, "spl": b}).notes
    assert any("byte cap" in n for n in notes)


def test_the_setting_reaches_the_sandbox(monkeypatch: pytest.MonkeyPatch,
                                         catalog: Catalog) -> None:
    from lexiquery.engine.execute import make_sandbox

    monkeypatch.setenv("LEXIQUERY_RESULT_MAX_BYTES", "4096")
    box = make_sandbox(catalog, Settings())
    try:
        assert box.result_max_bytes == 4096
    finally:
        box.close()


@pytest.mark.slow
def test_200_rows_of_a_megabyte_stay_far_below_a_gigabyte() -> None:
    """The probe's case: 200 rows × 1 MB reached 1.09 GB RSS. Now 16 rows are read, and what
    remains is DuckDB computing its one batch (~200 MB) and the interpreter itself."""
    script = textwrap.dedent("""
        import resource
        from lexiquery.catalog.builtin import builtin_catalog
        from lexiquery.engine.sandbox import Sandbox
        cat = builtin_catalog()
        with Sandbox(cat, rows_per_source=2000) as sb:
            r = sb.execute_sql("SELECT repeat('x', 1000000) AS big FROM signin_logs LIMIT 200",
                               "duckdb", cat.get("signin_logs"))
        print(len(r.rows), r.truncated_by, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out[:2] == ["16", "bytes"]
    assert int(out[2]) < 600 * 1024  # KiB: well under the 1.09 GB seen before


def test_run_says_the_byte_cap_cut_the_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from lexiquery.operations import run_query
    from lexiquery.render.ops import print_run

    monkeypatch.setenv("LEXIQUERY_RESULT_MAX_BYTES", "4096")
    monkeypatch.setenv("LEXIQUERY_SAMPLE_ROWS", "50")
    result = run_query("SELECT repeat('x', 1000) AS big FROM signin_logs", "sql",
                       sql_dialect="duckdb")
    assert result.truncated and result.truncated_by == "bytes" and len(result.rows) == 4
    console = Console(record=True, width=200)
    print_run(result, console=console)
    assert "byte cap was reached: raise LEXIQUERY_RESULT_MAX_BYTES" in console.export_text()
