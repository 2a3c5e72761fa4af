"""The staged plan (IR version 2): validation, old plans, scopes and name checks.

What each stage may name is what the stages before it output (`dialects.scope`), so these
tests build plans over the built-in `signin_logs` and `audit_logs` sources and check the
outputs, and the errors, stage by stage.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import FieldType, Platform
from lexiquery.dialects.name_check import check_names
from lexiquery.dialects.roundtrip import canonical, same_plan
from lexiquery.dialects.scope import Context, check_stages, scopes_before
from lexiquery.engine.explain import describe_plan
from lexiquery.errors import PlanError
from lexiquery.ir import (
    PLAN_VERSION,
    QueryPlan,
    Step,
    plan_json_schema,
    question_plan_schema,
)
from lexiquery.limits import MAX_ROWS

CATALOG = builtin_catalog()
SIGNIN = CATALOG.get("signin_logs")
assert SIGNIN is not None

COUNT_BY_USER = {"metrics": [{"fn": "count"}], "group_by": ["user"]}


def plan(**kw: object) -> QueryPlan:
    return QueryPlan.model_validate({"source": "signin_logs", **kw})


def test_a_version_1_plan_reads_unchanged_and_says_version_2() -> None:
    old = {"source": "signin_logs", "filters": [{"field": "user", "op": "eq", "value": "a"}],
           "limit": 5}
    p = QueryPlan.model_validate_json(json.dumps(old))
    assert p.stages == [] and p.version == PLAN_VERSION == 2
    assert QueryPlan.model_validate({**old, "version": 1}).version == 1


def test_stages_need_version_2() -> None:
    with pytest.raises(ValidationError, match="version 2"):
        plan(version=1, stages=[{"kind": "step", "limit": 3}])


def test_an_empty_step_and_a_having_without_aggregation_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        plan(stages=[{"kind": "step"}])
    with pytest.raises(ValidationError, match="need an aggregation"):
        plan(stages=[{"kind": "step", "having": [{"field": "x", "op": "gt", "value": 1}]}])


def test_a_step_limit_above_the_cap_is_clamped_with_a_warning() -> None:
    p = plan(stages=[{"kind": "step", "limit": MAX_ROWS * 10}])
    step = p.stages[0]
    assert isinstance(step, Step) and step.limit == MAX_ROWS
    assert [i.code for i in p.issues] == ["clamped"] and "stage 1" in p.issues[0].message


def test_each_stage_sees_the_outputs_before_it_with_platform_names() -> None:
    p = plan(aggregation=COUNT_BY_USER, stages=[
        {"kind": "step", "computed": [{"name": "twice", "expr": {
            "kind": "call", "fn": "mul", "args": [{"kind": "field", "name": "event_count"},
                                                  {"kind": "literal", "value": 2}]}}],
         "filters": [{"field": "twice", "op": "gt", "value": 4}]},
        {"kind": "top_per_group", "by": ["user"], "sort": [{"field": "twice",
                                                            "descending": True}]},
        {"kind": "window", "metrics": [{"fn": "sum", "field": "twice", "alias": "all_twice"}]},
    ])
    before = scopes_before(p, Context(SIGNIN, Platform.kql))
    assert list(before[0]) == ["user", "event_count"]
    assert before[0]["user"].column == "UserPrincipalName"
    assert before[0]["event_count"].type is FieldType.long
    assert list(before[1]) == ["user", "event_count", "twice"]
    final = check_stages(p, Context(SIGNIN, Platform.spl))
    assert list(final) == ["user", "event_count", "twice", "all_twice"]
    assert final["user"].column == "user" and final["all_twice"].type is FieldType.real


def test_a_name_not_in_scope_is_an_unknown_field_naming_the_stage() -> None:
    p = plan(aggregation=COUNT_BY_USER, stages=[
        {"kind": "step", "filters": [{"field": "src_ip", "op": "eq", "value": "1.2.3.4"}]}])
    with pytest.raises(PlanError, match="before stage 1") as e:
        check_stages(p, Context(SIGNIN, Platform.kql))
    assert e.value.issues[0]["code"] == "unknown_field"
    issues = check_names(p, SIGNIN)
    assert [(i.code, i.field) for i in issues] == [("unknown_field", "src_ip")]
    assert "src_ip" in issues[0].message and "stage 1" in issues[0].message


def test_check_names_without_a_platform_checks_logical_names_only() -> None:
    p = plan(project=["user", "app"], stages=[
        {"kind": "expand", "field": "app"},
        {"kind": "step", "aggregation": {"metrics": [{"fn": "count_distinct", "field": "app"}],
                                         "group_by": ["user"]}}])
    assert check_names(p, SIGNIN) == []
    assert check_names(p, SIGNIN, Platform.sql) == []


def test_join_outputs_and_name_clashes() -> None:
    right = {"source": "audit_logs", "aggregation": {"metrics": [{"fn": "count", "alias": "n"}],
                                                    "group_by": ["initiator"]}}
    on = [{"left": "user", "right": "initiator"}]
    p = plan(aggregation=COUNT_BY_USER, stages=[{"kind": "join", "right": right, "on": on}])
    out = check_stages(p, Context(SIGNIN, Platform.kql, sources=CATALOG.get))
    assert list(out) == ["user", "event_count", "n"]
    semi = plan(aggregation=COUNT_BY_USER, stages=[
        {"kind": "join", "how": "semi", "right": right, "on": on}])
    assert list(check_stages(semi, Context(SIGNIN, Platform.kql, sources=CATALOG.get))) == \
        ["user", "event_count"]
    clash = {**right, "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["initiator"]}}
    bad = plan(aggregation=COUNT_BY_USER, stages=[{"kind": "join", "right": clash, "on": on}])
    with pytest.raises(PlanError, match="both sides of the join output 'event_count'"):
        check_stages(bad, Context(SIGNIN, Platform.kql, sources=CATALOG.get))
    with pytest.raises(PlanError, match="no catalog"):
        check_stages(p, Context(SIGNIN, Platform.kql))
    wrong_key = plan(aggregation=COUNT_BY_USER, stages=[
        {"kind": "join", "right": right, "on": [{"left": "user", "right": "nobody"}]}])
    with pytest.raises(PlanError, match="'nobody' is not an output of the right-hand query"):
        check_stages(wrong_key, Context(SIGNIN, Platform.kql, sources=CATALOG.get))


def test_the_canonical_form_keeps_stages_and_normalises_steps() -> None:
    a = plan(aggregation=COUNT_BY_USER, stages=[{"kind": "step", "filters": [
        {"field": "event_count", "op": "gt", "value": "5"},
        {"field": "user", "op": "eq", "value": "Bob"}]}])
    b = plan(aggregation=COUNT_BY_USER, stages=[{"kind": "step", "filters": [
        {"kind": "and", "items": [{"field": "user", "op": "eq", "value": "bob"},
                                  {"field": "event_count", "op": "gt", "value": 5}]}]}])
    assert same_plan(a, b, SIGNIN)
    c = plan(aggregation=COUNT_BY_USER, stages=[{"kind": "step", "filters": [
        {"field": "event_count", "op": "gt", "value": 6}]}])
    assert not same_plan(a, c, SIGNIN)
    # `| summarize … | where …` is a having either way: the step joins the aggregation.
    fused = canonical(a, SIGNIN)
    assert fused.stages == [] and len(fused.having) == 2
    assert same_plan(a, plan(aggregation=COUNT_BY_USER, having=[
        {"field": "event_count", "op": "gt", "value": 5},
        {"field": "user", "op": "eq", "value": "bob"}]), SIGNIN)
    assert not same_plan(a, plan(aggregation=COUNT_BY_USER), SIGNIN)
    # After a limit a filter keeps its own step: it filters the rows the limit kept.
    cut = plan(aggregation=COUNT_BY_USER, limit=10, stages=[{"kind": "step", "filters": [
        {"field": "event_count", "op": "gt", "value": 5}]}])
    assert canonical(cut, SIGNIN).stages[0].kind == "step"


def test_the_question_schema_has_no_stages_the_full_schema_has() -> None:
    q = question_plan_schema()
    assert "stages" not in q["properties"] and "source" in q["properties"]
    assert "Join" not in q["$defs"] and "Step" not in q["$defs"]
    full = json.dumps(plan_json_schema())
    assert '"Join"' in full and '"top_per_group"' in full


def test_the_plain_english_account_tells_every_stage() -> None:
    right = {"source": "audit_logs", "project": ["initiator"]}
    p = plan(aggregation=COUNT_BY_USER, stages=[
        {"kind": "step", "filters": [{"field": "event_count", "op": "gt", "value": 5}]},
        {"kind": "join", "how": "anti", "right": right,
         "on": [{"left": "user", "right": "initiator"}]},
        {"kind": "top_per_group", "by": ["user"], "sort": [{"field": "event_count",
                                                            "descending": True}]}])
    lines = describe_plan(p, SIGNIN)
    assert lines[2:] == [
        "Then: keeps rows where event_count is greater than 5.",
        "Then: keeps the rows that do not match a query of audit_logs on user = initiator.",
        "Then: keeps the first row per user, by event_count (highest first)."]
