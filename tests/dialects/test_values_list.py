"""The `values` and `list` metrics: executed on real engines (DuckDB arrays, SQLite text), and
refused where no platform gives them one meaning (a having filter or sort on their output).

The golden files show the text; these tests show the text does what KQL's make_set/make_list and
SPL's values/list do: NULLs skipped, `values` distinct, `list` with every repeat."""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

import duckdb
import pytest

from lexiquery.dialects.name_check import check_names
from lexiquery.catalog.model import FieldType, Platform
from lexiquery.dialects import SQL_DIALECTS, render
from lexiquery.dialects.base import Names
from lexiquery.errors import PlanError
from lexiquery.ir import QueryPlan

from .cases import TEST_SOURCE

# user, host_name, src_ip, status: a NULL ip and a NULL status must not appear in any result.
ROWS: list[tuple[str, str, str | None, int | None]] = [
    ("alice", "web01", "10.0.0.1", 200),
    ("alice", "web01", "10.0.0.1", 200),
    ("alice", "web02", "10.0.0.2", 404),
    ("alice", "web02", None, None),
    ("bob", "db01", "10.0.0.9", 500),
    ("bob", "db01", "10.0.0.9", 500),
]
VALUES_AND_LIST = {"source": "events", "aggregation": {
    "metrics": [{"fn": "values", "field": "src_ip"}, {"fn": "list", "field": "src_ip"},
                {"fn": "list", "field": "status"}],
    "group_by": ["user"]}}
EXPECTED_VALUES = {"alice": {"10.0.0.1", "10.0.0.2"}, "bob": {"10.0.0.9"}}
EXPECTED_LIST = {"alice": Counter({"10.0.0.1": 2, "10.0.0.2": 1}), "bob": Counter({"10.0.0.9": 2})}
EXPECTED_STATUS = {"alice": Counter({200: 2, 404: 1}), "bob": Counter({500: 2})}


def _plan(body: dict[str, Any]) -> QueryPlan:
    return QueryPlan.model_validate(body)


def _sql(body: dict[str, Any], dialect: str) -> str:
    return render(_plan(body), TEST_SOURCE, Platform.sql, sql_dialect=dialect)


# ---------------------------------------------------------------------- executed


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA sec")
    con.execute('CREATE TABLE sec.test_events ("user" VARCHAR, host_name VARCHAR, '
                "src_ip VARCHAR, status INTEGER)")
    con.executemany("INSERT INTO sec.test_events VALUES (?, ?, ?, ?)", ROWS)
    return con


def test_duckdb_values_are_distinct_and_lists_keep_repeats(duck: duckdb.DuckDBPyConnection) -> None:
    sql = _sql(VALUES_AND_LIST, "duckdb")
    assert "ARRAY_AGG(DISTINCT src_ip)" in sql
    rows = {r[0]: r[1:] for r in duck.execute(sql).fetchall()}
    assert set(rows) == {"alice", "bob"}
    for user, (values, ips, statuses) in rows.items():
        assert isinstance(values, list) and isinstance(ips, list)  # arrays, not text
        assert len(values) == len(set(values)) and set(values) == EXPECTED_VALUES[user]
        assert Counter(ips) == EXPECTED_LIST[user]  # duplicates kept, the NULL skipped
        assert Counter(statuses) == EXPECTED_STATUS[user]  # typed as the column, NULL skipped


def test_duckdb_values_of_an_all_null_group_is_empty_or_null(
        duck: duckdb.DuckDBPyConnection) -> None:
    """A group whose values are all NULL has nothing to collect (KQL: an empty array)."""
    body = {"source": "events", "filters": [{"field": "src_ip", "op": "not_exists"}],
            "aggregation": {"metrics": [{"fn": "values", "field": "src_ip"}],
                            "group_by": ["host"]}}
    rows = duck.execute(_sql(body, "duckdb")).fetchall()
    assert [r[0] for r in rows] == ["web02"]
    assert rows[0][1] in (None, [])


def test_duckdb_values_with_count_and_sort_on_the_count(duck: duckdb.DuckDBPyConnection) -> None:
    body = {"source": "events", "aggregation": {
        "metrics": [{"fn": "count"}, {"fn": "values", "field": "host"}], "group_by": ["user"]},
        "sort": [{"field": "event_count", "descending": True}], "limit": 1}
    [(user, count, hosts)] = duck.execute(_sql(body, "duckdb")).fetchall()
    assert (user, count, sorted(hosts)) == ("alice", 4, ["web01", "web02"])


@pytest.fixture(scope="module")
def lite() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("ATTACH DATABASE ':memory:' AS sec")
    con.execute('CREATE TABLE sec.test_events ("user" TEXT, host_name TEXT, src_ip TEXT, '
                "status INTEGER)")
    con.executemany("INSERT INTO sec.test_events VALUES (?, ?, ?, ?)", ROWS)
    return con


def test_sqlite_values_and_lists_are_comma_joined_text(lite: sqlite3.Connection) -> None:
    rows = {r[0]: r[1:] for r in lite.execute(_sql(VALUES_AND_LIST, "sqlite"))}
    for user, (values, ips, statuses) in rows.items():
        assert isinstance(values, str)
        assert sorted(values.split(",")) == sorted(EXPECTED_VALUES[user])
        assert Counter(ips.split(",")) == EXPECTED_LIST[user]
        assert Counter(int(s) for s in statuses.split(",")) == EXPECTED_STATUS[user]


# ---------------------------------------------------------------------- rendered text


def test_kql_and_spl_functions() -> None:
    plan = _plan(VALUES_AND_LIST)
    kql = render(plan, TEST_SOURCE, Platform.kql)
    assert "values_src_ip = make_set(IPAddress), list_src_ip = make_list(IPAddress)" in kql
    spl = render(plan, TEST_SOURCE, Platform.spl)
    assert "values(src_ip) AS values_src_ip, list(src_ip) AS list_src_ip" in spl


def test_kql_collects_a_dynamic_path_as_scalars() -> None:
    body = {"source": "events", "aggregation": {"metrics": [{"fn": "values",
                                                             "field": "initiator"}]}}
    kql = render(_plan(body), TEST_SOURCE, Platform.kql)
    assert "make_set(tostring(InitiatedBy.user.userPrincipalName))" in kql


def test_tsql_lists_as_text_but_refuses_distinct_values() -> None:
    body = {"source": "events", "aggregation": {"metrics": [{"fn": "list", "field": "status"}],
                                                "group_by": ["host"]}}
    assert "STRING_AGG(CAST(status AS NVARCHAR(MAX)), ', ') AS list_status" in _sql(body, "tsql")
    with pytest.raises(PlanError) as err:
        _sql(VALUES_AND_LIST, "tsql")
    issue = err.value.issues[0]
    assert issue["code"] == "unsupported" and issue["field"] == "src_ip"
    assert "STRING_AGG takes no DISTINCT" in issue["message"] and "'list'" in issue["message"]


def test_output_type_is_dynamic() -> None:
    names = Names(_plan(VALUES_AND_LIST), TEST_SOURCE, Platform.kql)
    assert names.output_type("values_src_ip") is FieldType.dynamic
    assert names.output_type("list_status") is FieldType.dynamic


# ---------------------------------------------------------------------- refused uses

MISUSES = {
    "having": {"having": [{"field": "values_src_ip", "op": "contains", "value": "10."}]},
    "having_exists_in_or": {"having": [{"kind": "or", "items": [
        {"field": "list_status", "op": "exists"}, {"field": "user", "op": "eq", "value": "x"}]}]},
    "sort": {"sort": [{"field": "list_src_ip", "descending": True}], "limit": 5},
}


@pytest.mark.parametrize("target", ["kql", "spl", *(f"sql.{d}" for d in SQL_DIALECTS)])
@pytest.mark.parametrize("misuse", list(MISUSES))
def test_having_or_sort_on_a_collection_is_refused(misuse: str, target: str) -> None:
    plan = _plan({**VALUES_AND_LIST, **MISUSES[misuse]})
    platform, _, dialect = target.partition(".")
    with pytest.raises(PlanError) as err:
        render(plan, TEST_SOURCE, Platform(platform), sql_dialect=dialect or "postgres")
    issue = err.value.issues[0]
    assert issue["code"] == "unsupported", issue
    assert issue["field"] in {"values_src_ip", "list_status", "list_src_ip"}
    word = "sorted" if misuse == "sort" else "having filter"
    assert word in issue["message"] and "count" in issue["message"]  # says what to do instead


def test_projecting_a_collection_is_fine() -> None:
    plan = _plan({**VALUES_AND_LIST, "project": ["user", "values_src_ip"],
                  "sort": [{"field": "user"}]})
    assert render(plan, TEST_SOURCE, Platform.kql).endswith("| project UserPrincipalName, "
                                                            "values_src_ip")
    assert render(plan, TEST_SOURCE, Platform.spl).endswith("| table user values_src_ip")


def test_validator_reports_each_misuse_once() -> None:
    plan = _plan({**VALUES_AND_LIST, "having": [
        {"field": "values_src_ip", "op": "exists"},
        {"field": "values_src_ip", "op": "contains", "value": "10."}],
        "sort": [{"field": "values_src_ip"}, {"field": "user"}]})
    issues = [i for i in check_names(plan, TEST_SOURCE) if i.code == "unsupported"]
    assert [(i.field, "sorted" in i.message) for i in issues] == [
        ("values_src_ip", False), ("values_src_ip", True)]
    assert all(i.severity.value == "error" for i in issues)
    assert check_names(_plan(VALUES_AND_LIST), TEST_SOURCE) == []
