"""Plans that cannot be rendered fail with a precise error, never with invented names; names
that are outputs of earlier stages resolve to what each platform calls them."""

from __future__ import annotations

from typing import Any

import pytest

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects import SQL_DIALECTS, render
from lexiquery.errors import DialectError, PlanError
from lexiquery.ir import QueryPlan

from .cases import TEST_SOURCE


def _plan(**kw: object) -> QueryPlan:
    return QueryPlan.model_validate({"source": "events", **kw})


def _everywhere(plan: QueryPlan, source: Source = TEST_SOURCE) -> dict[str, str]:
    out = {"kql": render(plan, source, Platform.kql), "spl": render(plan, source, Platform.spl)}
    for d in SQL_DIALECTS:
        out[d] = render(plan, source, Platform.sql, sql_dialect=d)
    return out


def _issue(plan: QueryPlan, platform: Platform, source: Source = TEST_SOURCE,
           **kw: Any) -> dict[str, Any]:
    with pytest.raises(PlanError) as e:
        render(plan, source, platform, **kw)
    assert len(e.value.issues) == 1
    return e.value.issues[0]


# ---------------------------------------------------------------------- unknown and unbound


UNKNOWN_EVERYWHERE = {
    "filter": {"filters": [{"field": "shoe_size", "op": "eq", "value": 1}]},
    "nested filter": {"filters": [{"kind": "not", "item": {"kind": "or", "items": [
        {"field": "user", "op": "exists"}, {"field": "shoe_size", "op": "exists"}]}}]},
    "computed": {"computed": [{"name": "x", "expr": {"kind": "call", "fn": "lower", "args": [
        {"kind": "field", "name": "shoe_size"}]}}]},
    "group by": {"aggregation": {"metrics": [{"fn": "count"}], "group_by": ["shoe_size"]}},
    "metric": {"aggregation": {"metrics": [{"fn": "sum", "field": "shoe_size"}]}},
    "project": {"project": ["user", "shoe_size"]},
    "sort": {"sort": [{"field": "shoe_size"}]},
    "having": {"aggregation": {"metrics": [{"fn": "count"}], "group_by": ["user"]},
               "having": [{"field": "shoe_size", "op": "gt", "value": 1}]},
}


@pytest.mark.parametrize("where", list(UNKNOWN_EVERYWHERE))
@pytest.mark.parametrize("platform", list(Platform))
def test_unknown_field(platform: Platform, where: str) -> None:
    issue = _issue(_plan(**UNKNOWN_EVERYWHERE[where]), platform)
    assert issue["code"] == "unknown_field" and issue["field"] == "shoe_size"
    assert "shoe_size" in issue["message"]


def test_field_not_bound_on_one_platform() -> None:
    data = TEST_SOURCE.model_dump()
    del data["bindings"]["spl"]["fields"]["duration"]
    src = Source.model_validate(data)
    plan = _plan(aggregation={"metrics": [{"fn": "avg", "field": "duration"}]})
    assert "avg(DurationMs)" in render(plan, src, Platform.kql)
    assert "AVG(duration_ms)" in render(plan, src, Platform.sql)
    issue = _issue(plan, Platform.spl, src)
    assert issue["code"] == "not_bound" and issue["field"] == "duration"


@pytest.mark.parametrize("platform", list(Platform))
def test_time_range_needs_a_bound_time_field(platform: Platform) -> None:
    data = TEST_SOURCE.model_dump()
    key = "fields" if platform is Platform.spl else "columns"
    del data["bindings"][platform.value][key]["time"]
    plan = _plan(time_range={"start": {"amount": 1, "unit": "hour"}})
    issue = _issue(plan, platform, Source.model_validate(data))
    assert issue["code"] == "not_bound" and issue["field"] == "time"


@pytest.mark.parametrize("platform", list(Platform))
def test_source_without_time_field(platform: Platform) -> None:
    data = TEST_SOURCE.model_dump()
    data["time_field"] = None
    plan = _plan(aggregation={"metrics": [{"fn": "first_seen"}]})
    assert _issue(plan, platform, Source.model_validate(data))["code"] == "no_time_field"


def test_platform_without_binding() -> None:
    data = TEST_SOURCE.model_dump()
    data["bindings"]["spl"] = None
    issue = _issue(_plan(), Platform.spl, Source.model_validate(data))
    assert issue["code"] == "not_bound"


def test_sort_on_a_non_output_after_aggregation() -> None:
    plan = _plan(aggregation={"metrics": [{"fn": "count"}], "group_by": ["user"]},
                 sort=[{"field": "host"}])
    for p in Platform:
        issue = _issue(plan, p)
        assert issue["code"] == "unknown_field" and "event_count" in issue["message"]


# ---------------------------------------------------------------------- dialects


def test_unknown_sql_dialect_lists_the_supported_ones() -> None:
    with pytest.raises(DialectError) as e:
        render(_plan(), TEST_SOURCE, Platform.sql, sql_dialect="dbase")
    for d in ("postgres", "tsql", "mysql", "sqlite", "duckdb", "bigquery", "snowflake"):
        assert d in e.value.message


def test_supported_dialects() -> None:
    assert {"postgres", "tsql", "mysql", "sqlite", "duckdb", "bigquery",
            "snowflake"} <= set(SQL_DIALECTS)


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_percentile_unsupported_where_the_dialect_has_no_aggregate(dialect: str) -> None:
    plan = _plan(aggregation={"metrics": [{"fn": "percentile", "field": "duration",
                                           "percentile": 95}]})
    issue = _issue(plan, Platform.sql, sql_dialect=dialect)
    assert issue["code"] == "unsupported" and issue["field"] == "duration"


def test_tsql_percentile_is_the_2022_aggregate() -> None:
    plan = _plan(aggregation={"metrics": [{"fn": "percentile", "field": "duration",
                                           "percentile": 95}]})
    assert "APPROX_PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY duration_ms)" in render(
        plan, TEST_SOURCE, Platform.sql, sql_dialect="tsql")


def test_tsql_has_no_regex() -> None:
    plan = _plan(filters=[{"field": "path", "op": "regex", "value": "^a"}])
    issue = _issue(plan, Platform.sql, sql_dialect="tsql")
    assert issue["code"] == "unsupported" and issue["field"] == "path"


# ---------------------------------------------------------------------- outputs of earlier stages


def test_group_by_output_is_the_platform_column_after_aggregation() -> None:
    plan = _plan(aggregation={"metrics": [{"fn": "count"}], "group_by": ["host"]},
                 having=[{"field": "host", "op": "ne", "value": "lb01"}],
                 project=["host", "event_count"], sort=[{"field": "host"}])
    out = _everywhere(plan)
    assert "| where Computer !~ \"lb01\"" in out["kql"]
    assert "| sort by Computer asc\n| project Computer, event_count" in out["kql"]
    assert '| where lower(host)!="lb01"\n| sort 0 + host\n| table host event_count' in out["spl"]
    assert "HAVING\n  LOWER(host_name) <> 'lb01'" in out["postgres"]
    assert "ORDER BY\n  host_name ASC" in out["postgres"]


def test_dotted_group_key_is_named_after_the_field_in_kql() -> None:
    plan = _plan(aggregation={"metrics": [{"fn": "count"}], "group_by": ["initiator"]},
                 sort=[{"field": "initiator"}], project=["initiator"])
    kql = render(plan, TEST_SOURCE, Platform.kql)
    assert "by initiator = tostring(InitiatedBy.user.userPrincipalName)" in kql
    assert kql.endswith("| sort by initiator asc\n| project initiator")


def test_metric_and_computed_names_resolve_in_later_stages() -> None:
    kb = {"kind": "call", "fn": "div", "args": [{"kind": "field", "name": "bytes_out"},
                                                {"kind": "literal", "value": 1024}]}
    plan = _plan(computed=[{"name": "kb", "expr": kb}],
                 filters=[{"field": "kb", "op": "gt", "value": 1}],
                 aggregation={"metrics": [{"fn": "max", "field": "kb", "alias": "peak"}],
                              "group_by": ["kb"]},
                 having=[{"field": "peak", "op": "lt", "value": 10}],
                 sort=[{"field": "peak", "descending": True}], project=["kb", "peak"])
    out = _everywhere(plan)
    assert "| extend kb = SentBytes / 1024.0\n| where kb > 1\n" in out["kql"]
    assert "| summarize peak = max(kb) by kb\n| where peak < 10\n" in out["kql"]
    assert "| eval kb=bytes_out / 1024\n| where kb>1\n| stats max(kb) AS peak by kb" in out["spl"]
    pg = out["postgres"]
    assert "CAST(bytes_out AS DOUBLE PRECISION) / 1024 AS kb" in pg
    assert "GROUP BY\n  CAST(bytes_out AS DOUBLE PRECISION) / 1024" in pg
    assert "HAVING\n  MAX(CAST(bytes_out AS DOUBLE PRECISION) / 1024) < 10" in pg
    assert "ORDER BY\n  peak DESC NULLS LAST" in pg


def test_time_bucket_output_is_the_time_column() -> None:
    plan = _plan(aggregation={"metrics": [{"fn": "count"}],
                              "time_bucket": {"amount": 1, "unit": "hour"}},
                 project=["time", "event_count"], sort=[{"field": "time"}])
    out = _everywhere(plan)
    assert out["kql"].endswith("| sort by TimeGenerated asc\n| project TimeGenerated, event_count")
    assert out["spl"].endswith("| sort 0 + _time\n| table _time event_count")
    assert "DATE_TRUNC('hour', \"time\") AS \"time\"" in out["postgres"]


# ---------------------------------------------------------------------- binding details


def test_kql_converts_a_numeric_field_stored_as_a_string_column() -> None:
    """W3CIISLog.scStatus is a string: `scStatus >= 500` is a Kusto error, toint() is needed."""
    data = TEST_SOURCE.model_dump()
    data["bindings"]["kql"]["column_types"] = {"status": "string"}
    src = Source.model_validate(data)
    plan = _plan(filters=[{"field": "status", "op": "ge", "value": 500},
                          {"field": "status", "op": "in", "value": [401, 403]},
                          {"field": "status", "op": "startswith", "value": "40"}],
                 aggregation={"metrics": [{"fn": "max", "field": "status"}]})
    text = render(plan, src, Platform.kql)
    assert "| where toint(StatusCode) >= 500" in text
    assert "| where toint(StatusCode) in (401, 403)" in text
    assert '| where StatusCode startswith "40"' in text  # already text: no conversion
    assert "max_status = max(toint(StatusCode))" in text
    assert "toint" not in render(plan, TEST_SOURCE, Platform.kql)


def test_column_types_must_name_bound_fields() -> None:
    data = TEST_SOURCE.model_dump()
    data["bindings"]["kql"]["column_types"] = {"nope": "string"}
    with pytest.raises(ValueError, match="no column"):
        Source.model_validate(data)


def test_spl_generating_command_prefix_takes_filters_after_it() -> None:
    data = TEST_SOURCE.model_dump()
    data["bindings"]["spl"]["search"] = "| datamodel Authentication Authentication search"
    src = Source.model_validate(data)
    plan = _plan(time_range={"start": {"amount": 1, "unit": "day", "snap": "day"},
                             "end": {"amount": 0, "unit": "day", "snap": "day"}},
                 filters=[{"field": "user", "op": "eq", "value": "bob"}])
    assert render(plan, src, Platform.spl) == (
        "| datamodel Authentication Authentication search\n"
        '| search user="bob"\n'
        '| where _time>=relative_time(now(), "-1d@d") AND _time<relative_time(now(), "@d")')
