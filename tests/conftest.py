"""Shared fixtures. Every test gets its own data directory: nothing touches ~/.local/share.

No test reaches a real Ollama: the default host is a closed loopback port (connection refused,
so LexiQuery takes its no-embedder path at once); tests of the embedding path use `fake_ollama`,
an HTTP server speaking Ollama's wire format (tests/ollama_server.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from ollama_server import FakeOllama

CLOSED_PORT_URL = "http://127.0.0.1:9"  # the discard port: nothing listens on it here


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("LEXIQUERY_DATA_DIR", str(d))
    monkeypatch.setenv("LEXIQUERY_OLLAMA_HOST", CLOSED_PORT_URL)
    return d


@pytest.fixture(autouse=True)
def _fresh_chat_availability() -> Iterator[None]:
    """The chat model's availability is cached per process (30 s): no test sees another's."""
    from lexiquery.llm.client import forget_availability

    forget_availability()
    yield
    forget_availability()


@pytest.fixture
def fake_ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOllama]:
    """A running Ollama stand-in; LEXIQUERY_OLLAMA_HOST points at it for the test."""
    with FakeOllama() as server:
        monkeypatch.setenv("LEXIQUERY_OLLAMA_HOST", server.url)
        yield server
