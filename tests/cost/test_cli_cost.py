"""`lexiquery cost [JOURNEY_ID] [--limit N] [--json]` through typer's CliRunner."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from cost.records import embed, rec
from lexiquery.cli import app
from lexiquery.config import get_settings
from lexiquery.cost.store import CostStore, open_cost_store

JID = "3f2a9c0e5b7d4e1f8a6b2c4d9e0f1a2b"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "220")  # rich tables wide enough to read whole cells
    return CliRunner()


def fill(store: CostStore) -> None:
    store.add(rec(JID, seconds=0, estimated_cost=0.0025))
    store.add(rec(JID, seconds=1, operation="repair", prompt_tokens=None,
                  completion_tokens=None, total_tokens=None, ok=False, error="timeout"))
    store.add(embed(JID, seconds=2))
    store.add(rec("older-journey", seconds=-60))
    store.add(embed(None, seconds=5, service="sop-engine", operation="embed_documents"))


def test_recent_journeys_table(runner: CliRunner) -> None:
    fill(open_cost_store(get_settings()))
    result = runner.invoke(app, ["cost"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rows = [line for line in lines if JID in line or "older-journey" in line]
    assert len(rows) == 2 and JID in rows[0]  # newest first
    assert "3" in rows[0].split() and "128 (+1 unknown)" in rows[0]
    assert "0.003500" in rows[0]
    for header in ("journey", "when (UTC)", "calls", "tokens", "compute s", "cost"):
        assert header in result.output
    assert "sop-engine" not in result.output  # records outside journeys are not journeys


def test_limit_and_json(runner: CliRunner) -> None:
    fill(open_cost_store(get_settings()))
    result = runner.invoke(app, ["cost", "--limit", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["journey_id"] for d in data] == [JID]
    assert data[0]["totals"]["unknown_token_calls"] == 1


def test_one_journey_lists_its_calls_and_the_totals(runner: CliRunner) -> None:
    store = open_cost_store(get_settings())
    fill(store)
    store.add(rec(JID, seconds=3, operation="repair", prompt_tokens=300, completion_tokens=None,
                  total_tokens=None, compute_s=None))
    result = runner.invoke(app, ["cost", JID])
    assert result.exit_code == 0, result.output
    out = result.output
    lines = out.splitlines()
    assert f"journey {JID}: 4 call(s), 128 (+2 unknown) tokens" in out
    calls = [line for line in lines if line.startswith(tuple("0123456789"))]
    assert len(calls) == 4
    assert "100/20/120" in calls[0] and "llama3:latest llm" in calls[0]
    assert "unknown" in calls[1] and "repair (failed: timeout)" in calls[1]
    assert "0/" not in calls[1]  # no reported count: never printed as 0
    assert "nomic-embed-text embedding" in calls[2] and "8/0/8" in calls[2]
    assert "300/?/?" in calls[3]
    assert "? = not reported by the model" in out
    for title in ("by service", "by model"):
        assert any(line.startswith(title) for line in lines)
    planner = next(line for line in lines if line.startswith("planner "))
    assert "400/20/120 (+2 unknown)" in planner
    total = [line for line in lines if line.startswith("total ")]
    assert len(total) == 2 and all("408/20/128 (+2 unknown)" in t for t in total)


def test_one_journey_as_json_is_what_the_api_answers(runner: CliRunner) -> None:
    fill(open_cost_store(get_settings()))
    result = runner.invoke(app, ["cost", JID, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["summary"]["journey_id"] == JID
    assert data["summary"]["by_service"]["knowledge-sop"]["total_tokens"] == 8
    assert [r["operation"] for r in data["records"]] == ["plan", "repair", "embed_query"]
    assert data["records"][1]["prompt_tokens"] is None


def test_an_unknown_journey_is_a_clear_error_with_exit_2(runner: CliRunner) -> None:
    fill(open_cost_store(get_settings()))
    result = runner.invoke(app, ["cost", "nope"])
    assert result.exit_code == 2
    assert "no cost records for journey 'nope'" in result.output
    assert "hint:" in result.output
    as_json = runner.invoke(app, ["cost", "nope", "--json"])
    assert as_json.exit_code == 2
    assert json.loads(as_json.output)["issues"][0]["code"] == "unknown_journey"


def test_nothing_recorded_yet_says_why(runner: CliRunner) -> None:
    result = runner.invoke(app, ["cost"])
    assert result.exit_code == 0
    assert "No model calls recorded yet" in result.output


def test_the_redis_backend(runner: CliRunner, fresh_redis: str,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXIQUERY_COST_BACKEND", "redis")
    monkeypatch.setenv("LEXIQUERY_REDIS_URL", fresh_redis)
    fill(open_cost_store(get_settings()))
    result = runner.invoke(app, ["cost", JID, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["totals"]["calls"] == 3


def test_a_dead_redis_is_exit_5_with_the_hint(runner: CliRunner,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LEXIQUERY_COST_BACKEND", "redis")
    monkeypatch.setenv("LEXIQUERY_REDIS_URL", f"redis://127.0.0.1:{port}/0")
    result = runner.invoke(app, ["cost"])
    assert result.exit_code == 5
    assert f"Redis at redis://127.0.0.1:{port}/0 is not reachable" in result.output
    assert "LEXIQUERY_COST_BACKEND=sqlite" in result.output
