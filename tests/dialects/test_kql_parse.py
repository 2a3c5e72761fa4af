"""The KQL parser: every golden plan survives render → parse, the hand-written Sentinel queries
in `kql_queries.py` read as their expected plans exactly, and the pieces in between (lexer,
`let`, time points, default aggregate names, issue positions) behave as documented."""

from __future__ import annotations

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Catalog, Platform
from lexiquery.dialects import parse, render
from lexiquery.dialects.kql.lex import to_amount_unit, tokenize
from lexiquery.dialects.kql.parse import parse_kql
from lexiquery.dialects.parsing import line_col
from lexiquery.dialects.roundtrip import plan_diff, same_plan
from lexiquery.ir import MetricFn, QueryPlan, Severity

from .cases import CASES, SIGNIN, SOURCES, TEST_SOURCE, plan_body
from .kql_queries import ISSUE_AT, QUERIES

CATALOG = Catalog([TEST_SOURCE, SIGNIN])
BUILTIN = builtin_catalog()


# ---------------------------------------------------------------------- round trip


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_of_every_golden_plan(case: str) -> None:
    plan = QueryPlan.model_validate(plan_body(case))
    source = SOURCES[plan.source]
    text = render(plan, source, Platform.kql)
    parsed = parse_kql(text, CATALOG)
    assert parsed.source.id == source.id
    assert not parsed.unsupported, parsed.unsupported
    assert same_plan(parsed.plan, plan, source), "\n".join(plan_diff(plan, parsed.plan, source))


# ---------------------------------------------------------------------- golden queries


def test_there_are_enough_golden_queries() -> None:
    assert len(QUERIES) >= 45
    assert sum(1 for _, (_, plan) in QUERIES.items() if plan.get("issues")) >= 10


@pytest.mark.parametrize("name", list(QUERIES))
def test_golden_query(name: str) -> None:
    text, expected = QUERIES[name]
    parsed = parse_kql(text, BUILTIN)
    assert parsed.plan.model_dump(mode="json") == \
        QueryPlan.model_validate(expected).model_dump(mode="json")
    assert parsed.faithful == (not any(i.get("severity", "warning") == "error"
                                       for i in expected.get("issues", [])))


@pytest.mark.parametrize("name", [n for n, (_, p) in QUERIES.items() if not p.get("issues")])
def test_golden_query_renders_and_reads_back(name: str) -> None:
    """A plan read from real KQL is one the renderer writes back to the same meaning."""
    parsed = parse_kql(QUERIES[name][0], BUILTIN)
    again = parse_kql(render(parsed.plan, parsed.source, Platform.kql), BUILTIN)
    assert same_plan(again.plan, parsed.plan, parsed.source), \
        "\n".join(plan_diff(parsed.plan, again.plan, parsed.source))


def test_issue_positions_point_at_the_construct() -> None:
    with_issues = {n for n, (_, p) in QUERIES.items() if p.get("issues")}
    assert with_issues == set(ISSUE_AT)
    for name, starts in ISSUE_AT.items():
        text, plan = QUERIES[name]
        lines = text.splitlines()
        found = [lines[i["line"] - 1][i["column"] - 1:] for i in plan["issues"]]
        assert len(found) == len(starts)
        assert all(at.startswith(s) for at, s in zip(found, starts)), (name, found)


# ---------------------------------------------------------------------- pieces


def test_entry_point_dispatches_to_kql() -> None:
    parsed = parse("SigninLogs | take 5", Platform.kql, BUILTIN)
    assert parsed.platform is Platform.kql and parsed.dialect == "kql"
    assert parsed.plan.limit == 5 and parsed.source.id == "signin_logs"


def test_lexer_strings_timespans_and_offsets() -> None:
    text = 'x == @"C:\\a""b" and y !in~ (\'it\\\'s\') // c\n| where t > 1.5h'
    toks = tokenize(text)
    kinds = [(t.kind, t.value) for t in toks]
    assert ("string", 'C:\\a"b') in kinds  # verbatim: the backslash is literal, "" is "
    assert ("string", "it's") in kinds
    assert ("op", "!in~") in kinds
    assert ("timespan", 5400.0) in kinds
    assert all(t.value != "c" for t in toks)  # the comment is gone
    pipe = next(t for t in toks if t.is_op("|"))
    assert pipe.offset == text.index("|") and line_col(text, pipe.offset) == (2, 1)


@pytest.mark.parametrize("seconds,written,expected", [
    (86400, "1d", (1, "day")), (86400, "24h", (24, "hour")), (5400, "1.5h", (90, "minute")),
    (0.001, "1ms", None), (1209600, "14d", (14, "day")), (120, "2min", (2, "minute")),
])
def test_timespans_keep_the_unit_written(seconds: float, written: str,
                                         expected: tuple[int, str] | None) -> None:
    assert to_amount_unit(seconds, written) == expected


def test_let_expression_keeps_its_meaning_where_substituted() -> None:
    parsed = parse_kql("let k = 1000 + 24;\nCommonSecurityLog\n| extend KB = SentBytes / k",
                       BUILTIN)
    expr = parsed.plan.computed[0].expr.model_dump(mode="json", exclude_defaults=True)
    # (1000 + 24), not SentBytes / 1000 + 24; integer division is kept integral.
    assert expr == {"fn": "to_int", "args": [{"fn": "div", "args": [
        {"name": "bytes_out"}, {"fn": "add", "args": [{"value": 1000}, {"value": 24}]}]}]}


def test_tabular_let_is_the_query_source() -> None:
    parsed = parse_kql('let Failures = SigninLogs | where ResultType != "0";\n'
                       "Failures | summarize count() by UserPrincipalName", BUILTIN)
    assert parsed.source.id == "signin_logs"
    assert parsed.plan.filters[0].field == "result_code"
    assert parsed.plan.aggregation and parsed.plan.aggregation.group_by == ["user"]


def test_function_let_is_reported_where_used() -> None:
    text = "let f = (s:string) { strcat(s, \"x\") };\nSigninLogs\n| where f(UserPrincipalName) == \"ax\""
    parsed = parse_kql(text, BUILTIN)
    (issue,) = parsed.unsupported
    assert (issue.line, issue.column) == (3, 9) and "let 'f'" in issue.message


def test_render_is_display_only_and_keeps_the_plan_faithful() -> None:
    parsed = parse_kql("SigninLogs | summarize count() by Location | render piechart", BUILTIN)
    (issue,) = parsed.unsupported
    assert issue.severity is Severity.warning and parsed.faithful


def test_isnull_on_text_is_noted() -> None:
    parsed = parse_kql("SigninLogs | where isnotnull(Location)", BUILTIN)
    assert parsed.plan.filters[0].op.value == "exists"
    assert parsed.notes and "never null" in parsed.notes[0]


def test_make_set_and_make_list_get_kql_default_names() -> None:
    parsed = parse_kql("SigninLogs | summarize make_set(IPAddress), make_list(AppDisplayName) "
                       "by UserPrincipalName | where array_length(set_IPAddress) > 3", BUILTIN)
    agg = parsed.plan.aggregation
    assert agg is not None
    assert [(m.fn, m.field, m.alias) for m in agg.metrics] == [
        (MetricFn.values, "src_ip", "set_IPAddress"), (MetricFn.list, "app", "list_AppDisplayName")]
    # array_length() of an output is a column computed in a step after the aggregation.
    assert not parsed.unsupported
    (step,) = parsed.plan.stages
    assert step.computed[0].expr.fn.value == "array_length"  # type: ignore[union-attr]


def test_sort_before_summarize_is_dropped_with_a_note() -> None:
    parsed = parse_kql("SigninLogs | sort by TimeGenerated | summarize count()", BUILTIN)
    assert parsed.plan.sort == [] and not parsed.unsupported and parsed.notes


def test_project_before_summarize_narrows_the_names() -> None:
    parsed = parse_kql("SigninLogs | project UserPrincipalName, IPAddress\n"
                       "| summarize dcount(IPAddress) by UserPrincipalName", BUILTIN)
    assert parsed.plan.project == [] and not parsed.unsupported
    assert parsed.plan.aggregation and parsed.plan.aggregation.metrics[0].alias == \
        "dcount_IPAddress"


def test_rename_of_a_metric_after_summarize_renames_every_use() -> None:
    parsed = parse_kql("SigninLogs | summarize count() by Location | where count_ > 5\n"
                       "| sort by count_ | project-rename Total = count_", BUILTIN)
    plan = parsed.plan
    assert plan.aggregation and plan.aggregation.metrics[0].alias == "Total"
    assert plan.having[0].field == "Total" and plan.sort[0].field == "Total"


def test_take_then_take_keeps_the_smaller() -> None:
    assert parse_kql("Syslog | take 100 | limit 10", BUILTIN).plan.limit == 10


def test_sort_after_take_is_a_step_of_its_own() -> None:
    parsed = parse_kql("Syslog | take 100\n| sort by TimeGenerated", BUILTIN)
    assert not parsed.unsupported and parsed.plan.limit == 100
    (step,) = parsed.plan.stages
    assert step.sort[0].field == "time"  # type: ignore[union-attr]


def test_second_statement_is_reported() -> None:
    parsed = parse_kql("Syslog | take 1;\nHeartbeat | take 2", BUILTIN)
    assert parsed.plan.limit == 1 and parsed.unsupported[0].line == 2


def test_count_of_a_column_counts_rows_and_dcount_accuracy_is_ignored() -> None:
    agg = parse_kql("SigninLogs | summarize count(UserAgent), dcount(IPAddress, 4)",
                    BUILTIN).plan.aggregation
    assert agg is not None
    assert [(m.fn, m.field, m.alias) for m in agg.metrics] == [
        (MetricFn.count, None, "count_UserAgent"),
        (MetricFn.count_distinct, "src_ip", "dcount_IPAddress")]


def test_two_since_bounds_keep_the_more_recent() -> None:
    plan = parse_kql("Syslog | where TimeGenerated >= ago(7d)\n| where TimeGenerated > ago(1d)",
                     BUILTIN).plan
    assert plan.time_range is not None and plan.time_range.start.amount == 1
    assert not plan.issues


def test_sub_second_time_spans_are_unsupported_where_written() -> None:
    (issue,) = parse_kql("Syslog | where TimeGenerated > ago(5ms)", BUILTIN).unsupported
    assert issue.column == 36 and "5ms" in issue.message


def test_unnamed_expressions_are_named_like_kql() -> None:
    plan = parse_kql("SigninLogs | extend tolower(UserPrincipalName), Location\n"
                     "| project Column1, Location", BUILTIN).plan
    assert [c.name for c in plan.computed] == ["Column1"]
    assert plan.project == ["Column1", "location"]


def test_columns_after_an_unsupported_stage_are_not_guessed() -> None:
    parsed = parse_kql("SecurityAlert\n| mv-apply e = Entities on (take 1)\n"
                       "| where Type == 'account'", BUILTIN)
    assert [i.line for i in parsed.unsupported] == [2, 3]
    assert parsed.plan.filters == []
