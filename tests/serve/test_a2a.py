"""The A2A transport over real HTTP on 127.0.0.1: agents served by `serve.a2a_server` (uvicorn in
a background thread), called by the a2a-sdk's own client, by raw JSON-RPC and REST requests
with httpx, and by `A2AHandle` — results, refusals, bugs, dead and slow and broken servers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.helpers import new_data_part, new_text_message
from a2a.types import Message, Role, SendMessageRequest, TaskState
from fastapi import FastAPI
from google.protobuf.json_format import MessageToDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lexiquery.agents.handles import AgentHandle, LocalHandle
from lexiquery.config import get_settings
from lexiquery.errors import AgentError, InputError, QuestionError
from lexiquery.registry.a2a_client import (A2AHandle, card_from_dict, card_platforms, card_skills,
                                        card_to_dict)
from lexiquery.serve.a2a_server import add_agent_routes, agent_app, agent_card
from serve.a2a_agents import Served, closed_port_url, echo_agent

pytestmark = pytest.mark.anyio

V1 = {"A2A-Version": "1.0"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """The echo agent alone, as `lexiquery serve --agent` serves one."""
    with Served(lambda url: agent_app(echo_agent(platform="kql"), get_settings(), url)) as s:
        yield s


@pytest.fixture(scope="module")
def two_agents() -> Iterator[Served]:
    """Two agents under /agents/<name> of one app, next to a route of the app's own."""
    def build(url: str) -> FastAPI:
        app = FastAPI()
        add_agent_routes(app, echo_agent("alpha", platform="spl"), url, "/agents/alpha")
        add_agent_routes(app, echo_agent("beta"), url, "/agents/beta/")

        @app.get("/api/v1/ping")
        async def ping() -> dict[str, str]:
            return {"pong": "yes"}
        return app

    with Served(build) as s:
        yield s


def rpc_body(skill: str, payload: dict[str, Any], method: str = "SendMessage") -> dict[str, Any]:
    message = Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex,
                      parts=[new_data_part({"skill": skill, "input": payload})])
    return {"jsonrpc": "2.0", "id": 7, "method": method,
            "params": {"message": MessageToDict(message)}}


def artifact_data(task: dict[str, Any]) -> Any:
    return task["artifacts"][0]["parts"][0]["data"]


# ── the a2a-sdk client against a served agent ────────────────────────────────────────────────

async def test_sdk_client_discovers_the_card_and_completes_a_task(served: Served) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        card = await A2ACardResolver(http, served.url).get_agent_card()
        assert card.name == "echo" and card.version
        assert [s.id for s in card.skills] == ["echo", "refuse", "boom", "slow"]
        assert "platform:kql" in card.skills[0].tags
        assert card.skills[0].examples == ["echo hello"]
        bindings = {(i.protocol_binding, i.url, i.protocol_version)
                    for i in card.supported_interfaces}
        assert bindings == {("JSONRPC", served.url, "1.0"), ("HTTP+JSON", served.url, "1.0")}
        assert list(card.default_input_modes) == ["application/json", "text/plain"]

        for binding in ("JSONRPC", "HTTP+JSON"):
            client = ClientFactory(ClientConfig(streaming=False, httpx_client=http,
                                                supported_protocol_bindings=[binding],
                                                use_client_preference=True)).create(card)
            message = Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex,
                              parts=[new_data_part({"skill": "echo",
                                                    "input": {"text": "ab", "n": 3}})])
            events = [e async for e in client.send_message(SendMessageRequest(message=message))]
            assert len(events) == 1 and events[0].WhichOneof("payload") == "task", binding
            task = events[0].task
            assert task.status.state == TaskState.TASK_STATE_COMPLETED, binding
            assert task.artifacts[0].name == "echo"
            data = MessageToDict(task.artifacts[0].parts[0].data)
            assert data["text"] == "ababab" and data["items"] == [0, 1, 2]


async def test_sdk_streaming_client_sees_working_then_completed(served: Served) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        card = await A2ACardResolver(http, served.url).get_agent_card()
        assert card.capabilities.streaming
        client = ClientFactory(ClientConfig(streaming=True, httpx_client=http)).create(card)
        request = SendMessageRequest(message=new_text_message("hi", role=Role.ROLE_USER))
        kinds: list[str] = []
        states: list[int] = []
        async for event in client.send_message(request):
            kind = event.WhichOneof("payload")
            kinds.append(kind)
            if kind == "status_update":
                states.append(event.status_update.status.state)
            if kind == "artifact_update":
                assert MessageToDict(event.artifact_update.artifact.parts[0].data)["text"] == "hi"
        assert "artifact_update" in kinds
        assert states[0] == TaskState.TASK_STATE_WORKING
        assert states[-1] == TaskState.TASK_STATE_COMPLETED


# ── raw JSON-RPC and REST ────────────────────────────────────────────────────────────────────

def test_raw_jsonrpc_send_message_with_the_version_header(served: Served) -> None:
    r = httpx.post(served.url, json=rpc_body("echo", {"text": "x", "n": 2}), headers=V1,
                   timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == 7 and "error" not in body, body
    task = body["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert artifact_data(task)["text"] == "xx"
    # The task is kept: GetTask over the other binding (REST) reads the same one.
    got = httpx.get(f"{served.url}/tasks/{task['id']}", headers=V1, timeout=10)
    assert got.status_code == 200 and got.json()["status"]["state"] == "TASK_STATE_COMPLETED"


def test_raw_jsonrpc_without_the_version_header_is_refused_with_32009(served: Served) -> None:
    # No A2A-Version header means 0.3 (A2A 1.0, "Versioning"); this server speaks 1.0 only,
    # so it answers JSON-RPC error -32009 VersionNotSupported (HTTP 200, as JSON-RPC errors
    # travel) and runs nothing.
    r = httpx.post(served.url, json=rpc_body("echo", {"text": "x"}), timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert "result" not in body
    assert body["error"]["code"] == -32009
    assert "0.3" in body["error"]["message"] and "1.0" in body["error"]["message"]
    assert body["id"] == 7


def test_raw_jsonrpc_unknown_method_is_32601(served: Served) -> None:
    r = httpx.post(served.url, json=rpc_body("echo", {}, method="NoSuchMethod"), headers=V1,
                   timeout=10)
    assert r.json()["error"]["code"] == -32601


def test_rest_binding_message_send(served: Served) -> None:
    body = rpc_body("echo", {"text": "r", "n": 1})["params"]
    r = httpx.post(f"{served.url}/message:send", json=body, headers=V1, timeout=10)
    assert r.status_code == 200, r.text
    task = r.json()["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert artifact_data(task) == {"text": "r", "n": 1, "items": [0],
                                   "nested": {"ratio": 0.5, "count": 1, "none": None,
                                              "flag": True}}
    # REST without the header: refused too, as HTTP 400 with the VERSION_NOT_SUPPORTED reason.
    r = httpx.post(f"{served.url}/message:send", json=body, timeout=10)
    assert r.status_code == 400
    assert "VERSION_NOT_SUPPORTED" in r.text


def test_health_and_card_of_an_agent_alone(served: Served) -> None:
    assert httpx.get(f"{served.url}/health", timeout=5).json() == {"status": "ok",
                                                                  "agent": "echo"}
    card = httpx.get(f"{served.url}/.well-known/agent-card.json", timeout=5).json()
    assert card["name"] == "echo"
    assert card_skills(card) == ["echo", "refuse", "boom", "slow"]
    assert card_platforms(card) == ["kql"]


def test_request_over_the_size_limit_is_413(served: Served) -> None:
    big = rpc_body("echo", {"text": "x" * (get_settings().max_request_bytes + 10)})
    r = httpx.post(served.url, json=big, headers=V1, timeout=10)
    assert r.status_code == 413


# ── A2AHandle ────────────────────────────────────────────────────────────────────────────────

async def test_handle_returns_exactly_what_the_local_handle_returns(served: Served) -> None:
    handle = A2AHandle("echo", served.url, timeout_s=10)
    assert isinstance(handle, AgentHandle) and handle.where == served.url
    payload = {"text": "ok", "n": 4}
    remote = await handle.call("echo", payload)
    local = await LocalHandle(echo_agent()).call("echo", payload)
    assert remote == local  # ints stay ints, None and bools survive, nothing added
    assert type(remote["n"]) is int and type(remote["nested"]["ratio"]) is float
    assert handle.card is not None and handle.card.name == "echo"  # fetched once, cached
    second = await handle.call("echo", {"text": "again"})
    assert second["text"] == "again"
    await handle.aclose()


async def test_handle_with_a_shared_client_and_a_known_card(served: Served) -> None:
    card = httpx.get(f"{served.url}/.well-known/agent-card.json", timeout=5).json()
    async with httpx.AsyncClient(timeout=10) as http:
        handle = A2AHandle("echo", served.url, card, timeout_s=10, http=http)
        assert (await handle.call("echo", {"text": "s"}))["text"] == "s"
        assert not http.is_closed


async def test_handle_reraises_the_agents_question_error(served: Served) -> None:
    handle = A2AHandle("echo", served.url, timeout_s=10)
    with pytest.raises(QuestionError) as info:
        await handle.call("refuse", {"text": "weather"})
    e = info.value
    assert type(e) is QuestionError
    assert e.closest_sources == ["signin_logs", "audit_logs"]
    assert "weather" in e.message and e.hint == "name a source"
    await handle.aclose()


async def test_handle_unknown_skill_and_bad_input_are_input_errors(served: Served) -> None:
    handle = A2AHandle("echo", served.url, timeout_s=10)
    with pytest.raises(InputError) as info:
        await handle.call("nope", {})
    assert "nope" in info.value.message and "echo" in (info.value.hint or "")
    with pytest.raises(InputError) as info:
        await handle.call("echo", {"n": 2})  # text missing
    assert "text" in info.value.message
    assert info.value.issues[0]["field"] == "text"
    await handle.aclose()


async def test_handle_internal_error_says_so_without_the_traceback(served: Served) -> None:
    handle = A2AHandle("echo", served.url, timeout_s=10)
    with pytest.raises(AgentError) as info:
        await handle.call("boom", {"text": "x"})
    e = info.value
    assert e.code == "agent_failed" and not e.retryable
    assert e.message == "internal error in echo"
    assert "passwd" not in repr(e.to_dict()) and "RuntimeError" not in repr(e.to_dict())
    await handle.aclose()


def test_failed_task_carries_error_payload_and_text(served: Served) -> None:
    r = httpx.post(served.url, json=rpc_body("refuse", {"text": "t"}), headers=V1, timeout=10)
    task = r.json()["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_FAILED"
    parts = task["status"]["message"]["parts"]
    error = parts[0]["data"]["error"]
    assert error["type"] == "QuestionError" and error["error"] == "unanswerable_question"
    assert error["closest_sources"] == ["signin_logs", "audit_logs"]
    assert parts[1]["text"] == error["message"]


def test_a_running_task_can_be_cancelled(served: Served) -> None:
    body = rpc_body("slow", {"seconds": 1.5})
    body["params"]["configuration"] = {"returnImmediately": True}
    r = httpx.post(served.url, json=body, headers=V1, timeout=10)
    task = r.json()["result"]["task"]
    assert task["status"]["state"] in ("TASK_STATE_SUBMITTED", "TASK_STATE_WORKING")
    cancel = {"jsonrpc": "2.0", "id": 9, "method": "CancelTask", "params": {"id": task["id"]}}
    r = httpx.post(served.url, json=cancel, headers=V1, timeout=10)
    assert r.json()["result"]["status"]["state"] == "TASK_STATE_CANCELED", r.text
    time.sleep(1.7)  # the skill's thread finishes; its late result must not revive the task
    got = httpx.get(f"{served.url}/tasks/{task['id']}", headers=V1, timeout=5).json()
    assert got["status"]["state"] == "TASK_STATE_CANCELED"
    assert not got.get("artifacts")


def test_plain_text_goes_to_the_text_skill(served: Served) -> None:
    message = MessageToDict(new_text_message("say this", role=Role.ROLE_USER))
    r = httpx.post(served.url, json={"jsonrpc": "2.0", "id": "t", "method": "SendMessage",
                                     "params": {"message": message}}, headers=V1, timeout=10)
    task = r.json()["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert artifact_data(task)["text"] == "say this"
    # A data part without "skill" is the text skill's input.
    data_only = MessageToDict(Message(role=Role.ROLE_USER, message_id="m1",
                                      parts=[new_data_part({"text": "d", "n": 2})]))
    r = httpx.post(served.url, json={"jsonrpc": "2.0", "id": "d", "method": "SendMessage",
                                     "params": {"message": data_only}}, headers=V1, timeout=10)
    assert artifact_data(r.json()["result"]["task"])["text"] == "dd"


async def test_handle_against_a_closed_port_is_retryable_unavailable() -> None:
    url = closed_port_url()
    handle = A2AHandle("data-kql", url, timeout_s=5)
    started = time.monotonic()
    with pytest.raises(AgentError) as info:
        await handle.call("generate_query", {"question": "q"})
    assert time.monotonic() - started < 5
    e = info.value
    assert e.code == "agent_unavailable" and e.retryable and e.agent == "data-kql"
    assert "data-kql" in e.message and url in e.message
    assert e.hint and "running" in e.hint
    # With a known card the failure is the same (the SendMessage itself is refused).
    card = card_to_dict(agent_card(echo_agent(), url))
    with pytest.raises(AgentError) as info:
        await A2AHandle("echo", url, card, timeout_s=5).call("echo", {"text": "x"})
    assert info.value.code == "agent_unavailable" and info.value.retryable


async def test_handle_times_out_on_a_slow_agent(served: Served) -> None:
    handle = A2AHandle("echo", served.url, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(AgentError) as info:
        await handle.call("slow", {"seconds": 2})
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 1.8
    assert info.value.code == "agent_timeout" and info.value.retryable
    assert "0.5 s" in info.value.message
    await handle.aclose()


def _broken_app(base_url: str, answer: Response) -> Starlette:
    """A server with a valid card whose SendMessage answers `answer`."""
    card = card_to_dict(agent_card(echo_agent(), base_url))

    async def card_route(request: Request) -> JSONResponse:
        return JSONResponse(card)

    async def rpc(request: Request) -> Response:
        return answer

    return Starlette(routes=[Route("/.well-known/agent-card.json", card_route),
                             Route("/", rpc, methods=["POST"])])


@pytest.mark.parametrize("answer, code, retryable", [
    (Response("{not json", media_type="application/json"), "agent_bad_reply", False),
    (JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {"message": {
        "messageId": "m", "role": "ROLE_AGENT", "parts": [{"text": "hello"}]}}}),
     "agent_bad_reply", False),
    (JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {"task": {
        "id": "t", "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"}}}}),
     "agent_bad_reply", False),
    (JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {"task": {
        "id": "t", "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"},
        "artifacts": [{"artifactId": "a", "parts": [{"data": [1, 2]}]}]}}}),
     "agent_bad_reply", False),
    (JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {"task": {
        "id": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}}}),
     "agent_bad_reply", False),
    (Response("overloaded", status_code=503), "agent_unavailable", True),
    (Response("gone", status_code=404), "agent_unavailable", False),
], ids=["garbage-json", "a-message", "no-artifact", "non-object", "working", "503", "404"])
async def test_handle_maps_broken_replies(answer: Response, code: str, retryable: bool) -> None:
    with Served(lambda url: _broken_app(url, answer)) as s:
        with pytest.raises(AgentError) as info:
            await A2AHandle("echo", s.url, timeout_s=5).call("echo", {"text": "x"})
    assert info.value.code == code and info.value.retryable is retryable, info.value.message
    assert "echo" in info.value.message and s.url in info.value.message


async def test_handle_card_that_is_not_a_card() -> None:
    async def card_route(request: Request) -> Response:
        return Response("<html>nope</html>", media_type="text/html")

    with Served(lambda url: Starlette(routes=[Route("/.well-known/agent-card.json",
                                                    card_route)])) as s:
        with pytest.raises(AgentError) as info:
            await A2AHandle("x", s.url, timeout_s=5).call("echo", {})
    assert info.value.code == "agent_bad_reply"


async def test_handles_share_one_pool_per_loop(served: Served) -> None:
    from lexiquery.registry.a2a_client import close_shared_http, shared_http

    first, second = (A2AHandle("echo", served.url, timeout_s=10) for _ in range(2))
    await first.call("echo", {"text": "1"})
    await second.call("echo", {"text": "2"})
    pool = shared_http()
    assert first._client_http is pool and second._client_http is pool
    await close_shared_http()
    assert pool.is_closed
    # The next call opens a new pool instead of failing on the closed one.
    assert (await first.call("echo", {"text": "3"}))["text"] == "3"
    assert shared_http() is not pool and first._client_http is shared_http()
    await close_shared_http()


def test_sdk_telemetry_is_off_once_the_transport_is_imported() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"}
    code = ("import lexiquery.registry.a2a_client, a2a.utils.telemetry as t; "
            "print(t.otel_enabled)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_handle_in_successive_event_loops(served: Served) -> None:
    # A sync caller (lexiquery.ask) runs each journey in its own asyncio.run: the handle's
    # own HTTP client must follow the loop, not die with the first one.
    import asyncio

    handle = A2AHandle("echo", served.url, timeout_s=10)
    for i in range(3):
        assert asyncio.run(handle.call("echo", {"text": str(i)}))["text"] == str(i)


# ── two agents in one app ────────────────────────────────────────────────────────────────────

async def test_prefixed_agents_serve_their_own_card_and_tasks(two_agents: Served) -> None:
    base = two_agents.url
    for name in ("alpha", "beta"):
        card = httpx.get(f"{base}/agents/{name}/.well-known/agent-card.json", timeout=5).json()
        assert card["name"] == name
        urls = {i["url"] for i in card["supportedInterfaces"]}
        assert urls == {f"{base}/agents/{name}"}
        handle = A2AHandle(name, f"{base}/agents/{name}", timeout_s=10)
        assert (await handle.call("echo", {"text": name}))["text"] == name
        await handle.aclose()
        # REST under the prefix, too.
        body = rpc_body("echo", {"text": name})["params"]
        r = httpx.post(f"{base}/agents/{name}/message:send", json=body, headers=V1, timeout=10)
        task_id = r.json()["task"]["id"]
        # Each agent keeps its own tasks: the other one does not know this task.
        other = "beta" if name == "alpha" else "alpha"
        assert httpx.get(f"{base}/agents/{name}/tasks/{task_id}", headers=V1,
                         timeout=5).status_code == 200
        assert httpx.get(f"{base}/agents/{other}/tasks/{task_id}", headers=V1,
                         timeout=5).status_code == 404
    assert card_platforms(httpx.get(f"{base}/agents/alpha/.well-known/agent-card.json",
                                    timeout=5).json()) == ["spl"]
    # The app's own routes are not shadowed by the agents' (no tenant catch-all mount).
    assert httpx.get(f"{base}/api/v1/ping", timeout=5).json() == {"pong": "yes"}
    assert httpx.get(f"{base}/agents/gamma/.well-known/agent-card.json",
                     timeout=5).status_code == 404
    docs = httpx.get(f"{base}/openapi.json", timeout=5).json()["paths"]
    assert "/agents/alpha/message:send" in docs and "/agents/beta" in docs


def test_card_round_trips_through_json() -> None:
    card = agent_card(echo_agent(platform="sql"), "http://127.0.0.1:9020")
    d = card_to_dict(card)
    assert card_from_dict(d) == card
    assert card_skills(card) == card_skills(d) == ["echo", "refuse", "boom", "slow"]
    assert card_platforms(card) == ["sql"]
    with pytest.raises(AgentError) as info:
        card_from_dict({"name": 5, "skills": "no"})
    assert info.value.code == "agent_bad_reply"


# ── the real agents over A2A ─────────────────────────────────────────────────────────────────

@pytest.fixture(scope="module")
def real_agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Any]]:
    """The real planner and kql data agent, mounted as the single-process server mounts them."""
    from lexiquery.agents.local import build_agent

    # Module scope: the per-test data dir of the conftest is not set yet, so give one here.
    settings = get_settings(data_dir=tmp_path_factory.mktemp("a2a-data"),
                            ollama_host=closed_port_url(), embeddings=False)

    def build(url: str) -> FastAPI:
        app = FastAPI()
        for name in ("planner", "data-kql"):
            add_agent_routes(app, build_agent(name, settings), url, f"/agents/{name}")
        return app

    with Served(build) as s:
        yield s, settings


async def test_real_planner_and_data_agent_answer_over_a2a(
        real_agents: tuple[Served, Any]) -> None:
    from lexiquery.agents.base import parse_result
    from lexiquery.agents.local import build_agent

    served_, settings = real_agents
    question = "failed sign-ins in the last 24 hours by user"
    planner = A2AHandle("planner", f"{served_.url}/agents/planner", timeout_s=30)
    plan = await planner.call("create_plan", {"question": question})
    local_planner = build_agent("planner", settings)
    assert plan == await LocalHandle(local_planner).call("create_plan", {"question": question})
    assert plan["source"] == "signin_logs" and "kql" in plan["platforms"]
    parse_result("planner", local_planner.skill("create_plan"), plan)

    data = A2AHandle("data-kql", f"{served_.url}/agents/data-kql", timeout_s=30)
    assert card_platforms(httpx.get(f"{data.url}/.well-known/agent-card.json",
                                    timeout=5).json()) == ["kql"]
    request = {"question": question, "draft": plan["draft"], "knowledge": None}
    result = await data.call("generate_query", request)
    local_data = build_agent("data-kql", settings)
    parsed = parse_result("data-kql", local_data.skill("generate_query"), result)
    assert parsed.query.platform == "kql" and "SigninLogs" in parsed.query.query
    local = await LocalHandle(local_data).call("generate_query", request)
    assert result == local

    # An unanswerable question is the data agent's own refusal, rebuilt on this side with
    # the same closest sources as the local agent gives.
    odd = {"question": "the weather on mars tomorrow", "knowledge": None}
    with pytest.raises(QuestionError) as remote_refusal:
        await data.call("generate_query", odd)
    with pytest.raises(QuestionError) as local_refusal:
        await LocalHandle(local_data).call("generate_query", odd)
    assert remote_refusal.value.closest_sources == local_refusal.value.closest_sources
    assert remote_refusal.value.closest_sources
    assert remote_refusal.value.message == local_refusal.value.message
    await planner.aclose()
    await data.aclose()


# ── the parts on their own ───────────────────────────────────────────────────────────────────

def test_error_parts_carry_an_issue_json_cannot_hold() -> None:
    import datetime

    from lexiquery.errors import error_from_payload
    from lexiquery.serve.a2a_server import error_parts

    when = datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)
    e = InputError("bad window", issues=[{"code": "bad_window", "message": "m", "at": when}])
    data, text = error_parts(e)
    payload = MessageToDict(data.data)["error"]
    assert payload["issues"][0]["at"] == str(when)
    rebuilt = error_from_payload(payload)
    assert type(rebuilt) is InputError and rebuilt.message == "bad window"
    assert text.text == "bad window"


async def test_bounded_task_store_forgets_the_oldest() -> None:
    from a2a.server.context import ServerCallContext
    from a2a.types import Task, TaskStatus

    from lexiquery.serve.a2a_server import BoundedTaskStore

    store, ctx = BoundedTaskStore(max_tasks=3), ServerCallContext()
    for i in range(5):
        await store.save(Task(id=f"t{i}", context_id="c",
                              status=TaskStatus(state=TaskState.TASK_STATE_WORKING)), ctx)
        await store.save(Task(id=f"t{i}", context_id="c",  # a second save: still one entry
                              status=TaskStatus(state=TaskState.TASK_STATE_COMPLETED)), ctx)
    assert [await store.get(f"t{i}", ctx) is not None for i in range(5)] == [False, False,
                                                                              True, True, True]
    assert (await store.get("t4", ctx)).status.state == TaskState.TASK_STATE_COMPLETED


async def test_parallel_calls_do_not_wait_for_each_other(served: Served) -> None:
    import asyncio

    handle = A2AHandle("echo", served.url, timeout_s=10)
    await handle.call("echo", {"text": "warm"})
    started = time.monotonic()
    await asyncio.gather(*(handle.call("slow", {"seconds": 0.4}) for _ in range(5)))
    elapsed = time.monotonic() - started
    assert elapsed < 1.6, elapsed  # one after the other would take 2 s


async def test_handle_with_a_url_that_is_not_http() -> None:
    with pytest.raises(AgentError) as info:
        await A2AHandle("x", "ftp://127.0.0.1:21", timeout_s=5).call("echo", {})
    assert info.value.code == "agent_unavailable" and not info.value.retryable
    assert "http" in (info.value.hint or "")


def test_agent_app_lifespan_closes_its_handlers() -> None:
    from fastapi.testclient import TestClient

    from lexiquery.serve.a2a_server import close_agent_routes

    app = agent_app(echo_agent(), get_settings(), "http://testserver")
    with TestClient(app) as client:
        r = client.post("/", json=rpc_body("echo", {"text": "t"}), headers=V1)
        assert r.json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
        assert len(app.state.a2a_handlers) == 1
    import anyio

    anyio.run(close_agent_routes, app)  # a second close is harmless
