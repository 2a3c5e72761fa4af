"""The agent registry: registration over real HTTP on loopback, persistence under concurrent
writers, SSRF refusals, static agents, discovery, removal and health checks.

`CardServer` is a real HTTP server (stdlib, one thread per request) on a free loopback port.
It serves a generated A2A card for ``/agents/<name>/`` and misbehaves on purpose under other
paths (redirects, oversized and endless bodies, slow and trickling answers, bad cards)."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from google.protobuf.json_format import MessageToDict

from lexiquery.config import get_settings
from lexiquery.errors import AgentError, InputError, StorageError
from lexiquery.registry.registry import AgentEntry, Registry, entry_id
from lexiquery.registry.fetch import HostPolicy

CARD = "/.well-known/agent-card.json"
SKILLS: dict[str, list[tuple[str, list[str]]]] = {
    "data-kql": [("generate_query", ["query", "platform:kql"])],
    "data-spl": [("generate_query", ["query", "platform:spl"])],
    "knowledge-sop": [("search_procedures", ["knowledge"])],
}


def make_card(name: str, url: str, *, skills: list[tuple[str, list[str]]] | None = None,
              bindings: tuple[str, ...] = ("JSONRPC", "HTTP+JSON")) -> dict[str, Any]:
    skills = SKILLS.get(name, [("echo", ["test"])]) if skills is None else skills
    card = AgentCard(
        name=name, description=f"the {name} agent", version="1.0",
        supported_interfaces=[AgentInterface(url=url, protocol_binding=b, protocol_version="1.0")
                              for b in bindings],
        capabilities=AgentCapabilities(streaming=False),
        default_input_modes=["application/json"], default_output_modes=["application/json"],
        skills=[AgentSkill(id=sid, name=sid, description=f"{sid} skill", tags=tags)
                for sid, tags in skills])
    return MessageToDict(card)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any) -> None:
        self._send(200, json.dumps(data).encode())

    def _redirect(self, location: str) -> None:
        self._send(302, b"", headers={"Location": location})

    def do_GET(self) -> None:
        path = self.path
        self.server.hits.append(path)
        base = self.server.url
        kind = path.strip("/").split("/")[0]
        try:
            if kind == "agents" and path.endswith(CARD):
                name = path.split("/")[2]
                self._json(make_card(name, f"{base}/agents/{name}"))
            elif kind == "redirect-out":
                self._redirect("http://agent.invalid" + CARD)
            elif kind == "redirect-in":  # a relative hop to an allowed place: followed
                self._redirect("/agents/hopped" + CARD)
            elif kind == "redirect-loop":
                self._redirect(path)
            elif kind == "elsewhere":
                self._json(make_card("sneaky", "http://elsewhere.invalid/"))
            elif kind == "rest-only":
                self._json(make_card("restful", f"{base}/rest-only", bindings=("HTTP+JSON",)))
            elif kind == "noskills":
                self._json(make_card("empty", f"{base}/noskills", skills=[]))
            elif kind == "notcard":
                self._json({"hello": "world"})
            elif kind == "notobject":
                self._json([1, 2, 3])
            elif kind == "notjson":
                self._send(200, b"<html>hello</html>", "text/html")
            elif kind == "missing":
                self._send(404, b"{}")
            elif kind == "legacy":  # an A2A 0.3 card: `url` + `preferredTransport`
                self._json({"name": "old", "description": "0.3 agent", "version": "1",
                            "url": f"{base}/legacy", "preferredTransport": "JSONRPC",
                            "protocolVersion": "0.3.0", "capabilities": {},
                            "defaultInputModes": ["text/plain"],
                            "defaultOutputModes": ["text/plain"],
                            "skills": [{"id": "s", "name": "s", "description": "d",
                                        "tags": ["platform:sql"]}]})
            elif kind == "big-declared":  # says 10 MB up front
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(10 * 1024 * 1024))
                self.end_headers()
                self.wfile.write(b"{" + b" " * 1024)
            elif kind == "big-stream":  # no length, never ends (bounded here by 10 s)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"name": "')
                end = time.monotonic() + 10
                while time.monotonic() < end:
                    self.wfile.write(b"x" * 65536)
                    self.server.streamed += 65536
            elif kind == "slow":  # answers after 3 s
                time.sleep(3)
                self._json(make_card("slow", f"{base}/slow"))
            elif kind == "drip":  # one byte every 0.1 s: no single read is slow, the whole is
                body = json.dumps(make_card("drip", f"{base}/drip")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(min(len(body), 50)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                self._send(404, b'{"error": "no such path"}')
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on us: exactly what several tests want


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]
    streamed: int
    url: str


class CardServer:
    """A loopback HTTP server serving agent cards; `url` is its base address."""

    def __init__(self) -> None:
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.hits = []
        self.httpd.streamed = 0
        self.port = self.httpd.server_address[1]
        self.url = self.httpd.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    @property
    def hits(self) -> list[str]:
        return self.httpd.hits

    def agent(self, name: str) -> str:
        return f"{self.url}/agents/{name}"


@pytest.fixture
def server() -> Iterator[CardServer]:
    with CardServer() as s:
        yield s


def registry(**overrides: Any) -> Registry:
    overrides.setdefault("registry_timeout_s", 2.0)
    return Registry(get_settings(**overrides))


def register(reg: Registry, url: str) -> AgentEntry:
    return asyncio.run(reg.register(url))


def refusal(reg: Registry, url: str) -> str:
    with pytest.raises(AgentError) as info:
        register(reg, url)
    assert info.value.code == "registration_refused", info.value.message
    return info.value.message


# ---- registration and persistence -----------------------------------------------------------


def test_register_reads_skills_and_platforms(server: CardServer, data_dir: Path) -> None:
    reg = registry()
    e = register(reg, server.agent("data-kql"))
    assert (e.name, e.origin, e.url) == ("data-kql", "registered", server.agent("data-kql"))
    assert e.skills == ["generate_query"] and e.platforms == ["kql"]
    assert e.healthy is True and e.registered_at is not None
    assert e.card is not None and e.card["supportedInterfaces"][0]["protocolBinding"] == "JSONRPC"
    assert e.id == entry_id(server.agent("data-kql"))
    stored = json.loads((data_dir / "registry.json").read_text())
    assert list(stored["agents"]) == [e.id]


def test_registry_survives_restart_and_same_url_replaces(server: CardServer) -> None:
    first = register(registry(), server.agent("data-kql") + "/")
    register(registry(), server.agent("data-spl"))
    # The same agent by another spelling of its URL (the card URL itself): replaced, not added.
    again = register(registry(), server.agent("data-kql") + CARD)
    assert again.id == first.id and again.registered_at > first.registered_at  # type: ignore
    reopened = registry()
    assert sorted(e.name for e in reopened.entries()) == ["data-kql", "data-spl"]
    assert reopened.get(first.id).registered_at == again.registered_at
    assert reopened.get("data-spl").platforms == ["spl"]


def test_a_legacy_card_is_read_and_stored_as_a2a_1_0(server: CardServer) -> None:
    e = register(registry(), server.url + "/legacy")
    assert e.name == "old" and e.platforms == ["sql"]
    assert e.card is not None and e.card["supportedInterfaces"][0]["url"] == server.url + "/legacy"


def test_a_relative_redirect_to_an_allowed_place_is_followed(server: CardServer) -> None:
    e = register(registry(), server.url + "/redirect-in")
    assert e.name == "hopped"
    assert e.url == server.url + "/redirect-in"  # registered where the user pointed


def _register_many(data_dir: str, base: str, worker: int, count: int) -> None:
    reg = Registry(get_settings(data_dir=Path(data_dir), registry_timeout_s=10.0))

    async def go() -> None:
        for i in range(count):
            await reg.register(f"{base}/agents/w{worker}-{i}")

    asyncio.run(go())


def test_parallel_registrations_from_processes_lose_nothing(server: CardServer,
                                                            data_dir: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_register_many, args=(str(data_dir), server.url, w, 10))
             for w in range(4)]
    for p in procs:
        p.start()
    reader = registry()
    reads = 0
    deadline = time.monotonic() + 90
    try:
        # Meanwhile, this process reads the file again and again: never half a file.
        while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
            reader.entries()
            reads += 1
            time.sleep(0.005)
    finally:
        for p in procs:
            p.join(timeout=max(1.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    names = sorted(e.name for e in registry().entries())
    assert names == sorted(f"w{w}-{i}" for w in range(4) for i in range(10))
    assert reads > 0
    assert not [p for p in data_dir.iterdir() if p.suffix == ".tmp"]  # no temp file left


def test_a_corrupt_file_is_an_error_not_an_empty_registry(data_dir: Path,
                                                          server: CardServer) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "registry.json").write_text('{"agents": {"x": ')
    with pytest.raises(StorageError) as info:
        registry().entries()
    assert "corrupt" in info.value.message and info.value.hint
    with pytest.raises(StorageError):  # and a write does not overwrite it
        register(registry(), server.agent("data-kql"))
    assert (data_dir / "registry.json").read_text() == '{"agents": {"x": '


def test_a_missing_file_is_an_empty_registry() -> None:
    assert registry().entries() == []


# ---- refusals (SSRF) ------------------------------------------------------------------------


@pytest.mark.parametrize("host, allowed", [
    ("localhost", True), ("LOCALHOST.", True), ("127.0.0.1", True), ("127.9.8.7", True),
    ("::1", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
    ("0.0.0.0", False), ("10.0.0.1", False), ("169.254.169.254", False), ("::", False),
    ("localhost.invalid", False), ("127.0.0.1.invalid", False), ("2130706433", False),
])
def test_loopback_is_recognised_exactly(host: str, allowed: bool) -> None:
    assert HostPolicy().allows(host) is allowed


@pytest.mark.parametrize("url, why", [
    ("file:///etc/passwd", "scheme"),
    ("ftp://127.0.0.1/card", "scheme"),
    ("gopher://127.0.0.1:70/", "scheme"),
    ("data:application/json,{}", "scheme"),
    ("http://agent.invalid/", "not allowed"),
    ("http://localhost.invalid/", "not allowed"),
    ("http://127.0.0.1.invalid/", "not allowed"),
    ("http://127.1/", "not allowed"),  # shorthand IPs are not guessed at
    ("http://127.0.0.1@agent.invalid/", "credentials"),
    ("http://user:pw@127.0.0.1/", "credentials"),
    ("http:///no-host", "no host"),
])
def test_refused_before_any_connection(url: str, why: str, server: CardServer) -> None:
    assert why in refusal(registry(), url)
    assert server.hits == []


def test_a_redirect_to_a_host_not_allowed_is_refused(server: CardServer) -> None:
    message = refusal(registry(), server.url + "/redirect-out")
    assert "agent.invalid" in message and "not allowed" in message
    assert registry().entries() == []


def test_a_redirect_loop_stops_after_three_hops(server: CardServer) -> None:
    assert "redirects more than 3" in refusal(registry(), server.url + "/redirect-loop")
    assert len(server.hits) == 4


def test_a_card_pointing_elsewhere_is_refused(server: CardServer) -> None:
    message = refusal(registry(), server.url + "/elsewhere")
    assert "elsewhere.invalid" in message and "interface URL" in message


def test_a_card_declared_too_large_is_refused(server: CardServer) -> None:
    assert "limit" in refusal(registry(registry_card_max_bytes=4096),
                              server.url + "/big-declared")


def test_an_endless_card_is_cut_while_streaming(server: CardServer) -> None:
    start = time.monotonic()
    message = refusal(registry(registry_card_max_bytes=64 * 1024, registry_timeout_s=8.0),
                      server.url + "/big-stream")
    # Cut at the cap, not read to the end (there is none) nor stopped by the deadline.
    assert "over the 65536-byte limit" in message
    assert time.monotonic() - start < 6


def test_a_slow_server_is_refused_at_the_timeout(server: CardServer) -> None:
    start = time.monotonic()
    message = refusal(registry(registry_timeout_s=0.5), server.url + "/slow")
    assert time.monotonic() - start < 2.5
    assert "0.5 s" in message or "Timeout" in message


def test_a_trickling_server_is_refused_at_the_deadline(server: CardServer) -> None:
    start = time.monotonic()
    message = refusal(registry(registry_timeout_s=1.0), server.url + "/drip")
    assert time.monotonic() - start < 3
    assert "longer than 1 s" in message


@pytest.mark.parametrize("path, why", [
    ("/rest-only", "no JSONRPC interface"),
    ("/noskills", "no skill"),
    ("/notcard", "no name"),
    ("/notobject", "not a JSON object"),
    ("/notjson", "not valid JSON"),
    ("/missing", "HTTP 404"),
])
def test_documents_that_are_not_usable_cards_are_refused(path: str, why: str,
                                                         server: CardServer) -> None:
    assert why in refusal(registry(), server.url + path)
    assert registry().entries() == []


def test_a_dead_address_is_refused_with_a_reason() -> None:
    assert "could not fetch" in refusal(registry(), "http://127.0.0.1:9/")


def test_the_allowlist_admits_configured_and_static_hosts(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("LEXIQUERY_REGISTRY_ALLOW_HOSTS", '["agents.invalid"]')
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON",
                       '[{"name": "planner", "url": "http://static-host.invalid:9000"}]')
    reg = registry(registry_timeout_s=1.0)
    # Past the host check (so the fetch is tried, and fails: nothing resolves *.invalid) ...
    assert "could not fetch" in refusal(reg, "http://AGENTS.invalid./x")
    assert "could not fetch" in refusal(reg, "http://static-host.invalid:9001/")
    # ... but a name that merely contains an allowed one is still refused.
    assert "not allowed" in refusal(reg, "http://agents.invalid.evil.invalid/")
    assert "not allowed" in refusal(reg, "http://xagents.invalid/")


# ---- static agents --------------------------------------------------------------------------


def test_static_agents_are_listed_and_never_written(monkeypatch: pytest.MonkeyPatch,
                                                    server: CardServer, data_dir: Path) -> None:
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON", json.dumps([
        {"name": "data-kql", "url": server.agent("data-kql")},
        {"name": "planner", "url": "http://127.0.0.1:9/"}]))
    reg = registry()
    static = reg.entries()
    assert [(e.name, e.origin, e.card) for e in static] == [("data-kql", "static", None),
                                                            ("planner", "static", None)]
    # Not checked yet is not unhealthy: discoverable, and a handle would be given.
    assert [e.name for e in reg.discover(name="planner", healthy_only=True)] == ["planner"]
    register(reg, server.agent("data-spl"))
    assert sorted(e.name for e in reg.entries()) == ["data-kql", "data-spl", "planner"]
    stored = json.loads((data_dir / "registry.json").read_text())
    assert [a["name"] for a in stored["agents"].values()] == ["data-spl"]
    # A static URL needs no registration, and a static agent cannot be removed.
    assert "static agent" in refusal(reg, server.agent("data-kql"))
    with pytest.raises(AgentError, match="static agent"):
        reg.remove("planner")


@pytest.mark.parametrize("value, says", [
    ("[{name: 1}]", "not valid JSON"),
    ('{"name": "planner", "url": "http://127.0.0.1:9000"}', "must be a JSON list"),
    ('["planner"]', "[0] must be an object"),
    ('[{"url": "http://127.0.0.1:9000"}]', '[0] needs a non-empty string "name"'),
    ('[{"name": "planner"}]', 'needs a string "url"'),
    ('[{"name": "planner", "url": "ftp://127.0.0.1/"}]', "must be an http(s)"),
    ('[{"name": "a", "url": "http://127.0.0.1:1"}, {"name": "b", "url": "http://127.0.0.1:1/"}]',
     "listed twice"),
])
def test_malformed_static_agents_are_a_clear_error(value: str, says: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON", value)
    with pytest.raises(InputError) as info:
        registry()
    assert "A2A_STATIC_AGENTS_JSON" in info.value.message and says in info.value.message


# ---- discovery, removal, handles ------------------------------------------------------------


def test_discover_by_skill_platform_and_name(server: CardServer) -> None:
    reg = registry()
    for name in ("data-kql", "data-spl", "knowledge-sop"):
        register(reg, server.agent(name))
    assert [e.name for e in reg.discover(platform="kql")] == ["data-kql"]
    assert [e.name for e in reg.discover(platform="SPL")] == ["data-spl"]
    assert sorted(e.name for e in reg.discover(skill="generate_query")) == ["data-kql",
                                                                           "data-spl"]
    assert [e.name for e in reg.discover(skill="search_procedures")] == ["knowledge-sop"]
    assert [e.name for e in reg.discover(name="data-spl", skill="generate_query")] == ["data-spl"]
    assert reg.discover(platform="sql") == [] and reg.discover(skill="nope") == []
    assert len(reg.discover()) == 3


def test_remove_by_id_and_name(server: CardServer) -> None:
    reg = registry()
    kql = register(reg, server.agent("data-kql"))
    register(reg, server.agent("data-spl"))
    assert reg.remove(kql.id).name == "data-kql"
    assert reg.remove("data-spl").name == "data-spl"
    assert registry().entries() == []
    with pytest.raises(AgentError) as info:
        reg.remove("data-kql")
    assert info.value.code == "unknown_agent"


def test_handle_is_an_a2a_handle_on_the_newest_usable_agent(server: CardServer) -> None:
    from lexiquery.registry.a2a_client import A2AHandle

    reg = registry(agent_timeout_s=3.0)
    assert reg.handle("data-kql") is None
    register(reg, server.agent("data-kql"))
    h = reg.handle("data-kql")
    assert isinstance(h, A2AHandle)
    assert (h.name, h.where, h.timeout_s) == ("data-kql", server.agent("data-kql"), 3.0)
    assert h.card is not None and h.card.name == "data-kql"


# ---- health ---------------------------------------------------------------------------------


def test_check_health_marks_dead_and_live_agents(server: CardServer, data_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON", json.dumps([
        {"name": "data-kql", "url": server.agent("data-kql")},
        {"name": "planner", "url": "http://127.0.0.1:9"}]))
    reg = registry()
    register(reg, server.agent("data-spl"))
    with CardServer() as doomed:
        register(reg, doomed.agent("data-sql-old"))
    # `doomed` is stopped: its port is closed now.
    checked = {e.name: e for e in asyncio.run(reg.check_health())}
    assert {n: e.healthy for n, e in checked.items()} == {
        "data-kql": True, "planner": False, "data-spl": True, "data-sql-old": False}
    assert "could not fetch" in (checked["data-sql-old"].last_error or "")
    assert checked["data-spl"].last_error is None

    # Persisted: a new Registry sees the same health; the static agent's card is filled in,
    # and it is still static (not in the registered agents of the file).
    again = {e.name: e for e in registry().entries()}
    assert again["data-sql-old"].healthy is False and again["planner"].healthy is False
    assert again["data-kql"].origin == "static" and again["data-kql"].platforms == ["kql"]
    assert again["data-kql"].checked_at == checked["data-kql"].checked_at
    assert again["data-spl"].checked_at == checked["data-spl"].checked_at
    stored = json.loads((data_dir / "registry.json").read_text())
    assert sorted(a["name"] for a in stored["agents"].values()) == ["data-spl", "data-sql-old"]
    assert set(stored["static"]) == {entry_id(server.agent("data-kql")),
                                     entry_id("http://127.0.0.1:9")}

    healthy = reg.discover(healthy_only=True)
    assert sorted(e.name for e in healthy) == ["data-kql", "data-spl"]
    assert len(reg.discover()) == 4
    # Unhealthy and alone under its name: still a handle (the check may be stale; a call to a
    # dead agent fails fast). A healthy agent of the same name would be preferred.
    assert reg.handle("data-sql-old").where.endswith("/agents/data-sql-old")  # type: ignore[union-attr]
    assert reg.handle("data-kql") is not None  # static, healthy
    assert reg.handle("no-such-agent") is None


def test_a_bad_allowlist_entry_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXIQUERY_REGISTRY_ALLOW_HOSTS", '["http://agents.invalid:port"]')
    with pytest.raises(InputError, match="LEXIQUERY_REGISTRY_ALLOW_HOSTS"):
        registry()
