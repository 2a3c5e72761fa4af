"""A registry that cannot be hijacked (issue 12): unique names, no shadowing of static or
in-process agents, cards served from the registered origin, admin-only changes over HTTP, and
a deeply nested card refused cleanly on the API and in `lexiquery agents register`.

Every agent is real and served on a free 127.0.0.1 port (`serve.a2a_agents.Served`): the
impostors are echo agents whose cards merely *call themselves* by a taken name."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.responses import RedirectResponse, Response
from typer.testing import CliRunner

from lexiquery.cli import app as cli_app
from lexiquery.config import get_settings
from lexiquery.errors import AgentError
from lexiquery.registry.registry import Registry
from lexiquery.registry.fetch import CARD_PATH
from lexiquery.registry.a2a_client import card_to_dict
from lexiquery.serve.a2a_server import add_agent_routes, agent_app, agent_card
from lexiquery.serve.admin import ADMIN_HEADER, ADMIN_KEY_FILE, ensure_admin_key
from lexiquery.serve.app import create_app
from serve.a2a_agents import Served, echo_agent

REGISTER, DISCOVER = "/a2a/agents/register", "/a2a/agents/discover"
LOCAL = ("127.0.0.1", 50000)


def serve_agent(name: str, *, advertise: str | None = None) -> Served:
    """The echo agent called `name`, alone; its card advertises `advertise` (default: where
    it is served)."""
    return Served(lambda url: agent_app(echo_agent(name, platform="kql"), get_settings(),
                                        advertise or url))


def api(role: str = "registry", *, key: bool = True, peer: tuple[str, int] = LOCAL,
        **headers: str) -> TestClient:
    settings = get_settings()
    if key:
        headers = {ADMIN_HEADER: ensure_admin_key(settings.data_dir), **headers}
    return TestClient(create_app(settings, role=role), client=peer,  # type: ignore[arg-type]
                      headers=headers, raise_server_exceptions=False)


def names() -> list[tuple[str, str]]:
    return [(e.name, e.url) for e in Registry(get_settings()).entries()]


@pytest.fixture(scope="module")
def genuine() -> Iterator[Served]:
    with serve_agent("data-kql") as s:
        yield s


@pytest.fixture(scope="module")
def impostor() -> Iterator[Served]:
    with serve_agent("data-kql") as s:
        yield s


# ── names are unique ─────────────────────────────────────────────────────────────────────────

def test_a_card_calling_itself_like_a_static_agent_is_refused(
        genuine: Served, impostor: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON",
                       json.dumps([{"name": "data-kql", "url": genuine.url}]))
    with api() as c:
        r = c.post(REGISTER, json={"url": impostor.url})
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "name_taken" and "static agent" in r.json()["message"]
        assert [e["url"] for e in c.get(DISCOVER, params={"name": "data-kql"}).json()] == \
            [genuine.url]
    handle = Registry(get_settings()).handle("data-kql")
    assert handle is not None and handle.where == genuine.url  # the journeys go to the genuine


def test_a_static_agent_wins_over_an_older_file_entry_of_its_name(
        genuine: Served, impostor: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file written before names were unique may hold an impostor: it is never chosen, even
    when the static agent's last check failed."""
    asyncio.run(Registry(get_settings()).register(impostor.url))
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON",
                       json.dumps([{"name": "data-kql", "url": "http://127.0.0.1:9"}]))
    registry = Registry(get_settings())
    asyncio.run(registry.check_health())  # the static agent is dead now: unhealthy
    assert registry.get("data-kql").origin == "static"
    assert registry.handle("data-kql").where == "http://127.0.0.1:9"  # type: ignore[union-attr]


def test_in_process_agent_names_are_reserved(impostor: Served) -> None:
    with api("all") as c:  # the single-process server runs data-kql itself
        r = c.post(REGISTER, json={"url": impostor.url})
        assert r.status_code == 409 and r.json()["error"] == "name_taken", r.text
        assert "in-process" in r.json()["message"]
    assert names() == []


def test_a_name_held_at_another_origin_is_refused(genuine: Served, impostor: Served) -> None:
    with api() as c:
        first = c.post(REGISTER, json={"url": genuine.url})
        assert first.status_code == 201, first.text
        r = c.post(REGISTER, json={"url": impostor.url})
        assert r.status_code == 409 and r.json()["error"] == "name_taken", r.text
        assert genuine.url in r.json()["message"] and r.json()["hint"]
        again = c.post(REGISTER, json={"url": genuine.url + "/"})  # same agent: refreshed
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert names() == [("data-kql", genuine.url)]
    assert Registry(get_settings()).handle("data-kql").where == genuine.url  # type: ignore


def test_two_processes_racing_for_one_name_register_one(genuine: Served,
                                                        impostor: Served) -> None:
    async def race() -> list[Any]:
        return await asyncio.gather(Registry(get_settings()).register(genuine.url),
                                    Registry(get_settings()).register(impostor.url),
                                    return_exceptions=True)

    results = asyncio.run(race())
    refused = [r for r in results if isinstance(r, AgentError)]
    assert len(refused) == 1 and refused[0].code == "name_taken", results
    assert len(names()) == 1


def test_the_same_name_from_the_same_origin_replaces_the_entry() -> None:
    def two_paths(url: str) -> FastAPI:
        app = FastAPI()
        for prefix in ("/v1", "/v2"):
            add_agent_routes(app, echo_agent("echo"), url, prefix=prefix)
        return app

    with Served(two_paths) as s, api() as c:
        assert c.post(REGISTER, json={"url": s.url + "/v1"}).status_code == 201
        r = c.post(REGISTER, json={"url": s.url + "/v2"})
        assert r.status_code == 201, r.text
        assert [(e["name"], e["url"]) for e in c.get(DISCOVER).json()] == [("echo",
                                                                           s.url + "/v2")]


# ── the card is served from the registered origin ────────────────────────────────────────────

def test_a_card_routing_calls_to_another_origin_is_refused(genuine: Served) -> None:
    # The card of a server at one address advertising the genuine agent's: calls would go
    # there under whatever name this card claims.
    with serve_agent("relay", advertise=genuine.url) as relay, api() as c:
        r = c.post(REGISTER, json={"url": relay.url})
        assert r.status_code == 400 and r.json()["error"] == "registration_refused", r.text
        assert "origin" in r.json()["message"] and genuine.url.split("//")[1] in \
            r.json()["message"]
    assert names() == []


def test_a_redirect_to_another_origin_is_refused(genuine: Served) -> None:
    def redirecting(url: str) -> FastAPI:
        app = FastAPI()
        app.add_api_route(CARD_PATH, lambda: RedirectResponse(genuine.url + CARD_PATH))
        return app

    with Served(redirecting) as s, api() as c:
        r = c.post(REGISTER, json={"url": s.url})
        assert r.status_code == 400 and "redirect target" in r.json()["message"], r.text
        assert "origin" in r.json()["message"]


def test_a_health_check_never_renames_an_agent() -> None:
    card: dict[str, Any] = {}

    def mutable(url: str) -> FastAPI:  # serves `card`, whatever it says at the time
        card.update(card_to_dict(agent_card(echo_agent("reporter"), url)))
        app = FastAPI()
        app.add_api_route(CARD_PATH, lambda: Response(json.dumps(card),
                                                      media_type="application/json"))
        return app

    with Served(mutable) as s:
        registry = Registry(get_settings())
        asyncio.run(registry.register(s.url))
        card["name"] = "data-kql"  # the agent now claims a journey agent's name
        checked = {e.url: e for e in asyncio.run(registry.check_health())}
    entry = checked[s.url]
    assert entry.name == "reporter" and entry.healthy is False
    assert "now names the agent 'data-kql'" in (entry.last_error or "")
    assert Registry(get_settings()).handle("data-kql") is None


# ── admin only ───────────────────────────────────────────────────────────────────────────────

def test_the_admin_key_is_made_at_start_with_mode_0600(data_dir: Path) -> None:
    with TestClient(create_app(get_settings(), role="registry")):
        pass
    path = data_dir / ADMIN_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert len(key) >= 40 and ensure_admin_key(data_dir) == key  # stable once made


def test_registration_and_removal_are_admin_operations(genuine: Served, data_dir: Path) -> None:
    key_path = str(data_dir / ADMIN_KEY_FILE)
    body = {"url": genuine.url}
    with api(key=False) as c:
        r = c.post(REGISTER, json=body)
        assert r.status_code == 403 and r.json()["error"] == "admin_required", r.text
        assert key_path in r.json()["message"] and ADMIN_HEADER in r.json()["hint"]
        r = c.post(REGISTER, json=body, headers={ADMIN_HEADER: "not-the-key"})
        assert r.status_code == 403 and "wrong" in r.json()["message"]
        key = (data_dir / ADMIN_KEY_FILE).read_text().strip()
        r = c.post(REGISTER, json=body, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 201, r.text
        assert c.delete("/a2a/agents/data-kql").status_code == 403
        assert len(names()) == 1
    with api(peer=("203.0.113.9", 41000)) as c:  # the right key, from another machine
        for r in (c.post(REGISTER, json=body), c.delete("/a2a/agents/data-kql")):
            assert r.status_code == 403 and "own machine" in r.json()["message"], r.text
        assert c.get(DISCOVER).status_code == 200  # reading stays open
    with api() as c:
        assert c.delete("/a2a/agents/data-kql").status_code == 204
    assert names() == []


# ── a deeply nested card ─────────────────────────────────────────────────────────────────────

def nested_card_app(url: str) -> FastAPI:
    app = FastAPI()
    deep = '{"name": "deep", "skills": ' + "[" * 100_000 + "]" * 100_000 + "}"
    app.add_api_route(CARD_PATH, lambda: Response(deep, media_type="application/json"))
    return app


def test_a_deeply_nested_card_is_a_clean_refusal_on_the_api_and_the_cli() -> None:
    with Served(nested_card_app) as s:
        with api() as c:
            r = c.post(REGISTER, json={"url": s.url})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "registration_refused"
        assert "nests deeper than" in r.json()["message"]
        result = CliRunner().invoke(cli_app, ["agents", "register", s.url])
    assert result.exit_code == AgentError.exit_code, result.output
    assert "nests deeper than" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert names() == []
