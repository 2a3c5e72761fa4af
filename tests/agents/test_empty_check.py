"""The empty-answer check (issue 15: "checked" means something): no rows on the sample data
although each filter alone finds some is a warning, on real DuckDB sample data."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from lexiquery.agents.empty_check import empty_filters_issue
from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.engine.sandbox import Sandbox
from lexiquery.ir import Condition, Operator, QueryPlan

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def box():  # type: ignore[no-untyped-def]
    with Sandbox(builtin_catalog(), now=NOW, rows_per_source=300) as sb:
        yield sb


def _eq(field: str, value: object) -> Condition:
    return Condition(field=field, op=Operator.eq, value=value)


def _never_together(box: Sandbox) -> tuple[str, str]:
    """A user and a source IP that both occur in the sample, never in one row."""
    table = box.table("signin_logs")
    rows = box._con.execute(f"SELECT user, src_ip FROM {table}").fetchall()  # noqa: SLF001
    pairs = set(rows)
    users = sorted({u for u, _ in rows if u})
    ips = sorted({i for _, i in rows if i})
    return next((u, i) for u in users for i in ips if (u, i) not in pairs)


def test_filters_that_exclude_each_other_on_the_sample_are_flagged(box: Sandbox) -> None:
    user, ip = _never_together(box)
    plan = QueryPlan(source="signin_logs", filters=[_eq("user", user), _eq("src_ip", ip)])
    issue = empty_filters_issue(plan, box.catalog.get("signin_logs"), box)
    assert issue is not None and issue.code == "empty_result" and issue.severity == "warning"


def test_a_value_the_sample_lacks_is_no_evidence(box: Sandbox) -> None:
    user, _ = _never_together(box)
    plan = QueryPlan(source="signin_logs",
                     filters=[_eq("user", user), _eq("src_ip", "203.0.113.254")])
    assert empty_filters_issue(plan, box.catalog.get("signin_logs"), box) is None


def test_filters_that_find_rows_together_are_fine(box: Sandbox) -> None:
    table = box.table("signin_logs")
    user, ip = box._con.execute(  # noqa: SLF001
        f"SELECT user, src_ip FROM {table} WHERE user IS NOT NULL AND src_ip IS NOT NULL "
        "LIMIT 1").fetchone()
    plan = QueryPlan(source="signin_logs", filters=[_eq("user", user), _eq("src_ip", ip)])
    assert empty_filters_issue(plan, box.catalog.get("signin_logs"), box) is None
