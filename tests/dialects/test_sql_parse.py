"""SQL → QueryPlan: the round trip over every golden plan and SQL dialect, and the golden
hand-written queries of `sql_queries.py`.

Round trip: `render(plan, sql_dialect=d)` read back with `parse_sql(text, dialect=d)` is the
same plan (`roundtrip.same_plan` with `platform=sql`, which also removes the shape SQL gives a
plan: inlined computed fields, hidden metrics, output order), with no unsupported issue and the
same source.
"""

from __future__ import annotations

from typing import Any

import pytest

from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects import SQL_DIALECTS, render
from lexiquery.dialects.roundtrip import plan_diff, same_plan
from lexiquery.dialects.sql.parse import parse_sql
from lexiquery.errors import PlanError
from lexiquery.ir import QueryPlan

from .cases import CASES, SIGNIN, SOURCES, TEST_SOURCE, plan_body
from .sql_queries import GOLDEN_QUERIES, builtin_catalog

CATALOG = Catalog([TEST_SOURCE, SIGNIN])


def _equivalent(got: QueryPlan, expected: QueryPlan, source: Source) -> tuple[bool, list[str]]:
    return (same_plan(got, expected, source, platform=Platform.sql),
            plan_diff(expected, got, source, platform=Platform.sql))


def _roundtrip_params() -> list[Any]:
    return [pytest.param(case, d, id=f"{case}-{d}") for case in CASES for d in SQL_DIALECTS]


@pytest.mark.parametrize(("case", "dialect"), _roundtrip_params())
def test_rendered_sql_reads_back_as_the_same_plan(case: str, dialect: str) -> None:
    plan = QueryPlan.model_validate(plan_body(case))
    source = SOURCES[plan.source]
    try:
        text = render(plan, source, Platform.sql, sql_dialect=dialect)
    except PlanError:
        pytest.skip(f"{case} cannot be written in {dialect}")
    parsed = parse_sql(text, CATALOG, dialect=dialect)
    assert parsed.source.id == plan.source
    assert not parsed.unsupported, [i.message for i in parsed.unsupported]
    ok, diff = _equivalent(parsed.plan, plan, source)
    assert ok, f"{dialect}:\n{text}\n" + "\n".join(diff)


def test_the_equivalence_used_here_can_fail() -> None:
    """The extra normalisation must not hide real differences."""
    a = QueryPlan.model_validate({"source": "events", "filters": [
        {"field": "user", "op": "eq", "value": "Alice", "case_sensitive": True}]})
    b = QueryPlan.model_validate({"source": "events", "filters": [
        {"field": "user", "op": "eq", "value": "alice", "case_sensitive": True}]})
    assert not _equivalent(a, b, TEST_SOURCE)[0]
    kb = {"name": "kb", "expr": {"kind": "call", "fn": "div", "args": [
        {"kind": "field", "name": "bytes_out"}, {"kind": "literal", "value": 1024}]}}
    shown = QueryPlan.model_validate({"source": "events", "computed": [kb]})  # SELECT *, kb
    hidden = QueryPlan.model_validate({"source": "events"})
    assert not _equivalent(shown, hidden, TEST_SOURCE)[0]
    counted = QueryPlan.model_validate({"source": "events", "aggregation": {
        "metrics": [{"fn": "count"}, {"fn": "sum", "field": "bytes_out"}], "group_by": ["user"]},
        "sort": [{"field": "total_bytes_out"}], "project": ["user", "event_count"]})
    dropped = QueryPlan.model_validate({"source": "events", "aggregation": {
        "metrics": [{"fn": "count"}], "group_by": ["user"]}, "project": ["user", "event_count"]})
    assert not _equivalent(counted, dropped, TEST_SOURCE)[0]


# --------------------------------------------------------------------------- golden queries


@pytest.mark.parametrize("name", list(GOLDEN_QUERIES))
def test_golden_query(name: str) -> None:
    q = GOLDEN_QUERIES[name]
    parsed = parse_sql(q["sql"], builtin_catalog(), dialect=q["dialect"])
    expected = QueryPlan.model_validate(q["plan"])
    assert parsed.plan.model_dump(mode="json") == expected.model_dump(mode="json")
    assert parsed.source.id == expected.source


def test_golden_queries_cover_the_dialects_and_constructs() -> None:
    dialects = {q["dialect"] for q in GOLDEN_QUERIES.values()}
    assert {"postgres", "tsql", "snowflake", "bigquery", "mysql", "sqlite", "duckdb"} <= dialects
    assert len(GOLDEN_QUERIES) >= 45
    unsupported = [q for q in GOLDEN_QUERIES.values() if any(
        i.get("code") == "unsupported" for i in q["plan"].get("issues", []))]
    assert len(unsupported) >= 6
