"""`GET /api/v1/cost/journey/{id}` and `GET /api/v1/cost/recent` on the real app."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cost.records import embed, rec
from lexiquery.config import get_settings
from lexiquery.cost.store import open_cost_store
from lexiquery.serve.app import create_app


def fill() -> None:
    store = open_cost_store(get_settings())
    store.add(rec("j1", seconds=0))
    store.add(rec("j1", seconds=1, prompt_tokens=None, completion_tokens=None,
                  total_tokens=None))
    store.add(embed("j1", seconds=2))
    for i in range(5):
        store.add(rec(f"k{i}", seconds=10 + i))


@pytest.fixture(params=["core", "all"])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), role=request.param)) as c:
        yield c


def test_journey_cost_is_the_summary_and_the_records(client: TestClient) -> None:
    fill()
    r = client.get("/api/v1/cost/journey/j1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["journey_id"] == "j1"
    assert body["summary"]["totals"]["calls"] == 3
    assert body["summary"]["totals"]["unknown_token_calls"] == 1
    assert set(body["summary"]["by_service"]) == {"planner", "knowledge-sop"}
    assert [x["operation"] for x in body["records"]] == ["plan", "plan", "embed_query"]
    assert body["records"][1]["total_tokens"] is None


def test_an_unknown_journey_is_404_unknown_journey(client: TestClient) -> None:
    r = client.get("/api/v1/cost/journey/nope")
    assert r.status_code == 404
    body = r.json()
    assert body["error"] == "unknown_journey" and "nope" in body["message"]
    assert "/api/v1/cost/recent" in body["hint"]


def test_recent_newest_first_with_a_limit(client: TestClient) -> None:
    fill()
    r = client.get("/api/v1/cost/recent", params={"limit": 3})
    assert r.status_code == 200
    assert [c["journey_id"] for c in r.json()] == ["k4", "k3", "k2"]
    assert len(client.get("/api/v1/cost/recent").json()) == 6


@pytest.mark.parametrize("limit", [0, 201, "many"])
def test_a_limit_out_of_range_is_422(client: TestClient, limit: object) -> None:
    r = client.get("/api/v1/cost/recent", params={"limit": limit})
    assert r.status_code == 422
    assert r.json()["error"] == "bad_request" and "limit" in r.json()["message"]


def test_the_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/cost/journey/{journey_id}" in paths and "/api/v1/cost/recent" in paths


def test_other_roles_do_not_serve_cost() -> None:
    with TestClient(create_app(get_settings(), role="sop")) as c:
        assert c.get("/api/v1/cost/recent").status_code == 404


def test_the_redis_backend_and_a_dead_redis(fresh_redis: str) -> None:
    settings = get_settings(cost_backend="redis", redis_url=fresh_redis)
    open_cost_store(settings).add(rec("r1"))
    with TestClient(create_app(settings, role="core")) as c:
        assert c.get("/api/v1/cost/journey/r1").json()["summary"]["totals"]["calls"] == 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = get_settings(cost_backend="redis", redis_url=f"redis://127.0.0.1:{port}/0")
    with TestClient(create_app(dead, role="core"), raise_server_exceptions=False) as c:
        r = c.get("/api/v1/cost/recent")
    assert r.status_code == 500
    assert r.json()["error"] == "storage_error"
    assert "is not reachable" in r.json()["message"]
    assert "LEXIQUERY_COST_BACKEND=sqlite" in r.json()["hint"]
