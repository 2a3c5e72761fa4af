"""`lexiquery agents …` against the real registry: real A2A agents served on free loopback
ports (`serve.a2a_agents`), the registry file in the test's own data directory, the typer
CliRunner. Refused hosts are `*.invalid` names; dead agents are closed loopback ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from serve.a2a_agents import Served, closed_port_url, echo_agent
from typer.testing import CliRunner

from lexiquery.agents.contracts import AGENT_NAMES
from lexiquery.cli import app
from lexiquery.config import get_settings
from lexiquery.errors import AgentError, InputError
from lexiquery.registry.registry import AgentEntry, Registry
from lexiquery.serve.a2a_server import agent_app

runner = CliRunner()
AGENT_EXIT = AgentError.exit_code


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal, so table cells (URLs, ids) are not folded across lines."""
    monkeypatch.setenv("COLUMNS", "220")
    monkeypatch.delenv("A2A_STATIC_AGENTS_JSON", raising=False)
    monkeypatch.delenv("LEXIQUERY_AGENTS", raising=False)


@pytest.fixture(scope="module")
def kql_agent() -> Iterator[Served]:
    """A real agent (the echo test agent, platform kql) served alone over A2A."""
    with Served(lambda url: agent_app(echo_agent("echo-kql", platform="kql"),
                                      get_settings(), url)) as s:
        yield s


def agents(*args: str) -> Any:
    return runner.invoke(app, ["agents", *args])


def ok(*args: str) -> Any:
    r = agents(*args)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    return r


def as_json(*args: str) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def row(stdout: str, needle: str) -> str:
    """The table line that holds `needle` (an agent's name)."""
    lines = [line for line in stdout.splitlines() if needle in line and "│" in line]
    assert lines, stdout
    return lines[0]


# ── register, list, check ────────────────────────────────────────────────────────────────────

def test_register_then_list_and_check(kql_agent: Served) -> None:
    r = ok("register", kql_agent.url)
    assert "echo-kql" in r.stdout and kql_agent.url in r.stdout
    assert "in-process agents" in r.stderr  # local mode: registering does not change journeys

    listed = ok("list")
    line = row(listed.stdout, "echo-kql")
    assert kql_agent.url in line and "healthy" in line and "registered" in line and "kql" in line
    assert "echo" in listed.stdout and "refuse" in listed.stdout  # the card's skills

    checked = ok("check")
    assert "healthy" in row(checked.stdout, "echo-kql")
    assert "unhealthy" not in checked.stdout
    after = as_json("list")
    assert len(after) == 1 and after[0]["healthy"] is True and after[0]["checked_at"]
    assert after[0]["last_error"] is None


def test_list_filters_by_platform_and_skill(kql_agent: Served) -> None:
    ok("register", kql_agent.url)
    assert [e["name"] for e in as_json("list", "--platform", "kql")] == ["echo-kql"]
    assert [e["name"] for e in as_json("list", "--platform", "KQL")] == ["echo-kql"]
    assert as_json("list", "--platform", "spl") == []
    assert [e["name"] for e in as_json("list", "--skill", "echo")] == ["echo-kql"]
    assert as_json("list", "--skill", "create_plan") == []
    assert "No agents" in ok("list", "--platform", "sql").stdout


def test_list_json_is_the_api_entries(kql_agent: Served) -> None:
    ok("register", kql_agent.url)
    data = as_json("list")
    # The same entries, field for field, that GET /a2a/agents/discover returns.
    expected = [e.model_dump(mode="json") for e in Registry(get_settings()).discover()]
    assert data == expected
    entry = AgentEntry.model_validate(data[0])
    assert entry.origin == "registered" and entry.platforms == ["kql"]
    assert entry.card is not None and entry.card["name"] == "echo-kql"
    registered = as_json("register", kql_agent.url)  # same URL: the entry is refreshed
    assert registered["id"] == entry.id and len(as_json("list")) == 1


def test_dead_agent_is_unhealthy_with_its_error() -> None:
    with Served(lambda url: agent_app(echo_agent("gone"), get_settings(), url)) as s:
        ok("register", s.url)
        url = s.url
    r = agents("check")
    assert r.exit_code == AGENT_EXIT, (r.stdout, r.stderr)  # monitoring scripts see it
    assert "unhealthy" in row(r.stdout, "gone")
    assert f"{url}/.well-known/agent-card.json" in r.stdout  # the last error, in full
    listed = ok("list")  # list reports the recorded check, without checking again
    assert "unhealthy" in row(listed.stdout, "gone") and "checked 20" in listed.stdout
    [entry] = as_json("list")
    assert entry["healthy"] is False and url in entry["last_error"]
    assert as_json("list", "--healthy") == []


def test_check_json_and_mixed_health(kql_agent: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = closed_port_url()
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON", json.dumps([{"name": "data-spl", "url": dead}]))
    ok("register", kql_agent.url)
    r = agents("check", "--json")
    assert r.exit_code == AGENT_EXIT
    by_name = {e["name"]: e for e in json.loads(r.stdout)}
    assert by_name["echo-kql"]["healthy"] is True
    assert by_name["data-spl"]["healthy"] is False and by_name["data-spl"]["origin"] == "static"


def test_check_with_no_agents() -> None:
    r = ok("check")
    assert "No agents" in r.stdout
    assert as_json("check") == []


# ── refusals ─────────────────────────────────────────────────────────────────────────────────

def test_register_refuses_a_host_not_allowed() -> None:
    r = agents("register", "http://agents.corp.invalid:9020")
    assert r.exit_code == AGENT_EXIT
    assert "not allowed" in r.stderr and "agents.corp.invalid" in r.stderr
    assert "LEXIQUERY_REGISTRY_ALLOW_HOSTS" in r.stderr  # the hint says what to do
    assert r.stderr.startswith("error: ") and r.stdout == ""
    j = agents("register", "http://agents.corp.invalid:9020", "--json")
    assert j.exit_code == AGENT_EXIT
    assert json.loads(j.stdout)["error"] == "registration_refused"
    assert as_json("list") == []  # nothing was stored


def test_register_refuses_a_dead_url_and_a_bad_scheme() -> None:
    dead = agents("register", closed_port_url())
    assert dead.exit_code == AGENT_EXIT and "could not fetch" in dead.stderr
    bad = agents("register", "file:///etc/passwd")
    assert bad.exit_code == AGENT_EXIT and "scheme" in bad.stderr
    assert as_json("list") == []


# ── rm ───────────────────────────────────────────────────────────────────────────────────────

def test_rm_by_name_and_by_id(kql_agent: Served) -> None:
    entry = as_json("register", kql_agent.url)
    r = ok("rm", "echo-kql")
    assert "removed echo-kql" in r.stderr and entry["id"] in r.stderr
    assert as_json("list") == []
    ok("register", kql_agent.url)
    removed = as_json("rm", entry["id"])
    assert removed["id"] == entry["id"] and as_json("list") == []


def test_rm_unknown_says_which_exist(kql_agent: Served) -> None:
    ok("register", kql_agent.url)
    r = agents("rm", "nobody")
    assert r.exit_code == AGENT_EXIT
    assert "no agent with id or name 'nobody'" in r.stderr and "echo-kql" in r.stderr  # hint
    assert len(as_json("list")) == 1


def test_rm_static_points_at_its_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON",
                       json.dumps([{"name": "data-kql", "url": closed_port_url()}]))
    r = agents("rm", "data-kql")
    assert r.exit_code == AGENT_EXIT
    assert "static agent" in r.stderr and "A2A_STATIC_AGENTS_JSON" in r.stderr
    assert [e["name"] for e in as_json("list")] == ["data-kql"]


# ── static agents and which agents answer journeys ───────────────────────────────────────────

def test_static_agents_are_listed(kql_agent: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = closed_port_url()
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON", json.dumps(
        [{"name": "data-kql", "url": kql_agent.url}, {"name": "planner", "url": dead}]))
    r = ok("list")
    for name, url in (("data-kql", kql_agent.url), ("planner", dead)):
        line = row(r.stdout, name)
        assert url in line and "static" in line and "unchecked" in line
    assert "not checked yet: data-kql, planner" in r.stdout
    assert agents("check").exit_code == AGENT_EXIT  # planner is dead
    data = {e["name"]: e for e in as_json("list")}
    # The static name stays (it is how the operator addresses it); the card fills the skills.
    assert data["data-kql"]["healthy"] is True and data["data-kql"]["platforms"] == ["kql"]
    assert "echo" in data["data-kql"]["skills"]
    assert data["planner"]["healthy"] is False and data["planner"]["skills"] == []


def test_local_mode_names_the_in_process_agents() -> None:
    r = ok("list")
    assert "LEXIQUERY_AGENTS=local" in r.stdout
    assert all(name in r.stdout for name in AGENT_NAMES)
    j = agents("list", "--json")
    assert json.loads(j.stdout) == [] and "in-process agents" in j.stderr  # stdout stays JSON


def test_registry_mode_says_journeys_use_these(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXIQUERY_AGENTS", "registry")
    r = ok("list")
    assert "over A2A" in r.stdout and "in-process" not in r.stdout


def test_malformed_static_configuration_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON", "[{not json")
    r = agents("list")
    assert r.exit_code == InputError.exit_code
    assert "A2A_STATIC_AGENTS_JSON is not valid JSON" in r.stderr


# ── card ─────────────────────────────────────────────────────────────────────────────────────

def test_card_by_name_and_by_url(kql_agent: Served) -> None:
    r = agents("card", kql_agent.url)  # not registered: fetched now, not stored
    assert r.exit_code == 0, r.stderr
    assert "echo-kql" in r.stdout and "Repeats text n times" in r.stdout
    assert "platform:kql" in r.stdout and "JSONRPC" in r.stdout
    assert as_json("list") == []
    ok("register", kql_agent.url)
    stored = ok("card", "echo-kql")
    assert "stored card" in stored.stdout and "Always refuses" in stored.stdout
    card = as_json("card", "echo-kql")
    assert card["name"] == "echo-kql" and {s["id"] for s in card["skills"]} >= {"echo", "slow"}


def test_card_of_unknown_and_refused() -> None:
    assert agents("card", "nobody").exit_code == AGENT_EXIT
    r = agents("card", "http://x.invalid")
    assert r.exit_code == AGENT_EXIT and "not allowed" in r.stderr


def test_card_text_is_printed_as_data() -> None:
    """A card's strings come from another process: rich markup in them prints as written."""
    name = "[red]evil[/red]"
    with Served(lambda url: agent_app(echo_agent(name), get_settings(), url)) as s:
        ok("register", s.url)
        assert name in ok("card", s.url).stdout
    assert name in ok("list").stdout


def test_card_of_a_static_agent_not_checked_yet(kql_agent: Served,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON",
                       json.dumps([{"name": "data-kql", "url": kql_agent.url}]))
    r = ok("card", "data-kql")  # no stored card yet: fetched from the configured URL
    assert f"fetched from {kql_agent.url}" in r.stdout and "Repeats text n times" in r.stdout
    ok("check")
    assert "stored card" in ok("card", "data-kql").stdout
