"""`dialects.fusion.fuse`: a step moves into the pipeline before it exactly where the fixed order
holds it with the same rows, and nowhere else."""

from __future__ import annotations

from typing import Any

from lexiquery.dialects.fusion import fuse
from lexiquery.dialects.roundtrip import same_plan
from lexiquery.ir import QueryPlan

from .cases import TEST_SOURCE

COUNT = {"metrics": [{"fn": "count"}], "group_by": ["user"]}
LATER = {"name": "later", "expr": {"kind": "field", "name": "bytes_out"}}
BIG = {"field": "event_count", "op": "gt", "value": 3}


def plan(**kw: Any) -> QueryPlan:
    return QueryPlan.model_validate({"source": "events", **kw})


def short(p: QueryPlan) -> dict[str, Any]:
    return p.model_dump(mode="json", exclude_defaults=True)


def test_an_extend_after_a_projection_is_one_pipeline_that_shows_it() -> None:
    fused = fuse(plan(project=["bytes_out"], stages=[{"kind": "step", "computed": [LATER]}]))
    assert fused.stages == [] and fused.project == ["bytes_out", "later"]
    assert [c.name for c in fused.computed] == ["later"]


def test_filters_after_an_aggregation_are_its_having_but_computed_fields_stay() -> None:
    fused = fuse(plan(aggregation=COUNT, stages=[{"kind": "step", "filters": [BIG],
                                                  "computed": [
                                                      {"name": "x", "expr": {
                                                          "kind": "field",
                                                          "name": "event_count"}}]}]))
    assert len(fused.having) == 1 and len(fused.stages) == 1
    assert fused.stages[0].computed[0].name == "x" and not fused.stages[0].filters


def test_an_aggregation_joins_a_pipeline_without_one_with_its_sort_and_limit() -> None:
    fused = fuse(plan(sort=[{"field": "user"}], project=["user", "bytes_out"],
                      stages=[{"kind": "step", "aggregation": COUNT,
                               "sort": [{"field": "event_count", "descending": True}],
                               "limit": 3}]))
    assert short(fused) == {"source": "events", "aggregation": {
        "metrics": [{"fn": "count"}], "group_by": ["user"]},
        "sort": [{"field": "event_count", "descending": True}], "limit": 3}


def test_nothing_crosses_a_limit() -> None:
    p = plan(limit=5, stages=[{"kind": "step", "sort": [{"field": "user"}]},
                              {"kind": "step", "filters": [BIG]}])
    fused = fuse(p)
    assert fused.limit == 5 and len(fused.stages) == 1
    assert fused.stages[0].sort and fused.stages[0].filters  # the two steps are one


def test_a_second_aggregation_stays_a_step() -> None:
    p = plan(aggregation=COUNT, stages=[{"kind": "step", "aggregation": {
        "metrics": [{"fn": "avg", "field": "event_count"}]}}])
    assert fuse(p).stages[0].aggregation is not None


def test_a_computed_name_the_pipeline_reads_is_not_moved_into_it() -> None:
    p = plan(filters=[{"field": "bytes_out", "op": "gt", "value": 1}], stages=[
        {"kind": "step", "computed": [{"name": "bytes_out", "expr": {
            "kind": "literal", "value": 0}}]}])
    fused = fuse(p)
    assert fused.computed == [] and fused.stages[0].computed[0].name == "bytes_out"


def test_other_stages_stop_the_fusion_and_the_result_is_stable() -> None:
    p = plan(project=["user", "bytes_out"], stages=[
        {"kind": "expand", "field": "user"},
        {"kind": "step", "computed": [LATER]}, {"kind": "step", "limit": 4}])
    fused = fuse(p)
    assert [s.kind for s in fused.stages] == ["expand", "step"]
    assert fused.stages[1].limit == 4 and fused.stages[1].computed
    assert short(fuse(fused)) == short(fused)


def test_a_projection_of_every_aggregation_output_in_order_is_none_once_fused() -> None:
    staged = plan(aggregation=COUNT, stages=[{"kind": "step", "project": ["user",
                                                                          "event_count"]}])
    assert fuse(staged).project == ["user", "event_count"]
    assert same_plan(staged, plan(aggregation=COUNT), TEST_SOURCE)
    assert not same_plan(plan(aggregation=COUNT, project=["event_count", "user"]),
                         plan(aggregation=COUNT), TEST_SOURCE)
