"""The SQLite rendering executed on rows chosen to catch wrong escaping and wrong case handling:
the text of a golden file can look right and still match `%` as a wildcard."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lexiquery.catalog.model import Platform
from lexiquery.dialects import render
from lexiquery.ir import QueryPlan

from .cases import TEST_SOURCE

NOW = datetime.now(timezone.utc).replace(microsecond=0)
ROWS = [  # id, user, file_path, host_name, status, src_ip, hours ago
    (1, "Alice@Contoso.com", "C:\\Temp\\x.exe", "WEB01", 200, "10.0.0.1", 1),
    (2, "alice@contoso.com", "c:\\temp\\50%_off*.txt", "web02", 404, "", 2),
    (3, 'O\'Brien "the" \\admin', "C:\\Users\\a.txt", "lb01", 500, None, 30),
    (4, "bob", "/tmp/[tmp]_100%.log", "db01", 503, "10.0.0.2", 50),
    (5, "svc_backup", "/tmp/atmp_1000.log", "db01", 200, "10.0.0.3", 1),
    (6, None, "/var/log/x!.log", "web01", None, "10.0.0.4", 3),
]


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("ATTACH DATABASE ':memory:' AS sec")
    con.execute('CREATE TABLE sec.test_events (id INTEGER, "user" TEXT, file_path TEXT, '
                'host_name TEXT, status INTEGER, src_ip TEXT, "time" TEXT, bytes_out INTEGER)')
    for rid, user, path, host, status, ip, hours in ROWS:
        t = (NOW - timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")
        con.execute("INSERT INTO sec.test_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (rid, user, path, host, status, ip, t, rid * 1000))
    # SQLite's REGEXP operator calls an application-defined regexp(pattern, text).
    con.create_function("regexp", 2,
                        lambda p, s: s is not None and re.search(p, s) is not None)
    return con


def _ids(db: sqlite3.Connection, **plan: Any) -> list[int]:
    body = {"source": "events", "project": ["time"], **plan}
    sql = render(QueryPlan.model_validate(body), TEST_SOURCE, Platform.sql, sql_dialect="sqlite")
    sql = sql.replace('SELECT\n  "time"', 'SELECT\n  id', 1)  # the rows' ids, not their times
    return sorted(r[0] for r in db.execute(sql))


def c(field: str, op: str, value: Any = None, **kw: Any) -> dict[str, Any]:
    return {"field": field, "op": op, **({} if value is None else {"value": value}), **kw}


CHECKS: list[tuple[str, list[dict[str, Any]], list[int]]] = [
    ("eq folds case", [c("user", "eq", "ALICE@contoso.COM")], [1, 2]),
    ("eq with quotes and backslash", [c("user", "eq", 'o\'brien "THE" \\admin')], [3]),
    ("eq case-sensitive", [c("user", "eq", "alice@contoso.com", case_sensitive=True)], [2]),
    ("percent and underscore are literal", [c("path", "contains", "50%_off*")], [2]),
    ("brackets and wildcards literal", [c("path", "contains", "[tmp]_100%")], [4]),
    ("escape character in the value", [c("path", "endswith", "!.log")], [6]),
    ("backslash prefix", [c("path", "startswith", "C:\\")], [1, 2, 3]),
    ("contains case-sensitive (GLOB)", [c("path", "contains", "Temp", case_sensitive=True)], [1]),
    ("glob metacharacters literal", [c("path", "contains", "*.t", case_sensitive=True)], [2]),
    ("not contains excludes NULL", [c("user", "not_contains", "alice")], [3, 4, 5]),
    ("in folds case", [c("host", "in", ["web01", "LB01"])], [1, 3, 6]),
    ("not in", [c("host", "not_in", ["web01", "web02", "lb01"])], [4, 5]),
    ("exists: not null, not empty", [c("src_ip", "exists")], [1, 4, 5, 6]),
    ("not exists: null or empty", [c("src_ip", "not_exists")], [2, 3]),
    ("regex folds case", [c("user", "regex", "^SVC_")], [5]),
    ("regex case-sensitive", [c("user", "regex", "^A", case_sensitive=True)], [1]),
    ("number as text", [c("status", "startswith", "50")], [3, 4]),
    ("not of a group", [{"kind": "not", "item": {"kind": "or", "items": [
        c("status", "eq", 200), c("status", "ge", 500)]}}], [2]),
]


@pytest.mark.parametrize("name,filters,expected", CHECKS, ids=[c[0] for c in CHECKS])
def test_filter_semantics(db: sqlite3.Connection, name: str, filters: list[dict[str, Any]],
                          expected: list[int]) -> None:
    assert _ids(db, filters=filters) == expected


def test_time_ranges(db: sqlite3.Connection) -> None:
    assert _ids(db, time_range={"start": {"amount": 24, "unit": "hour"}}) == [1, 2, 5, 6]
    assert _ids(db, time_range={"start": {"amount": 2, "unit": "day"}},
                filters=[c("status", "ge", 500)]) == [3]


def test_hourly_buckets_and_having(db: sqlite3.Connection) -> None:
    plan = QueryPlan.model_validate({
        "source": "events", "time_range": {"start": {"amount": 24, "unit": "hour"}},
        "aggregation": {"metrics": [{"fn": "count"}, {"fn": "sum", "field": "bytes_out"}],
                        "time_bucket": {"amount": 1, "unit": "hour"}},
        "having": [c("event_count", "ge", 1)], "sort": [{"field": "time"}]})
    sql = render(plan, TEST_SOURCE, Platform.sql, sql_dialect="sqlite")
    rows = list(db.execute(sql))
    hour = NOW.replace(minute=0, second=0)
    expected = {(hour - timedelta(hours=1)).strftime("%Y-%m-%d %H:00:00"): (2, 6000),
                (hour - timedelta(hours=2)).strftime("%Y-%m-%d %H:00:00"): (1, 2000),
                (hour - timedelta(hours=3)).strftime("%Y-%m-%d %H:00:00"): (1, 6000)}
    assert {r[0]: (r[1], r[2]) for r in rows} == expected
    assert [r[0] for r in rows] == sorted(expected)


def test_top_n_with_computed_real_division(db: sqlite3.Connection) -> None:
    plan = QueryPlan.model_validate({
        "source": "events",
        "computed": [{"name": "kb", "expr": {"kind": "call", "fn": "div", "args": [
            {"kind": "field", "name": "bytes_out"}, {"kind": "literal", "value": 4000}]}}],
        "aggregation": {"metrics": [{"fn": "sum", "field": "kb"}], "group_by": ["host"]},
        "sort": [{"field": "total_kb", "descending": True}], "limit": 2})
    sql = render(plan, TEST_SOURCE, Platform.sql, sql_dialect="sqlite")
    assert list(db.execute(sql)) == [("db01", 2.25), ("web01", 1.5)]
