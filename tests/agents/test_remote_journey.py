"""The journey over A2A: every agent served on loopback by the real A2A server, reached through
the registry's handles (static agents), and what a dead or slow data agent costs — only its
platform, said in the answer, within the timeout."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from starlette.applications import Starlette

from lexiquery.agents.contracts import AGENT_NAMES
from lexiquery.agents.local import build_agents
from lexiquery.agents.resources import Resources
from lexiquery.config import get_settings
from lexiquery.errors import AgentError
from lexiquery.orchestrator import ask
from lexiquery.serve.a2a_server import add_agent_routes
from tests.serve.a2a_agents import Served, closed_port_url

Q = "failed sign-ins in the last 24 hours"
SLOW_S = 3.0


def _fleet_app(base_url: str) -> Starlette:
    """Every real agent under /agents/<name>, plus /agents/slow-spl: the real SPL agent that
    first sleeps past the journey's timeout."""
    app = Starlette()
    agents = build_agents(get_settings(), Resources(get_settings()))
    for name, agent in agents.items():
        add_agent_routes(app, agent, base_url, prefix=f"/agents/{name}")
    spl = agents["data-spl"]
    real = spl.handlers["generate_query"]

    def slow(request: Any) -> Any:
        time.sleep(SLOW_S)
        return real(request)

    add_agent_routes(app, dataclasses.replace(spl, handlers={"generate_query": slow}),
                     base_url, prefix="/agents/slow-spl")
    return app


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    with Served(_fleet_app) as served:
        yield served.url


def _settings(base: str, monkeypatch: pytest.MonkeyPatch, **where: str):  # type: ignore[no-untyped-def]
    urls = {name: f"{base}/agents/{name}" for name in AGENT_NAMES} | where
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON",
                       json.dumps([{"name": n, "url": u} for n, u in urls.items()]))
    return get_settings(agents="registry", agent_timeout_s=1.5, agent_retries=1)


def test_a_journey_over_a2a_answers_like_the_in_process_one(fleet, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    remote = ask(Q, store=False, settings=_settings(fleet, monkeypatch))
    local = ask(Q, store=False)
    assert [a.where for a in remote.agents] == [
        f"{fleet}/agents/{a.agent}" for a in remote.agents]
    assert all(a.ok for a in remote.agents) and len(remote.agents) == 7
    assert [(q.platform, q.query, q.valid) for q in remote.queries] == \
        [(q.platform, q.query, q.valid) for q in local.queries]
    assert remote.plan == local.plan and remote.agreement == local.agreement


def test_a_dead_data_agent_costs_only_its_platform(fleet, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(fleet, monkeypatch, **{"data-spl": closed_port_url()})
    started = time.monotonic()
    answer = ask(Q, store=False, settings=settings)
    assert time.monotonic() - started < 10
    assert answer.status.value == "COMPLETED" and answer.failed_platforms == ["spl"]
    by = {q.platform: q for q in answer.queries}
    assert by["kql"].valid and by["sql"].valid and not by["spl"].valid
    assert by["spl"].issues[0].code == "agent_failed" and "data-spl" in by["spl"].issues[0].message
    assert any(i.code == "platform_failed" and "SPL" in i.message for i in answer.issues)
    spl_call = next(a for a in answer.agents if a.agent == "data-spl")
    assert not spl_call.ok and spl_call.attempts == 2  # one retry: the connection was refused


def test_a_slow_data_agent_is_abandoned_at_the_timeout(fleet, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(fleet, monkeypatch, **{"data-spl": f"{fleet}/agents/slow-spl"})
    started = time.monotonic()
    answer = ask(Q, store=False, settings=settings)
    assert time.monotonic() - started < SLOW_S  # never waited for it
    assert answer.failed_platforms == ["spl"]
    call = next(a for a in answer.agents if a.agent == "data-spl")
    assert call.attempts == 1 and "did not answer within 1.5 s" in (call.error or "")
    assert {q.platform for q in answer.queries if q.valid} == {"kql", "sql"}


def test_a_dead_planner_fails_the_journey_with_an_agent_error(fleet, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(fleet, monkeypatch, planner=closed_port_url())
    with pytest.raises(AgentError) as e:
        ask(Q, settings=settings)
    assert e.value.code == "agent_unavailable" and "planner" in e.value.message


def test_dead_knowledge_agents_cost_the_knowledge_not_the_answer(fleet, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(fleet, monkeypatch, **{"knowledge-sop": closed_port_url(),
                                                "knowledge-errors": closed_port_url()})
    answer = ask("sign-ins failing with AADSTS50126 today", store=False, settings=settings)
    assert all(q.valid for q in answer.queries) and answer.failed_platforms == []
    assert answer.knowledge is not None and "runbook search failed" in (answer.knowledge.note or "")
    assert "known-errors lookup failed" in (answer.knowledge.note or "")


def test_a_dead_validator_leaves_the_queries_unvalidated_and_says_so(fleet, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    answer = ask(Q, store=False, settings=_settings(fleet, monkeypatch,
                                                    validator=closed_port_url()))
    assert len(answer.queries) == 3 and all(q.query for q in answer.queries)
    assert all(any(i.code == "not_validated" for i in q.issues) for q in answer.queries)


def test_an_unregistered_agent_is_named(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("A2A_STATIC_AGENTS_JSON", raising=False)
    with pytest.raises(AgentError, match="no planner agent is registered"):
        ask(Q, store=False, settings=get_settings(agents="registry"))
