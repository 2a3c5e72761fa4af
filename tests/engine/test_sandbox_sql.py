"""execute_sql: the renderer's SQL of six dialects, transpiled to DuckDB, gives the rows
execute_plan gives; "now" is one instant; the row cap, the timeout and the read-only guard."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import pytest

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.dialects import render
from lexiquery.engine.results import compare_results
from lexiquery.engine.sandbox import Sandbox, SandboxError
from lexiquery.errors import QueryError
from lexiquery.ir import QueryPlan

from .conftest import NOW

DIALECTS = ["postgres", "tsql", "snowflake", "bigquery", "mysql", "sqlite"]
KB = {"name": "kb", "expr": {"kind": "call", "fn": "div", "args": [
    {"kind": "field", "name": "bytes_out"}, {"kind": "literal", "value": 1000}]}}
PLANS: dict[str, dict[str, Any]] = {
    "failed_by_user_top": {
        "source": "signin_logs", "time_range": {"start": {"amount": 7, "unit": "day"}},
        "filters": [{"field": "result_code", "op": "ne", "value": "0"}],
        "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["user"]},
        "sort": [{"field": "event_count", "descending": True}], "limit": 3},
    "case_insensitive_in": {
        "source": "signin_logs",
        "filters": [{"field": "user", "op": "in", "value": ["ALICE@CONTOSO.COM", "Bob@contoso.com"]},
                    {"field": "app", "op": "contains", "value": "portal"}],
        "project": ["user", "src_ip"]},
    "having_by_app": {
        "source": "signin_logs",
        "aggregation": {"metrics": [{"fn": "count"}, {"fn": "last_seen"}], "group_by": ["app"]},
        "having": [{"field": "event_count", "op": "ge", "value": 5}]},
    "daily_bucket_since_midnight_3_days_ago": {
        "source": "signin_logs",
        "time_range": {"start": {"amount": 3, "unit": "day", "snap": "day"}},
        "aggregation": {"metrics": [{"fn": "count"}], "time_bucket": {"unit": "day"}},
        "sort": [{"field": "time"}]},
    "web_sum_sorted": {
        "source": "web_requests",
        "aggregation": {"metrics": [{"fn": "sum", "field": "bytes_out"},
                                    {"fn": "max", "field": "status"}], "group_by": ["host"]},
        "sort": [{"field": "total_bytes_out", "descending": True}]},
    "web_computed": {"source": "web_requests", "computed": [KB],
                     "filters": [{"field": "status", "op": "lt", "value": 500}],
                     "project": ["uri_path", "kb"], "sort": [{"field": "kb"}]},
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", list(PLANS))
def test_rendered_sql_gives_the_plans_rows(sandbox: Sandbox, catalog: Catalog, name: str,
                                           dialect: str) -> None:
    plan = QueryPlan.model_validate(PLANS[name])
    source = catalog.get(plan.source)
    expected = sandbox.execute_plan(plan, source)
    assert expected.rows, "the plan must select something for the comparison to mean anything"
    sql = render(plan, source, Platform.sql, sql_dialect=dialect)
    got = sandbox.execute_sql(sql, dialect, source)
    cmp = compare_results({"plan": expected, dialect: got})
    assert cmp.identical, "\n".join(cmp.differences) + "\n" + got.query


def test_binding_names_and_logical_names(sandbox: Sandbox, catalog: Catalog) -> None:
    got = sandbox.execute_sql("SELECT user_principal_name, COUNT(*) AS n FROM signin_logs "
                              "WHERE result_type <> '0' GROUP BY user_principal_name",
                              "postgres", catalog.get("signin_logs"))
    assert got.columns == ["user_principal_name", "n"]
    assert got.logical == ["user", "n"]
    assert dict(got.rows)["alice@contoso.com"] == 2


@pytest.mark.parametrize("dialect,sql", [
    ("postgres", "SELECT NOW() AS n"), ("tsql", "SELECT SYSUTCDATETIME() AS n"),
    ("tsql", "SELECT GETDATE() AS n"), ("mysql", "SELECT UTC_TIMESTAMP() AS n"),
    ("snowflake", "SELECT CURRENT_TIMESTAMP() AS n"), ("sqlite", "SELECT DATETIME('now') AS n"),
    ("bigquery", "SELECT CURRENT_TIMESTAMP() AS n"), ("clickhouse", "SELECT now() AS n")])
def test_now_is_the_sandbox_instant(sandbox: Sandbox, catalog: Catalog, dialect: str,
                                    sql: str) -> None:
    got = sandbox.execute_sql(sql, dialect, catalog.get("signin_logs")).normalised()
    assert got.rows[0][0].replace(tzinfo=timezone.utc) == NOW


def test_current_date_is_the_sandbox_day(sandbox: Sandbox, catalog: Catalog) -> None:
    got = sandbox.execute_sql("SELECT CURRENT_DATE AS d", "postgres", catalog.get("signin_logs"))
    assert got.rows == [(NOW.date(),)]


def test_every_builtin_source_loads(catalog: Catalog) -> None:
    with Sandbox(catalog, rows_per_source=300, now=NOW) as sb:
        for source in catalog:
            assert source.bindings.sql is not None, source.id
            got = sb.execute_sql(f"SELECT COUNT(*) AS n FROM {source.bindings.sql.table}",
                                 "postgres", source)
            assert got.rows == [(300,)], source.id
            plan = QueryPlan(source=source.id)
            assert len(sb.execute_plan(plan, source).rows) == 300


def test_row_cap_truncates(catalog: Catalog) -> None:
    source = catalog.get("signin_logs")
    with Sandbox(catalog, rows_per_source=50, row_cap=7, now=NOW) as sb:
        capped = sb.execute_plan(QueryPlan(source="signin_logs"), source)
        assert len(capped.rows) == 7 and capped.truncated
        limited = sb.execute_plan(QueryPlan(source="signin_logs", limit=5), source)
        assert len(limited.rows) == 5 and not limited.truncated
        exact = sb.execute_plan(QueryPlan(source="signin_logs", limit=7), source)
        assert len(exact.rows) == 7 and not exact.truncated
        text = sb.execute_sql("SELECT * FROM signin_logs UNION ALL SELECT * FROM signin_logs",
                              "postgres", source)
        assert len(text.rows) == 7 and text.truncated


def test_timeout_interrupts_a_slow_query(catalog: Catalog) -> None:
    source = catalog.get("signin_logs")
    with Sandbox(catalog, rows_per_source=2000, timeout_s=0.3, now=NOW) as sb:
        sb.table(source)
        start = time.perf_counter()
        with pytest.raises(SandboxError) as err:  # 2000^3 = 8e9 rows: minutes, not 0.3 s
            sb.execute_sql("SELECT COUNT(*) FROM signin_logs a, signin_logs b, signin_logs c "
                           "WHERE a.user_principal_name || b.user_principal_name <> "
                           "c.user_principal_name", "postgres", source)
        assert err.value.code == "timeout"
        assert "0.3 s" in err.value.message
        assert time.perf_counter() - start < 10
        # the connection is usable afterwards, and a fast query is not interrupted
        assert sb.execute_sql("SELECT COUNT(*) AS n FROM signin_logs", "postgres",
                              source).rows == [(2000,)]


@pytest.mark.parametrize("sql", ["DELETE FROM signin_logs", "DROP TABLE signin_logs",
                                 "SELECT 1; DELETE FROM signin_logs"])
def test_only_select_runs(sandbox: Sandbox, catalog: Catalog, sql: str) -> None:
    with pytest.raises(QueryError) as err:
        sandbox.execute_sql(sql, "postgres", catalog.get("signin_logs"))
    assert err.value.code == "read_only"


def test_files_are_out_of_reach(sandbox: Sandbox, catalog: Catalog) -> None:
    # refused before DuckDB sees it (more cases: test_sandbox_escape.py)
    with pytest.raises(QueryError) as err:
        sandbox.execute_sql("SELECT * FROM read_csv('/etc/hostname')", "duckdb",
                            catalog.get("signin_logs"))
    assert err.value.code == "read_only"


def test_syntax_error_has_a_position(sandbox: Sandbox, catalog: Catalog) -> None:
    with pytest.raises(QueryError) as err:
        sandbox.execute_sql("SELECT FROM WHERE (", "postgres", catalog.get("signin_logs"))
    assert err.value.line == 1 and err.value.column is not None


def test_schema_qualified_binding(catalog: Catalog) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from dialects.cases import TEST_SOURCE  # sec.test_events, a source no profile knows

    cat = Catalog([*catalog, TEST_SOURCE])
    with Sandbox(cat, rows_per_source=100, now=NOW) as sb:
        got = sb.execute_sql('SELECT COUNT(*) AS n FROM sec.test_events WHERE "time" <= NOW()',
                             "postgres", TEST_SOURCE)
        assert got.rows == [(100,)]
        now_rows = sb.execute_plan(QueryPlan(source="events", time_range={
            "start": {"amount": 30, "unit": "day"}}), TEST_SOURCE)
        assert len(now_rows.rows) == 100  # every sample time is within 30 days before now


def test_unknown_dialect(sandbox: Sandbox, catalog: Catalog) -> None:
    from lexiquery.errors import DialectError

    with pytest.raises(DialectError, match="supported"):
        sandbox.execute_sql("SELECT 1", "oracle9", catalog.get("signin_logs"))


def test_same_sandbox_same_now(catalog: Catalog) -> None:
    with Sandbox(catalog, rows_per_source=10) as sb:
        src = catalog.get("signin_logs")
        first = sb.execute_sql("SELECT NOW() AS n", "postgres", src).rows
        time.sleep(0.01)
        assert sb.execute_sql("SELECT NOW() AS n", "postgres", src).rows == first
        assert first[0][0] <= datetime.now(timezone.utc)
