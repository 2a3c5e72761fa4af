"""SPL parser: every golden plan survives render → parse, and the hand-written Splunk searches
of `spl_queries` read into exactly the plans written out there."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects import parse, render
from lexiquery.dialects.roundtrip import plan_diff, same_plan
from lexiquery.dialects.spl.parse import parse_spl
from lexiquery.ir import QueryPlan

from .cases import CASES, SIGNIN, SOURCES, TEST_SOURCE, plan_body
from .spl_queries import AUTH_SOURCE, QUERIES

ROUND_TRIP_CATALOG = Catalog([TEST_SOURCE, SIGNIN])


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip(case: str) -> None:
    plan = QueryPlan.model_validate(plan_body(case))
    source = SOURCES[plan.source]
    text = render(plan, source, Platform.spl)
    parsed = parse_spl(text, ROUND_TRIP_CATALOG)
    expected = plan
    assert parsed.source.id == source.id
    assert not parsed.unsupported, [i.message for i in parsed.unsupported]
    assert same_plan(parsed.plan, expected, source, Platform.spl), \
        f"{text}\n" + "\n".join(plan_diff(expected, parsed.plan, source, Platform.spl))


def test_round_trip_through_dialects_parse() -> None:
    plan = QueryPlan.model_validate(plan_body("signin_failed_by_user"))
    text = render(plan, SIGNIN, Platform.spl)
    parsed = parse(text, Platform.spl, ROUND_TRIP_CATALOG)
    assert parsed.dialect == "spl" and parsed.platform is Platform.spl and parsed.text == text
    assert same_plan(parsed.plan, plan, SIGNIN, Platform.spl)


def test_generating_prefix_round_trip() -> None:
    """A source bound to `| datamodel …` takes its terms in `| search` and its time range in
    `| where _time>=…`: both read back to the plan."""
    data = TEST_SOURCE.model_dump()
    data["bindings"]["spl"]["search"] = "| datamodel Authentication Authentication search"
    src = Source.model_validate(data)
    for body in ({"time_range": {"start": {"amount": 1, "unit": "day", "snap": "day"},
                                 "end": {"amount": 0, "unit": "day", "snap": "day"}},
                  "filters": [{"field": "user", "op": "eq", "value": "bob"}]},
                 {"time_range": {"start": {"at": "2024-03-01T00:00:00Z"}},
                  "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["host"]}}):
        plan = QueryPlan.model_validate({"source": "events", **body})
        text = render(plan, src, Platform.spl)
        parsed = parse_spl(text, Catalog([src, SIGNIN]))
        assert parsed.source.id == "events" and not parsed.plan.issues
        assert same_plan(parsed.plan, plan, src, Platform.spl), \
            plan_diff(plan, parsed.plan, src, Platform.spl)


# ---------------------------------------------------------------------- golden searches

GOLDEN_CATALOG = builtin_catalog()
GOLDEN_CATALOG.add(AUTH_SOURCE)


@pytest.mark.parametrize("name", list(QUERIES))
def test_golden_query(name: str) -> None:
    text, expected = QUERIES[name]
    parsed = parse_spl(text, GOLDEN_CATALOG)
    got = parsed.plan.model_dump(mode="json", exclude_defaults=True)
    assert got == expected, json.dumps(got, indent=1)


def test_golden_queries_are_enough_and_varied() -> None:
    assert len(QUERIES) >= 45
    sources = {body["source"] for _, body in QUERIES.values()}
    assert len(sources) >= 12, sources
    assert sum(1 for _, b in QUERIES.values() if b.get("issues")) >= 8


def test_unsupported_issue_positions_are_on_the_construct() -> None:
    """Every issue's line/column points at the text it names (not at the start)."""
    for name, (text, _) in QUERIES.items():
        parsed = parse_spl(text, GOLDEN_CATALOG)
        lines = text.split("\n")
        for issue in parsed.unsupported:
            assert issue.line is not None and issue.column is not None, name
            at = lines[issue.line - 1][issue.column - 1:]
            assert at and not at[0].isspace(), (name, issue.message)


def test_case_insensitive_prefix_and_sourcetype_alone() -> None:
    a = parse_spl('INDEX=Azure SourceType="AZURE:AAD:SIGNIN" user=bob', GOLDEN_CATALOG)
    b = parse_spl('sourcetype="azure:aad:signin" user=bob', GOLDEN_CATALOG)
    assert a.source.id == b.source.id == "signin_logs"
    assert a.plan.filters == b.plan.filters


def test_renderer_semantics_of_not_and_ne() -> None:
    """`NOT f=x` keeps events without f; `f!=x` does not: they read as different plans."""
    neg = parse_spl('index=main sourcetype="test:events" NOT user=bob', ROUND_TRIP_CATALOG)
    ne = parse_spl('index=main sourcetype="test:events" user!=bob', ROUND_TRIP_CATALOG)
    assert neg.plan.model_dump(exclude_defaults=True)["filters"] == [
        {"item": {"field": "user", "op": "eq", "value": "bob"}}]
    assert ne.plan.model_dump(exclude_defaults=True)["filters"] == [
        {"field": "user", "op": "ne", "value": "bob"}]


@pytest.mark.parametrize("body", [
    {"time_range": {"start": {"amount": 0, "unit": "second"}}},  # earliest=now
    {"filters": [{"field": "time", "op": "ne", "value": "2024-01-01"}]},  # no case on times
    {"computed": [{"name": "c0", "expr": {"kind": "call", "fn": "if", "args": [
        {"kind": "compare", "left": {"kind": "field", "name": "user"}, "op": "exists"},
        {"kind": "literal", "value": "a"}, {"kind": "literal", "value": "b"}]}}]},
    {"computed": [{"name": "c0", "expr": {"kind": "call", "fn": "if", "args": [
        {"kind": "compare", "left": {"kind": "field", "name": "user"}, "op": "not_exists"},
        {"kind": "literal", "value": 1}, {"kind": "literal", "value": 0}]}}]},
])
def test_round_trip_found_by_the_property_tests(body: dict[str, Any]) -> None:
    plan = QueryPlan.model_validate({"source": "events", **body})
    text = render(plan, TEST_SOURCE, Platform.spl)
    parsed = parse_spl(text, ROUND_TRIP_CATALOG)
    assert not parsed.unsupported, text
    assert same_plan(parsed.plan, plan, TEST_SOURCE, Platform.spl), \
        plan_diff(plan, parsed.plan, TEST_SOURCE, Platform.spl)


def test_drop_dm_object_name_lets_later_commands_use_the_bare_names(tmp_path: Any,
                                                                   monkeypatch: Any) -> None:
    """ESCU's `drop_dm_object_name(Processes)` is `rename Processes.* AS *`: after it the
    searches name `process`, `dest`… bare, in where, table and sort."""
    from lexiquery.catalog.store import load_catalog

    monkeypatch.setenv("LEXIQUERY_DATA_DIR", str(tmp_path))
    cat = load_catalog(None)  # the CIM data models come with the reference packs
    q = ("| tstats count from datamodel=Endpoint.Processes by Processes.dest Processes.process"
         " | rename Processes.* as * | where match(process, \"enc\") | table dest process count")
    parsed = parse(q, Platform.spl, cat)
    assert parsed.faithful and parsed.source.id == "cim_endpoint_processes"
    assert [c.field for c in parsed.plan.having] == ["process"]  # type: ignore[union-attr]
    assert parsed.plan.project == ["dest", "process", "count"]
    bad = "| tstats count from datamodel=Endpoint.Processes by Processes.dest | rename P* as *"
    assert parse(bad, Platform.spl, cat).plan.issues  # any other wildcard rename is reported
