"""Staged plans and the v2 functions in SQL: render → parse gives the plan back (canonical forms,
`dialects.roundtrip`) per stage kind and per function in seven dialects; a dialect that cannot
write one refuses it precisely (PlanError ``unsupported`` naming it); hand-written SQL of the
shapes detections use reads into the right stages; shapes with another meaning are refused."""

from __future__ import annotations

from typing import Any

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Platform
from lexiquery.dialects.roundtrip import plan_diff, same_plan
from lexiquery.dialects.sql.parse import parse_sql
from lexiquery.dialects.sql.render import render_sql
from lexiquery.errors import PlanError
from lexiquery.ir import Expand, Join, JoinKind, QueryPlan, Step, TopPerGroup, Window

CATALOG = builtin_catalog()
DIALECTS = ["postgres", "tsql", "snowflake", "bigquery", "duckdb", "sqlite", "mysql"]


def f(name: str) -> dict[str, Any]:
    return {"kind": "field", "name": name}


def lit(v: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": v}


def call(fn: str, *args: Any) -> dict[str, Any]:
    return {"kind": "call", "fn": fn, "args": list(args)}


STAGES: dict[str, dict[str, Any]] = {
    "step_after_summarize": {
        "source": "signin_logs", "aggregation": {"metrics": [{"fn": "count"}],
                                                 "group_by": ["user", "app"]},
        "stages": [{"kind": "step", "computed": [{"name": "twice", "expr": call(
            "mul", f("event_count"), lit(2))}], "filters": [
            {"field": "twice", "op": "gt", "value": 4}]},
            {"kind": "step", "aggregation": {"metrics": [{"fn": "sum", "field": "twice"}],
                                             "group_by": ["user"]},
             "sort": [{"field": "total_twice", "descending": True}], "limit": 5}]},
    "expand": {"source": "signin_logs", "aggregation": {
        "metrics": [{"fn": "list", "field": "app"}], "group_by": ["user"]},
        "stages": [{"kind": "expand", "field": "list_app"}]},
    "top_per_group": {"source": "signin_logs", "project": ["user", "src_ip", "time"],
                      "stages": [{"kind": "top_per_group", "by": ["user"], "sort": [
                          {"field": "time", "descending": True}]}]},
    "top_two": {"source": "signin_logs", "project": ["user", "time"], "stages": [
        {"kind": "top_per_group", "by": ["user"], "sort": [{"field": "time"}], "n": 2}]},
    "window": {"source": "signin_logs", "project": ["user", "src_ip"], "stages": [
        {"kind": "window", "by": ["user"], "metrics": [
            {"fn": "count", "alias": "n"}, {"fn": "count_distinct", "field": "src_ip",
                                            "alias": "ips"},
            {"fn": "max", "field": "src_ip", "alias": "top_ip"}]}]},
    "inner_join": {"source": "signin_logs", "aggregation": {"metrics": [{"fn": "count"}],
                                                            "group_by": ["user"]},
                   "stages": [{"kind": "join", "how": "inner", "on": [
                       {"left": "user", "right": "user"}], "right": {
                       "source": "azure_activity", "aggregation": {
                           "metrics": [{"fn": "count", "alias": "ops"}],
                           "group_by": ["user"]}}}]},
    "left_join": {"source": "signin_logs", "project": ["user", "src_ip"], "stages": [
        {"kind": "join", "how": "left", "on": [{"left": "src_ip", "right": "src_ip"}],
         "right": {"source": "azure_activity", "project": ["src_ip", "operation"]}}]},
    "semi_join": {"source": "signin_logs", "stages": [
        {"kind": "join", "how": "semi", "on": [{"left": "user", "right": "user"}],
         "right": {"source": "azure_activity", "filters": [
             {"field": "operation", "op": "contains", "value": "delete"}]}}]},
    "anti_join_two_keys": {"source": "signin_logs", "project": ["user", "src_ip"], "stages": [
        {"kind": "join", "how": "anti", "on": [{"left": "user", "right": "user"},
                                               {"left": "src_ip", "right": "src_ip"}],
         "right": {"source": "azure_activity", "project": ["user", "src_ip"]}}]},
}

FUNCTIONS: dict[str, dict[str, Any]] = {
    "extract": call("extract", f("user"), lit("^([^@]+)@"), lit(1)),
    "extract_whole": call("extract", f("user"), lit("@[a-z]+"), lit(0)),
    "replace": call("replace", f("user"), lit("@.*"), lit("")),
    "split_first": call("index", call("split", f("user"), lit(".")), lit(0)),
    "split_last": call("index", call("split", f("user"), lit(".")), lit(-1)),
    "split_count": call("array_length", call("split", f("user"), lit("."))),
    "json_member": call("member", call("member", call("parse_json", f("result_description")),
                                       lit("a")), lit("b")),
    "json_index": call("index", call("member", call("parse_json", f("result_description")),
                                     lit("a")), lit(0)),
    "json_length": call("array_length", call("parse_json", f("result_description"))),
    "start_of_day": call("start_of", f("time"), lit("day")),
    "start_of_week": call("start_of", f("time"), lit("week")),
    "start_of_month": call("start_of", f("time"), lit("month")),
    "days_since": call("time_diff", lit("day"), call("now"), f("time")),
    "trim": call("trim", f("app")),
}

# Forms a dialect writes but the reader does not read back yet (xfail; one that reads back
# fails until it leaves the list). None at present.
READ_GAPS: dict[tuple[str, str], str] = {}


def round_trip(body: dict[str, Any], dialect: str, key: str) -> None:
    plan = QueryPlan.model_validate(body)
    source = CATALOG.get(plan.source)
    try:
        text = render_sql(plan, source, dialect, CATALOG.get)
    except PlanError as e:
        assert e.issues and e.issues[0]["code"] == "unsupported", e
        assert dialect in str(e), f"the refusal must name the dialect: {e}"
        pytest.skip(f"{dialect} refuses it: {e}")
    gap = READ_GAPS.get((dialect, key))
    try:
        check_read_back(text, plan, dialect)
    except AssertionError:
        if gap:
            pytest.xfail(gap)
        raise
    assert not gap, f"{dialect} reads {key} back now: remove it from READ_GAPS"


def check_read_back(text: str, plan: QueryPlan, dialect: str) -> None:
    source = CATALOG.get(plan.source)
    parsed = parse_sql(text, CATALOG, dialect)
    assert not [i for i in parsed.plan.issues if i.code == "unsupported"], \
        f"{[i.message for i in parsed.plan.issues]}\n{text}"
    assert same_plan(parsed.plan, plan, source, Platform.sql), \
        "\n".join(plan_diff(plan, parsed.plan, source, Platform.sql)) + "\n" + text


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(STAGES))
def test_each_stage_kind_round_trips(name: str, dialect: str) -> None:
    round_trip(STAGES[name], dialect, name)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_round_trips(name: str, dialect: str) -> None:
    body = {"source": "signin_logs", "computed": [{"name": "x", "expr": FUNCTIONS[name]}],
            "project": ["x"]}
    round_trip(body, dialect, name)


def test_a_function_inside_a_later_step_round_trips() -> None:
    body = {"source": "signin_logs", "aggregation": {"metrics": [{"fn": "count"}],
                                                     "group_by": ["user"]},
            "stages": [{"kind": "step", "computed": [{"name": "who", "expr": call(
                "extract", f("user"), lit("^([^@]+)@"), lit(1))}]}]}
    round_trip(body, "postgres", "step_function")


# ---------------------------------------------------------------------- refusals


@pytest.mark.parametrize("dialect,function,why", [
    ("tsql", "extract", "no regex functions"),
    ("sqlite", "replace", "no regex functions"),
    ("mysql", "extract", "REGEXP_SUBSTR returns the whole match"),
    ("mysql", "trim", "MySQL's TRIM removes one repeated string"),
    ("redshift", "split_count", "no array type"),
    ("tsql", "json_length", "OPENJSON"),
])
def test_functions_a_dialect_cannot_write_are_refused_by_name(dialect: str, function: str,
                                                              why: str) -> None:
    body = {"source": "signin_logs", "computed": [{"name": "x", "expr": FUNCTIONS[function]}],
            "project": ["x"]}
    with pytest.raises(PlanError) as err:
        render_sql(QueryPlan.model_validate(body), CATALOG.get("signin_logs"), dialect)
    assert err.value.issues[0]["code"] == "unsupported"
    assert dialect in str(err.value) and why in str(err.value)


def test_window_of_values_is_refused_naming_the_stage() -> None:
    body = {"source": "signin_logs", "stages": [{"kind": "window", "metrics": [
        {"fn": "values", "field": "app"}], "by": ["user"]}]}
    with pytest.raises(PlanError, match="stage 1: 'values' over a window"):
        render_sql(QueryPlan.model_validate(body), CATALOG.get("signin_logs"), "postgres")


def test_a_sort_before_a_reordering_stage_is_not_kept_and_after_a_where_it_is() -> None:
    source = CATALOG.get("signin_logs")
    kept = QueryPlan.model_validate({"source": "signin_logs", "sort": [{"field": "time"}],
                                     "stages": [{"kind": "step", "filters": [
                                         {"field": "app", "op": "eq", "value": "x"}]}]})
    text = render_sql(kept, source, "tsql", CATALOG.get)
    # no ORDER BY inside the CTE (T-SQL refuses one without TOP), one on the final SELECT
    cte, final = text.split("\n)\nSELECT", 1)
    assert "ORDER BY" not in cte and "ORDER BY" in final and "time_generated" in \
        final.split("ORDER BY")[1]
    taken = QueryPlan.model_validate({"source": "signin_logs", "sort": [{"field": "time"}],
                                      "stages": [{"kind": "step", "limit": 3}]})
    assert "ORDER BY" in render_sql(taken, source, "postgres", CATALOG.get).split("s0 AS (")[1] \
        .split(")\nSELECT")[1]  # `sort | take 3`: the take reads the sorted rows


# ---------------------------------------------------------------------- hand-written SQL


def read(sql: str, dialect: str = "postgres") -> QueryPlan:
    parsed = parse_sql(sql, CATALOG, dialect)
    assert not [i for i in parsed.plan.issues if i.code == "unsupported"], \
        [i.message for i in parsed.plan.issues]
    return parsed.plan


def test_latest_row_per_user_with_row_number() -> None:
    plan = read("""SELECT user_principal_name, ip_address FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY user_principal_name ORDER BY time_generated DESC)
    AS rn
  FROM signin_logs WHERE result_type <> '0'
) t WHERE rn = 1""")
    assert plan.filters and isinstance(plan.stages[0], TopPerGroup)
    top = plan.stages[0]
    assert top.by == ["user"] and top.sort[0].field == "time" and top.sort[0].descending
    assert isinstance(plan.stages[1], Step) and plan.stages[1].project == ["user", "src_ip"]


def test_in_subquery_and_not_exists_are_semi_and_anti_joins() -> None:
    plan = read("""SELECT * FROM signin_logs s
WHERE s.ip_address IN (SELECT source_ip FROM firewall_events WHERE device_action = 'deny')
  AND NOT EXISTS (SELECT 1 FROM azure_activity a WHERE a.caller = s.user_principal_name)""")
    semi, anti = plan.stages
    assert isinstance(semi, Join) and semi.how is JoinKind.semi
    assert semi.right.source == "firewall_events" and semi.on[0].right == "src_ip"
    assert isinstance(anti, Join) and anti.how is JoinKind.anti
    assert anti.right.source == "azure_activity" and anti.on[0].left == "user"


def test_not_in_subquery_is_refused() -> None:
    parsed = parse_sql("SELECT * FROM signin_logs WHERE ip_address NOT IN "
                       "(SELECT source_ip FROM firewall_events)", CATALOG, "postgres")
    assert any(i.code == "unsupported" for i in parsed.plan.issues)


def test_join_of_two_sources_with_a_where_after_it() -> None:
    plan = read("""SELECT s.user_principal_name, a.operation_name
FROM signin_logs s JOIN azure_activity a ON s.user_principal_name = a.caller
WHERE a.activity_status = 'Failed'""")
    join, step = plan.stages
    assert isinstance(join, Join) and join.how is JoinKind.inner
    assert [(k.left, k.right) for k in join.on] == [("user", "user")]
    assert isinstance(step, Step) and step.filters and step.project == ["user", "operation"]


def test_window_count_per_user() -> None:
    plan = read("SELECT *, COUNT(*) OVER (PARTITION BY user_principal_name) AS n "
                "FROM signin_logs WHERE result_type <> '0'")
    assert plan.filters and isinstance(plan.stages[0], Window)
    assert plan.stages[0].by == ["user"] and plan.stages[0].metrics[0].name == "n"


def test_outer_unnest_is_an_expand_and_a_cross_join_unnest_is_not() -> None:
    plan = read("""WITH apps AS (
  SELECT user_principal_name, ARRAY_AGG(app_display_name) AS list_app
  FROM signin_logs GROUP BY user_principal_name)
SELECT apps.user_principal_name, u.app AS list_app
FROM apps LEFT JOIN LATERAL UNNEST(apps.list_app) AS u(app) ON TRUE""")
    assert isinstance(plan.stages[-1], Expand) and plan.stages[-1].field == "list_app"
    cross = parse_sql("""WITH apps AS (
  SELECT user_principal_name, ARRAY_AGG(app_display_name) AS list_app
  FROM signin_logs GROUP BY user_principal_name)
SELECT apps.user_principal_name, app FROM apps CROSS JOIN UNNEST(apps.list_app) AS u(app)""",
                      CATALOG, "postgres")
    assert any(i.code == "unsupported" for i in cross.plan.issues)  # it drops empty arrays


def test_postgres_default_like_escape_is_read_as_postgres_runs_it() -> None:
    parsed = parse_sql(r"SELECT * FROM process_events "
                       r"WHERE account_name ILIKE '%NT AUTHORITY\SYSTEM%'", CATALOG, "postgres")
    (cond,) = parsed.plan.filters
    assert cond.op.value == "contains" and cond.value == "NT AUTHORITYSYSTEM"
    assert any("backslash" in n and "NT AUTHORITYSYSTEM" in n for n in parsed.notes)
    doubled = parse_sql(r"SELECT * FROM process_events "
                        r"WHERE account_name ILIKE '%NT AUTHORITY\\SYSTEM%'", CATALOG, "postgres")
    assert doubled.plan.filters[0].value == "NT AUTHORITY\\SYSTEM" and not doubled.notes
