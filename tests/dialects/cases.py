"""Plans for the golden tests, against `TEST_SOURCE` (built here, so the tests do not depend on
the built-in catalog) — one per feature: every operator, nesting, metric, time form, stage."""

from __future__ import annotations

from typing import Any

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
    ],
    "bindings": {
        "kql": {"table": "TestEvents", "columns": {
            "time": "TimeGenerated", "user": "UserPrincipalName", "src_ip": "IPAddress",
            "host": "Computer", "status": "StatusCode", "result_code": "ResultType",
            "bytes_out": "SentBytes", "duration": "DurationMs", "path": "FilePath",
            "initiator": "InitiatedBy.user.userPrincipalName", "odd": "Odd Name",
            "is_admin": "IsAdmin"}},
        "spl": {"search": 'index=main sourcetype="test:events"', "fields": {
            "time": "_time", "user": "user", "src_ip": "src_ip", "host": "host",
            "status": "status", "result_code": "status.errorCode", "bytes_out": "bytes_out",
            "duration": "duration", "path": "file_path", "initiator": "initiatedBy.user",
            "odd": "odd name", "is_admin": "is_admin"}},
        "sql": {"table": "sec.test_events", "columns": {
            "time": "time", "user": "user", "src_ip": "src_ip", "host": "host_name",
            "status": "status", "result_code": "result_code", "bytes_out": "bytes_out",
            "duration": "duration_ms", "path": "file_path", "initiator": "initiator",
            "odd": "Odd Name", "is_admin": "is_admin"}},
    },
})


def c(field: str, op: str, value: Any = None, **kw: Any) -> dict[str, Any]:
    return {"field": field, "op": op, **({} if value is None else {"value": value}), **kw}


LAST_24H = {"start": {"amount": 24, "unit": "hour"}}
COUNT_BY_USER = {"metrics": [{"fn": "count"}], "group_by": ["user"]}

CASES: dict[str, dict[str, Any]] = {
    "plain_table": {},
    "last_24h_eq": {"time_range": LAST_24H, "filters": [c("user", "eq", "Alice@Contoso.com")]},
    "eq_case_sensitive": {"filters": [c("user", "eq", "Alice", case_sensitive=True)]},
    "ne_numeric_string": {"filters": [c("result_code", "ne", "0")]},
    "numeric_comparisons": {"filters": [c("status", "ge", 500), c("bytes_out", "gt", "1000000"),
                                        c("duration", "lt", 2.5), c("status", "le", 599)]},
    "in_and_not_in": {"filters": [c("status", "in", [401, 403]),
                                  c("host", "not_in", ["web01", "WEB02"])]},
    "string_ops": {"filters": [c("path", "contains", "Temp"), c("path", "startswith", "C:\\"),
                               c("path", "endswith", ".exe"), c("host", "not_contains", "test")]},
    "has_term": {"filters": [c("path", "has", "mimikatz")]},
    "regex": {"filters": [c("path", "regex", r"\\[a-z]{8}\.exe$")]},
    "exists": {"filters": [c("src_ip", "exists"), c("user", "not_exists")]},
    "nested_and_or_not": {"filters": [{"kind": "or", "items": [
        c("status", "eq", 404),
        {"kind": "and", "items": [c("status", "ge", 500), {"kind": "not",
                                                           "item": c("host", "eq", "lb01")}]}]}]},
    "escaping_nasties": {"filters": [c("user", "eq", 'O\'Brien "the" \\admin'),
                                     c("path", "contains", "50%_off*")]},
    "unicode_value": {"filters": [c("user", "eq", "Zoë Ångström")]},
    "bool_field": {"filters": [c("is_admin", "eq", True)]},
    "odd_column_names": {"filters": [c("odd", "eq", "x")], "project": ["odd", "user"]},
    "dotted_dynamic_path": {"filters": [c("initiator", "eq", "admin@contoso.com")],
                            "aggregation": {"metrics": [{"fn": "count"}],
                                            "group_by": ["initiator"]}},
    "count_by_user_top": {"time_range": LAST_24H, "filters": [c("result_code", "ne", "0")],
                          "aggregation": COUNT_BY_USER,
                          "sort": [{"field": "event_count", "descending": True}], "limit": 10},
    "threshold_having": {"aggregation": COUNT_BY_USER,
                         "having": [c("event_count", "gt", 5)],
                         "sort": [{"field": "event_count", "descending": True}]},
    "all_metrics": {"aggregation": {"metrics": [
        {"fn": "count"}, {"fn": "count_distinct", "field": "src_ip"},
        {"fn": "sum", "field": "bytes_out"}, {"fn": "avg", "field": "duration"},
        {"fn": "min", "field": "duration"}, {"fn": "max", "field": "duration"},
        {"fn": "first_seen"}, {"fn": "last_seen"}], "group_by": ["host"]}},
    "percentile": {"aggregation": {"metrics": [{"fn": "percentile", "field": "duration",
                                                "percentile": 95}], "group_by": ["path"]}},
    "hourly_bucket": {"time_range": {"start": {"amount": 7, "unit": "day"}},
                      "aggregation": {"metrics": [{"fn": "count"}],
                                      "time_bucket": {"amount": 1, "unit": "hour"}},
                      "sort": [{"field": "time"}]},
    "five_minute_bucket_by_host": {"aggregation": {"metrics": [{"fn": "count"}],
                                                   "group_by": ["host"],
                                                   "time_bucket": {"amount": 5,
                                                                   "unit": "minute"}}},
    "distinct_values": {"aggregation": {"group_by": ["user", "src_ip"]}},
    "today": {"time_range": {"start": {"amount": 0, "unit": "day", "snap": "day"}}},
    "yesterday": {"time_range": {"start": {"amount": 1, "unit": "day", "snap": "day"},
                                 "end": {"amount": 0, "unit": "day", "snap": "day"}}},
    "absolute_between": {"time_range": {"start": {"at": "2024-03-01T00:00:00Z"},
                                        "end": {"at": "2024-03-08T12:30:00Z"}}},
    "last_2_weeks": {"time_range": {"start": {"amount": 2, "unit": "week"}}},
    "project_sort_limit": {"project": ["time", "user", "src_ip"],
                           "sort": [{"field": "time", "descending": True}], "limit": 50},
    "limit_only": {"limit": 20},
    "sort_on_unprojected_field": {"project": ["user", "src_ip"],
                                  "sort": [{"field": "time", "descending": True}], "limit": 5},
    "filter_on_computed": {
        "computed": [{"name": "mb_out", "expr": {"kind": "call", "fn": "div", "args": [
            {"kind": "field", "name": "bytes_out"}, {"kind": "literal", "value": 1048576}]}}],
        "filters": [c("mb_out", "gt", 100), c("user", "exists")],
        "project": ["user", "mb_out"], "sort": [{"field": "mb_out", "descending": True}]},
    "group_by_computed": {
        "computed": [{"name": "prefix", "expr": {"kind": "call", "fn": "lower", "args": [
            {"kind": "call", "fn": "substring", "args": [
                {"kind": "field", "name": "user"}, {"kind": "literal", "value": 0},
                {"kind": "literal", "value": 5}]}]}}],
        "aggregation": {"metrics": [{"fn": "sum", "field": "bytes_out"}],
                        "group_by": ["prefix"]},
        "sort": [{"field": "total_bytes_out", "descending": True}], "limit": 5},
    "datetime_values": {"filters": [c("time", "ge", "2024-03-01T08:00:00Z"),
                                    c("time", "lt", "2024-03-02")]},
    "computed_fields": {"computed": [
        {"name": "mb_out", "expr": {"kind": "call", "fn": "div", "args": [
            {"kind": "field", "name": "bytes_out"}, {"kind": "literal", "value": 1048576}]}},
        {"name": "who", "expr": {"kind": "call", "fn": "lower", "args": [
            {"kind": "field", "name": "user"}]}},
        {"name": "big", "expr": {"kind": "call", "fn": "if", "args": [
            {"kind": "compare", "left": {"kind": "field", "name": "bytes_out"}, "op": "gt",
             "right": {"kind": "literal", "value": 1000}},
            {"kind": "literal", "value": "yes"}, {"kind": "literal", "value": "no"}]}}],
        "project": ["who", "mb_out", "big"]},
}
