"""Chroma vectors of a document that never committed are removed on the next open.

A document's vectors are written before its SQLite transaction; the issue's reproduction is a
``kill -9`` in between. Simulated here in process (the transaction never runs, the store is
abandoned, and the next open belongs to "another process": a new per-process token) and for
real (a child process SIGKILLed between the two, slow). Embeddings come from the Ollama stand-in,
Chroma is real, in the test's data directory.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lexiquery.config import get_settings
from lexiquery.knowledge import store_vectors
from lexiquery.knowledge.store import ProcedureStore
from lexiquery.knowledge.vectors import VectorIndex
from ollama_server import FakeOllama

from .sops import BRUTE_FORCE, LOCKOUT

MODEL = "nomic-embed-text"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no cleanup either."""


def chroma() -> Path:
    return get_settings().sop_dir / "chroma"


def vector_documents() -> set[str]:
    return VectorIndex(chroma(), MODEL).document_ids()


def pending_markers() -> list[str]:
    db = sqlite3.connect(get_settings().sop_dir / "sop.db")
    try:
        return [r[0] for r in db.execute("SELECT key FROM meta WHERE key LIKE 'pending%'")]
    finally:
        db.close()


def die_before_commit(store: ProcedureStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(fn):  # type: ignore[no-untyped-def]
        raise Killed

    monkeypatch.setattr(store, "_write", killed)


def test_vectors_of_an_uncommitted_document_go_on_the_next_open(
        fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch) -> None:
    with ProcedureStore(get_settings()) as store:
        kept = store.add_bytes("RB-042.md", LOCKOUT.encode()).document
        die_before_commit(store, monkeypatch)
        with pytest.raises(Killed):
            store.add_bytes("SOP-017.md", BRUTE_FORCE.encode())
        lost = (set(vector_documents()) - {kept.id}).pop()
        assert [d.id for d in store.list_documents()] == [kept.id]
        assert pending_markers() == [f"pending_vectors:{lost}"]
    monkeypatch.setattr(store_vectors, "_TOKEN", "the-next-process")  # same pid, new process
    with ProcedureStore(get_settings(), embedder=None):  # opening is enough; no embedder needed
        pass
    assert vector_documents() == {kept.id}
    assert pending_markers() == []


def test_a_live_ingestion_is_never_swept(fake_ollama: FakeOllama,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The marker's process is alive (here: this one): its vectors are not orphans yet."""
    with ProcedureStore(get_settings()) as store:
        die_before_commit(store, monkeypatch)
        with pytest.raises(Killed):
            store.add_bytes("SOP-017.md", BRUTE_FORCE.encode())
    with ProcedureStore(get_settings()) as store:
        store.vectors.index()  # opening the collection reconciles it too
    assert len(vector_documents()) == 1 and len(pending_markers()) == 1


def test_vectors_without_a_document_go_when_the_collection_opens(fake_ollama: FakeOllama) -> None:
    """Orphans without a marker (an older version, a drop that failed) are found by id."""
    with ProcedureStore(get_settings()) as store:
        kept = store.add_bytes("RB-042.md", LOCKOUT.encode()).document
    VectorIndex(chroma(), MODEL).add(["0123456789abcdef:0"], [[0.1] * 64],
                                     [{"document_id": "0123456789abcdef", "index": 0}])
    assert vector_documents() == {kept.id, "0123456789abcdef"}
    with ProcedureStore(get_settings()) as store:
        assert store.search("account locked").mode == "hybrid"
    assert vector_documents() == {kept.id}


def test_a_clean_open_does_not_touch_chroma(fake_ollama: FakeOllama,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with ProcedureStore(get_settings()) as store:
        doc = store.add_bytes("RB-042.md", LOCKOUT.encode()).document
    assert pending_markers() == []

    def forbidden(*args: object) -> None:
        raise AssertionError("Chroma opened without a pending marker")

    monkeypatch.setattr("lexiquery.knowledge.vectors.delete_from_all", forbidden)
    with ProcedureStore(get_settings(), embedder=None):
        pass
    assert vector_documents() == {doc.id}


CHILD = """
import sys, time
from pathlib import Path
from lexiquery.config import get_settings
from lexiquery.knowledge.store import ProcedureStore

def hang(self, fn):  # the vectors are written; the SQLite transaction never comes
    Path(sys.argv[1]).write_text("vectors written")
    time.sleep(60)

ProcedureStore._write = hang
with ProcedureStore(get_settings()) as store:
    store.add_bytes("SOP-017.md", sys.stdin.read().encode())
"""


@pytest.mark.slow
def test_kill_9_during_hybrid_ingestion(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(flag)], stdin=subprocess.PIPE,
                             env=dict(os.environ), text=True)
    try:
        assert child.stdin is not None
        child.stdin.write(BRUTE_FORCE)
        child.stdin.close()
        deadline = time.monotonic() + 60
        while not flag.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert flag.exists(), "the child never wrote its vectors"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert len(vector_documents()) == 1 and len(pending_markers()) == 1
    with ProcedureStore(get_settings(), embedder=None) as store:
        assert store.list_documents() == []
    assert vector_documents() == set() and pending_markers() == []
