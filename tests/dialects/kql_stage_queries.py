"""Staged plans and v2 functions for the KQL stage tests (`test_kql_stages.py`): one plan per
stage kind and per function, over the test source `events` (and the built-in sign-ins as a
join's right side), each with a piece of the KQL it must be written as."""

from __future__ import annotations

from typing import Any


def field(name: str) -> dict[str, Any]:
    return {"kind": "field", "name": name}


def lit(value: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": value}


def call(fn: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "call", "fn": fn, "args": list(args)}


COUNT_BY_USER = {"metrics": [{"fn": "count", "alias": "n"}], "group_by": ["user"]}

# name → (plan body over `events`, a line the KQL must contain)
STAGE_PLANS: dict[str, tuple[dict[str, Any], str]] = {
    "step_having_extend_second_summarize": ({
        "aggregation": {"metrics": [{"fn": "count", "alias": "n"}],
                        "group_by": ["user", "src_ip"]},
        "stages": [{"kind": "step", "computed": [
            {"name": "weight", "expr": call("mul", field("n"), lit(2))}],
            "aggregation": {"metrics": [{"fn": "sum", "field": "weight", "alias": "total"},
                                        {"fn": "count_distinct", "field": "src_ip"}],
                            "group_by": ["user"]},
            "having": [{"field": "total", "op": "gt", "value": 10}]}]},
        "| summarize total = sum(weight), distinct_src_ip = dcount(IPAddress) by "
        "UserPrincipalName"),
    "step_where_after_take": ({
        "sort": [{"field": "time", "descending": True}], "limit": 100,
        "stages": [{"kind": "step", "filters": [{"field": "status", "op": "ge", "value": 500}],
                    "project": ["time", "user", "status"]}]},
        "| top 100 by TimeGenerated desc\n| where StatusCode >= 500"),
    "step_sort_limit_after_aggregation_step": ({
        "aggregation": COUNT_BY_USER,
        "stages": [{"kind": "step", "computed": [
            {"name": "heavy", "expr": {"kind": "compare", "left": field("n"), "op": "gt",
                                       "right": lit(100)}}],
            "sort": [{"field": "n", "descending": True}], "limit": 5}]},
        "| extend heavy = n > 100"),
    "expand_split": ({
        "computed": [{"name": "parts", "expr": call("split", field("path"), lit("\\"))}],
        "stages": [{"kind": "expand", "field": "parts"},
                   {"kind": "step", "aggregation": {"metrics": [{"fn": "count"}],
                                                    "group_by": ["parts"]}}]},
        "| mv-expand parts = iff(array_length(parts) == 0, dynamic(null), parts)"),
    "expand_values": ({
        "aggregation": {"metrics": [{"fn": "values", "field": "src_ip", "alias": "ips"}],
                        "group_by": ["user"]},
        "stages": [{"kind": "expand", "field": "ips"}]},
        "| mv-expand ips = iff(array_length(ips) == 0, dynamic(null), ips)"),
    "top_per_group_latest": ({
        "filters": [{"field": "status", "op": "ge", "value": 400}],
        "stages": [{"kind": "top_per_group", "by": ["user", "host"],
                    "sort": [{"field": "time", "descending": True}]}]},
        "| summarize arg_max(TimeGenerated, *) by UserPrincipalName, Computer"),
    "top_per_group_earliest_then_project": ({
        "stages": [{"kind": "top_per_group", "by": ["user"],
                    "sort": [{"field": "time", "descending": False}]},
                   {"kind": "step", "project": ["user", "time", "src_ip"]}]},
        "| summarize arg_min(TimeGenerated, *) by UserPrincipalName"),
    "top_three_per_group": ({
        "stages": [{"kind": "top_per_group", "by": ["user", "status"], "n": 3,
                    "sort": [{"field": "time", "descending": True}]}]},
        "| extend _rn = row_number(1, tostring(UserPrincipalName) != "
        "tostring(prev(UserPrincipalName)) or tostring(StatusCode) != tostring(prev(StatusCode)))"
        "\n| where _rn <= 3\n| project-away _rn"),
    "top_per_group_two_sort_keys_after_aggregation": ({
        "aggregation": {"metrics": [{"fn": "count", "alias": "n"}],
                        "group_by": ["user", "host"]},
        "stages": [{"kind": "top_per_group", "by": ["user"],
                    "sort": [{"field": "n", "descending": True},
                             {"field": "host", "descending": False}]}]},
        "| sort by UserPrincipalName asc, n desc, Computer asc"),
    "window_text_key": ({
        "filters": [{"field": "status", "op": "ge", "value": 400}],
        "stages": [{"kind": "window", "metrics": [{"fn": "count", "alias": "per_user"}],
                    "by": ["user"]},
                   {"kind": "step", "filters": [{"field": "per_user", "op": "gt",
                                                 "value": 3}]}]},
        "| lookup (\n    TestEvents\n    | where StatusCode >= 400\n"
        "    | summarize per_user = count() by UserPrincipalName\n) on UserPrincipalName"),
    "window_numeric_key_and_none": ({
        "stages": [{"kind": "window", "metrics": [{"fn": "avg", "field": "bytes_out",
                                                   "alias": "avg_out"}],
                    "by": ["status"]},
                   {"kind": "window", "metrics": [{"fn": "max", "field": "bytes_out",
                                                   "alias": "top_out"}]}]},
        "| extend _wk0 = tostring(StatusCode)"),
    "join_inner_projected_right": ({
        "stages": [{"kind": "join", "how": "inner", "on": [{"left": "user", "right": "user"}],
                    "right": {"source": "signin_logs", "filters": [
                        {"field": "result_code", "op": "eq", "value": "0"}],
                        "project": ["user", "app"]}}]},
        "| join kind=inner (\n    SigninLogs\n    | where ResultType == \"0\"\n"
        "    | project UserPrincipalName, AppDisplayName\n) on UserPrincipalName\n"
        "| project-away UserPrincipalName1"),
    "join_left_after_aggregation": ({
        "aggregation": COUNT_BY_USER,
        "stages": [{"kind": "join", "how": "left", "on": [{"left": "user", "right": "user"}],
                    "right": {"source": "signin_logs", "aggregation": {
                        "metrics": [{"fn": "count_distinct", "field": "src_ip",
                                     "alias": "signin_ips"}], "group_by": ["user"]}}}]},
        "| join kind=leftouter ("),
    "join_semi": ({
        "stages": [{"kind": "join", "how": "semi", "on": [{"left": "src_ip", "right": "src_ip"}],
                    "right": {"source": "signin_logs", "filters": [
                        {"field": "risk_level", "op": "eq", "value": "high"}],
                        "aggregation": {"group_by": ["src_ip"]}}}]},
        "| join kind=leftsemi ("),
    "join_anti_different_names": ({
        "stages": [{"kind": "join", "how": "anti", "on": [{"left": "host",
                                                           "right": "user"}],
                    "right": {"source": "signin_logs", "project": ["user"]}}]},
        "| join kind=leftanti ("),
}

# name → (computed expression over `events`, the KQL it must be written as)
FUNCTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "extract": (call("extract", field("path"), lit(r"\\([^\\]+)$"), lit(1)),
                r'extract(@"\\([^\\]+)$", 1, FilePath)'),
    "replace": (call("replace", field("user"), lit("@(.*)$"), lit(r" at \1")),
                r'replace_regex(UserPrincipalName, @"@(.*)$", @" at \1")'),
    "split": (call("split", field("path"), lit("\\")), 'split(FilePath, "\\\\")'),
    "index_last": (call("index", call("split", field("user"), lit("@")), lit(-1)),
                   'split(UserPrincipalName, "@")[-1]'),
    "member": (call("to_string", call("member", call("parse_json", field("odd")),
                                      lit("city"))),
               "tostring(parse_json(['Odd Name']).city)"),
    "member_odd_key": (call("member", call("parse_json", field("odd")), lit("a b")),
                       "parse_json(['Odd Name'])[\"a b\"]"),
    "index_of_member": (call("index", call("member", call("parse_json", field("odd")),
                                           lit("list")), lit(0)),
                        "parse_json(['Odd Name']).list[0]"),
    "parse_json": (call("parse_json", field("odd")), "parse_json(['Odd Name'])"),
    "array_length": (call("array_length", call("split", field("path"), lit("/"))),
                     'array_length(split(FilePath, "/"))'),
    "start_of_day": (call("start_of", field("time"), lit("day")), "startofday(TimeGenerated)"),
    "start_of_week": (call("start_of", field("time"), lit("week")),
                      "startofweek(TimeGenerated)"),
    "start_of_month": (call("start_of", field("time"), lit("month")),
                       "startofmonth(TimeGenerated)"),
    "start_of_year": (call("start_of", field("time"), lit("year")),
                      "startofyear(TimeGenerated)"),
    "time_diff_hours": (call("time_diff", lit("hour"), call("now"), field("time")),
                        "tolong((now() - TimeGenerated) / 1h)"),
    "time_diff_days": (call("time_diff", lit("day"), call("start_of", field("time"),
                                                          lit("month")), field("time")),
                       "tolong((startofmonth(TimeGenerated) - TimeGenerated) / 1d)"),
    "now": (call("now"), "now()"),
    "trim": (call("trim", field("user")), r'trim(@"\s+", UserPrincipalName)'),
    "if_compare_columns": (call("if", {"kind": "compare", "left": field("user"), "op": "ne",
                                       "right": field("initiator")}, lit(1), lit(0)),
                           "iff(UserPrincipalName != tostring(InitiatedBy.user."
                           "userPrincipalName), 1, 0)"),
}
