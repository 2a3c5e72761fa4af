"""KQL and staged plans (issue 16): every stage kind and every v2 function is written as KQL
and reads back as the same plan (`roundtrip.same_plan`); real-style detection snippets read
as the stages they mean; what KQL cannot write, or the IR cannot hold, is refused by name."""

from __future__ import annotations

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Catalog, Platform
from lexiquery.dialects import render
from lexiquery.dialects.kql.parse import parse_kql
from lexiquery.dialects.roundtrip import plan_diff, same_plan
from lexiquery.errors import PlanError
from lexiquery.ir import (
    Expand,
    Function,
    Join,
    JoinKind,
    MetricFn,
    QueryPlan,
    Step,
    TopPerGroup,
    Window,
)

from .cases import SIGNIN, TEST_SOURCE
from .kql_stage_queries import FUNCTIONS, STAGE_PLANS, call, field, lit

CATALOG = Catalog([TEST_SOURCE, SIGNIN])
BUILTIN = builtin_catalog()


def round_trip(plan: QueryPlan) -> str:
    text = render(plan, TEST_SOURCE, Platform.kql, catalog=CATALOG)
    parsed = parse_kql(text, CATALOG)
    assert not parsed.plan.issues, (text, parsed.plan.issues)
    assert same_plan(parsed.plan, plan, TEST_SOURCE), \
        "\n".join([text, *plan_diff(plan, parsed.plan, TEST_SOURCE)])
    return text


# ---------------------------------------------------------------------- render → parse


@pytest.mark.parametrize("name", list(STAGE_PLANS))
def test_every_stage_kind_round_trips(name: str) -> None:
    body, written = STAGE_PLANS[name]
    text = round_trip(QueryPlan.model_validate({"source": "events", **body}))
    assert written in text


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_every_new_function_round_trips(name: str) -> None:
    expr, written = FUNCTIONS[name]
    plan = QueryPlan.model_validate({"source": "events", "computed": [{"name": "v", "expr": expr}],
                                     "project": ["user", "v"]})
    assert f"v = {written}" in round_trip(plan)


@pytest.mark.parametrize("name", ["member", "index_last", "time_diff_hours", "extract"])
def test_a_function_in_a_later_step_round_trips(name: str) -> None:
    expr, written = FUNCTIONS[name]
    plan = QueryPlan.model_validate({
        "source": "events", "sort": [{"field": "time", "descending": True}], "limit": 50,
        "stages": [{"kind": "step", "computed": [{"name": "v", "expr": expr}],
                    "filters": [{"field": "v", "op": "exists"}]}]})
    assert written in round_trip(plan)


def test_a_staged_plan_without_stages_renders_as_before() -> None:
    plan = QueryPlan.model_validate({"source": "events", "aggregation": {
        "metrics": [{"fn": "count"}], "group_by": ["user"]}})
    assert render(plan, TEST_SOURCE, Platform.kql) == \
        "TestEvents\n| summarize event_count = count() by UserPrincipalName"


# ---------------------------------------------------------------------- refusals


def _refused(body: dict, **kw: object) -> str:
    plan = QueryPlan.model_validate({"source": "events", **body})
    with pytest.raises(PlanError) as err:
        render(plan, TEST_SOURCE, Platform.kql, **kw)  # type: ignore[arg-type]
    return str(err.value)


def test_a_join_needs_the_catalog_of_its_right_source() -> None:
    body, _ = STAGE_PLANS["join_semi"]
    assert "signin_logs" in _refused(body)


def test_top_rows_per_group_need_their_row_number_column() -> None:
    message = _refused({"computed": [{"name": "_rn", "expr": lit(1)}],
                        "stages": [{"kind": "top_per_group", "by": ["user"], "n": 3,
                                    "sort": [{"field": "time", "descending": True}]}]})
    assert "'_rn'" in message


def test_a_window_after_a_row_limit_is_refused() -> None:
    message = _refused({"limit": 100, "stages": [
        {"kind": "window", "metrics": [{"fn": "count", "alias": "per_user"}], "by": ["user"]}]})
    assert "second run" in message


def test_expanding_a_single_valued_column_is_refused() -> None:
    assert "single-valued" in _refused({"stages": [{"kind": "expand", "field": "user"}]})


def test_a_join_whose_sides_share_a_kql_column_is_refused() -> None:
    message = _refused({"stages": [{"kind": "join", "how": "inner",
                                    "on": [{"left": "user", "right": "user"}],
                                    "right": {"source": "signin_logs",
                                              "project": ["user", "time"]}}]},
                       catalog=CATALOG)
    assert "unsupported" in message or "both sides" in message


def test_a_function_with_a_bad_unit_is_refused() -> None:
    message = _refused({"computed": [{"name": "v", "expr": call("start_of", field("time"),
                                                                 lit("quarter"))}]})
    assert "start_of" in message


# ---------------------------------------------------------------------- real-style snippets


def _read(text: str) -> QueryPlan:
    parsed = parse_kql(text, BUILTIN)
    assert not parsed.unsupported, [i.message for i in parsed.unsupported]
    return parsed.plan


def test_latest_signin_per_user_is_top_per_group() -> None:
    plan = _read("SigninLogs\n| where TimeGenerated > ago(1d)\n"
                 "| summarize arg_max(TimeGenerated, *) by UserPrincipalName")
    (stage,) = plan.stages
    assert isinstance(stage, TopPerGroup) and stage.by == ["user"] and stage.sort[0].descending


def test_arg_min_with_named_columns_projects_them() -> None:
    plan = _read("SigninLogs | summarize arg_min(TimeGenerated, IPAddress, AppDisplayName) "
                 "by UserPrincipalName")
    top, step = plan.stages
    assert isinstance(top, TopPerGroup) and not top.sort[0].descending
    assert isinstance(step, Step) and step.project == ["user", "time", "src_ip", "app"]


def test_arg_max_without_by_is_the_top_row() -> None:
    plan = _read("SigninLogs | summarize arg_max(TimeGenerated, *)")
    assert plan.limit == 1 and plan.sort[0].field == "time" and not plan.stages


def test_extend_after_summarize_and_a_second_summarize_are_steps() -> None:
    plan = _read("""SigninLogs
| summarize Attempts = count(), Apps = dcount(AppDisplayName) by UserPrincipalName, IPAddress
| extend Ratio = Attempts / Apps
| where Ratio > 2
| summarize IPs = dcount(IPAddress), Worst = max(Ratio) by UserPrincipalName
| top 10 by Worst desc""")
    (step,) = plan.stages
    assert isinstance(step, Step) and step.computed[0].name == "Ratio"
    assert step.aggregation is not None and step.limit == 10
    assert step.filters[0].field == "Ratio"  # type: ignore[union-attr]


def test_mv_expand_of_a_set_filters_out_empty_arrays_first() -> None:
    plan = _read("SigninLogs | summarize Apps = make_set(AppDisplayName) by UserPrincipalName"
                 "\n| mvexpand Apps\n| summarize Users = dcount(UserPrincipalName) by "
                 "tostring(Apps)") if False else _read(
        "SigninLogs | summarize Apps = make_set(AppDisplayName) by UserPrincipalName\n"
        "| mvexpand Apps")
    keep, expand, project = plan.stages
    assert isinstance(keep, Step) and keep.filters and keep.computed[0].name.startswith("_f")
    assert isinstance(expand, Expand) and expand.field == "Apps"
    assert isinstance(project, Step) and project.project == ["user", "Apps"]


def test_member_and_index_access_on_expressions() -> None:
    plan = _read('SigninLogs\n| extend Domain = tostring(split(UserPrincipalName, "@")[-1])\n'
                 '| extend Agent = tostring(parse_json(UserAgent).browser)\n'
                 '| where Domain !~ "contoso.com"')
    domain, agent = plan.computed
    assert domain.expr.args[0].fn is Function.index  # type: ignore[union-attr]
    assert agent.expr.args[0].fn is Function.member  # type: ignore[union-attr]
    assert plan.filters[0].field == "Domain"  # type: ignore[union-attr]


def test_a_where_on_an_expression_filters_on_a_column_dropped_again() -> None:
    plan = _read("SigninLogs | where strlen(UserAgent) > 200")
    assert plan.filters[0].field == "_f1"  # type: ignore[union-attr]
    assert "_f1" not in plan.project and "user" in plan.project


def test_two_columns_compared_are_a_computed_flag() -> None:
    plan = _read("SigninLogs | project UserPrincipalName, UserDisplayName, IPAddress\n"
                 "| where UserPrincipalName != UserDisplayName")
    (flag,) = plan.computed
    assert flag.expr.kind == "compare" and plan.filters[0].value is True  # type: ignore
    assert plan.project == ["user", "user_display_name", "src_ip"]


def test_joins_of_each_kind() -> None:
    for kind, how in (("inner", JoinKind.inner), ("leftouter", JoinKind.left),
                      ("leftsemi", JoinKind.semi), ("leftanti", JoinKind.anti)):
        plan = _read(f"""SigninLogs
| where ResultType == "50126"
| summarize Failures = count() by UserPrincipalName
| join kind={kind} (
    SigninLogs
    | where ResultType == "0"
    | summarize Successes = count() by UserPrincipalName
) on UserPrincipalName""")
        (join,) = plan.stages
        assert isinstance(join, Join) and join.how is how
        assert join.on[0].left == join.on[0].right == "user"


def test_innerunique_is_inner_only_where_left_keys_are_unique() -> None:
    unique = _read("SigninLogs | summarize c = count() by UserPrincipalName\n"
                   "| join (SigninLogs | summarize d = dcount(IPAddress) by UserPrincipalName)"
                   " on UserPrincipalName")
    assert unique.stages[0].how is JoinKind.inner  # type: ignore[union-attr]
    parsed = parse_kql("SigninLogs | join (SigninLogs | project UserPrincipalName, "
                       "Other = IPAddress) on UserPrincipalName", BUILTIN)
    assert "innerunique" in parsed.unsupported[0].message


def test_in_subquery_is_a_semi_join_and_not_in_an_anti_join() -> None:
    plan = _read("""let risky = SigninLogs | where RiskLevelDuringSignIn == "high" | distinct IPAddress;
SigninLogs
| where IPAddress in (risky)
| where UserPrincipalName !in ((SigninLogs | where ResultType == "0" | distinct UserPrincipalName))""")
    semi, anti = plan.stages
    assert isinstance(semi, Join) and semi.how is JoinKind.semi
    assert isinstance(anti, Join) and anti.how is JoinKind.anti and anti.on[0].left == "user"


def test_parse_extracts_named_parts() -> None:
    plan = _read('Syslog | parse SyslogMessage with * "user=" User " src=" Src " " *\n'
                 '| project User, Src')
    user, src = plan.computed
    assert user.expr.fn is Function.extract and src.expr.args[2].value == 2  # type: ignore
    assert user.expr.args[1].value == "^.*?user=(.*?) src=(.*?) .*$"  # type: ignore


def test_datetime_diff_reads_as_boundaries_crossed() -> None:
    plan = _read('SigninLogs | extend Hours = datetime_diff("hour", now(), TimeGenerated)')
    text = render(plan, SIGNIN, Platform.kql)
    assert "startofday" in text and parse_kql(text, BUILTIN).plan.computed == plan.computed


def test_countif_of_a_condition_is_a_sum_of_flags() -> None:
    plan = _read('SigninLogs | summarize Failed = countif(ResultType != "0") by '
                 'UserPrincipalName')
    agg = plan.aggregation
    assert agg is not None and agg.metrics[0].fn is MetricFn.sum


def test_a_capped_make_set_is_a_warning_and_the_query_still_reads() -> None:
    parsed = parse_kql("SigninLogs | summarize make_set(IPAddress, 10) by UserPrincipalName",
                       BUILTIN)
    (issue,) = parsed.unsupported
    assert "size cap" in issue.message and "10" in issue.message
    assert issue.severity.value == "warning" and parsed.faithful
    agg = parsed.plan.aggregation
    assert agg is not None and agg.metrics[0].fn is MetricFn.values
    big = parse_kql("SigninLogs | summarize make_set(IPAddress, 1048576) by UserPrincipalName",
                    BUILTIN)
    assert not big.plan.issues  # Kusto's own cap: nothing differs


def test_the_window_form_reads_back_from_hand_written_kql() -> None:
    plan = _read("""SigninLogs
| where ResultType != "0"
| lookup (
    SigninLogs
    | where ResultType != "0"
    | summarize PerUser = count() by UserPrincipalName
) on UserPrincipalName""")
    (window,) = plan.stages
    assert isinstance(window, Window) and window.by == ["user"]


def test_a_right_column_named_like_a_left_one_is_renamed_as_kql_does() -> None:
    plan = _read("""SigninLogs
| summarize n = count() by UserPrincipalName, IPAddress
| join kind=inner (SigninLogs | project UserPrincipalName, IPAddress, AppDisplayName)
    on UserPrincipalName
| project UserPrincipalName, IPAddress, IPAddress1, n""")
    join, step = plan.stages
    assert isinstance(join, Join) and "IPAddress1" in join.right.project
    assert isinstance(step, Step) and step.project == ["user", "src_ip", "IPAddress1", "n"]
    text = render(plan, SIGNIN, Platform.kql, catalog=BUILTIN)
    assert same_plan(parse_kql(text, BUILTIN).plan, plan, SIGNIN)


def test_expressions_of_and_in_aggregates_round_trip() -> None:
    plan = _read("SigninLogs | summarize Score = count() * 2.5, Longest = max(strlen(UserAgent))"
                 " by UserPrincipalName")
    assert plan.aggregation is not None and plan.stages
    text = render(plan, SIGNIN, Platform.kql, catalog=BUILTIN)
    assert "| extend Score = " in text
    assert same_plan(parse_kql(text, BUILTIN).plan, plan, SIGNIN)


def test_a_column_compared_with_now_or_ago_outside_the_time_range() -> None:
    plan = _read("SigninLogs | summarize Last = max(TimeGenerated) by UserPrincipalName\n"
                 "| where Last > ago(1h)")
    (step,) = plan.stages
    assert step.computed[0].expr.left.fn is Function.time_diff  # type: ignore[union-attr]
    parsed = parse_kql("SigninLogs | summarize Last = max(TimeGenerated) by UserPrincipalName\n"
                       "| where Last >= ago(1h)", BUILTIN)
    assert "ago() as a value" in parsed.unsupported[0].message  # >= is not exact in seconds


def test_arg_min_naming_its_sort_column() -> None:
    plan = _read("SigninLogs | summarize FirstSeen = arg_min(TimeGenerated, IPAddress) by "
                 "UserPrincipalName")
    _, step = plan.stages
    assert isinstance(step, Step) and step.project == ["user", "FirstSeen", "src_ip"]


def test_an_extend_reading_the_column_it_overwrites_is_refused() -> None:
    parsed = parse_kql("SigninLogs | summarize n = count() by UserPrincipalName\n"
                       "| extend n = n + 1", BUILTIN)
    assert "overwriting 'n'" in parsed.unsupported[0].message


def test_a_window_without_keys_after_a_projection_reads_back_as_a_window() -> None:
    # The helper column `_wk0 = 1` is extended after the projection, so the projection names
    # it too: it leaves the projection with the window's other helper columns.
    plan = QueryPlan.model_validate({
        "source": "events", "project": ["user", "bytes_out"],
        "stages": [{"kind": "window", "metrics": [{"fn": "count", "alias": "w_count"}]}]})
    text = round_trip(plan)
    assert "| extend _wk0 = 1" in text and "| project-away _wk0" in text
    read = parse_kql(text, CATALOG).plan
    assert read.project == ["user", "bytes_out"] and not read.computed


def test_a_fixed_end_without_start_stays_a_filter_of_the_first_part() -> None:
    # `where time < datetime(…)` is read as the time range's end; with no start it is a filter
    # of the first part, where it was read — not of the last step, after a later summarize.
    plan = QueryPlan.model_validate({
        "source": "events", "filters": [{"field": "time", "op": "lt", "value": "2029-02-24"}],
        "aggregation": {"metrics": [{"fn": "max", "field": "status", "alias": "hits"}]},
        "stages": [{"kind": "step", "aggregation": {"metrics": [{"fn": "count",
                                                                  "alias": "n2"}]}}]})
    round_trip(plan)
    read = parse_kql(render(plan, TEST_SOURCE, Platform.kql), CATALOG).plan
    assert [c.field for c in read.filters] == ["time"]  # type: ignore[union-attr]
    assert not read.stages[0].filters and not read.stages[0].having  # type: ignore[union-attr]


def test_an_extend_of_a_name_the_pipeline_already_computes_is_a_step() -> None:
    # `later` is computed, projected away, then computed again: the second one is a step of
    # its own (in one pipeline the IR would hold two fields of one name).
    plan = QueryPlan.model_validate({
        "source": "events",
        "computed": [{"name": "later", "expr": {"kind": "field", "name": "user"}}],
        "project": ["user", "host"],
        "stages": [{"kind": "step", "computed": [{"name": "later", "expr": {
            "kind": "literal", "value": 0}}], "aggregation": {"metrics": [{"fn": "count"}],
                                                               "group_by": ["later"]}}]})
    round_trip(plan)
    read = parse_kql("TestEvents | extend x = 1 | where x == 1 | extend x = 2", CATALOG).plan
    assert [c.expr.value for c in read.computed] == [1]  # type: ignore[union-attr]
    assert read.filters and read.stages[0].computed[0].expr.value == 2  # type: ignore


def test_a_left_join_on_a_quoted_column_projects_away_the_right_key() -> None:
    # KQL names the right key `Odd Name1`; the renderer compared the quoted `['Odd Name']`
    # with the column names and projected the LEFT key away instead.
    plan = QueryPlan.model_validate({
        "source": "events", "aggregation": {"group_by": ["odd", "user"]},
        "stages": [{"kind": "join", "how": "left", "right": {
            "source": "events", "aggregation": {"metrics": [{"fn": "count", "alias": "right_n"}],
                                                "group_by": ["odd"]}},
            "on": [{"left": "odd", "right": "odd"}]},
            {"kind": "step", "filters": [{"field": "odd", "op": "ne", "value": "x"}]}]})
    text = round_trip(plan)
    assert "| project-away ['Odd Name1']" in text


def test_a_converted_group_key_after_summarize_reads_as_a_having() -> None:
    # scStatus is text in KQL and a number in the IR: a step's filter on it is written
    # toint(scStatus), which after a summarize by it is still the group key (not a new column).
    web = BUILTIN.get("web_requests")
    assert web is not None
    plan = QueryPlan.model_validate({
        "source": "web_requests", "aggregation": {"group_by": ["status"]},
        "stages": [{"kind": "step", "filters": [{"field": "status", "op": "ne", "value": 2}],
                    "computed": [{"name": "later", "expr": {"kind": "field",
                                                            "name": "status"}}]}]})
    text = render(plan, web, Platform.kql, catalog=BUILTIN)
    assert "| where toint(scStatus) != 2" in text
    read = parse_kql(text, BUILTIN).plan
    assert [c.field for c in read.having] == ["status"]  # type: ignore[union-attr]
    assert same_plan(read, plan, web), "\n".join([text, *plan_diff(plan, read, web)])


def test_a_regex_re2_cannot_run_is_refused_on_kql_by_name() -> None:
    """Kusto's regex engine is RE2: no lookaround, no backreferences. Kusto accepts such a
    query and fails when it runs, so the renderer refuses it, naming the construct."""
    from lexiquery.dialects import render as render_any
    from lexiquery.errors import PlanError
    from lexiquery.ir import QueryPlan

    src = BUILTIN.get("process_creation")
    assert src is not None
    look = QueryPlan.model_validate({"source": "process_creation", "filters": [
        {"field": "command_line", "op": "regex", "value": r"-e\s+(?!JAB)[A-Za-z0-9+/=]{100,}"}]})
    with pytest.raises(PlanError, match="negative lookahead"):
        render_any(look, src, Platform.kql)
    back = QueryPlan.model_validate({"source": "process_creation", "computed": [
        {"name": "x", "expr": {"kind": "call", "fn": "extract", "args": [
            {"kind": "field", "name": "command_line"}, {"kind": "literal", "value": r"(a)\1"},
            {"kind": "literal", "value": 1}]}}]})
    with pytest.raises(PlanError, match="backreference"):
        render_any(back, src, Platform.kql)
    fine = look.model_copy(update={"filters": [look.filters[0].model_copy(  # type: ignore
        update={"value": r"-e\s+[A-Za-z0-9+/=]{100,}"})]})
    assert "matches regex" in render_any(fine, src, Platform.kql)
    assert "(?!JAB)" in render_any(look, src, Platform.spl)  # PCRE has lookaround
