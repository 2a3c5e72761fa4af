"""Browser safety (serve/browser.py), what /health tells whom (serve/local_callers.py) and the
HTTP server's read deadlines and connection limit (serve/slow_clients.py).

The cross-site runbook upload of issue 12 is replayed as a browser would send it (multipart
POST with the page's Origin); the slow clients are real sockets against a real uvicorn server,
configured as `lexiquery serve` configures it, on a free 127.0.0.1 port."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lexiquery.config import get_settings
from lexiquery.serve.a2a_server import agent_app
from lexiquery.serve.app import create_app
from lexiquery.serve.local_callers import is_local_client
from lexiquery.serve.slow_clients import MAX_HEADER_BYTES, server_config
from serve.a2a_agents import Served, echo_agent

UPLOAD = "/api/v1/procedures/upload"
RUNBOOK = b"# SOP-999 Failed sign-ins\n\nFailed sign-ins are result codes 12345.\n"
LOCAL = ("127.0.0.1", 50000)
ELSEWHERE = ("203.0.113.9", 41000)  # TEST-NET-3: a caller on another machine
EVIL = "http://evil.invalid"
OWN = "http://127.0.0.1:8000"
HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
           "referrer-policy": "no-referrer", "cross-origin-resource-policy": "same-origin"}


def client(role: str = "all", *, peer: tuple[str, int] = LOCAL, **overrides: Any) -> TestClient:
    settings = get_settings(embeddings=False, **overrides)
    # A browser on the server's own address (TestClient's default host, "testserver", is a DNS
    # name the server was not configured with: see the rebinding tests).
    return TestClient(create_app(settings, role=role), client=peer,  # type: ignore[arg-type]
                      raise_server_exceptions=False, base_url=OWN)


def upload(c: TestClient, **headers: str) -> Any:
    return c.post(UPLOAD, files=[("files", ("sop-999.md", RUNBOOK))], headers=headers)


def stored(c: TestClient) -> int:
    return len(c.get("/api/v1/procedures").json())


def assert_secured(r: Any) -> None:
    for name, value in HEADERS.items():
        assert r.headers.get(name) == value, (name, r.status_code, dict(r.headers))
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


# ── cross-origin writes ──────────────────────────────────────────────────────────────────────

def test_the_cross_site_runbook_upload_is_refused_and_stores_nothing() -> None:
    with client("sop") as c:
        r = upload(c, origin=EVIL, **{"sec-fetch-site": "cross-site"})
        assert r.status_code == 403, r.text
        body = r.json()
        assert body["error"] == "cross_origin" and "evil.invalid" in body["message"]
        assert "LEXIQUERY_ALLOWED_ORIGINS" in body["hint"] and body["issues"]
        assert_secured(r)
        r = upload(c, origin=EVIL)  # a browser without Fetch Metadata: the Origin decides
        assert r.status_code == 403
        assert upload(c, origin="null").status_code == 403  # sandboxed frame, file: page
        assert upload(c, **{"sec-fetch-site": "cross-site"}).status_code == 403
        assert upload(c, origin="http://127.0.0.1:8001").status_code == 403
        assert stored(c) == 0


@pytest.mark.parametrize("headers", [
    {},  # curl, the SDKs: no Origin
    {"origin": OWN},  # the server's own page (Host: 127.0.0.1:8000)
    {"origin": OWN, "sec-fetch-site": "same-origin"},
    {"sec-fetch-site": "none"},  # typed into the address bar
])
def test_own_pages_and_tools_may_upload(headers: dict[str, str]) -> None:
    with client("sop") as c:
        r = upload(c, **headers)
        assert r.status_code == 200, r.text
        assert stored(c) == 1


def test_configured_origins_and_the_public_url_may_write() -> None:
    with client("sop", allowed_origins=["https://intranet.example.invalid"],
                public_url="https://lexiquery.example.invalid:8443") as c:
        assert upload(c, origin="https://intranet.example.invalid").status_code == 200
        assert upload(c, origin="https://INTRANET.example.invalid:443").status_code == 200
        assert upload(c, origin="https://lexiquery.example.invalid:8443").status_code == 200
        assert upload(c, origin="http://intranet.example.invalid").status_code == 403
        assert upload(c, origin="https://intranet.example.invalid:444").status_code == 403


def test_a_malformed_origin_setting_is_a_clear_error() -> None:
    from lexiquery.errors import InputError

    for value in (["*"], ["intranet.example.invalid"], ["https://x.invalid/path"]):
        with pytest.raises(InputError, match="LEXIQUERY_ALLOWED_ORIGINS"):
            create_app(get_settings(allowed_origins=value), role="sop")


def test_every_state_changing_surface_refuses_other_origins() -> None:
    evil = {"origin": EVIL}
    with client() as c:
        r = c.post("/api/v1/query", json={"question": "failed sign-ins"}, headers=evil)
        assert r.status_code == 403 and r.json()["error"] == "cross_origin"
        r = c.post("/a2a/task/invoke", json={"agent": "planner", "skill": "create_plan",
                                             "input": {"question": "x"}}, headers=evil)
        assert r.status_code == 403
        r = c.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                   headers={**evil, "host": "127.0.0.1:8000",
                            "accept": "application/json, text/event-stream"})
        assert r.status_code == 403
        assert c.post("/agents/planner/", json={}, headers=evil).status_code == 403
        assert c.delete("/a2a/agents/planner", headers=evil).status_code == 403
        assert c.get("/api/v1/journeys", headers=evil).status_code == 200  # reading is safe
    agent = agent_app(echo_agent(), get_settings(), "http://127.0.0.1:9020")
    with TestClient(agent, base_url="http://127.0.0.1:9020") as c:
        r = c.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage"},
                   headers={**evil, "A2A-Version": "1.0"})
        assert r.status_code == 403 and r.json()["error"] == "cross_origin"
        assert_secured(c.get("/.well-known/agent-card.json"))
        assert c.head("/health").status_code == 200


# ── DNS rebinding ────────────────────────────────────────────────────────────────────────────

def rebound(role: str = "sop", **overrides: Any) -> TestClient:
    """A browser whose page's name was re-pointed at this server: Host and Origin agree, and
    name a host the server was never given."""
    settings = get_settings(embeddings=False, **overrides)
    return TestClient(create_app(settings, role=role), client=LOCAL,  # type: ignore[arg-type]
                      raise_server_exceptions=False, base_url="http://rebound.invalid:8000")


def test_a_rebound_page_can_neither_write_nor_read() -> None:
    page = "http://rebound.invalid:8000"
    with rebound() as c:
        r = upload(c, origin=page, **{"sec-fetch-site": "same-origin"})
        assert r.status_code == 403 and r.json()["error"] == "unknown_host", r.text
        assert "rebound.invalid" in r.json()["message"] and "LEXIQUERY_PUBLIC_URL" in \
            r.json()["hint"]
        assert_secured(r)
        r = c.get("/api/v1/procedures", headers={"sec-fetch-site": "same-origin",
                                                 "sec-fetch-mode": "cors"})
        assert r.status_code == 403 and r.json()["error"] == "unknown_host"
        # Not a browser (no Origin, no Fetch Metadata): not a rebinding victim, served as before.
        assert c.get("/api/v1/procedures").status_code == 200
        assert stored(c) == 0


@pytest.mark.parametrize("base", ["http://localhost:8000", "http://127.0.0.1:8000",
                                  "http://[::1]:8000", "http://app.localhost:8000",
                                  "http://192.0.2.10:8000"])
def test_addresses_and_loopback_names_are_never_rebound(base: str) -> None:
    settings = get_settings(embeddings=False)
    with TestClient(create_app(settings, role="sop"), client=LOCAL,  # type: ignore[arg-type]
                    base_url=base) as c:
        assert upload(c, origin=base, **{"sec-fetch-site": "same-origin"}).status_code == 200


def test_configured_names_are_served_to_browsers() -> None:
    page = "http://rebound.invalid:8000"
    for overrides in ({"public_url": page}, {"allowed_origins": [page]}):
        with rebound(**overrides) as c:
            r = upload(c, origin=page, **{"sec-fetch-site": "same-origin"})
            assert r.status_code == 200, (overrides, r.text)


# ── CORS ─────────────────────────────────────────────────────────────────────────────────────

def preflight(c: TestClient, origin: str) -> Any:
    return c.options(UPLOAD, headers={"origin": origin, "access-control-request-method": "POST"})


def test_cors_is_off_by_default() -> None:
    with client("sop") as c:
        for r in (preflight(c, EVIL), c.get("/health", headers={"origin": EVIL}),
                  upload(c, origin=OWN)):
            assert not [h for h in r.headers if h.lower().startswith("access-control-")], \
                dict(r.headers)


def test_cors_answers_configured_origins_only() -> None:
    friend = "https://friend.example.invalid"
    with client("sop", cors_origins=[friend]) as c:
        r = preflight(c, friend)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == friend
        assert "access-control-allow-origin" not in preflight(c, EVIL).headers
        r = upload(c, origin=friend)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == friend
        assert upload(c, origin=EVIL).status_code == 403


# ── security headers ─────────────────────────────────────────────────────────────────────────

def test_security_headers_on_every_kind_of_response() -> None:
    app = create_app(get_settings(max_request_bytes=2048))

    def boom() -> None:
        raise RuntimeError("secret local detail")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False, client=LOCAL) as c:
        responses = {
            "health": c.get("/health"), "head": c.head("/health"),
            "not_found": c.get("/nowhere"), "method": c.put("/health"),
            "invalid": c.post("/api/v1/query", json={}),
            "too_large": c.post("/api/v1/query", content=b"x" * 4096,
                                headers={"content-type": "application/json"}),
            "internal": c.get("/boom"),
            "card": c.get("/agents/planner/.well-known/agent-card.json"),
            "openapi": c.get("/openapi.json"),
        }
    expected = {"health": 200, "head": 200, "not_found": 404, "method": 405, "invalid": 422,
                "too_large": 413, "internal": 500, "card": 200, "openapi": 200}
    for name, r in responses.items():
        assert r.status_code == expected[name], (name, r.text[:200])
        assert_secured(r)
        assert r.headers["cache-control"] == "no-store", name
    assert responses["head"].content == b""


def test_the_docs_page_gets_a_policy_that_lets_it_work() -> None:
    with client("sop") as c:
        r = c.get("/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    inline = re.findall(rb"<script>(.*?)</script>", r.content, re.S)
    assert inline, "the swagger page bootstraps with an inline script"
    for script in inline:  # allowed by its exact hash, never by 'unsafe-inline'
        digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)  # type: ignore[union-attr]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    for src in re.findall(rb'<script src="([^"]+)"', r.content):  # its bundle may load
        assert src.decode().split("/npm/")[0] in script_src
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp


# ── /health: paths for callers on this machine only ──────────────────────────────────────────

def test_health_shows_paths_to_local_callers_only(data_dir: Path) -> None:
    with client(peer=LOCAL) as c:
        local = c.get("/health").json()
    assert local["dependencies"]["journeys"]["path"].startswith(str(data_dir))
    with client(peer=ELSEWHERE) as c:
        r = c.get("/health")
        head = c.head("/health")
    remote = r.json()
    assert r.status_code == 200 and head.status_code == 200 and head.content == b""
    assert remote["status"] == local["status"] and remote["problems"] == local["problems"]
    assert set(remote["dependencies"]) == set(local["dependencies"])
    text = json.dumps(remote)
    assert str(data_dir) not in text and '"path"' not in text
    for dep in remote["dependencies"].values():
        assert set(dep) <= {"ok", "status"}, dep
    assert str(Path.home()) not in text and "127.0.0.1:9" not in text


@pytest.mark.parametrize("peer, server, local", [
    (("127.0.0.1", 1), ("127.0.0.1", 8000), True),
    (("127.8.9.10", 1), ("0.0.0.0", 8000), True),
    (("::1", 1), ("::1", 8000), True),
    (("::ffff:127.0.0.1", 1), ("::", 8000), True),
    (("10.0.0.5", 1), ("10.0.0.5", 8000), True),  # this host, through its own LAN address
    (("10.0.0.6", 1), ("10.0.0.5", 8000), False),
    (("10.0.0.6", 1), ("0.0.0.0", 8000), False),
    (("0.0.0.0", 1), ("0.0.0.0", 8000), False),
    (("testclient", 1), ("testserver", 80), False),
    (None, ("127.0.0.1", 8000), False),
])
def test_local_callers_are_recognised_exactly(peer: Any, server: Any, local: bool) -> None:
    assert is_local_client({"type": "http", "client": peer, "server": server}) is local


# ── slow clients against a real server ───────────────────────────────────────────────────────

def _protocols() -> list[Any]:
    from uvicorn.protocols.http.h11_impl import H11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    return [HttpToolsProtocol, H11Protocol]


def serve_sop(base: Any, **overrides: Any) -> Served:
    """create_app(role="sop") under `server_config` (as `serve` runs it) on a free port."""
    settings = get_settings(embeddings=False, **overrides)
    return Served(lambda url: create_app(settings, role="sop", base_url=url),
                  config=lambda app: server_config(app, settings, base=base))


def connect(port: int, first: bytes = b"") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if first:
        s.sendall(first)
    return s


def wait_closed(socks: list[socket.socket], within_s: float) -> tuple[dict[int, float], bytes]:
    """{index: seconds until the server closed it} for the sockets closed within `within_s`,
    and everything they received (bounded: each read is at most 64 KiB)."""
    start, closed, got = time.monotonic(), {}, b""
    open_ = dict(enumerate(socks))
    while open_ and time.monotonic() - start < within_s:
        ready, _, _ = select.select(list(open_.values()), [], [], 0.1)
        for s in ready:
            i = next(k for k, v in open_.items() if v is s)
            try:
                data = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                data = b""
            got += data
            if not data:
                closed[i] = time.monotonic() - start
                del open_[i]
    for s in socks:
        s.close()
    return closed, got


def http_get(port: int, path: str = "/health") -> bytes:
    with connect(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                 .encode()) as s:
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize("base", _protocols(), ids=["httptools", "h11"])
def test_slow_clients_are_closed_at_the_deadlines(base: Any) -> None:
    with serve_sop(base, http_header_timeout_s=0.6, http_body_timeout_s=1.0,
                 http_keep_alive_s=1) as srv:
        silent = [connect(srv.port) for _ in range(10)]
        partial = [connect(srv.port, b"GET /health HTTP/1.1\r\nHost: x\r\n") for _ in range(10)]
        bodies = [connect(srv.port, b"POST /api/v1/procedures/search HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
                  for _ in range(10)]
        # A trickle does not extend the header deadline.
        for _ in range(3):
            time.sleep(0.15)
            for s in partial:
                s.sendall(b"X-Slow: 1\r\n")
        assert b" 200 OK" in http_get(srv.port)  # served meanwhile
        closed, got = wait_closed(silent + partial + bodies, within_s=4.0)
    assert len(closed) == 30, f"still open: {sorted(set(range(30)) - set(closed))}"
    assert max(closed[i] for i in range(20)) < 1.5  # headers: 0.6 s (+ slack)
    assert max(closed[i] for i in range(20, 30)) < 2.0  # body: 1.0 s
    assert got.count(b" 408 Request Timeout") == 10  # those that sent part of a request
    assert got.count(b"HTTP/1.1") == 10


@pytest.mark.parametrize("base", _protocols(), ids=["httptools", "h11"])
def test_headers_over_the_limit_are_refused(base: Any) -> None:
    with serve_sop(base) as srv:
        s = connect(srv.port, b"GET /health HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(MAX_HEADER_BYTES // 1000 + 2):
                s.sendall(b"X-Fill: " + b"a" * 990 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed it while we were still sending: also a refusal
        closed, got = wait_closed([s], within_s=3.0)
    assert closed and (got == b"" or b" 431 " in got or b" 400 " in got), got[:200]


def test_connections_beyond_the_limit_are_closed_at_once() -> None:
    with serve_sop(None, http_max_connections=20, http_header_timeout_s=5.0) as srv:
        held = [connect(srv.port) for _ in range(20)]
        time.sleep(0.2)
        extra = [connect(srv.port) for _ in range(5)]
        closed, _ = wait_closed(extra, within_s=1.5)
        assert len(closed) == 5  # long before the 5 s header deadline
        for s in held:
            s.close()
        time.sleep(0.3)
        assert b" 200 OK" in http_get(srv.port)  # free again


@pytest.mark.slow
def test_270_slowloris_connections_to_lexiquery_serve_are_closed(tmp_path: Path) -> None:
    """The probe's numbers against the real command: `lexiquery serve` in its own process."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    env = {**os.environ, "LEXIQUERY_HTTP_HEADER_TIMEOUT_S": "1", "LEXIQUERY_EMBEDDINGS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "lexiquery", "serve", "--role", "sop",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if b" 200 OK" in http_get(port):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "serve did not start"
            time.sleep(0.2)
        socks = [connect(port, b"GET /health HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"")
                 for i in range(270)]
        closed, _ = wait_closed(socks, within_s=6.0)
        assert len(closed) == 270 and max(closed.values()) < 4.0
        assert b" 200 OK" in http_get(port)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
