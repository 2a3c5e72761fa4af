"""The plain-English account: time ranges, known-value meanings, platform names."""

from __future__ import annotations

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Platform
from lexiquery.engine.explain import describe_plan, describe_time, explain_for_platform
from lexiquery.ir import QueryPlan, TimeRange

SRC = builtin_catalog().get("windows_security_events")


@pytest.mark.parametrize("tr,text", [
    (None, "over all time (no time range given)"),
    ({"start": {"amount": 1, "unit": "hour"}}, "over the last hour"),
    ({"start": {"amount": 7, "unit": "day"}}, "over the last 7 days"),
    ({"start": {"amount": 0, "unit": "day", "snap": "day"}}, "today"),
    ({"start": {"amount": 1, "unit": "day", "snap": "day"},
      "end": {"amount": 0, "unit": "day", "snap": "day"}}, "yesterday"),
    ({"start": {"at": "2024-03-01T00:00:00Z"}}, "since 2024-03-01 00:00 UTC"),
    ({"start": {"at": "2024-03-01T00:00:00Z"}, "end": {"at": "2024-03-02T06:30:00+02:00"}},
     "from 2024-03-01 00:00 UTC to 2024-03-02 04:30 UTC"),
])
def test_time_ranges(tr: dict | None, text: str) -> None:
    assert describe_time(TimeRange.model_validate(tr) if tr else None) == text


def test_account_names_known_values_and_steps() -> None:
    assert SRC is not None
    plan = QueryPlan.model_validate({
        "source": SRC.id, "filters": [{"field": "event_id", "op": "eq", "value": 4625}],
        "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["user"]},
        "having": [{"field": "event_count", "op": "gt", "value": 5}],
        "sort": [{"field": "event_count", "descending": True}], "limit": 10})
    lines = describe_plan(plan, SRC)
    assert "event_id is 4625 (An account failed to log on)" in lines[1]
    assert lines[-1] == "Returns at most 10 rows."
    kql = explain_for_platform(plan, SRC, Platform.kql)
    assert "Reads SecurityEvent" in kql and "EventID is 4625" in kql and "TargetUserName" in kql
    spl = explain_for_platform(plan, SRC, Platform.spl)
    assert "EventCode is 4625" in spl


def test_values_and_list_are_told_apart() -> None:
    assert SRC is not None
    plan = QueryPlan.model_validate({
        "source": SRC.id,
        "aggregation": {"metrics": [{"fn": "values", "field": "host"},
                                    {"fn": "list", "field": "event_id", "alias": "ids"}],
                        "group_by": ["user"]}})
    line = describe_plan(plan, SRC)[1]
    assert line == ("Calculates the distinct values of host (as values_host), every event_id "
                    "value including repeats (as ids) per user.")
    kql = explain_for_platform(plan, SRC, Platform.kql)
    assert "the distinct values of Computer (as values_host)" in kql
    assert "every EventID value including repeats (as ids)" in kql
