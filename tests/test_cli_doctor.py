"""`lexiquery doctor` against the Ollama stand-in and against a closed port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ollama_server import FakeOllama
from typer.testing import CliRunner

from lexiquery.cli import app

runner = CliRunner()


def doctor(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, ["doctor", *args])
    return r.exit_code, r.output


def test_all_present(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    with FakeOllama(chat_model="llama3") as server:
        monkeypatch.setenv("LEXIQUERY_OLLAMA_HOST", server.url)
        code, out = doctor("--json", "--strict")
        assert code == 0, out
        report = json.loads(out)
        assert report["ollama"] == {"host": server.url, "reachable": True, "version": "0.13.0",
                                    "error": None}
        assert [(m["role"], m["name"], m["present"]) for m in report["models"]] == \
            [("chat", "llama3", True), ("embedding", "nomic-embed-text", True)]
        assert report["engine"] == {"engine": "llm", "model": "llama3", "reason": None}
        assert report["embeddings"]["enabled"] is True
        assert report["data_dir"] == {"path": str(data_dir), "writable": True, "error": None}
        assert report["cost_store"]["backend"] == "sqlite"
        assert report["cost_store"]["ok"] in (True, None)
        # Only reads of the configured server: the version and the model list, nothing else.
        assert {p for _, p, _ in server.requests} <= {"/api/tags", "/api/version"}
        assert server.chat_requests() == []
        code, text = doctor()
        assert code == 0 and "will use the LLM (llama3)" in text


def test_chat_model_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOllama() as server:  # only the embedding model is pulled
        monkeypatch.setenv("LEXIQUERY_OLLAMA_HOST", server.url)
        code, out = doctor("--json")
        assert code == 0
        report = json.loads(out)
        chat = report["models"][0]
        assert chat["present"] is False and chat["hint"] == "run `ollama pull llama3`"
        assert report["engine"]["engine"] == "rules"
        assert "ollama pull llama3" in report["engine"]["reason"]
        assert doctor("--strict")[0] == 1
        code, text = doctor()
        assert code == 0 and "will use the rules engine" in text and "ollama pull llama3" in text


def test_embedding_model_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOllama(models=(), chat_model="llama3") as server:
        monkeypatch.setenv("LEXIQUERY_OLLAMA_HOST", server.url)
        report = json.loads(doctor("--json")[1])
        assert report["models"][1]["hint"] == "run `ollama pull nomic-embed-text`"
        assert report["embeddings"]["enabled"] is False
        assert report["engine"]["engine"] == "llm"


def test_closed_port_is_unreachable_and_exits_0() -> None:
    code, out = doctor("--json")
    assert code == 0
    report = json.loads(out)
    assert report["ollama"]["reachable"] is False
    assert "not reachable at http://127.0.0.1:9" in report["ollama"]["error"]
    assert [m["present"] for m in report["models"]] == [None, None]
    assert report["engine"]["engine"] == "rules" and not report["llm_available"]
    assert doctor("--strict")[0] == 1
    code, text = doctor()
    assert code == 0 and "not reachable" in text and "rules engine" in text


def test_llm_off(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOllama(chat_model="llama3") as server:
        monkeypatch.setenv("LEXIQUERY_OLLAMA_HOST", server.url)
        monkeypatch.setenv("LEXIQUERY_LLM", "off")
        report = json.loads(doctor("--json")[1])
        assert report["engine"] == {"engine": "rules", "model": None,
                                    "reason": "the LLM is switched off (LEXIQUERY_LLM=off)"}


def test_data_dir_not_writable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LEXIQUERY_DATA_DIR", str(blocker / "data"))
    code, out = doctor("--json")
    assert code == 0
    d = json.loads(out)["data_dir"]
    assert d["writable"] is False and "LEXIQUERY_DATA_DIR" in d["error"]


def test_redis_backend_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXIQUERY_COST_BACKEND", "redis")
    monkeypatch.setenv("LEXIQUERY_REDIS_URL", "redis://127.0.0.1:9/0")
    c = json.loads(doctor("--json")[1])["cost_store"]
    assert c["backend"] == "redis" and c["where"] == "redis://127.0.0.1:9/0"
    assert c["ok"] in (False, None) and c["error"]
