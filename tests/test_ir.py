"""The QueryPlan IR: validation of its parts, JSON round trip, schema."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lexiquery.ir import (
    AbsoluteTime,
    Condition,
    Metric,
    MetricFn,
    Operator,
    QueryPlan,
    RelativeTime,
    iter_conditions,
    plan_json_schema,
)

FULL = {
    "source": "signin_logs",
    "time_range": {"start": {"kind": "relative", "amount": 1, "unit": "day", "snap": "day"},
                   "end": {"kind": "relative", "amount": 0, "unit": "day", "snap": "day"}},
    "filters": [
        {"field": "result_code", "op": "ne", "value": "0"},
        {"kind": "or", "items": [{"field": "app", "op": "startswith", "value": "Office"},
                                 {"kind": "not", "item": {"field": "location", "op": "in",
                                                          "value": ["US", "GB"]}}]},
    ],
    "computed": [{"name": "upn_lower", "expr": {"kind": "call", "fn": "lower",
                                                "args": [{"kind": "field", "name": "user"}]}}],
    "aggregation": {"metrics": [{"fn": "count"}, {"fn": "count_distinct", "field": "src_ip"}],
                    "group_by": ["user"], "time_bucket": {"amount": 1, "unit": "hour"}},
    "having": [{"field": "event_count", "op": "gt", "value": 5}],
    "project": ["user", "event_count"],
    "sort": [{"field": "event_count", "descending": True}],
    "limit": 10,
}


def test_full_plan_round_trips_through_json() -> None:
    plan = QueryPlan.model_validate(FULL)
    again = QueryPlan.model_validate_json(plan.model_dump_json())
    assert again == plan
    assert [c.field for c in iter_conditions(plan.filters)] == ["result_code", "app", "location"]
    assert plan.aggregation is not None
    assert plan.aggregation.output_names() == ["user", "event_count", "distinct_src_ip"]


def test_time_points_discriminate_without_kind() -> None:
    plan = QueryPlan.model_validate({"source": "s", "time_range": {
        "start": {"at": "2024-03-01T00:00:00Z"}, "end": {"amount": 2, "unit": "hour"}}})
    assert isinstance(plan.time_range.start, AbsoluteTime)  # type: ignore[union-attr]
    assert isinstance(plan.time_range.end, RelativeTime)  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", [
    {"field": "a", "op": "in", "value": "x"},
    {"field": "a", "op": "in", "value": []},
    {"field": "a", "op": "eq"},
    {"field": "a", "op": "exists", "value": 1},
    {"field": "a", "op": "sounds_like", "value": "x"},
])
def test_conditions_check_their_values(bad: dict) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate(bad)


def test_metric_rules_and_names() -> None:
    with pytest.raises(ValidationError):
        Metric(fn=MetricFn.sum)
    with pytest.raises(ValidationError):
        Metric(fn=MetricFn.percentile, field="duration")
    assert Metric(fn=MetricFn.percentile, field="duration", percentile=95).name == "p95_duration"
    assert Metric(fn=MetricFn.percentile, field="d", percentile=99.9).name == "p99_9_d"
    assert Metric(fn=MetricFn.count).name == "event_count"
    assert Metric(fn=MetricFn.avg, field="cpu", alias="mean_cpu").name == "mean_cpu"


def test_having_without_aggregation_is_refused() -> None:
    with pytest.raises(ValidationError):
        QueryPlan.model_validate({"source": "s", "having": [{"field": "x", "op": "gt",
                                                             "value": 1}]})


def test_blank_source_and_extra_keys_refused() -> None:
    with pytest.raises(ValidationError):
        QueryPlan(source="  ")
    with pytest.raises(ValidationError):
        QueryPlan.model_validate({"source": "s", "join": "other"})


def test_unsupported_is_recorded_not_dropped() -> None:
    plan = QueryPlan(source="s")
    plan.unsupported("joining with another source")
    assert plan.issues[0].code == "unsupported" and "joining" in plan.issues[0].message


def test_schema_describes_every_operator() -> None:
    text = str(plan_json_schema())
    for op in Operator:
        assert f"'{op.value}'" in text
