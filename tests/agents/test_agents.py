"""The agents as logic: each skill's contract, errors carried over the wire format, and the
journey's trace when every agent runs in-process (the embedded default)."""

from __future__ import annotations

import json

import pytest

from lexiquery.agents import contracts as c
from lexiquery.agents.local import build_agent, build_agents
from lexiquery.answer import JourneyState
from lexiquery.config import get_settings
from lexiquery.errors import (
    AgentError,
    DocumentError,
    InputError,
    LexiQueryError,
    QueryError,
    QuestionError,
    StorageError,
    UnknownFieldError,
    error_from_payload,
    error_payload,
)
from lexiquery.orchestrator import ask

Q = "failed sign-ins in the last 24 hours"


@pytest.fixture(scope="module")
def agents():  # type: ignore[no-untyped-def]
    return build_agents(get_settings())


def test_every_agent_is_built_with_its_skills(agents) -> None:  # type: ignore[no-untyped-def]
    assert tuple(agents) == c.AGENT_NAMES
    skills = {name: [s.id for s in a.skills] for name, a in agents.items()}
    assert skills == {"planner": ["create_plan"], "knowledge-sop": ["search_procedures"],
                      "knowledge-errors": ["lookup_known_errors"],
                      "data-kql": ["generate_query"], "data-spl": ["generate_query"],
                      "data-sql": ["generate_query"], "validator": ["validate_queries"]}
    assert [agents[c.data_agent(p)].platform for p in c.PLATFORMS] == list(c.PLATFORMS)
    for p in c.PLATFORMS:
        assert f"platform:{p}" in agents[c.data_agent(p)].skills[0].tags


def test_unknown_agent_names_the_agents() -> None:
    with pytest.raises(InputError, match="agents are: planner, knowledge-sop"):
        build_agent("nope", get_settings())


def test_the_planner_chooses_source_platforms_and_knowledge(agents) -> None:  # type: ignore[no-untyped-def]
    plan = c.PlanResult.model_validate(agents["planner"].run("create_plan", {"question": Q}))
    assert plan.source == "signin_logs" and [p.value for p in plan.platforms] == ["kql", "spl", "sql"]
    assert plan.gather_procedures and plan.gather_errors and not plan.explicit
    assert plan.draft is not None and plan.draft.plan.source == "signin_logs"
    named = c.PlanResult.model_validate(agents["planner"].run(
        "create_plan", {"question": Q, "platforms": ["spl"], "sop": False}))
    assert [p.value for p in named.platforms] == ["spl"] and named.explicit
    assert not named.gather_procedures and not named.gather_errors


def test_the_planner_refuses_what_nothing_can_answer(agents) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QuestionError):
        agents["planner"].run("create_plan", {"question": "the weather in Paris", "sop": False})
    # With runbooks allowed, no source yet: the knowledge may name one.
    plan = c.PlanResult.model_validate(agents["planner"].run(
        "create_plan", {"question": "the weather in Paris"}))
    assert plan.source is None and plan.draft is None and len(plan.platforms) == 3
    with pytest.raises(QuestionError, match="unknown source"):
        agents["planner"].run("create_plan", {"question": Q, "source": "signin_logz"})


@pytest.mark.parametrize("payload, where", [
    ({}, "question"), ({"question": Q, "platforms": ["cobol"]}, "platforms.0"),
    ({"question": 42}, "question")])
def test_a_payload_that_breaks_the_contract_is_an_input_error(agents, payload, where) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=f"planner.create_plan: {where}"):
        agents["planner"].run("create_plan", payload)


def test_an_unknown_skill_is_an_input_error(agents) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="has no skill 'drop_tables'"):
        agents["validator"].run("drop_tables", {})


def test_a_data_agent_writes_its_platform_from_the_draft(agents) -> None:  # type: ignore[no-untyped-def]
    plan = c.PlanResult.model_validate(agents["planner"].run("create_plan", {"question": Q}))
    req = {"question": Q, "draft": plan.draft.model_dump(mode="json"), "knowledge": None}  # type: ignore[union-attr]
    out = c.GenerateResult.model_validate(agents["data-kql"].run("generate_query", req))
    assert out.query.platform == "kql" and out.query.query.startswith("SigninLogs")
    assert not out.query.valid  # the validator decides
    checked = c.ValidateResult.model_validate(agents["validator"].run("validate_queries", {
        "queries": [out.query.model_dump(mode="json")], "plan": out.plan.model_dump(mode="json"),
        "confidence": out.confidence}))
    assert checked.queries[0].valid and checked.queries[0].sample is not None


def test_the_known_errors_agent_finds_codes(agents) -> None:  # type: ignore[no-untyped-def]
    out = c.KnownErrorLookup.model_validate(agents["knowledge-errors"].run(
        "lookup_known_errors", {"text": "sign-ins failing with AADSTS50126 since 9am"}))
    assert [m.code for m in out.mentions] == ["AADSTS50126"]


def test_the_runbook_agent_without_a_store_says_so(agents) -> None:  # type: ignore[no-untyped-def]
    out = c.ProcedureSearch.model_validate(agents["knowledge-sop"].run(
        "search_procedures", {"text": "account lockout"}))
    assert out.hits == [] and "no runbooks are stored" in (out.note or "")


def test_plain_text_goes_to_the_text_skill(agents) -> None:  # type: ignore[no-untyped-def]
    skill, payload = agents["planner"].text_input(Q)
    assert (skill, payload) == ("create_plan", {"question": Q})
    with pytest.raises(InputError, match="needs a data part"):
        agents["validator"].text_input("check this")


@pytest.mark.parametrize("error", [
    InputError("bad", hint="do this"),
    QuestionError("no source", closest_sources=["signin_logs", "windows_security"]),
    UnknownFieldError("no field", closest_sources=["x"]),
    QueryError("unexpected token", line=2, column=5, expected="a pipe", code="syntax"),
    DocumentError("encrypted", code="encrypted", document="a.pdf"),
    StorageError("disk full", hint="free space"),
    AgentError("gone", agent="data-spl", code="agent_unavailable"),
])
def test_errors_cross_the_wire_as_the_same_class(error: LexiQueryError) -> None:
    wire = json.loads(json.dumps(error_payload(error)))
    back = error_from_payload(wire, agent="x")
    assert type(back) is type(error)
    assert (back.code, back.message, back.hint) == (error.code, error.message, error.hint)
    if isinstance(error, QuestionError):
        assert back.closest_sources == error.closest_sources  # type: ignore[attr-defined]
    if isinstance(error, QueryError):
        assert (back.line, back.column) == (2, 5)  # type: ignore[attr-defined]


def test_an_unknown_error_type_becomes_an_agent_error() -> None:
    back = error_from_payload({"type": "KeyError", "message": "boom", "error": "internal"},
                              agent="planner")
    assert isinstance(back, AgentError) and back.agent == "planner" and back.message == "boom"


def test_the_journey_calls_every_agent_in_order() -> None:
    answer = ask(Q, store=False)
    assert answer.status is JourneyState.COMPLETED
    assert [s.state.value for s in answer.transitions] == [
        "PENDING", "DISCOVERING", "PLANNING", "GATHERING_KNOWLEDGE", "GENERATING_QUERIES",
        "VALIDATING", "COMPLETED"]
    calls = [(a.agent, a.skill) for a in answer.agents]
    assert calls[:3] == [("planner", "create_plan"), ("knowledge-sop", "search_procedures"),
                         ("knowledge-errors", "lookup_known_errors")]
    assert sorted(calls[3:6]) == [("data-kql", "generate_query"), ("data-spl", "generate_query"),
                                  ("data-sql", "generate_query")]
    assert calls[6] == ("validator", "validate_queries")
    assert all(a.ok and a.where == "local" and a.attempts == 1 for a in answer.agents)
    assert answer.failed_platforms == [] and all(q.valid for q in answer.queries)


def test_without_runbooks_the_knowledge_agents_are_not_called() -> None:
    answer = ask(Q, store=False, sop=False, platforms=["sql"])
    assert [a.agent for a in answer.agents] == ["planner", "data-sql", "validator"]
    assert answer.knowledge is not None and answer.knowledge.mode == "off"
    assert "GATHERING_KNOWLEDGE" not in [s.state.value for s in answer.transitions]
