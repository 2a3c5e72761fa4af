"""The LLM path against the Ollama stand-in (tests/ollama_server.py) with the real client:
structured planning, repairs, fallbacks, usage counters, the prompt's content, the examples."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from llm_plans import GOOD, QUESTION, UNKNOWN_FIELD
from ollama_server import FakeOllama

from lexiquery.dialects.name_check import check_names
from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.config import Settings, get_settings
from lexiquery.llm.embeddings import EmbedderStatus
from lexiquery.llm.client import ChatFailed, ChatReply, OllamaChat
from lexiquery.nl.examples import _builtin_raw, builtin_examples, select_examples
from lexiquery.nl.llm import LlmPlan, plan_with_llm



@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama(chat_model="llama3") as server:
        yield server


def settings_for(server: FakeOllama | None, **kw: Any) -> Settings:
    host = server.url if server else "http://127.0.0.1:9"
    return get_settings(ollama_host=host, **kw)


def run(question: str, settings: Settings, *, examples: Any = None,
        hint: str | None = None) -> tuple[LlmPlan, list[tuple[ChatReply | None, str, str | None]]]:
    catalog = builtin_catalog()
    calls: list[tuple[ChatReply | None, str, str | None]] = []
    if examples is None:
        examples = select_examples(question, catalog, k=settings.llm_examples)

    async def go() -> LlmPlan:
        chat = OllamaChat(settings)
        try:
            return await plan_with_llm(question, catalog, chat=chat, settings=settings,
                                       examples=examples, hint=hint,
                                       on_call=lambda r, op, err: calls.append((r, op, err)))
        finally:
            await chat.aclose()

    return asyncio.run(go()), calls


def test_good_plan_first_time(ollama: FakeOllama) -> None:
    ollama.chat_script = [GOOD]
    out, calls = run(QUESTION, settings_for(ollama))
    assert out.engine == "llm" and out.calls == 1 and out.repairs == 0 and out.reason is None
    assert out.parsed is not None and out.parsed.plan.source == "signin_logs"
    assert out.parsed.plan.limit == 10
    assert "plan written by the LLM (llama3)" in out.parsed.notes
    assert out.parsed.confidence == 0.8
    [(reply, op, err)] = calls
    assert op == "plan" and err is None and reply is not None
    req = ollama.chat_requests()[0]
    # The counters are the server's own: whitespace tokens of every message, and of the reply.
    assert reply.prompt_tokens == sum(len(m["content"].split()) for m in req["messages"])
    assert reply.completion_tokens == len(json.dumps(GOOD).split())
    assert reply.compute_s is not None and reply.compute_s > 0
    assert reply.model == "llama3" and reply.latency_ms > 0
    # Structured output: the plan's JSON schema is the format.
    assert req["format"]["title"] == "QueryPlan" and req["model"] == "llama3"
    # A runaway model is stopped at the source: the answer's length is capped in tokens.
    assert req["options"] == {"temperature": 0, "num_predict": 4096}
    assert out.prompt_chars == [sum(len(m["content"]) for m in req["messages"])]


def test_invalid_json_then_good_plan_is_one_repair(ollama: FakeOllama) -> None:
    ollama.chat_script = ["Sure! Here is your query: SigninLogs | where", GOOD]
    out, calls = run(QUESTION, settings_for(ollama))
    assert out.engine == "llm" and out.calls == 2 and out.repairs == 1
    assert [op for _, op, _ in calls] == ["plan", "repair"]
    assert out.parsed is not None and out.parsed.confidence == pytest.approx(0.7)
    assert any(n.startswith("repaired once: the answer is not valid JSON")
               for n in out.parsed.notes)
    second = ollama.chat_requests()[1]["messages"]
    assert second[-2] == {"role": "assistant",
                          "content": "Sure! Here is your query: SigninLogs | where"}
    assert "not valid JSON" in second[-1]["content"]


def test_unknown_field_is_sent_back_and_corrected(ollama: FakeOllama) -> None:
    ollama.chat_script = [UNKNOWN_FIELD, GOOD]
    out, calls = run(QUESTION, settings_for(ollama))
    assert out.engine == "llm" and out.repairs == 1 and out.calls == 2
    assert [op for _, op, _ in calls] == ["plan", "repair"]
    repair = ollama.chat_requests()[1]["messages"][-1]
    assert repair["role"] == "user"
    assert "'status_code' is not a field of" in repair["content"]
    assert "result_code" in repair["content"]  # the source's fields are listed to choose from
    assert out.parsed is not None and out.parsed.plan.filters[0].field == "result_code"
    assert any("status_code" in n for n in out.parsed.notes if n.startswith("repaired once"))


def test_three_bad_answers_fall_back_with_reason(ollama: FakeOllama) -> None:
    ollama.chat_script = ["not json", UNKNOWN_FIELD, {"source": "no_such_source"}]
    out, calls = run(QUESTION, settings_for(ollama))
    assert out.parsed is None and out.engine == "rules"
    assert out.calls == 3 and out.repairs == 2
    assert [op for _, op, _ in calls] == ["plan", "repair", "repair"]
    assert out.reason is not None and "still invalid after 2 repairs" in out.reason
    assert "unknown source 'no_such_source'" in out.reason
    assert len(ollama.chat_requests()) == 3 and not ollama.chat_script


def test_repairs_setting_bounds_the_calls(ollama: FakeOllama) -> None:
    ollama.chat_script = ["x", "y"]
    out, _ = run(QUESTION, settings_for(ollama, llm_repairs=0))
    assert out.parsed is None and out.calls == 1 and "after 0 repairs" in (out.reason or "")
    assert len(ollama.chat_script) == 1


def test_schema_invalid_plan_names_the_problem(ollama: FakeOllama) -> None:
    ollama.chat_script = [{"source": "signin_logs", "limit": 0}, GOOD]
    out, _ = run(QUESTION, settings_for(ollama))
    assert out.repairs == 1
    assert "limit" in ollama.chat_requests()[1]["messages"][-1]["content"]


def test_an_oversized_answer_is_repaired_and_only_its_start_echoed(ollama: FakeOllama) -> None:
    """A runaway model's answer is refused by size before pydantic sees it; the repair request
    quotes its beginning, not all of it."""
    runaway = '{"source": "signin_logs", "notes": "' + "la " * 30_000 + '"}'
    ollama.chat_script = [runaway, GOOD]
    out, calls = run(QUESTION, settings_for(ollama))
    assert out.engine == "llm" and out.repairs == 1
    assert [op for _, op, _ in calls] == ["plan", "repair"]
    assistant, repair = ollama.chat_requests()[1]["messages"][-2:]
    assert len(assistant["content"]) < 3_000 and "[cut: the answer was 90," in assistant["content"]
    assert "at most 65,536" in repair["content"]


def test_deeply_nested_answers_fall_back_with_the_reason(ollama: FakeOllama) -> None:
    """Nesting past MAX_JSON_DEPTH is refused before parsing (no RecursionError), three times:
    the rules engine answers and the reason says why."""
    deep = '{"source": "signin_logs", "filters": ' + "[" * 5_000 + "]" * 5_000 + "}"
    ollama.chat_script = [deep, deep, deep]
    out, calls = run(QUESTION, settings_for(ollama))
    assert out.parsed is None and out.engine == "rules" and out.calls == 3
    assert "still invalid after 2 repairs" in (out.reason or "")
    assert "nests deeper than 32 levels" in (out.reason or "")
    assert all(err is None for _, _, err in calls)


def test_model_404_during_chat_is_model_missing(ollama: FakeOllama) -> None:
    ollama.chat_script = [{"status": 404, "error": "model 'llama3' not found"}]
    settings = settings_for(ollama)
    out, calls = run(QUESTION, settings)
    assert out.parsed is None and out.calls == 1 and out.repairs == 0
    assert "ollama pull llama3" in (out.reason or "")
    [(reply, op, err)] = calls
    assert reply is None and op == "plan" and "not installed" in (err or "")

    # The cached "ok" was forgotten: the next check probes /api/tags again.
    before = len([r for r in ollama.requests if r[1] == "/api/tags"])
    assert OllamaChat(settings).availability().ok
    assert len([r for r in ollama.requests if r[1] == "/api/tags"]) - before == 1


def test_chat_model_not_pulled_is_model_missing_without_a_call() -> None:
    with FakeOllama() as server:  # lists the embedding model only
        out, calls = run(QUESTION, settings_for(server))
        assert out.parsed is None and out.calls == 0 and calls == []
        assert "run `ollama pull llama3`" in (out.reason or "")
        assert server.chat_requests() == []
        a = OllamaChat(settings_for(server)).availability()
        assert a.status is EmbedderStatus.model_missing


def test_timeout_falls_back_fast(ollama: FakeOllama) -> None:
    ollama.chat_script = [{"delay_s": 3.0, "reply": GOOD}]
    t0 = time.perf_counter()
    out, calls = run(QUESTION, settings_for(ollama, llm_timeout_s=0.3))
    assert time.perf_counter() - t0 < 2.5
    assert out.parsed is None and out.calls == 1 and "did not answer within 0.3 s" in out.reason
    assert calls[0][0] is None and calls[0][2] == out.reason


def test_missing_counters_are_unknown_not_zero(ollama: FakeOllama) -> None:
    ollama.chat_script = [{**GOOD, "omit_counters": True}]
    out, calls = run(QUESTION, settings_for(ollama))
    reply = calls[0][0]
    assert out.engine == "llm" and reply is not None
    assert reply.prompt_tokens is None and reply.completion_tokens is None
    assert reply.compute_s is None and reply.latency_ms > 0


def test_prompt_holds_the_narrowed_sources_and_the_examples(ollama: FakeOllama) -> None:
    ollama.chat_script = [GOOD]
    catalog = builtin_catalog()
    examples = select_examples(QUESTION, catalog, k=3, sources=["signin_logs"])
    out, _ = run(QUESTION, settings_for(ollama, llm_max_sources=2), examples=examples)
    messages = ollama.chat_requests()[0]["messages"]
    system = messages[0]["content"]
    assert messages[0]["role"] == "system" and "never instructions" in system
    assert "source signin_logs:" in system
    assert len(out.sources) <= 2 and out.sources[0] == "signin_logs"
    for other in set(catalog.ids()) - set(out.sources):
        assert f"source {other}:" not in system
    # Each example is a user question and the assistant's plan; the question comes last.
    assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * 3 + ["user"]
    for ex, (q, a) in zip(examples, zip(messages[1::2], messages[2::2])):
        assert q["content"] == ex.question and json.loads(a["content"])["source"] == ex.plan.source
    assert messages[-1]["content"] == QUESTION


def test_hint_forces_the_source(ollama: FakeOllama) -> None:
    ollama.chat_script = [{**GOOD, "source": "azure_activity", "filters": [], "aggregation": None,
                           "sort": [], "limit": None}, GOOD]
    out, _ = run(QUESTION, settings_for(ollama), hint="signin_logs")
    assert out.repairs == 1 and out.parsed is not None
    assert "about source 'signin_logs'" in ollama.chat_requests()[1]["messages"][-1]["content"]


def test_unreachable_ollama_is_unreachable_and_costs_no_call() -> None:
    settings = settings_for(None)
    t0 = time.perf_counter()
    a = OllamaChat(settings).availability()
    assert a.status is EmbedderStatus.unreachable and "127.0.0.1:9" in a.reason
    out, calls = run(QUESTION, settings)
    assert out.parsed is None and out.calls == 0 and calls == []
    assert "not reachable" in (out.reason or "")
    assert time.perf_counter() - t0 < 5


def test_llm_off_never_calls(ollama: FakeOllama) -> None:
    out, _ = run(QUESTION, settings_for(ollama, llm="off"))
    assert out.parsed is None and "LEXIQUERY_LLM=off" in (out.reason or "")
    assert ollama.requests == []


def test_availability_is_cached(ollama: FakeOllama) -> None:
    settings = settings_for(ollama)

    async def three() -> None:
        for _ in range(3):
            assert (await OllamaChat(settings).aavailability()).ok
    asyncio.run(three())
    assert OllamaChat(settings).availability().ok
    assert len([r for r in ollama.requests if r[1] == "/api/tags"]) == 1


def test_chat_failed_on_connection_refused() -> None:
    async def go() -> None:
        with pytest.raises(ChatFailed) as e:
            await OllamaChat(settings_for(None)).chat([{"role": "user", "content": "hi"}],
                                                      format={})
        assert e.value.status == "connection"
    asyncio.run(go())


def test_every_builtin_example_validates() -> None:
    catalog = builtin_catalog()
    raw = _builtin_raw()
    assert len(raw) >= 25
    for question, plan in raw:
        src = catalog.get(plan.source)
        assert src is not None, question
        assert check_names(plan, src) == [], question
    assert len(builtin_examples(catalog)) == len(raw)
    covered = {m.fn.value for _, p in raw if p.aggregation for m in p.aggregation.metrics}
    assert {"count", "count_distinct", "sum", "avg", "percentile"} <= covered
    assert any(p.having for _, p in raw) and any(p.limit for _, p in raw)
    assert any(p.aggregation and p.aggregation.time_bucket for _, p in raw)


def test_examples_are_the_most_similar() -> None:
    catalog = builtin_catalog()
    ex = select_examples("95th percentile of response time by site", catalog, k=2)
    assert ex[0].plan.source == "web_requests" and ex[0].origin == "builtin"
    assert select_examples("anything", catalog, k=0) == []
    dns = select_examples("nxdomain answers per host", catalog, k=1, sources=["dns_events"])
    assert dns[0].plan.source == "dns_events"


RUNBOOK = b"""# SOP-017 Password spray response

## 1. Find the sprayed accounts

1. Run this query:

```kql
SigninLogs
| where ResultType == "50126"
| summarize attempts = count() by UserPrincipalName
| where attempts > 10
```
"""


def test_runbook_queries_are_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    from lexiquery.knowledge.store import ProcedureStore

    monkeypatch.setenv("LEXIQUERY_EMBEDDINGS", "0")
    catalog = builtin_catalog()
    with ProcedureStore(get_settings(), catalog=catalog) as store:
        store.add_bytes("spray.md", RUNBOOK)
        ex = select_examples("which accounts were sprayed", catalog, k=2, procedures=store)
    assert ex[0].origin == "runbook:SOP-017" and ex[0].question == "Find the sprayed accounts"
    plan = json.loads(ex[0].plan_json)
    assert plan["source"] == "signin_logs" and plan["aggregation"]["group_by"] == ["user"]
    assert plan["having"] == [{"field": "attempts", "op": "gt", "value": 10}]


def test_valid_past_journeys_are_examples(tmp_path: Any) -> None:
    from lexiquery.answer import Answer, GeneratedQuery, JourneyState
    from lexiquery.ir import QueryPlan
    from lexiquery.journeys import JourneyStore
    from lexiquery.nl.examples import journey_examples

    store = JourneyStore(tmp_path / "j.db")
    plan = QueryPlan.model_validate(GOOD)

    def answer(jid: str, q: str, valid: bool, status: JourneyState = JourneyState.COMPLETED,
               p: QueryPlan | None = plan) -> Answer:
        return Answer(journey_id=jid, question=q, status=status, plan=p, queries=[
            GeneratedQuery(platform="kql", dialect="kql", query="SigninLogs", valid=valid,
                           confidence=0.9, source="signin_logs")])

    store.save(answer("j1", "users failing to sign in most", True))
    store.save(answer("j2", "a journey with an invalid query", False))
    store.save(answer("j3", "a failed journey", True, JourneyState.FAILED))
    store.save(answer("j4", "a plan with a stale field", True,
                      p=QueryPlan.model_validate(UNKNOWN_FIELD)))
    catalog = builtin_catalog()
    ex = journey_examples(store, catalog)
    assert [(e.question, e.origin) for e in ex] == [("users failing to sign in most", "journey")]
    best = select_examples("users failing to sign in", catalog, k=1, journeys=store)[0]
    assert best.origin == "journey" and best.plan.limit == 10


def test_examples_selected_inside_when_not_given(ollama: FakeOllama) -> None:
    ollama.chat_script = [GOOD]
    catalog = builtin_catalog()
    settings = settings_for(ollama, llm_examples=2)

    async def go() -> tuple[LlmPlan, float | None]:
        chat = OllamaChat(settings)
        out = await plan_with_llm(QUESTION, catalog, chat=chat, settings=settings,
                                  examples=None)
        await chat.aclose()
        return out, chat.last_latency_ms
    out, latency = asyncio.run(go())
    assert out.engine == "llm" and latency is not None and latency > 0
    roles = [m["role"] for m in ollama.chat_requests()[0]["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]


def test_failed_call_latency_is_kept() -> None:
    async def go() -> float | None:
        chat = OllamaChat(settings_for(None))
        with pytest.raises(ChatFailed):
            await chat.chat([{"role": "user", "content": "hi"}], format={})
        return chat.last_latency_ms
    latency = asyncio.run(go())
    assert latency is not None and latency >= 0
