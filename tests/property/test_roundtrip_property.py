"""Round trip, as a property: for random valid plans, render → parse gives the same plan.

`lexiquery.dialects.roundtrip.canonical(plan, source, platform)` defines "the same" (it removes
exactly the differences a renderer for that platform is allowed to introduce); a parsed plan
must also carry no ``unsupported`` issue —
the renderers never write a construct the parsers cannot hold. One test per target: KQL, SPL,
SQL (postgres), and SQL in one of the other dialects wherever that dialect can express the plan
(a documented `PlanError` there, e.g. regexes in T-SQL, skips the dialect for that plan).

Reproducible: `derandomize=True` and a fixed number of examples, so CI runs the same plans
every time; a failure prints the plan (as JSON) and the rendered text. Shrinking is off unless
LEXIQUERY_SHRINK=1 (see `strategies.PHASES`); the minimal plans found so far are the named
cases in `FOUND` at the end of this module.
"""

from __future__ import annotations


from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lexiquery.catalog.model import Platform
from lexiquery.dialects import SQL_DIALECTS, parse, render
from lexiquery.dialects.roundtrip import plan_diff, same_plan
from lexiquery.errors import PlanError
from lexiquery.ir import QueryPlan

from .strategies import CATALOG, PHASES, plan_json, plans, source_of

pytestmark = pytest.mark.slow

EXAMPLES = 100
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=PHASES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
OTHER_SQL = [d for d in SQL_DIALECTS if d != "postgres"]


def check_round_trip(plan: QueryPlan, platform: Platform, dialect: str = "postgres") -> None:
    source = source_of(plan)
    text = render(plan, source, platform, sql_dialect=dialect)
    where = f"{platform.value}{'.' + dialect if platform is Platform.sql else ''}"
    context = f"\n--- plan\n{plan_json(plan)}\n--- {where}\n{text}"
    parsed = parse(text, platform, CATALOG, sql_dialect=dialect)
    assert parsed.source.id == plan.source, f"read back as source {parsed.source.id}{context}"
    assert not parsed.unsupported, \
        f"unsupported issues: {[i.message for i in parsed.unsupported]}{context}"
    if same_plan(parsed.plan, plan, source, platform):
        return
    diff = plan_diff(plan, parsed.plan, source, platform)
    message = "plan differs after the round trip:\n  " + "\n  ".join(diff) + context
    first = diff[0].split(":", 1)[0] if diff else ""
    # One `fail` line per part of the plan: hypothesis tells failures apart by where they are
    # raised, so a time-range defect and a filter defect are shrunk and reported separately.
    if first == "time_range":
        raise AssertionError(message)
    elif first == "filters":
        raise AssertionError(message)
    elif first == "computed":
        raise AssertionError(message)
    elif first == "aggregation":
        raise AssertionError(message)
    elif first == "having":
        raise AssertionError(message)
    elif first in {"project", "sort", "limit"}:
        raise AssertionError(message)
    else:
        raise AssertionError(message)


@SETTINGS
@given(plans())
def test_kql_round_trip(plan: QueryPlan) -> None:
    check_round_trip(plan, Platform.kql)


@SETTINGS
@given(plans())
def test_spl_round_trip(plan: QueryPlan) -> None:
    check_round_trip(plan, Platform.spl)


@SETTINGS
@given(plans())
def test_sql_postgres_round_trip(plan: QueryPlan) -> None:
    check_round_trip(plan, Platform.sql, "postgres")


@SETTINGS
@given(plans(), st.sampled_from(OTHER_SQL))
def test_sql_other_dialect_round_trip(plan: QueryPlan, dialect: str) -> None:
    try:
        render(plan, source_of(plan), Platform.sql, sql_dialect=dialect)
    except PlanError as e:  # the dialect lacks a feature the plan uses: documented, skip
        event(f"{dialect}: {e.issues[0]['code']}")
        return
    check_round_trip(plan, Platform.sql, dialect)


# --------------------------------------------------------------------------- found so far
# Minimal plans the properties above found (shrunk by hypothesis, then cut by hand), kept as
# named cases so that each defect is reported on its own and stays fixed once fixed. The id
# says which component is wrong; see the issue report for the suggested fix.


def _f(name: str) -> dict[str, Any]:
    return {"kind": "field", "name": name}


def _lit(value: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": value}


def _call(fn: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "call", "fn": fn, "args": list(args)}


_NOW_IN_SECONDS = {"start": {"amount": 0, "unit": "second"}}
FOUND: dict[str, tuple[str, dict[str, Any]]] = {
    # canonical(): a zero relative time keeps its unit (0 s and 0 d are both "now")
    "canonical-zero-amount-unit": ("kql", {"time_range": _NOW_IN_SECONDS}),
    # SPL parser: `earliest=now` is read as no time range at all
    "spl_parse-earliest-now-dropped": ("spl", {"time_range": _NOW_IN_SECONDS}),
    # KQL parser: a separate `| where time < X` line is merged into the time range's end
    "kql_parse-time-filter-merged-into-range": ("kql", {
        "time_range": {"start": {"amount": 1, "unit": "day"}},
        "filters": [{"field": "time", "op": "lt", "value": "2024-01-01"}]}),
    # SQL parser: an upper time bound alone is refused instead of read as a filter
    "sql_parse-upper-time-bound-alone": ("sql", {
        "filters": [{"field": "time", "op": "lt", "value": "2024-01-01"}]}),
    # KQL renderer: an integral real literal is written `5`, so `5.0 / status` divides as ints
    "kql_render-real-literal-int-division": ("kql", {
        "computed": [{"name": "calc0", "expr": _call("div", _lit(5.0), _f("status"))}]}),
    # SPL parser (or canonical): `_time!=…` reads back case-sensitive
    "spl_parse-datetime-ne-case-sensitive": ("spl", {
        "filters": [{"field": "time", "op": "ne", "value": "2024-01-01"}]}),
    # canonical() for SPL/SQL: `has` is written as contains there and cannot read back as has
    "canonical-has-is-contains-on-spl": ("spl", {
        "filters": [{"field": "path", "op": "has", "value": "x"}]}),
    "canonical-has-is-contains-on-sql": ("sql", {
        "filters": [{"field": "path", "op": "has", "value": "x"}]}),
    # canonical() for SPL: a regex without metacharacters is written like contains/endswith
    "canonical-literal-regex-on-spl": ("spl", {
        "filters": [{"field": "host", "op": "regex", "value": "ab"}]}),
    "canonical-literal-regex-endswith-on-spl": ("spl", {
        "filters": [{"field": "host", "op": "regex", "value": "ab\\\\$"}]}),
    # SPL parser: the renderer's own `if(isnotnull(x) AND x!="", …)` is refused
    "spl_parse-if-exists-unsupported": ("spl", {"computed": [{"name": "calc0", "expr": _call(
        "if", {"kind": "compare", "left": _f("user"), "op": "exists"}, _lit("a"), _lit("b"))}]}),
    # canonical() / SQL renderer: a computed field nothing reads is not written in SQL
    "canonical-unused-computed-dropped-by-sql": ("sql", {
        "computed": [{"name": "calc0", "expr": _lit(0)}], "project": ["user"]}),
    # canonical() / SQL renderer: a metric the projection hides is not written in SQL
    "canonical-hidden-metric-dropped-by-sql": ("sql", {
        "aggregation": {"metrics": [{"fn": "count"}, {"fn": "last_seen"}], "group_by": ["user"]},
        "project": ["user", "event_count"]}),
    # canonical(): a projection listing every output in order is no projection in SQL
    "canonical-project-all-outputs": ("sql", {
        "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["user"]},
        "project": ["user", "event_count"]}),
    # canonical(): with a projection, metric and group-by order do not matter (SQL lists them
    # in the projection's order)
    "canonical-metric-order-under-project": ("sql", {
        "aggregation": {"metrics": [{"fn": "count"}, {"fn": "last_seen"}]},
        "project": ["last_seen", "event_count"]}),
    "canonical-group-order-under-project": ("sql", {
        "aggregation": {"group_by": ["user", "host"]}, "project": ["host", "user"]}),
    # canonical(): concat is associative; SQL's `a || b || c` cannot keep the nesting
    "canonical-nested-concat": ("sql", {"computed": [{"name": "calc0", "expr": _call(
        "concat", _call("concat", _f("path"), _f("host")), _f("user"))}]}),
    # canonical(): NOT of a comparison on a number is its complement (SQL writes `<>`, `<=`)
    "canonical-not-numeric-eq": ("sql", {
        "filters": [{"kind": "not", "item": {"field": "status", "op": "eq", "value": 5}}]}),
    "canonical-not-numeric-gt": ("sql", {
        "filters": [{"kind": "not", "item": {"field": "status", "op": "gt", "value": 5}}]}),
    # SQL parser: a case-insensitive test on a group key in HAVING (`LOWER(col) = 'a'`)
    "sql_parse-lower-in-having": ("sql", {
        "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["user"]},
        "having": [{"field": "user", "op": "eq", "value": "a"}]}),
    # SQL parser: a number read as text in HAVING (`CAST(COUNT(*) AS TEXT) LIKE '%0'`)
    "sql_parse-count-as-text-in-having": ("sql", {
        "aggregation": {"metrics": [{"fn": "count"}]},
        "having": [{"field": "event_count", "op": "endswith", "value": "0"}]}),
    # SQL parser: LIKE inside CASE WHEN (the renderer's if(startswith…))
    "sql_parse-like-inside-case": ("sql", {"computed": [{"name": "calc0", "expr": _call(
        "if", {"kind": "compare", "left": _f("user"), "op": "startswith", "right": _lit("a")},
        _lit(1), _lit(0))}]}),
    # SQL parser: a filter on a computed literal (`LOWER('') = 'a'`) becomes a field "lower"
    "sql_parse-lower-of-computed-literal": ("sql", {
        "computed": [{"name": "calc0", "expr": _lit("")}],
        "filters": [{"field": "calc0", "op": "eq", "value": "A"}]}),
    # SQL parser: an aggregate of a computed literal is refused as arithmetic on aggregates
    "sql_parse-aggregate-of-literal": ("sql", {
        "computed": [{"name": "calc0", "expr": _lit("x")}],
        "aggregation": {"metrics": [{"fn": "list", "field": "calc0"}]}}),
    # SQL renderer: an unprojected computed field used as a sort key is inlined, its name lost
    "sql_render-sort-on-unprojected-computed": ("sql", {
        "computed": [{"name": "calc0", "expr": _f("status")}], "project": ["user"],
        "sort": [{"field": "calc0"}]}),
    # SQL renderer: that sort key, a computed integer literal, becomes `ORDER BY 2`, which SQL
    # reads as "sort by the second column"
    "sql_render-order-by-integer-literal-is-positional": ("sql", {
        "computed": [{"name": "calc0", "expr": _lit(2)}], "project": ["user", "host"],
        "sort": [{"field": "calc0"}]}),
    # SQL renderer: distinct values with a projection that hides a group key is written
    # `SELECT DISTINCT host`, which collapses the rows KQL and SPL keep (one per user, host)
    "sql_render-distinct-projection-hides-group-key": ("sql", {
        "aggregation": {"group_by": ["user", "host"]}, "project": ["host"]}),
    # canonical(): `case_sensitive` on a datetime comparison cannot matter (the ISO text's "T"
    # counts as a letter), but is kept; KQL's `==`/`!=` on a datetime reads back either way
    "canonical-case-sensitive-on-datetime": ("kql", {
        "filters": [{"field": "time", "op": "eq", "value": "2020-01-01",
                     "case_sensitive": True}]}),
    # canonical() / SPL: an end of "now" is written `latest=now`, as no end is
    "canonical-end-now-is-no-end-on-spl": ("spl", {
        "time_range": {"start": {"amount": 1, "unit": "hour"},
                       "end": {"amount": 0, "unit": "hour"}}}),
    # SQL renderer: a computed field that renames a column is inlined in a metric (`MAX(event_id)
    # AS max_calc1`), so it reads back as max of the column under an alias
    "sql_render-computed-alias-inlined-in-metric": ("sql", {
        "computed": [{"name": "calc0", "expr": _f("status")}],
        "aggregation": {"metrics": [{"fn": "max", "field": "calc0"}]}}),
}


@pytest.mark.parametrize("case", list(FOUND))
def test_found_round_trip_failures(case: str) -> None:
    platform, body = FOUND[case]
    check_round_trip(QueryPlan.model_validate({"source": "events", **body}), Platform(platform))
