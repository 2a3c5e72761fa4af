"""Plans that cannot be rendered fail with a precise error, never with invented names."""

from __future__ import annotations

import pytest

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects import render
from lexiquery.errors import DialectError, PlanError
from lexiquery.ir import QueryPlan

from .cases import TEST_SOURCE


def _plan(**kw: object) -> QueryPlan:
    return QueryPlan.model_validate({"source": "events", **kw})


@pytest.mark.parametrize("platform", list(Platform))
def test_unknown_field(platform: Platform) -> None:
    with pytest.raises(PlanError) as e:
        render(_plan(filters=[{"field": "shoe_size", "op": "eq", "value": 1}]), TEST_SOURCE,
               platform)
    assert e.value.issues[0]["code"] == "unknown_field"
    assert e.value.issues[0]["field"] == "shoe_size"


def test_field_not_bound_on_one_platform() -> None:
    data = TEST_SOURCE.model_dump()
    del data["bindings"]["spl"]["fields"]["duration"]
    src = Source.model_validate(data)
    plan = _plan(aggregation={"metrics": [{"fn": "avg", "field": "duration"}]})
    assert "avg(DurationMs)" in render(plan, src, Platform.kql)
    with pytest.raises(PlanError) as e:
        render(plan, src, Platform.spl)
    assert e.value.issues[0]["code"] == "not_bound"


def test_platform_without_binding() -> None:
    data = TEST_SOURCE.model_dump()
    data["bindings"]["spl"] = None
    with pytest.raises(PlanError) as e:
        render(_plan(), Source.model_validate(data), Platform.spl)
    assert e.value.issues[0]["code"] == "not_bound"


def test_unknown_sql_dialect() -> None:
    with pytest.raises(DialectError) as e:
        render(_plan(), TEST_SOURCE, Platform.sql, sql_dialect="dbase")
    assert "postgres" in e.value.message


def test_sort_on_a_non_output_after_aggregation() -> None:
    plan = _plan(aggregation={"metrics": [{"fn": "count"}], "group_by": ["user"]},
                 sort=[{"field": "host"}])
    for p in Platform:
        with pytest.raises(PlanError):
            render(plan, TEST_SOURCE, p)


@pytest.mark.parametrize("dialect", ["mysql", "sqlite", "tsql"])
def test_percentile_unsupported_where_the_dialect_has_no_aggregate(dialect: str) -> None:
    plan = _plan(aggregation={"metrics": [{"fn": "percentile", "field": "duration",
                                           "percentile": 95}]})
    with pytest.raises(PlanError) as e:
        render(plan, TEST_SOURCE, Platform.sql, sql_dialect=dialect)
    assert e.value.issues[0]["code"] == "unsupported"


def test_kql_converts_a_numeric_field_stored_as_a_string_column() -> None:
    """W3CIISLog.scStatus is a string: `scStatus >= 500` is a Kusto error, toint() is needed."""
    data = TEST_SOURCE.model_dump()
    data["bindings"]["kql"]["column_types"] = {"status": "string"}
    src = Source.model_validate(data)
    plan = _plan(filters=[{"field": "status", "op": "ge", "value": 500},
                          {"field": "status", "op": "in", "value": [401, 403]}],
                 aggregation={"metrics": [{"fn": "max", "field": "status"}]})
    text = render(plan, src, Platform.kql)
    assert "| where toint(StatusCode) >= 500" in text
    assert "| where toint(StatusCode) in (401, 403)" in text
    assert "max_status = max(toint(StatusCode))" in text
    assert "toint" not in render(plan, TEST_SOURCE, Platform.kql)


def test_column_types_must_name_bound_fields() -> None:
    data = TEST_SOURCE.model_dump()
    data["bindings"]["kql"]["column_types"] = {"nope": "string"}
    with pytest.raises(ValueError, match="no column"):
        Source.model_validate(data)
