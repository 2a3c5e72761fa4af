"""Filters that can never hold together are an error; repeated filters are dropped."""

from __future__ import annotations

import pytest

from lexiquery.agents.plan_logic import contradictions, dedupe
from lexiquery.ir import QueryPlan


def _plan(*filters: dict) -> QueryPlan:  # type: ignore[type-arg]
    return QueryPlan.model_validate({"source": "web_requests", "filters": list(filters)})


def c(field: str, op: str, value: object = None) -> dict:  # type: ignore[type-arg]
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize("filters, field", [
    ([c("status", "not_in", [200, 304]), c("status", "in", [200, 304])], "status"),
    ([c("user", "eq", "alice"), c("user", "eq", "bob")], "user"),
    ([c("user", "eq", "Alice"), c("user", "ne", "alice")], "user"),  # case-insensitive default
    ([c("bytes", "gt", 5), c("bytes", "lt", 3)], "bytes"),
    ([c("bytes", "gt", 5), c("bytes", "le", 5)], "bytes"),
    ([c("status", "eq", 404), c("status", "ge", 500)], "status"),
    ([{"kind": "and", "items": [c("user", "eq", "a")]}, c("user", "in", ["b", "c"])], "user"),
])
def test_contradictions_are_errors_naming_the_field(filters: list, field: str) -> None:  # type: ignore[type-arg]
    issues = contradictions(_plan(*filters))
    assert [(i.code, i.field, i.severity.value) for i in issues] == \
        [("contradiction", field, "error")]
    assert "never return a row" in issues[0].message


@pytest.mark.parametrize("filters", [
    [c("status", "not_in", [200, 304]), c("status", "ge", 400)],
    [c("user", "eq", "alice"), c("user", "ne", "bob")],
    [c("bytes", "ge", 5), c("bytes", "le", 5)],  # exactly 5
    [{"kind": "or", "items": [c("user", "eq", "a"), c("user", "eq", "b")]}],
    [{"kind": "not", "item": c("user", "eq", "a")}, c("user", "eq", "a")],  # not compared
    [c("status", "in", [200, 404]), c("status", "ge", 400)],
])
def test_satisfiable_filters_are_not_flagged(filters: list) -> None:  # type: ignore[type-arg]
    assert contradictions(_plan(*filters)) == []


def test_repeated_filters_are_dropped_once() -> None:
    plan, dropped = dedupe(_plan(c("status", "ge", 500), c("status", "ge", 500),
                                 c("user", "eq", "a")))
    assert dropped == 1 and len(plan.filters) == 2
    same, none = dedupe(_plan(c("status", "ge", 500)))
    assert none == 0 and len(same.filters) == 1


def test_the_known_errors_do_not_re_add_what_the_question_excluded() -> None:
    """The issue's case: the known-errors base re-added the excluded codes (`status !in (200,
    304) and status in (200, 304)`, always empty, shown as checked). The question's negation
    wins, and the note says the codes were left out."""
    import lexiquery

    a = lexiquery.ask("top 10 client IPs by requests excluding status 200 and 304",
                      platforms=["kql"], store=False, sample_check=False)
    q = a.queries[0]
    assert not any(i.code == "contradiction" for i in q.issues)
    assert "!in (200, 304)" in q.query and " in (200, 304)" not in q.query.replace("!in", "")
    assert any("left out as your question says" in n for n in a.notes)
    assert q.valid
