"""The golden table (questions.py): each question's plan, notes and alternatives."""

from __future__ import annotations

from typing import Any

import pytest
from planchecks import NOW, assert_names_exist, compare
from questions import QUESTIONS

from lexiquery.catalog.model import Catalog
from lexiquery.nl.rules import parse_question



@pytest.mark.parametrize("question,expected", QUESTIONS, ids=[q for q, _ in QUESTIONS])
def test_golden(catalog: Catalog, question: str, expected: dict[str, Any]) -> None:
    if expected["source"] not in catalog:
        pytest.skip(f"built-in source {expected['source']!r} not in this catalog")
    res = parse_question(question, catalog, now=NOW)
    assert_names_exist(res.plan, catalog)
    diffs = compare(res.plan, expected, catalog)
    assert not diffs, "\n".join([question, *diffs, "notes:", *res.notes])
    assert res.notes[0].startswith("source chosen: ")
    assert res.plan.source not in res.alternatives
    assert all(a in catalog for a in res.alternatives)


def test_table_is_large_and_covers_every_plan_part() -> None:
    assert len(QUESTIONS) >= 80
    seen = {k for _, e in QUESTIONS for k, v in e.items() if v}
    assert {"time_range", "filters", "aggregation", "having", "sort", "limit", "project",
            "unsupported"} <= seen


def test_notes_say_what_was_understood(catalog: Catalog) -> None:
    res = parse_question("top 10 users with failed sign-ins in the last 24 hours", catalog,
                         now=NOW)
    text = "\n".join(res.notes)
    assert 'matched "failed sign-ins"' in text
    assert "time range: last 24 hours" in text
    assert 'concept "failed sign-in"' in text
    assert res.confidence >= 0.8
    res = parse_question("failed sign-ins", catalog, now=NOW)
    assert "no time range given" in res.notes


def test_unknown_words_lower_confidence_and_are_reported(catalog: Catalog) -> None:
    clear = parse_question("failed sign-ins by user today", catalog, now=NOW)
    vague = parse_question("failed sign-ins by user today frobnicated via quuxes", catalog,
                           now=NOW)
    assert vague.confidence < clear.confidence
    assert any("not understood" in n and "frobnicated" in n for n in vague.notes)


def test_unsupported_requests_are_issues_and_lower_confidence(catalog: Catalog) -> None:
    base = parse_question("failed sign-ins by user", catalog, now=NOW)
    res = parse_question("failed sign-ins by user compared to last week", catalog, now=NOW)
    assert [i.code for i in res.plan.issues] == ["unsupported"]
    assert res.confidence < base.confidence
    assert any(n.startswith("not supported: comparison") for n in res.notes)
