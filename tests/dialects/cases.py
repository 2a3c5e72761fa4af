"""Plans for the golden tests — one per feature: every operator, and/or/not nesting, every metric,
group-by, time buckets, having, project, sort, limit/top, computed fields, every time form,
escaping nasties, dotted KQL paths.

Most run against `TEST_SOURCE`, built here so the tests do not depend on the built-in catalog;
a few run against the built-in Entra sign-ins source (`SIGNIN`), read from its YAML file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import lexiquery
from lexiquery.catalog.model import Source

TEST_SOURCE = Source.model_validate({
    "id": "events", "name": "Test events", "time_field": "time",
    "fields": [
        {"name": "time", "type": "datetime"},
        {"name": "user", "type": "string", "entity": "user"},
        {"name": "src_ip", "type": "string", "entity": "ip"},
        {"name": "host", "type": "string", "entity": "host"},
        {"name": "status", "type": "int"},
        {"name": "result_code", "type": "string"},
        {"name": "bytes_out", "type": "long"},
        {"name": "duration", "type": "real"},
        {"name": "path", "type": "string"},
        {"name": "initiator", "type": "string", "entity": "user"},
        {"name": "odd", "type": "string"},
        {"name": "is_admin", "type": "bool"},
        {"name": "session_id", "type": "guid"},
    ],
    "bindings": {
        "kql": {"table": "TestEvents", "columns": {
            "time": "TimeGenerated", "user": "UserPrincipalName", "src_ip": "IPAddress",
            "host": "Computer", "status": "StatusCode", "result_code": "ResultType",
            "bytes_out": "SentBytes", "duration": "DurationMs", "path": "FilePath",
            "initiator": "InitiatedBy.user.userPrincipalName", "odd": "Odd Name",
            "is_admin": "IsAdmin", "session_id": "SessionId"}},
        "spl": {"search": 'index=main sourcetype="test:events"', "fields": {
            "time": "_time", "user": "user", "src_ip": "src_ip", "host": "host",
            "status": "status", "result_code": "status.errorCode", "bytes_out": "bytes_out",
            "duration": "duration", "path": "file_path", "initiator": "initiatedBy.user",
            "odd": "odd name", "is_admin": "is_admin", "session_id": "session_id"}},
        "sql": {"table": "sec.test_events", "columns": {
            "time": "time", "user": "user", "src_ip": "src_ip", "host": "host_name",
            "status": "status", "result_code": "result_code", "bytes_out": "bytes_out",
            "duration": "duration_ms", "path": "file_path", "initiator": "initiator",
            "odd": "Odd Name", "is_admin": "is_admin", "session_id": "session_id"}},
    },
})

_SIGNIN_YAML = Path(lexiquery.__file__).parent / "catalog" / "builtin" / "signin_logs.yaml"
SIGNIN = Source.model_validate(yaml.safe_load(_SIGNIN_YAML.read_text(encoding="utf-8")))
SOURCES = {s.id: s for s in (TEST_SOURCE, SIGNIN)}


def c(field: str, op: str, value: Any = None, **kw: Any) -> dict[str, Any]:
    return {"field": field, "op": op, **({} if value is None else {"value": value}), **kw}


def f(name: str) -> dict[str, Any]:
    return {"kind": "field", "name": name}


def lit(value: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": value}


def call(fn: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "call", "fn": fn, "args": list(args)}


def desc(field: str) -> dict[str, Any]:
    return {"field": field, "descending": True}


LAST_24H = {"start": {"amount": 24, "unit": "hour"}}
COUNT_BY_USER = {"metrics": [{"fn": "count"}], "group_by": ["user"]}

CASES: dict[str, dict[str, Any]] = {
    # ---------------------------------------------------------------- basics, every operator
    "plain_table": {},
    "limit_only": {"limit": 20},
    "last_24h_eq": {"time_range": LAST_24H, "filters": [c("user", "eq", "Alice@Contoso.com")]},
    "eq_case_sensitive": {"filters": [c("user", "eq", "Alice", case_sensitive=True)]},
    "ne_numeric_string": {"filters": [c("result_code", "ne", "0")]},
    "numeric_comparisons": {"filters": [c("status", "ge", 500), c("bytes_out", "gt", "1000000"),
                                        c("duration", "lt", 2.5), c("status", "le", 599)]},
    "in_and_not_in": {"filters": [c("status", "in", ["401", 403]),
                                  c("host", "not_in", ["web01", "WEB02"])]},
    "string_ops": {"filters": [c("path", "contains", "Temp"), c("path", "startswith", "C:\\"),
                               c("path", "endswith", ".exe"), c("host", "not_contains", "test")]},
    "case_sensitive_ops": {"filters": [
        c("path", "contains", "Temp", case_sensitive=True),
        c("path", "startswith", "C:\\Users", case_sensitive=True),
        c("host", "ne", "WEB01", case_sensitive=True),
        c("user", "in", ["Alice", "Bob"], case_sensitive=True)]},
    "has_term": {"filters": [c("path", "has", "mimikatz")]},
    "regex": {"filters": [c("path", "regex", r"\\[a-z]{8}\.exe$")]},
    "regex_case_sensitive": {"filters": [c("user", "regex", r'^svc_[A-Z]+"x"$',
                                           case_sensitive=True)]},
    "exists": {"filters": [c("src_ip", "exists"), c("user", "not_exists")]},
    "exists_non_text": {"filters": [c("status", "exists"), c("session_id", "not_exists")]},
    "bool_field": {"filters": [c("is_admin", "eq", True)]},
    "bool_ne_string_value": {"filters": [c("is_admin", "ne", "false")]},
    "guid_equality": {"filters": [c("session_id", "eq", "6F9619FF-8B86-D011-B42D-00C04FC964FF")]},
    "string_ops_on_number": {"filters": [c("status", "startswith", "40")]},
    "datetime_values": {"filters": [c("time", "ge", "2024-03-01T08:00:00Z"),
                                    c("time", "lt", "2024-03-02")]},
    # ---------------------------------------------------------------- nesting
    "nested_and_or_not": {"filters": [{"kind": "or", "items": [
        c("status", "eq", 404),
        {"kind": "and", "items": [c("status", "ge", 500),
                                  {"kind": "not", "item": c("host", "eq", "lb01")}]}]}]},
    "not_of_or_and_not_in_or": {"filters": [
        {"kind": "not", "item": {"kind": "or", "items": [c("user", "startswith", "svc_"),
                                                         c("user", "endswith", "$")]}},
        {"kind": "or", "items": [c("host", "not_in", ["a", "b"]), c("src_ip", "not_exists")]},
        {"kind": "not", "item": c("path", "regex", "^C:")}]},
    "or_needing_where": {"filters": [{"kind": "or", "items": [
        c("user", "eq", "admin"), c("path", "contains", "*"), c("status", "gt", 500)]}]},
    # ---------------------------------------------------------------- escaping
    "escaping_nasties": {"filters": [c("user", "eq", 'O\'Brien "the" \\admin'),
                                     c("path", "contains", "50%_off*")]},
    "like_specials": {"filters": [c("path", "contains", "[tmp]_100%"),
                                  c("path", "endswith", "!.log"),
                                  c("odd", "startswith", "a*b")]},
    "newline_tab_values": {"filters": [c("path", "eq", "line1\nline2\tend"),
                                       c("user", "contains", "it's")]},
    "unicode_value": {"filters": [c("user", "eq", "Zoë Ångström")]},
    "odd_column_names": {"filters": [c("odd", "eq", "x")], "project": ["odd", "user"]},
    # ---------------------------------------------------------------- dotted KQL paths
    "dotted_dynamic_path": {"filters": [c("initiator", "eq", "admin@contoso.com")],
                            "aggregation": {"metrics": [{"fn": "count"}],
                                            "group_by": ["initiator"]}},
    "dotted_path_project_sort": {"filters": [c("initiator", "contains", "admin")],
                                 "project": ["time", "initiator"], "sort": [{"field": "initiator"}],
                                 "limit": 100},
    # ---------------------------------------------------------------- aggregation
    "count_by_user_top": {"time_range": LAST_24H, "filters": [c("result_code", "ne", "0")],
                          "aggregation": COUNT_BY_USER, "sort": [desc("event_count")],
                          "limit": 10},
    "threshold_having": {"aggregation": COUNT_BY_USER, "having": [c("event_count", "gt", 5)],
                         "sort": [desc("event_count")]},
    "having_or_on_metrics": {
        "aggregation": {"metrics": [{"fn": "count"}, {"fn": "count_distinct", "field": "src_ip"}],
                        "group_by": ["user"]},
        "having": [{"kind": "or", "items": [c("event_count", "ge", 100),
                                            c("distinct_src_ip", "gt", 3)]}],
        "sort": [desc("distinct_src_ip"), {"field": "user"}]},
    "all_metrics": {"aggregation": {"metrics": [
        {"fn": "count"}, {"fn": "count_distinct", "field": "src_ip"},
        {"fn": "sum", "field": "bytes_out"}, {"fn": "avg", "field": "duration"},
        {"fn": "min", "field": "duration"}, {"fn": "max", "field": "duration"},
        {"fn": "first_seen"}, {"fn": "last_seen"}], "group_by": ["host"]}},
    "count_field_and_alias": {"aggregation": {"metrics": [
        {"fn": "count", "field": "src_ip"}, {"fn": "count", "alias": "Failed logons"}],
        "group_by": ["host"]}, "sort": [desc("Failed logons")], "limit": 5},
    "percentile": {"aggregation": {"metrics": [{"fn": "percentile", "field": "duration",
                                                "percentile": 95}], "group_by": ["path"]}},
    "percentile_decimal": {"aggregation": {"metrics": [{"fn": "percentile", "field": "duration",
                                                        "percentile": 99.9}]}},
    "avg_desc_top": {"aggregation": {"metrics": [{"fn": "avg", "field": "duration"}],
                                     "group_by": ["host"]},
                     "sort": [desc("avg_duration")], "limit": 3},
    "first_last_seen_sorted": {"filters": [c("src_ip", "exists")],
                               "aggregation": {"metrics": [{"fn": "first_seen"},
                                                           {"fn": "last_seen"}],
                                               "group_by": ["src_ip"]},
                               "sort": [desc("last_seen")], "limit": 20},
    "quiet_since_having_time": {"aggregation": {"metrics": [{"fn": "last_seen"}],
                                                "group_by": ["host"]},
                                "having": [c("last_seen", "lt", "2024-03-01T00:00:00Z")]},
    "distinct_values": {"aggregation": {"group_by": ["user", "src_ip"]}},
    "distinct_sorted": {"aggregation": {"group_by": ["host"]}, "sort": [{"field": "host"}]},
    "project_subset_sort_hidden_metric": {
        "aggregation": {"metrics": [{"fn": "count"}, {"fn": "sum", "field": "bytes_out"}],
                        "group_by": ["user", "host"]},
        "project": ["user", "event_count"], "sort": [desc("total_bytes_out")], "limit": 10},
    "values_and_list_by_user": {"aggregation": {"metrics": [
        {"fn": "values", "field": "host"}, {"fn": "list", "field": "src_ip"}],
        "group_by": ["user"]}},
    "values_list_dotted_path": {"time_range": LAST_24H, "aggregation": {"metrics": [
        {"fn": "values", "field": "initiator"}, {"fn": "list", "field": "initiator"}],
        "group_by": ["host"]}},
    "values_with_count_sorted": {"filters": [c("result_code", "ne", "0")],
                                 "aggregation": {"metrics": [
                                     {"fn": "count"}, {"fn": "values", "field": "src_ip"}],
                                     "group_by": ["user"]},
                                 "sort": [desc("event_count")], "limit": 10},
    "list_numeric_projected": {"aggregation": {"metrics": [
        {"fn": "list", "field": "status", "alias": "statuses"}, {"fn": "count"}],
        "group_by": ["host"]}, "project": ["host", "statuses"]},
    # ---------------------------------------------------------------- time buckets
    "hourly_bucket": {"time_range": {"start": {"amount": 7, "unit": "day"}},
                      "aggregation": {"metrics": [{"fn": "count"}],
                                      "time_bucket": {"amount": 1, "unit": "hour"}},
                      "sort": [{"field": "time"}]},
    "five_minute_bucket_by_host": {"aggregation": {"metrics": [{"fn": "count"}],
                                                   "group_by": ["host"],
                                                   "time_bucket": {"amount": 5,
                                                                   "unit": "minute"}}},
    "daily_bucket_30d": {"time_range": {"start": {"amount": 30, "unit": "day", "snap": "day"}},
                         "aggregation": {"metrics": [{"fn": "sum", "field": "bytes_out"}],
                                         "time_bucket": {"amount": 1, "unit": "day"}},
                         "sort": [{"field": "time"}]},
    "six_hour_bucket": {"aggregation": {"metrics": [{"fn": "max", "field": "duration"}],
                                        "time_bucket": {"amount": 6, "unit": "hour"}}},
    "thirty_second_bucket": {"time_range": {"start": {"amount": 15, "unit": "minute"}},
                             "aggregation": {"metrics": [{"fn": "count"}],
                                             "time_bucket": {"amount": 30, "unit": "second"}}},
    "weekly_bucket": {"aggregation": {"metrics": [{"fn": "count_distinct", "field": "user"}],
                                      "time_bucket": {"amount": 1, "unit": "week"}}},
    "bucket_without_metric": {"aggregation": {"time_bucket": {"amount": 1, "unit": "day"}}},
    # ---------------------------------------------------------------- time ranges
    "today": {"time_range": {"start": {"amount": 0, "unit": "day", "snap": "day"}}},
    "yesterday": {"time_range": {"start": {"amount": 1, "unit": "day", "snap": "day"},
                                 "end": {"amount": 0, "unit": "day", "snap": "day"}}},
    "last_2_weeks": {"time_range": {"start": {"amount": 2, "unit": "week"}}},
    "last_90_seconds": {"time_range": {"start": {"amount": 90, "unit": "second"}}},
    "snapped_hours": {"time_range": {"start": {"amount": 36, "unit": "hour", "snap": "day"}}},
    "absolute_between": {"time_range": {"start": {"at": "2024-03-01T00:00:00Z"},
                                        "end": {"at": "2024-03-08T12:30:00Z"}}},
    "absolute_offset_open_end": {"time_range": {"start": {"at": "2024-03-01T02:00:00.250+02:00"}}},
    "relative_to_absolute": {"time_range": {"start": {"at": "2024-01-01T00:00:00"},
                                            "end": {"amount": 1, "unit": "hour"}}},
    # ---------------------------------------------------------------- project, sort, limit
    "project_sort_limit": {"project": ["time", "user", "src_ip"], "sort": [desc("time")],
                           "limit": 50},
    "sort_on_unprojected_field": {"project": ["user", "src_ip"], "sort": [desc("time")],
                                  "limit": 5},
    "multi_key_sort": {"sort": [{"field": "host"}, desc("bytes_out")]},
    "multi_key_sort_limit": {"project": ["host", "bytes_out"],
                             "sort": [desc("bytes_out"), {"field": "host"}], "limit": 10},
    # ---------------------------------------------------------------- computed fields
    "computed_fields": {"computed": [
        {"name": "mb_out", "expr": call("div", f("bytes_out"), lit(1048576))},
        {"name": "who", "expr": call("lower", f("user"))},
        {"name": "big", "expr": call("if", {"kind": "compare", "left": f("bytes_out"),
                                            "op": "gt", "right": lit(1000)},
                                     lit("yes"), lit("no"))}],
        "project": ["who", "mb_out", "big"]},
    "computed_functions": {"computed": [
        {"name": "label", "expr": call("concat", call("upper", f("host")), lit("/"),
                                       call("coalesce", f("user"), lit("-")))},
        {"name": "prefix", "expr": call("substring", f("path"), lit(0), lit(3))},
        {"name": "code", "expr": call("to_int", f("result_code"))},
        {"name": "ratio", "expr": call("div", f("bytes_out"), call("add", f("status"), lit(1)))},
        {"name": "secs", "expr": call("mul", call("to_real", f("duration")), lit(0.001))},
        {"name": "parity", "expr": call("mod", f("status"), lit(2))},
        {"name": "path_len", "expr": call("length", f("path"))},
        {"name": "status_text", "expr": call("to_string", f("status"))},
        {"name": "net", "expr": call("sub", f("bytes_out"), lit(1))}]},
    "filter_on_computed": {"computed": [{"name": "mb_out", "expr": call("div", f("bytes_out"),
                                                                          lit(1048576))}],
                           "filters": [c("mb_out", "gt", 100), c("user", "exists")],
                           "project": ["user", "mb_out"], "sort": [desc("mb_out")]},
    "group_by_computed": {"computed": [
        {"name": "prefix", "expr": call("lower", call("substring", f("user"), lit(0), lit(5)))}],
        "aggregation": {"metrics": [{"fn": "sum", "field": "bytes_out"}],
                        "group_by": ["prefix"]},
        "sort": [desc("total_bytes_out")], "limit": 5},
    "metric_on_computed": {"computed": [
        {"name": "rate", "expr": call("div", f("bytes_out"), f("duration"))}],
        "aggregation": {"metrics": [{"fn": "avg", "field": "rate"}], "group_by": ["host"]},
        "having": [c("avg_rate", "gt", 10)], "sort": [desc("avg_rate")]},
    "chained_computed": {"computed": [
        {"name": "kb", "expr": call("div", f("bytes_out"), lit(1024))},
        {"name": "mb", "expr": call("div", f("kb"), lit(1024))}], "project": ["mb"]},
    # ------------------------------------------------ renderer defects the properties found
    # KQL: an integral real literal keeps its point, else `5 / StatusCode` divides as integers
    "real_literal_division": {"computed": [
        {"name": "ratio", "expr": call("div", lit(5.0), f("status"))}], "project": ["ratio"]},
    # SQL: LIKE on a native uuid column (postgres, duckdb, trino, clickhouse, t-sql) is cast
    "guid_contains": {"filters": [c("session_id", "contains", "0")]},
    # SQL: distinct values with a having is GROUP BY … HAVING, not SELECT DISTINCT … HAVING
    "distinct_with_having": {"aggregation": {"group_by": ["host"]},
                             "having": [c("host", "eq", "db01")]},
    # SQL: a projection hiding a group key groups by every key (DISTINCT would merge rows)
    "distinct_hidden_group_key": {"aggregation": {"group_by": ["user", "host"]},
                                  "project": ["host"]},
    # ---------------------------------------------------------------- the built-in source
    "signin_failed_by_user": {
        "source": "signin_logs", "time_range": LAST_24H,
        "filters": [c("result_code", "ne", "0"), c("app", "eq", "Azure Portal")],
        "aggregation": {"metrics": [{"fn": "count"},
                                    {"fn": "count_distinct", "field": "src_ip"}],
                        "group_by": ["user"]},
        "sort": [desc("event_count")], "limit": 10},
    "signin_risky_by_location_today": {
        "source": "signin_logs",
        "time_range": {"start": {"amount": 0, "unit": "day", "snap": "day"}},
        "filters": [c("risk_level", "in", ["medium", "high"]), c("is_interactive", "eq", True)],
        "aggregation": {"metrics": [{"fn": "count"}, {"fn": "last_seen"}],
                        "group_by": ["location"]},
        "having": [c("event_count", "ge", 3)], "sort": [desc("last_seen")]},
}


def plan_body(name: str) -> dict[str, Any]:
    """The case's plan as JSON-ready data, with its source."""
    body = dict(CASES[name])
    return {"source": body.pop("source", "events"), **body}
