"""The protocol interface routes (`/a2a/*`), `/health`'s dependency fields, the app's roles and
`/mcp`'s allowed hosts — against real agents: the echo test agent served over A2A on a free
127.0.0.1 port (registered through the route, called through the registry's A2A handle), and
the real LexiQuery agents in this process (local mode, mounted under /agents/<name>)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lexiquery.config import get_settings
from lexiquery.errors import AgentError
from lexiquery.serve.a2a_server import agent_app
from lexiquery.serve.app import create_app
from lexiquery.serve.procedures import error_response
from serve.a2a_agents import Served, closed_port_url, echo_agent

DISCOVER, REGISTER, INVOKE = "/a2a/agents/discover", "/a2a/agents/register", "/a2a/task/invoke"
LOOPBACK_HOST = {"host": "127.0.0.1:8000"}


@pytest.fixture(scope="module")
def echo() -> Iterator[Served]:
    """The echo agent (platform kql) served alone over A2A, as `serve --agent` serves one."""
    with Served(lambda url: agent_app(echo_agent(platform="kql"), get_settings(), url)) as s:
        yield s


def client(role: str = "all", base_url: str = "http://127.0.0.1:8000",
           bind_host: str | None = None, **overrides: Any) -> TestClient:
    """The operator's client: on this machine, with the admin key the server makes."""
    from lexiquery.serve.admin import ADMIN_HEADER, ensure_admin_key

    settings = get_settings(**overrides)
    return TestClient(create_app(settings, role=role,  # type: ignore[arg-type]
                                 base_url=base_url, bind_host=bind_host),
                      raise_server_exceptions=False, client=("127.0.0.1", 50000),
                      headers={ADMIN_HEADER: ensure_admin_key(settings.data_dir)})


@pytest.fixture
def registry_api() -> Iterator[TestClient]:
    with client("registry") as c:
        yield c


def register(c: TestClient, url: str) -> dict[str, Any]:
    r = c.post(REGISTER, json={"url": url})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


# ── register, discover, invoke, delete ───────────────────────────────────────────────────────

def test_register_discover_invoke_delete(registry_api: TestClient, echo: Served) -> None:
    entry = register(registry_api, echo.url)
    assert entry["name"] == "echo" and entry["url"] == echo.url
    assert entry["origin"] == "registered" and entry["platforms"] == ["kql"]
    assert {"echo", "refuse", "slow"} <= set(entry["skills"])

    def names(**params: Any) -> list[str]:
        r = registry_api.get(DISCOVER, params=params)
        assert r.status_code == 200, r.text
        return [e["name"] for e in r.json()]

    assert names() == ["echo"]
    assert names(skill="echo") == ["echo"] and names(skill="create_plan") == []
    assert names(platform="kql") == ["echo"] and names(platform="spl") == []
    assert names(healthy="true") == ["echo"] and names(name="planner") == []

    # The registry role routes by name to the registered agent, over A2A.
    r = registry_api.post(INVOKE, json={"agent": "echo", "skill": "echo",
                                        "input": {"text": "ab", "n": 2}})
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "abab" and r.json()["items"] == [0, 1]

    # Registering the same URL again replaces the entry.
    assert register(registry_api, echo.url)["id"] == entry["id"]
    assert names() == ["echo"]

    assert registry_api.delete(f"/a2a/agents/{entry['id']}").status_code == 204
    assert names() == []
    r = registry_api.delete(f"/a2a/agents/{entry['id']}")
    assert r.status_code == 404 and r.json()["error"] == "unknown_agent"
    r = registry_api.post(INVOKE, json={"agent": "echo", "skill": "echo", "input": {"text": "x"}})
    assert r.status_code == 404 and r.json()["error"] == "unknown_agent"
    assert "discover" in r.json()["hint"]


def test_what_the_agent_refuses_keeps_its_own_error(registry_api: TestClient,
                                                    echo: Served) -> None:
    register(registry_api, echo.url)
    r = registry_api.post(INVOKE, json={"agent": "echo", "skill": "refuse",
                                        "input": {"text": "weather"}})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "unanswerable_question"
    assert r.json()["closest_sources"] == ["signin_logs", "audit_logs"]
    r = registry_api.post(INVOKE, json={"agent": "echo", "skill": "no_such", "input": {}})
    assert r.status_code == 422 and "no_such" in r.json()["message"]
    r = registry_api.post(INVOKE, json={"agent": "echo", "skill": "echo", "input": {"n": 2}})
    assert r.status_code == 422 and "text" in r.json()["message"]


def test_slow_and_dead_agents_are_504_and_503(echo: Served) -> None:
    with client("registry", agent_timeout_s=1.0) as c:
        register(c, echo.url)
        started = time.monotonic()
        r = c.post(INVOKE, json={"agent": "echo", "skill": "slow", "input": {"seconds": 4}})
        assert r.status_code == 504, r.text
        assert r.json()["error"] == "agent_timeout" and time.monotonic() - started < 4

    with Served(lambda url: agent_app(echo_agent("mortal"), get_settings(), url)) as mortal, \
            client("registry") as c:
        register(c, mortal.url)
    with client("registry") as c:  # the server is gone; the entry is not checked yet
        r = c.post(INVOKE, json={"agent": "mortal", "skill": "echo", "input": {"text": "x"}})
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "agent_unavailable" and mortal.url in r.json()["message"]


@pytest.mark.parametrize("url", [
    "http://agent.invalid/",
    "file:///etc/passwd",
    "ftp://127.0.0.1/card.json",
    "http://127.0.0.1@agent.invalid/",
    "http://localhost.invalid:9020/",
])
def test_registration_refusals_are_400_with_the_reason(registry_api: TestClient,
                                                       url: str) -> None:
    r = registry_api.post(REGISTER, json={"url": url})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "registration_refused" and r.json()["message"]
    assert registry_api.get(DISCOVER).json() == []


def test_registration_of_a_closed_port_and_bad_bodies(registry_api: TestClient) -> None:
    r = registry_api.post(REGISTER, json={"url": closed_port_url()})
    assert r.status_code == 400 and r.json()["error"] == "registration_refused", r.text
    for body in ({}, {"url": ""}, {"url": "http://127.0.0.1:1", "name": "x"}, {"url": 5}):
        r = registry_api.post(REGISTER, json=body)
        assert r.status_code == 422 and r.json()["error"] == "bad_request", (body, r.text)
    r = registry_api.post(INVOKE, json={"agent": "planner"})
    assert r.status_code == 422 and r.json()["issues"][0]["field"] == "skill"


def test_static_agents_are_listed_and_cannot_be_deleted(monkeypatch: pytest.MonkeyPatch,
                                                        echo: Served) -> None:
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON", json.dumps([{"name": "fixed-echo",
                                                              "url": echo.url}]))
    with client("registry") as c:
        listed = c.get(DISCOVER).json()
        assert [(e["name"], e["origin"]) for e in listed] == [("fixed-echo", "static")]
        r = c.delete(f"/a2a/agents/{listed[0]['id']}")
        assert r.status_code == 409 and r.json()["error"] == "static_agent", r.text
        assert "A2A_STATIC_AGENTS_JSON" in r.json()["hint"]
        r = c.post(INVOKE, json={"agent": "fixed-echo", "skill": "echo", "input": {"text": "s"}})
        assert r.status_code == 200 and r.json()["text"] == "s", r.text

    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON", "[{not json")
    with client("registry") as c:  # the server starts; the requests and /health say why
        r = c.get(DISCOVER)
        assert r.status_code == 422 and "A2A_STATIC_AGENTS_JSON" in r.json()["message"]
        h = c.get("/health").json()
        assert h["status"] == "degraded" and "registry" in h["problems"]


def test_error_statuses_of_agent_errors() -> None:
    expected = {"registration_refused": 400, "unknown_agent": 404, "static_agent": 409,
                "agent_unavailable": 503, "agent_timeout": 504, "agent_bad_reply": 502,
                "agent_failed": 502}
    for code, status in expected.items():
        assert error_response(AgentError("x", code=code))[0] == status, code


# ── local mode: the real agents in this process ──────────────────────────────────────────────

def test_local_invoke_and_mounted_agents() -> None:
    with client() as c:
        r = c.post(INVOKE, json={"agent": "planner", "skill": "create_plan",
                                 "input": {"question": "failed sign-ins by user"}})
        assert r.status_code == 200, r.text
        assert r.json()["source"] == "signin_logs"
        assert set(r.json()["platforms"]) == {"kql", "spl", "sql"}
        r = c.post(INVOKE, json={"agent": "nobody", "skill": "x", "input": {}})
        assert r.status_code == 404 and "planner" in r.json()["message"]

        card = c.get("/agents/data-spl/.well-known/agent-card.json")
        assert card.status_code == 200, card.text
        card_json = card.json()
        assert card_json["name"] == "data-spl"
        urls = [i["url"] for i in card_json["supportedInterfaces"]]
        assert urls and all(u.startswith("http://127.0.0.1:8000/agents/data-spl") for u in urls)
        assert any("platform:spl" in s.get("tags", []) for s in card_json["skills"])


def test_public_url_is_what_mounted_cards_advertise() -> None:
    with client(public_url="https://lexiquery.example.invalid") as c:
        card = c.get("/agents/planner/.well-known/agent-card.json").json()
        assert all(i["url"].startswith("https://lexiquery.example.invalid/agents/planner")
                   for i in card["supportedInterfaces"])


# ── roles ────────────────────────────────────────────────────────────────────────────────────

PROBES = {
    "query": ("GET", "/api/v1/journeys"),
    "sop": ("GET", "/api/v1/known-errors/50126"),
    "a2a": ("GET", DISCOVER),
    "agents": ("GET", "/agents/planner/.well-known/agent-card.json"),
    "mcp": ("POST", "/mcp"),
}
SERVES = {"all": {"query", "sop", "a2a", "agents", "mcp"}, "core": {"query"},
          "registry": {"a2a", "mcp"}, "sop": {"sop"}}

MCP_INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "test", "version": "1"}}}
MCP_HEADERS = {"accept": "application/json, text/event-stream",
               "content-type": "application/json"}


@pytest.mark.parametrize("role", sorted(SERVES))
def test_each_role_serves_only_its_routes(role: str) -> None:
    with client(role) as c:
        for name, (method, path) in PROBES.items():
            if method == "GET":
                r = c.get(path)
            else:
                r = c.post(path, json=MCP_INIT, headers={**MCP_HEADERS, **LOOPBACK_HOST})
            served = r.status_code != 404
            assert served is (name in SERVES[role]), (role, name, r.status_code, r.text[:200])
        h = c.get("/health")
        assert h.status_code == 200 and h.json()["role"] == role


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="roles are"):
        create_app(get_settings(), role="everything")  # type: ignore[arg-type]


# ── /health ──────────────────────────────────────────────────────────────────────────────────

def test_health_fields_per_role() -> None:
    with client() as c:
        h = c.get("/health").json()
    assert h["status"] == "ok" and h["problems"] == []
    deps = h["dependencies"]
    assert set(deps) == {"journeys", "catalog", "ollama", "sop", "chroma", "registry", "agents"}
    assert deps["ollama"]["status"] == "unreachable" and deps["ollama"]["ok"] is False
    assert deps["chroma"]["ok"] is True and deps["chroma"]["exists"] is False
    assert deps["registry"] == {**deps["registry"], "ok": True, "agents": 0, "exists": False,
                                "mode": "local"}
    assert deps["agents"]["ok"] and deps["agents"]["registered"] == []
    assert "planner" in deps["agents"]["local"] and len(deps["agents"]["local"]) == 7

    with client("registry") as c:
        deps = c.get("/health").json()["dependencies"]
    assert set(deps) == {"registry", "agents"} and deps["agents"]["local"] == []
    with client("sop") as c:
        deps = c.get("/health").json()["dependencies"]
    assert set(deps) == {"catalog", "ollama", "sop", "chroma"}
    with client(embeddings=False) as c:
        ollama = c.get("/health").json()["dependencies"]["ollama"]
    assert ollama["status"] == "off" and "LEXIQUERY_EMBEDDINGS" in ollama["note"]


def test_health_model_missing_is_a_status(fake_ollama: Any) -> None:
    fake_ollama.models = ["llama3:latest"]
    with client("sop") as c:
        deps = c.get("/health").json()["dependencies"]
    assert deps["ollama"]["status"] == "model_missing"
    assert deps["sop"]["mode"] == "bm25" and "ollama pull" in deps["sop"]["note"]
    fake_ollama.models = ["nomic-embed-text:latest"]
    with client("sop") as c:
        deps = c.get("/health").json()["dependencies"]
    assert deps["ollama"]["status"] == "ok" and deps["sop"]["mode"] == "hybrid"


def test_health_reports_a_corrupt_registry_and_never_raises(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "registry.json").write_text("{half a file")
    with client() as c:
        r = c.get("/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "degraded" and "registry" in h["problems"]
    assert h["dependencies"]["registry"]["ok"] is False
    assert h["dependencies"]["registry"]["reason"]
    assert h["dependencies"]["agents"]["ok"] is False


def test_the_lifespan_checks_agents_health_and_stops_with_the_app() -> None:
    """Registered while alive, then stopped: the periodic check marks it unhealthy, and a core
    service reaching agents through the registry says it is degraded."""
    with Served(lambda url: agent_app(echo_agent("mortal", platform="sql"), get_settings(),
                                      url)) as mortal, client("registry") as c:
        register(c, mortal.url)
    app = create_app(get_settings(agents="registry", health_interval_s=0.2), role="core")
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        deadline = time.monotonic() + 15
        agents: dict[str, Any] = {}
        while time.monotonic() < deadline:
            agents = c.get("/health").json()["dependencies"]["agents"]
            if agents["registered"] and agents["registered"][0]["status"] == "unhealthy":
                break
            time.sleep(0.1)
        entry = agents["registered"][0]
        assert entry["status"] == "unhealthy" and entry["last_error"], agents
        assert entry["checked_at"]
        h = c.get("/health").json()
        assert h["status"] == "degraded" and "agents" in h["problems"]
        assert "mortal" in h["dependencies"]["agents"]["reason"]
        task = app.state.health_task
        assert not task.done()
    assert task.done()  # cancelled with the app, not left running


def test_a_live_agent_is_healthy_after_the_check(echo: Served) -> None:
    with client("all", health_interval_s=0.2) as c:
        register(c, echo.url)
        before = c.get("/health").json()["dependencies"]["agents"]["registered"][0]["checked_at"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            agents = c.get("/health").json()["dependencies"]["agents"]
            if agents["registered"][0]["checked_at"] != before:  # the lifespan checked again
                break
            time.sleep(0.1)
        assert agents["registered"][0]["checked_at"] != before, agents
        assert agents["registered"][0]["status"] == "healthy", agents
        assert c.get("/health").json()["status"] == "ok"  # local mode: nothing is missing
    with client("registry") as c:  # through the registry, the journey's agents are missing
        h = c.get("/health").json()
        assert h["status"] == "degraded" and "agents" in h["problems"]
        assert "planner" in h["dependencies"]["agents"]["missing"]
        assert [a["status"] for a in h["dependencies"]["agents"]["registered"]] == ["healthy"]


# ── the body limit and /mcp's allowed hosts ──────────────────────────────────────────────────

def test_the_body_limit_follows_the_setting() -> None:
    with client("registry", max_request_bytes=2048) as c:
        r = c.post(REGISTER, content=json.dumps({"url": "http://127.0.0.1/" + "a" * 3000}),
                   headers={"content-type": "application/json"})
        assert r.status_code == 413 and "2,048" in r.json()["message"]


def mcp_status(c: TestClient, host: str, origin: str | None = None) -> int:
    headers = {**MCP_HEADERS, "host": host, **({"origin": origin} if origin else {})}
    return c.post("/mcp", json=MCP_INIT, headers=headers).status_code


def test_mcp_accepts_the_hosts_it_is_served_as() -> None:
    with client("registry") as c:  # loopback: only loopback names
        assert mcp_status(c, "127.0.0.1:8000") == 200
        assert mcp_status(c, "localhost:8001") == 200
        assert mcp_status(c, "rebound.invalid:8000") == 421
        assert mcp_status(c, "127.0.0.1:8000", origin="http://evil.invalid") == 403
    with client("registry", base_url="http://10.1.2.3:8001") as c:  # a LAN address
        assert mcp_status(c, "10.1.2.3:8001") == 200
        assert mcp_status(c, "127.0.0.1:8001") == 200
        assert mcp_status(c, "rebound.invalid:8001") == 421
    with client("registry", base_url="http://0.0.0.0:8001") as c:  # every interface
        assert mcp_status(c, "192.168.7.7:8001") == 200
        assert mcp_status(c, "myhost.invalid:8001") == 200
    # `serve --host 0.0.0.0` advertises loopback (http://127.0.0.1:8001) and says where it
    # listens: LAN clients are served too.
    with client("registry", base_url="http://127.0.0.1:8001", bind_host="0.0.0.0") as c:
        assert mcp_status(c, "192.168.7.7:8001") == 200
    with client("registry", base_url="http://127.0.0.1:8001", bind_host="10.1.2.3") as c:
        assert mcp_status(c, "10.1.2.3:8001") == 200
        assert mcp_status(c, "rebound.invalid:8001") == 421
    with client("registry", base_url="http://0.0.0.0:8001",
                public_url="https://lexiquery.example.invalid") as c:
        assert mcp_status(c, "lexiquery.example.invalid") == 200
        assert mcp_status(c, "lexiquery.example.invalid:443",
                          origin="https://lexiquery.example.invalid") == 200
        assert mcp_status(c, "rebound.invalid:8001") == 421


# ── the core role asks the agents of another server, through the registry ───────────────────

@pytest.mark.slow
def test_core_answers_through_agents_mounted_on_another_server() -> None:
    """A single-process server (role all) on a free loopback port; each agent it mounts under
    /agents/<name> is registered by URL; a core app (agents=registry) answers a question
    through them over A2A."""
    from lexiquery.agents.contracts import AGENT_NAMES

    with Served(lambda url: create_app(get_settings(), base_url=url)) as fleet:
        with client("registry") as c:
            for name in AGENT_NAMES:
                assert register(c, f"{fleet.url}/agents/{name}")["name"] == name
        with client("core", agents="registry") as core:
            r = core.post("/api/v1/query", json={"question": "failed sign-ins by user",
                                                 "sample_check": False})
            assert r.status_code == 200, r.text
            answer = r.json()
            assert {q["platform"] for q in answer["queries"] if q["valid"]} == {"kql", "spl",
                                                                                 "sql"}
            calls = answer["agents"]
            assert {c["agent"] for c in calls} >= {"planner", "data-kql", "data-spl",
                                                   "data-sql", "validator"}
            assert all(c["ok"] and c["where"].startswith(f"{fleet.url}/agents/") for c in calls)
            assert core.get("/health").json()["dependencies"]["agents"]["missing"] == []
