"""The HTTP app of `create_app(get_settings())`: the query API, journeys, health, the mounted
SOP routes, the error bodies at the edge — and `lexiquery serve` as a real process on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from knowledge.sops import BRUTE_FORCE
from typer.testing import CliRunner

import lexiquery
from lexiquery.cli import app as cli_app
from lexiquery.config import get_settings
from lexiquery.operations import validate_query_text
from lexiquery.serve.app import MAX_JSON_BODY, create_app

QUESTION = "failed sign-ins in the last 24 hours by user"
QUERY = "/api/v1/query"


def make_client(**overrides: Any) -> TestClient:
    # A caller on this machine: /health shows it paths (others see statuses only).
    return TestClient(create_app(get_settings(**overrides)), client=("127.0.0.1", 50000))


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make_client() as c:  # runs the lifespan: the runbook store is closed at the end
        yield c


def ask(client: TestClient, **body: Any) -> httpx.Response:
    return client.post(QUERY, json={"question": QUESTION, **body})


# ── POST /api/v1/query ───────────────────────────────────────────────────────────────────────

def test_query_answers_with_valid_queries_for_every_platform(client: TestClient) -> None:
    r = ask(client)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["status"] == "COMPLETED"
    assert answer["plan"]["source"] == "signin_logs"
    by_platform = {q["platform"]: q for q in answer["queries"]}
    assert set(by_platform) == {"kql", "spl", "sql"}
    for platform, q in by_platform.items():
        assert q["valid"], q["issues"]
        # The text is a query of its language, not just a string the server called valid.
        check = validate_query_text(q["query"], platform, sql_dialect=q["dialect"],
                                    execute_sample=False)
        assert check.valid, (q["query"], check.checks)
    assert "SigninLogs" in by_platform["kql"]["query"]
    assert by_platform["spl"]["query"].lstrip().startswith(("search", "index", "|"))
    assert "SELECT" in by_platform["sql"]["query"].upper()

    stored = client.get(f"/api/v1/journeys/{answer['journey_id']}")
    assert stored.status_code == 200
    assert stored.json()["queries"] == answer["queries"]
    states = [t["state"] for t in stored.json()["transitions"]]
    assert states[0] == "PENDING" and states[-1] == "COMPLETED"


def test_platforms_subset_and_sql_dialect(client: TestClient) -> None:
    r = ask(client, platforms=["kql", "sql"], sql_dialect="tsql", sample_check=False)
    assert r.status_code == 200, r.text
    queries = r.json()["queries"]
    assert [q["platform"] for q in queries] == ["kql", "sql"]
    assert queries[1]["dialect"] == "tsql" and queries[1]["valid"]
    assert all(q["sample"] is None for q in queries)  # sample_check=False was honoured


def test_schema_hints_choose_the_source(client: TestClient) -> None:
    vague = {"question": "count by user in the last 24 hours"}
    assert client.post(QUERY, json=vague).status_code == 422  # no source without a hint
    r = client.post(QUERY, json={**vague, "schema_hints": ["no_such_source", "signin_logs",
                                                           "dns_events"]})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["plan"]["source"] == "signin_logs"
    assert any("no_such_source" in n for n in answer["notes"])
    # The stored journey says the same as the response.
    stored = client.get(f"/api/v1/journeys/{answer['journey_id']}").json()
    assert any("no_such_source" in n for n in stored["notes"])
    # An explicit source wins over the hints.
    r = client.post(QUERY, json={**vague, "source": "signin_logs",
                                 "schema_hints": ["dns_events"]})
    assert r.json()["plan"]["source"] == "signin_logs"


def test_context_is_searched_in_the_known_errors(client: TestClient) -> None:
    plain = ask(client, question="failed sign-ins by user").json()
    assert plain["knowledge"]["known_errors"] == []
    r = ask(client, question="failed sign-ins by user",
            context="the users see error AADSTS50053 since this morning")
    assert r.status_code == 200, r.text
    knowledge = r.json()["knowledge"]
    assert [e["code"] for e in knowledge["known_errors"]] == ["AADSTS50053"]
    assert "50053" in " ".join(q["query"] for q in r.json()["queries"])
    assert r.json()["question"] == "failed sign-ins by user"  # context is not the question


def test_sop_off_is_honoured(client: TestClient) -> None:
    r = ask(client, sop=False, context="error AADSTS50053")
    assert r.json()["knowledge"]["mode"] == "off"


@pytest.mark.parametrize("body, field", [
    ({}, "question"),
    ({"question": ""}, "question"),
    ({"question": "   "}, "question"),
    ({"question": "x" * 2001}, "question"),
    ({"question": QUESTION, "platforms": ["kql", "elastic"]}, "platforms.1"),
    ({"question": QUESTION, "platform": "kql"}, "platform"),
    ({"question": QUESTION, "context": "c" * 2001}, "context"),
    ({"question": QUESTION, "sample_check": "perhaps"}, "sample_check"),
])
def test_bad_bodies_are_422_with_a_message(client: TestClient, body: dict[str, Any],
                                           field: str) -> None:
    r = client.post(QUERY, json=body)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["error"] == "bad_request"
    assert field in [i["field"] for i in err["issues"]]
    assert err["message"].startswith(field) and err["hint"]


def test_not_json_is_422(client: TestClient) -> None:
    r = client.post(QUERY, content=b"question=hello", headers={"content-type": "text/plain"})
    assert r.status_code == 422 and r.json()["error"] == "bad_request"
    r = client.post(QUERY, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["message"]


def test_the_question_limit_follows_the_setting() -> None:
    with make_client(max_question_chars=50) as c:
        r = c.post(QUERY, json={"question": "failed sign-ins " + "x" * 50})
        assert r.status_code == 422 and r.json()["issues"][0]["field"] == "question"
        schema = c.get("/openapi.json").json()["components"]["schemas"]["QueryRequest"]
        assert schema["properties"]["question"]["maxLength"] == 50
        assert c.post(QUERY, json={"question": "failed sign-ins by user"}).status_code == 200


def test_package_errors_keep_their_shape(client: TestClient) -> None:
    r = ask(client, sql_dialect="cobol")
    assert r.status_code == 422
    assert r.json()["error"] == "bad_input" and "cobol" in r.json()["message"]
    r = ask(client, source="no_such_source")
    assert r.status_code == 422
    assert "signin_logs" in r.json()["closest_sources"] and r.json()["journey_id"]


def test_unanswerable_question_is_422_with_closest_sources(client: TestClient) -> None:
    r = client.post(QUERY, json={"question": "the weather in Paris tomorrow"})
    assert r.status_code == 422
    err = r.json()
    assert err["error"] == "unanswerable_question"
    assert err["closest_sources"] and err["message"] and err["hint"]
    stored = client.get(f"/api/v1/journeys/{err['journey_id']}")
    assert stored.status_code == 200 and stored.json()["status"] == "FAILED"


def test_oversize_bodies_are_413(client: TestClient) -> None:
    big = b'{"question": "' + b"a" * (MAX_JSON_BODY + 10) + b'"}'
    r = client.post(QUERY, content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert "1,048,576" in r.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the stream itself is counted
        yield b'{"question": "'
        for _ in range(20):
            yield b"a" * (MAX_JSON_BODY // 10)
        yield b'"}'

    r = client.post(QUERY, content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    # The server still answers normally afterwards.
    assert ask(client, sample_check=False).status_code == 200


def test_parallel_questions_all_complete(client: TestClient) -> None:
    questions = ["failed sign-ins by user", "dns queries by client in the last hour",
                 QUESTION, "the weather in Paris tomorrow"] * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(client.post, QUERY, json={"question": q}) for q in questions]
        statuses = [f.result(timeout=120).status_code for f in futures]
    assert statuses == [200, 200, 200, 422] * 2
    assert len(client.get("/api/v1/journeys", params={"limit": 50}).json()) == len(questions)


# ── journeys ─────────────────────────────────────────────────────────────────────────────────

def test_journey_list_newest_first_with_limit(client: TestClient) -> None:
    assert client.get("/api/v1/journeys").json() == []
    ids = [ask(client, question=q, sample_check=False).json()["journey_id"]
           for q in ("failed sign-ins by user", "dns queries by client in the last hour",
                     QUESTION)]
    rows = client.get("/api/v1/journeys").json()
    assert [r["journey_id"] for r in rows] == ids[::-1]
    assert rows[0]["question"] == QUESTION and rows[0]["status"] == "COMPLETED"
    assert len(client.get("/api/v1/journeys", params={"limit": 2}).json()) == 2
    for bad in (0, 201, "many"):
        r = client.get("/api/v1/journeys", params={"limit": bad})
        assert r.status_code == 422 and r.json()["issues"][0]["field"] == "limit"


def test_unknown_journey_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/journeys/0123456789abcdef")
    assert r.status_code == 404
    assert r.json()["error"] == "unknown_journey" and r.json()["hint"]
    assert "0123456789abcdef" in r.json()["message"]


# ── /health ──────────────────────────────────────────────────────────────────────────────────

def test_health_reports_every_dependency(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok" and h["version"] == lexiquery.__version__
    deps = h["dependencies"]
    assert set(deps) == {"journeys", "catalog", "sop", "ollama", "chroma", "registry", "agents"}
    assert deps["journeys"]["ok"] and deps["journeys"]["path"].endswith("lexiquery.db")
    assert deps["catalog"] == {"ok": True, "sources": deps["catalog"]["sources"]}
    assert deps["catalog"]["sources"] >= 10
    # The conftest points Ollama at a closed port: reported, but not a degraded server.
    assert deps["ollama"]["reachable"] is False and "not reachable" in deps["ollama"]["note"]
    assert deps["ollama"]["status"] == "unreachable"
    assert deps["sop"]["ok"] and deps["sop"]["mode"] == "bm25" and deps["sop"]["documents"] == 0
    assert deps["chroma"]["exists"] is False
    assert deps["registry"]["ok"] and deps["registry"]["agents"] == 0
    assert deps["agents"]["ok"] and deps["agents"]["registered"] == []


def test_health_with_ollama_and_without_embeddings(fake_ollama: Any) -> None:
    with make_client() as c:
        deps = c.get("/health").json()["dependencies"]
        assert deps["ollama"]["reachable"] is True and deps["ollama"]["model_present"] is True
        assert deps["ollama"]["status"] == "ok"
        assert deps["sop"]["mode"] == "hybrid"
    fake_ollama.models = ["llama3:latest"]
    with make_client() as c:
        ollama = c.get("/health").json()["dependencies"]["ollama"]
        assert ollama["reachable"] is True and ollama["model_present"] is False
        assert ollama["status"] == "model_missing" and "ollama pull" in ollama["note"]
    with make_client(embeddings=False) as c:
        deps = c.get("/health").json()["dependencies"]
        assert deps["ollama"]["reachable"] is None and deps["ollama"]["status"] == "off"
        assert "switched off" in deps["ollama"]["note"]
    with make_client(sop=False) as c:
        assert c.get("/health").json()["dependencies"]["sop"]["mode"] == "off"


def test_health_is_degraded_when_journeys_cannot_be_stored(data_dir: Path) -> None:
    (data_dir / "lexiquery.db").mkdir(parents=True)  # a directory where the database belongs
    with make_client() as c:
        r = c.get("/health")
        assert r.status_code == 200
        assert r.json()["status"] == "degraded"
        journeys = r.json()["dependencies"]["journeys"]
        assert journeys["ok"] is False and journeys["reason"]


# ── the app around the routes ────────────────────────────────────────────────────────────────

def test_openapi_lists_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "LexiQuery"
    assert spec["info"]["version"] == lexiquery.__version__
    for path in (QUERY, "/api/v1/journeys", "/api/v1/journeys/{journey_id}", "/health",
                 "/api/v1/procedures/upload", "/api/v1/procedures/search",
                 "/api/v1/known-errors"):
        assert path in spec["paths"], path
    assert "post" in spec["paths"][QUERY]
    assert client.get("/docs").status_code == 200


def test_sop_routes_are_mounted(client: TestClient) -> None:
    r = client.post("/api/v1/procedures/upload",
                    files=[("files", ("SOP-017.md", BRUTE_FORCE.encode()))])
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 1
    found = client.post("/api/v1/procedures/search", json={"query": "password spraying"})
    assert found.status_code == 200
    assert found.json()["hits"], found.json()
    assert client.get("/health").json()["dependencies"]["sop"]["documents"] == 1
    assert client.get("/api/v1/known-errors/50126").status_code == 200
    # Uploads keep their own limits: over 1 MiB, the procedures router answers, not the guard
    # (an unsupported type is refused there, after the whole body was accepted).
    big = b"\x00" * (MAX_JSON_BODY + 1024)
    r = client.post("/api/v1/procedures/upload", files=[("files", ("dump.bin", big))])
    assert r.status_code == 415, r.text[:300]
    assert r.json()["results"][0]["error"]["error"] == "unsupported_type"


def test_unknown_routes_and_unexpected_errors_keep_the_body_shape() -> None:
    app = create_app(get_settings())

    def boom() -> None:
        raise RuntimeError("secret local detail")

    app.add_api_route("/boom", boom)  # a route of this test: the failure is not ours to fake
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
        assert r.status_code == 500
        assert r.json()["error"] == "internal_error"
        assert "secret local detail" not in r.text and "Traceback" not in r.text
        r = c.get("/api/v2/nothing")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        r = c.delete(QUERY)
        assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


# ── lexiquery serve ──────────────────────────────────────────────────────────────────────────

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_refuses_a_port_in_use() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        result = CliRunner().invoke(cli_app, ["serve", "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"port {port}" in result.output and "--port" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_bad_log_level() -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--port", str(free_port()),
                                          "--log-level", "loud"])
    assert result.exit_code == 2 and "log level" in result.output




def serve_process(port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([str(Path(sys.executable).with_name("lexiquery")), "serve",
                             "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ})


def _mcp_tools(url: str) -> list[str]:
    """The tool names a real MCP client sees over streamable HTTP at `url`."""
    import anyio
    from mcp import Client

    async def names() -> list[str]:
        with anyio.fail_after(30):
            async with Client(url) as client:
                return [t.name for t in (await client.list_tools()).tools]

    return anyio.run(names)


@pytest.mark.slow
def test_serve_answers_over_real_http() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve_process(port)
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None, f"no answer within 30 s; exit {proc.poll()}"
        assert health.status_code == 200 and health.json()["version"] == lexiquery.__version__

        r = httpx.post(f"{base}{QUERY}", json={"question": QUESTION}, timeout=30)
        assert r.status_code == 200, r.text
        assert {q["platform"] for q in r.json()["queries"] if q["valid"]} == {"kql", "spl", "sql"}
        assert httpx.get(f"{base}/api/v1/journeys/{r.json()['journey_id']}",
                         timeout=10).status_code == 200
        assert sorted(_mcp_tools(f"{base}/mcp"))[:2] == ["describe_source", "explain_query"]

        second = serve_process(port)  # the same port, taken by the first server
        try:
            _, err = second.communicate(timeout=30)
        finally:
            if second.poll() is None:
                second.kill()
                second.wait(timeout=10)
        assert second.returncode == 2, err
        assert "already in use" in err and "--port" in err and "Traceback" not in err
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)
            raise
    assert proc.returncode is not None
    assert "Traceback" not in err, err
