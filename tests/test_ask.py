"""The journey through the Python API: answers, states, validation, and stored results."""

from __future__ import annotations

from pathlib import Path

import pytest

import lexiquery
from lexiquery.dialects.name_check import check_names
from lexiquery.answer import JourneyState
from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Platform
from lexiquery.config import get_settings
from lexiquery.dialects import SQL_DIALECTS
from lexiquery.errors import InputError, QuestionError
from lexiquery.ir import QueryPlan
from lexiquery.journeys import JourneyStore
from lexiquery.agents.checking import check_query
from lexiquery.agents.data import render_query
from lexiquery.orchestrator import clean_question


def test_python_api_answers_and_stores() -> None:
    a = lexiquery.ask("failed sign-ins by app yesterday", platforms=["kql", "spl"])
    assert a.status is JourneyState.COMPLETED
    assert [q.platform for q in a.queries] == ["kql", "spl"]
    assert all(q.valid and q.explanation for q in a.queries)
    assert a.understanding and a.understanding[0].startswith("Reads Entra ID sign-ins")
    stored = JourneyStore(get_settings().db_path).get(a.journey_id)
    assert stored is not None and stored.model_dump() == a.model_dump()
    assert [t.state for t in stored.transitions] == [
        JourneyState.PENDING, JourneyState.DISCOVERING, JourneyState.PLANNING,
        JourneyState.GATHERING_KNOWLEDGE, JourneyState.GENERATING_QUERIES,
        JourneyState.VALIDATING, JourneyState.COMPLETED]


def test_store_false_writes_nothing(data_dir: Path) -> None:
    lexiquery.ask("failed sign-ins today", store=False)
    assert not (data_dir / "lexiquery.db").exists()


@pytest.mark.parametrize("dialect", SQL_DIALECTS)
def test_every_sql_dialect_yields_a_valid_query(dialect: str) -> None:
    a = lexiquery.ask("top 10 users with failed sign-ins in the last 24 hours",
                      platforms=["sql"], sql_dialect=dialect, store=False)
    q = a.queries[0]
    assert q.dialect == dialect and q.valid, q.issues


def test_a_field_one_platform_lacks() -> None:
    """access_combined has no response time: by default the SPL query is left out and the
    answer says why; asked for by name, the SPL query is shown as invalid with the reason."""
    a = lexiquery.ask("p95 response time per URL", store=False)
    assert [q.platform for q in a.queries] == ["kql", "sql"] and all(q.valid for q in a.queries)
    skipped = [i for i in a.issues if i.code == "platform_skipped"]
    assert skipped and "response_time" in skipped[0].message
    b = lexiquery.ask("p95 response time per URL", platforms=["spl"], store=False)
    assert not b.queries[0].valid and b.queries[0].issues[-1].code == "not_bound"


def test_unknown_field_in_a_plan_is_reported_not_rendered() -> None:
    cat = builtin_catalog()
    src = cat.get("signin_logs")
    assert src is not None
    plan = QueryPlan.model_validate({"source": "signin_logs",
                                     "filters": [{"field": "shoe_size", "op": "gt",
                                                  "value": 42}]})
    issues = check_names(plan, src)
    assert [(i.code, i.field) for i in issues] == [("unknown_field", "shoe_size")]
    for p in Platform:
        gq = check_query(render_query(plan, src, p, sql_dialect="postgres"), plan, src,
                         confidence=1.0)
        assert not gq.valid and any(i.code in {"unknown_field", "not_bound"} for i in gq.issues)


def test_having_on_a_non_output_is_reported() -> None:
    src = builtin_catalog().get("signin_logs")
    assert src is not None
    plan = QueryPlan.model_validate({
        "source": "signin_logs",
        "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["user"]},
        "having": [{"field": "app", "op": "eq", "value": "x"}]})
    assert [i.code for i in check_names(plan, src)] == ["unknown_field"]


def test_unanswerable_question_raises_with_closest_sources_and_is_stored_failed() -> None:
    with pytest.raises(QuestionError) as e:
        lexiquery.ask("what is the weather in Paris")
    assert e.value.closest_sources
    stored = JourneyStore(get_settings().db_path).get(e.value.journey_id)  # type: ignore[attr-defined]
    assert stored is not None and stored.status is JourneyState.FAILED


@pytest.mark.parametrize("bad", ["", "  ", "x" * 10_000, "a\x00b", b"\xff\xfe\x00",
                                 "%%%% 123 ????", 42])
def test_clean_question_refuses(bad: object) -> None:
    with pytest.raises(InputError):
        clean_question(bad, 2000)


def test_clean_question_normalises_white_space() -> None:
    assert clean_question("  failed\n sign-ins\t today ", 2000) == "failed sign-ins today"


def test_committed_json_schema_is_current() -> None:
    import json

    from lexiquery.ir import plan_json_schema

    committed = Path(__file__).parents[1] / "schema" / "queryplan.schema.json"
    assert json.loads(committed.read_text()) == plan_json_schema(), \
        "run `lexiquery schema -o schema/queryplan.schema.json`"


def test_every_golden_question_gives_valid_queries_on_every_platform() -> None:
    """End to end over the rules engine's golden questions: each answer's queries are valid on
    every platform its source is bound to (postgres for SQL), or say precisely why not."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "nl"))
    from questions import QUESTIONS  # type: ignore[import-not-found]

    cat = builtin_catalog()
    problems = []
    for question, expected in QUESTIONS:
        if expected.get("error"):
            continue
        try:
            answer = lexiquery.ask(question, catalog=cat, store=False)
        except QuestionError:
            continue
        for q in answer.queries:
            if not q.valid:
                problems.append((question, q.platform, [i.message for i in q.issues]))
    assert problems == []


def test_a_store_that_cannot_write_does_not_cost_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from lexiquery.errors import StorageError

    def full_disk(self: JourneyStore, answer: object) -> None:
        raise StorageError("cannot write to lexiquery.db: database or disk is full")

    monkeypatch.setattr(JourneyStore, "save", full_disk)
    a = lexiquery.ask("failed sign-ins today")
    assert a.queries and all(q.valid for q in a.queries)
    assert [i.code for i in a.issues] == ["not_stored"] and "disk is full" in a.issues[0].message
