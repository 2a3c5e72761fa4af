"""Runbook definitions and thresholds read by the local LLM when Ollama is available (issue 15),
checked against the document and the catalog, with the rules' reading as the fallback.

The chat model is the test server of tests/ollama_server.py: it stands in for a real Ollama with
model weights (which this machine does not have) and speaks Ollama's HTTP wire format to the
real `ollama` client on our side."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from ollama_server import FakeOllama

from lexiquery import ask
from lexiquery.config import get_settings
from lexiquery.cost.store import open_cost_store
from lexiquery.knowledge.store import ProcedureStore

RUNBOOK = """\
# SOP-090 Remote access review

## Scope

Sign-ins to the Corp VPN application are what this runbook calls VPN sessions.

## Review

1. Pull the VPN sessions of the last 7 days.
2. The SOC calls any user whose VPN session count for one day goes past 40.
"""
DEFINITION = "Sign-ins to the Corp VPN application are what this runbook calls VPN sessions."
THRESHOLD = "The SOC calls any user whose VPN session count for one day goes past 40."

READ = {
    "definitions": [
        {"term": "VPN sessions", "source": "signin_logs",
         "conditions": [{"field": "app", "op": "eq", "values": ["Corp VPN"]}],
         "sentence": DEFINITION},
        # invented: the sentence is nowhere in the runbook
        {"term": "admin sessions", "source": "signin_logs",
         "conditions": [{"field": "user", "op": "startswith", "values": ["adm"]}],
         "sentence": "Admin sessions are sign-ins by accounts starting with adm."},
        # a field the source does not have
        {"term": "VPN sessions", "source": "signin_logs",
         "conditions": [{"field": "vpn_gateway", "op": "eq", "values": ["gw1"]}],
         "sentence": DEFINITION},
    ],
    "thresholds": [
        {"what": "VPN sessions", "op": "gt", "value": 40, "window_amount": 1,
         "window_unit": "day", "sentence": THRESHOLD},
    ],
}


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOllama]:
    with FakeOllama(chat_model="llama3") as server:
        monkeypatch.setenv("LEXIQUERY_OLLAMA_HOST", server.url)
        yield server


def _add(tmp_path: Path):  # type: ignore[no-untyped-def]
    f = tmp_path / "sop-090.md"
    f.write_text(RUNBOOK)
    with ProcedureStore(get_settings()) as s:
        result = s.add_file(f)
        procs = [p for _, p in s.procedures({result.document.id})]
    return result.document, procs


def test_the_llm_reads_what_the_patterns_miss_and_each_item_keeps_its_sentence(
        ollama: FakeOllama, tmp_path: Path) -> None:
    ollama.chat_script = [READ]
    info, procs = _add(tmp_path)
    defs = [d for p in procs for d in p.definitions]
    limits = [t for p in procs for t in p.thresholds if t.origin == "llm"]
    assert [(d.term, d.field, d.values, d.origin, d.text) for d in defs] == [
        ("VPN sessions", "app", ["Corp VPN"], "llm", DEFINITION)]
    assert [(t.op.value, t.value, t.window.unit if t.window else None, t.text)
            for t in limits] == [("gt", 40.0, "day", THRESHOLD)]
    # the invented sentence and the unknown field were left out, and the document says so
    assert any("2 item(s) the LLM read were left out" in w for w in info.warnings)
    # the runbook is data: the prompt carries it, and the catalog's fields
    (body,) = ollama.chat_requests()
    prompt = body["messages"][1]["content"]
    assert DEFINITION in prompt and "signin_logs" in prompt and body["format"]
    # ... and the call is a usage record of the SOP engine
    store = open_cost_store(get_settings())
    try:  # an ingestion's usage belongs to no journey: read the table itself
        rows = store._call(lambda db: db.execute(  # noqa: SLF001
            "SELECT COUNT(*) FROM usage WHERE service = 'sop-engine' AND "
            "operation = 'extract_definitions' AND journey_id IS NULL").fetchone(), "read")
    finally:
        store.close()
    assert rows[0] == 1


def test_what_the_llm_read_changes_answers_like_a_pattern_would(
        ollama: FakeOllama, tmp_path: Path) -> None:
    ollama.chat_script = [READ]
    _add(tmp_path)
    a = ask("VPN sessions per user in the last day", platforms=["kql"], sample_check=False,
            store=False)
    assert 'AppDisplayName =~ "Corp VPN"' in a.queries[0].query
    assert any("SOP-090" in c and "VPN sessions" in c for c in a.knowledge.changes)


def test_an_answer_that_is_not_json_leaves_the_rules_reading(ollama: FakeOllama,
                                                              tmp_path: Path) -> None:
    ollama.chat_script = ["Sure! Here are the definitions you asked for: ..."]
    info, procs = _add(tmp_path)
    assert not any(d.origin == "llm" for p in procs for d in p.definitions)
    assert any("could not read definitions" in w and "JSON" in w for w in info.warnings)
    steps = [s for p in procs for s in p.steps]
    assert any("goes past 40" in s for s in steps)  # the document itself is stored


def test_a_failing_model_leaves_the_rules_reading(ollama: FakeOllama, tmp_path: Path) -> None:
    ollama.chat_script = [{"status": 500, "error": "out of memory"}]
    info, procs = _add(tmp_path)
    assert procs and not any(d.origin == "llm" for p in procs for d in p.definitions)
    assert any("could not read definitions" in w for w in info.warnings)


def test_without_ollama_the_rules_read_alone_and_quietly(tmp_path: Path) -> None:
    info, procs = _add(tmp_path)  # the test host is a closed port: no server
    assert procs and not info.warnings


def test_the_llm_setting_off_asks_nothing(ollama: FakeOllama, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXIQUERY_LLM", "off")
    info, _ = _add(tmp_path)
    assert ollama.chat_requests() == [] and not info.warnings
