"""execute_plan on hand-made rows (tests/engine/conftest.py): every expected number was worked
out by hand from the rows there."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.engine.results import compare_results
from lexiquery.engine.sandbox import Sandbox
from lexiquery.ir import QueryPlan

from .conftest import NOW


def c(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, **({} if value is None else {"value": value})}


def run(sb: Sandbox, catalog: Catalog, semantics: Platform | None = None, **body: Any):
    plan = QueryPlan.model_validate(body)
    return sb.execute_plan(plan, catalog.get(body["source"]), semantics=semantics)


def rows(sb: Sandbox, catalog: Catalog, **body: Any) -> list[tuple[Any, ...]]:
    return run(sb, catalog, **body).rows


def test_case_insensitive_equality(sandbox: Sandbox, catalog: Catalog) -> None:
    r = rows(sandbox, catalog, source="signin_logs", filters=[c("user", "eq", "Alice@Contoso.com")],
             aggregation={"metrics": [{"fn": "count"}]})
    assert r == [(5,)]


def test_failed_sign_ins_by_user_top(sandbox: Sandbox, catalog: Catalog) -> None:
    body = dict(source="signin_logs", filters=[c("result_code", "ne", "0")],
                aggregation={"metrics": [{"fn": "count"},
                                         {"fn": "count_distinct", "field": "src_ip"}],
                             "group_by": ["user"]},
                sort=[{"field": "event_count", "descending": True}], limit=1)
    result = run(sandbox, catalog, **body)
    assert result.columns == ["user", "event_count", "distinct_src_ip"]
    assert result.rows == [("alice@contoso.com", 2, 1)]
    assert not result.truncated and result.ordered


def test_all_groups_with_missing_user(sandbox: Sandbox, catalog: Catalog) -> None:
    r = rows(sandbox, catalog, source="signin_logs",
             aggregation={"metrics": [{"fn": "count"}], "group_by": ["user"]})
    assert sorted(r, key=repr) == sorted([("alice@contoso.com", 4), ("ALICE@contoso.com", 1),
                                          ("bob@contoso.com", 2), (None, 2),
                                          ("carol@contoso.com", 2)], key=repr)


def test_having_threshold(sandbox: Sandbox, catalog: Catalog) -> None:
    r = rows(sandbox, catalog, source="signin_logs",
             aggregation={"metrics": [{"fn": "count"}], "group_by": ["app"]},
             having=[c("event_count", "gt", 5)])
    assert r == [("Azure Portal", 6)]


def test_relative_time_range(sandbox: Sandbox, catalog: Catalog) -> None:
    r = rows(sandbox, catalog, source="signin_logs",
             time_range={"start": {"amount": 24, "unit": "hour"}},
             aggregation={"metrics": [{"fn": "count"}]})
    assert r == [(5,)]


def test_absolute_time_range(sandbox: Sandbox, catalog: Catalog) -> None:
    start, end = NOW - timedelta(hours=4.5), NOW - timedelta(hours=1.5)
    r = rows(sandbox, catalog, source="web_requests",
             time_range={"start": {"at": start.isoformat()}, "end": {"at": end.isoformat()}},
             project=["uri_path"], sort=[{"field": "time"}])
    assert r == [("/api/v1/orders",), ("/api/v1/orders",), ("/login",)]


def test_daily_bucket(sandbox: Sandbox, catalog: Catalog) -> None:
    r = rows(sandbox, catalog, source="signin_logs",
             time_range={"start": {"amount": 7, "unit": "day"}},
             aggregation={"metrics": [{"fn": "count"}], "time_bucket": {"unit": "day"}},
             sort=[{"field": "time"}])
    day = lambda d: datetime(2026, 3, d, tzinfo=timezone.utc)  # noqa: E731
    assert r == [(day(6), 1), (day(7), 1), (day(8), 1), (day(9), 2), (day(10), 5)]


def test_hourly_bucket_inclusive_start(sandbox: Sandbox, catalog: Catalog) -> None:
    r = rows(sandbox, catalog, source="web_requests",
             time_range={"start": {"amount": 3, "unit": "hour"}},
             aggregation={"metrics": [{"fn": "count"}], "time_bucket": {"unit": "hour"}},
             sort=[{"field": "time"}])
    at = lambda h: NOW - timedelta(hours=h)  # noqa: E731
    assert r == [(at(3), 1), (at(2), 1), (at(1), 1)]


def test_sum_and_avg_by_host(sandbox: Sandbox, catalog: Catalog) -> None:
    r = rows(sandbox, catalog, source="web_requests",
             aggregation={"metrics": [{"fn": "sum", "field": "bytes_out"},
                                      {"fn": "avg", "field": "response_time"}],
                          "group_by": ["host"]},
             sort=[{"field": "total_bytes_out", "descending": True}])
    assert r == [("web02", 5000, 1625.0), ("web03", 2500, None), ("web01", 1200, 100.0),
                 ("WEB01", 300, 15.0)]


def test_numeric_filters_and_in(sandbox: Sandbox, catalog: Catalog) -> None:
    count = {"metrics": [{"fn": "count"}]}
    assert rows(sandbox, catalog, source="web_requests", filters=[c("status", "ge", 500)],
                aggregation=count) == [(1,)]
    assert rows(sandbox, catalog, source="web_requests",
                filters=[c("status", "in", [401, 403])], aggregation=count) == [(1,)]
    assert rows(sandbox, catalog, source="web_requests", filters=[c("host", "eq", "WEB01")],
                aggregation=count) == [(3,)]
    assert rows(sandbox, catalog, source="signin_logs", filters=[c("src_ip", "exists")],
                aggregation=count) == [(10,)]


def test_percentile(sandbox: Sandbox, catalog: Catalog) -> None:
    r = rows(sandbox, catalog, source="web_requests", filters=[c("host", "eq", "web02")],
             aggregation={"metrics": [{"fn": "percentile", "field": "response_time",
                                       "percentile": 50}]})
    assert r == [(1625.0,)]


def test_computed_field_sort_limit(sandbox: Sandbox, catalog: Catalog) -> None:
    kb = {"name": "kb", "expr": {"kind": "call", "fn": "div", "args": [
        {"kind": "field", "name": "bytes_out"}, {"kind": "literal", "value": 1000}]}}
    r = rows(sandbox, catalog, source="web_requests", computed=[kb], project=["uri_path", "kb"],
             sort=[{"field": "kb", "descending": True}], limit=2)
    assert r == [("/api/v1/orders", 5.0), ("/index.html", 2.5)]
    r = rows(sandbox, catalog, source="web_requests", computed=[kb],
             filters=[c("kb", "gt", 1)], aggregation={"metrics": [{"fn": "count"}]})
    assert r == [(2,)]


def test_group_by_computed_if(sandbox: Sandbox, catalog: Catalog) -> None:
    flag = {"name": "flag", "expr": {"kind": "call", "fn": "if", "args": [
        {"kind": "compare", "left": {"kind": "field", "name": "status"}, "op": "ge",
         "right": {"kind": "literal", "value": 400}},
        {"kind": "literal", "value": "error"}, {"kind": "literal", "value": "ok"}]}}
    r = rows(sandbox, catalog, source="web_requests", computed=[flag],
             aggregation={"metrics": [{"fn": "count"}], "group_by": ["flag"]},
             sort=[{"field": "flag"}])
    assert r == [("error", 3), ("ok", 3)]


# ---------------------------------------------------------------------- platform semantics


def test_spl_drops_missing_group_and_compare_says_why(sandbox: Sandbox,
                                                      catalog: Catalog) -> None:
    body = dict(source="signin_logs",
                aggregation={"metrics": [{"fn": "count"}], "group_by": ["user"]})
    kql = run(sandbox, catalog, Platform.kql, **body)
    spl = run(sandbox, catalog, Platform.spl, **body)
    sql = run(sandbox, catalog, **body)
    assert len(kql.rows) == 5 and len(spl.rows) == 4 and len(sql.rows) == 5
    assert ("", 2) in kql.rows and (None, 2) in sql.rows
    assert all(u is not None for u, _ in spl.rows)
    assert compare_results({"KQL": kql, "SQL": sql}).identical  # "" and NULL: both missing
    cmp = compare_results({"KQL": kql, "SPL": spl})
    assert not cmp.identical
    assert cmp.differences[0] == ("KQL has 5 rows, SPL 4: the group user=(empty) is missing "
                                  "from SPL — Splunk's stats drops events without the field")


def test_kql_missing_strings_are_empty(sandbox: Sandbox, catalog: Catalog) -> None:
    body = dict(source="signin_logs", filters=[c("user", "ne", "bob@contoso.com")],
                aggregation={"metrics": [{"fn": "count"}]})
    assert run(sandbox, catalog, **body).rows == [(7,)]
    assert run(sandbox, catalog, Platform.kql, **body).rows == [(9,)]  # "" != "bob…"


def test_spl_first_last_seen_are_epoch_but_compare_as_times(sandbox: Sandbox,
                                                           catalog: Catalog) -> None:
    body = dict(source="signin_logs", filters=[c("user", "exists")],
                aggregation={"metrics": [{"fn": "first_seen"}, {"fn": "last_seen"}],
                             "group_by": ["user"]})
    kql = run(sandbox, catalog, Platform.kql, **body)
    spl = run(sandbox, catalog, Platform.spl, **body)
    bob = next(r for r in spl.rows if r[0] == "bob@contoso.com")
    assert bob[1:] == ((NOW - timedelta(hours=26)).timestamp(),
                       (NOW - timedelta(hours=5)).timestamp())
    assert isinstance(next(r for r in kql.rows if r[0] == "bob@contoso.com")[1], datetime)
    assert compare_results({"KQL": kql, "SPL": spl}).identical


def test_spl_time_bucket_keeps_every_event_with_a_time(sandbox: Sandbox,
                                                       catalog: Catalog) -> None:
    body = dict(source="signin_logs", aggregation={"metrics": [{"fn": "count"}],
                                                  "time_bucket": {"unit": "day"}})
    assert sum(r[1] for r in run(sandbox, catalog, Platform.spl, **body).rows) == 11


@pytest.mark.parametrize("semantics", [None, Platform.kql, Platform.spl])
def test_unknown_field_is_a_plan_error(sandbox: Sandbox, catalog: Catalog,
                                       semantics: Platform | None) -> None:
    from lexiquery.errors import PlanError

    with pytest.raises(PlanError, match="'nope' is not a field"):
        run(sandbox, catalog, semantics, source="signin_logs", filters=[c("nope", "eq", "x")])
