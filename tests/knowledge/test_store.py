"""The procedure store: identity by content, atomic replace and delete, restart, both indexes.

Embeddings come from `fake_ollama` (tests/ollama_server.py), an HTTP server speaking Ollama's
wire format in place of a real Ollama with model weights; Chroma is real, in a temp directory.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lexiquery.config import get_settings
from lexiquery.errors import DocumentError, StorageError, UnknownDocumentError
from lexiquery.knowledge.store import ProcedureStore, document_label, find_documents
from lexiquery.knowledge.vectors import VectorIndex

from .sops import BRUTE_FORCE, DNS, INJECTION, LOCKOUT


def _store(**kw) -> ProcedureStore:  # type: ignore[no-untyped-def]
    return ProcedureStore(get_settings(**kw))


def _rows(data_dir: Path, table: str) -> int:
    db = sqlite3.connect(data_dir / "sop" / "sop.db")
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


def test_add_list_get_by_every_ref(tmp_path: Path) -> None:
    f = tmp_path / "sop-017.md"
    f.write_text(BRUTE_FORCE)
    with _store() as s:
        r = s.add_file(f, tags=["identity", " "])
        assert r.status == "added"
        doc = r.document
        assert doc.label == "SOP-017" and doc.title.startswith("SOP-017")
        assert doc.tags == ["identity"] and doc.format == "markdown"
        assert doc.platforms == ["kql"] and doc.chunks >= 3 and doc.procedures >= 1
        assert [d.id for d in s.list_documents()] == [doc.id]
        assert s.list_documents(tag="network") == []
        for ref in (doc.id, doc.id[:6], "sop-017", "sop-017.md"):
            assert s.get(ref).document.id == doc.id
        detail = s.get(doc.id)
        paths = [c.heading_path for c in detail.chunks]
        assert any(p[-1] == "3. Detection" for p in paths if p)
        steps = next(c for c in detail.chunks if "Open Microsoft Sentinel" in c.text)
        assert all(f"{n}." in steps.text for n in range(1, 6)), "the steps stay in one chunk"


def test_unknown_ref_is_a_clear_error_with_a_hint(tmp_path: Path) -> None:
    with _store() as s:
        with pytest.raises(UnknownDocumentError, match="no stored document") as e:
            s.get("SOP-999")
        assert "sop add" in (e.value.hint or "")
        (tmp_path / "a.md").write_text(BRUTE_FORCE)
        s.add_file(tmp_path / "a.md")
        with pytest.raises(UnknownDocumentError) as e:
            s.remove("SOP-01")
        assert "SOP-017" in (e.value.hint or "")


def test_same_bytes_again_is_a_no_op(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "a.md").write_text(BRUTE_FORCE)
    (tmp_path / "copy.md").write_text(BRUTE_FORCE)
    with _store() as s:
        first = s.add_file(tmp_path / "a.md")
        chunks = _rows(data_dir, "chunks")
        again = s.add_file(tmp_path / "a.md")
        copy = s.add_bytes("copy.md", BRUTE_FORCE.encode())
        assert again.status == copy.status == "unchanged"
        assert again.document.id == copy.document.id == first.document.id
        assert _rows(data_dir, "chunks") == chunks and _rows(data_dir, "documents") == 1


def test_changed_file_replaces_its_old_chunks(tmp_path: Path, data_dir: Path) -> None:
    f = tmp_path / "lockout.md"
    f.write_text(LOCKOUT)
    with _store() as s:
        old = s.add_file(f).document
        f.write_text(LOCKOUT.replace("event 4740", "event 4740 (also check 4767 unlocks)"))
        r = s.add_file(f)
        assert r.status == "replaced" and r.replaced_id == old.id
        assert [d.id for d in s.list_documents()] == [r.document.id]
        with pytest.raises(UnknownDocumentError):
            s.get(old.id)
        hits = s.search("unlocks 4767").hits
        assert hits and all(h.document.id == r.document.id for h in hits)
        assert _rows(data_dir, "chunks") == r.document.chunks


def test_remove_deletes_every_trace(tmp_path: Path, data_dir: Path) -> None:
    for name, text in (("a.md", BRUTE_FORCE), ("b.md", LOCKOUT)):
        (tmp_path / name).write_text(text)
    with _store() as s:
        a = s.add_file(tmp_path / "a.md").document
        s.add_file(tmp_path / "b.md")
        assert s.search("brute force failed sign-ins").hits
        gone = s.remove("SOP-017")
        assert gone.id == a.id
        assert all(h.document.id != a.id for h in s.search("brute force failed sign-ins").hits)
        assert _rows(data_dir, "procedures") == s.list_documents()[0].procedures
        db = sqlite3.connect(data_dir / "sop" / "sop.db")
        assert db.execute("SELECT count(*) FROM chunks WHERE document_id = ?",
                          (a.id,)).fetchone()[0] == 0


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(BRUTE_FORCE)
    with _store() as s:
        doc = s.add_file(tmp_path / "a.md", tags=["identity"]).document
    with _store() as s:
        assert [d.id for d in s.list_documents()] == [doc.id]
        hits = s.search("escalate failed sign-ins threshold").hits
        assert hits and hits[0].document.label == "SOP-017"


def test_a_second_store_sees_the_first_ones_writes(tmp_path: Path) -> None:
    """Two processes (here two connections) share the store: BM25 follows the generation."""
    (tmp_path / "b.md").write_text(LOCKOUT)
    with _store() as reader, _store() as writer:
        assert reader.search("lockout").hits == []
        writer.add_file(tmp_path / "b.md")
        assert reader.search("lockout").hits
        writer.remove("RB-042")
        assert reader.search("lockout").hits == []


def test_bm25_mode_says_why_when_ollama_is_unreachable(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text(LOCKOUT)
    with _store() as s:
        doc = s.add_file(tmp_path / "b.md").document
        assert doc.embedded is False
        res = s.search("lockout")
        assert res.mode == "bm25" and "not reachable at http://127.0.0.1:9" in (res.note or "")
    with _store(embeddings=False) as s:
        res = s.search("lockout")
        assert res.mode == "bm25" and "switched off" in (res.note or "")
    assert not (get_settings().sop_dir / "chroma").exists(), "Chroma is not touched without vectors"


def test_hybrid_mode_with_ollama_embeddings(tmp_path: Path, fake_ollama) -> None:  # type: ignore[no-untyped-def]
    for name, text in (("a.md", BRUTE_FORCE), ("b.md", LOCKOUT), ("c.md", DNS)):
        (tmp_path / name).write_text(text)
    with _store() as s:
        docs = [s.add_file(tmp_path / n).document for n in ("a.md", "b.md", "c.md")]
        assert all(d.embedded for d in docs)
        sent = fake_ollama.embed_requests()
        assert sent and all(t.startswith("search_document: ") for b in sent for t in b["input"])
        # "frozen" never occurs in the lockout runbook: only the dense ranking can find it.
        res = s.search("frozen")
        assert res.mode == "hybrid" and res.note is None
        assert res.hits and res.hits[0].document.label == "RB-042"
        assert res.hits[0].dense_rank == 1 and res.hits[0].lexical_rank is None
    with _store(embeddings=False) as s:
        assert s.search("frozen").hits == []


def test_vectors_survive_restart_and_leave_with_the_document(tmp_path: Path, fake_ollama) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "b.md").write_text(LOCKOUT)
    with _store() as s:
        doc = s.add_file(tmp_path / "b.md").document
    chroma = get_settings().sop_dir / "chroma"
    assert VectorIndex(chroma, "nomic-embed-text").count() == doc.chunks
    with _store() as s:
        assert s.search("frozen").mode == "hybrid"
        s.remove(doc.id)
    assert VectorIndex(chroma, "nomic-embed-text").count() == 0


def test_model_missing_or_embed_failing_falls_back_to_bm25(tmp_path: Path, fake_ollama) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "b.md").write_text(LOCKOUT)
    fake_ollama.models = ["llama3:latest"]
    with _store() as s:
        doc = s.add_file(tmp_path / "b.md").document
        assert not doc.embedded
        res = s.search("lockout")
        assert res.mode == "bm25" and "ollama pull nomic-embed-text" in (res.note or "")
    fake_ollama.models = ["nomic-embed-text:latest"]
    fake_ollama.fail_embed = 500
    (tmp_path / "c.md").write_text(DNS)
    with _store() as s:
        doc = s.add_file(tmp_path / "c.md").document
        assert not doc.embedded
        assert any("lexical search only" in w for w in doc.warnings)
        assert s.search("tunnelling").hits


def test_wrong_number_of_vectors_is_not_stored(tmp_path: Path, fake_ollama) -> None:  # type: ignore[no-untyped-def]
    fake_ollama.wrong_count = True
    (tmp_path / "a.md").write_text(BRUTE_FORCE)
    with _store() as s:
        doc = s.add_file(tmp_path / "a.md").document
        assert not doc.embedded and any("returned" in w for w in doc.warnings)


def test_filters(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(BRUTE_FORCE)
    (tmp_path / "b.md").write_text(LOCKOUT)
    with _store() as s:
        a = s.add_file(tmp_path / "a.md", tags=["identity"]).document
        b = s.add_file(tmp_path / "b.md", tags=["windows"]).document
        q = "account events"
        assert {h.document.id for h in s.search(q, limit=10).hits} == {a.id, b.id}
        assert {h.document.id for h in s.search(q, tag="windows").hits} == {b.id}
        assert {h.document.id for h in s.search(q, document="SOP-017").hits} == {a.id}
        assert {h.document.id for h in s.search(q, platform="spl").hits} == {b.id}
        assert {h.document.id for h in s.search(q, platform="kql").hits} == {a.id}
        future = datetime.now(timezone.utc) + timedelta(days=1)
        assert s.search(q, since=future).hits == []
        assert len(s.search(q, until=future, limit=10).hits) >= 2
        assert len(s.search(q, limit=1).hits) == 1


def test_failed_ingestion_stores_nothing(tmp_path: Path, data_dir: Path) -> None:
    with _store() as s:
        with pytest.raises(DocumentError) as e:
            s.add_bytes("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog")
        assert e.value.code == "corrupt"
        with pytest.raises(DocumentError) as e:
            s.add_bytes("notes.doc", b"hello")
        assert e.value.code == "unsupported_type"
        big = tmp_path / "big.md"
        big.write_text("# Big\n\n" + "word " * 5000)
    with _store(sop_max_bytes=2048) as s:
        with pytest.raises(DocumentError) as e:
            s.add_file(big)
        assert e.value.code == "too_large" and "LEXIQUERY_SOP_MAX_BYTES" in (e.value.hint or "")
        assert s.list_documents() == []
    assert _rows(data_dir, "chunks") == 0


def test_a_full_disk_stores_nothing_and_says_so(tmp_path: Path, data_dir: Path, fake_ollama) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.md").write_text(BRUTE_FORCE)
    (tmp_path / "big.md").write_text("# Big runbook\n\n" + "\n\n".join(
        f"Paragraph {i}: " + "lorem ipsum dolor " * 40 for i in range(300)))
    with _store() as s:
        s.add_file(tmp_path / "a.md")
        # SQLite's page limit stands in for a full disk: the same SQLITE_FULL error.
        pages = s._db.execute("PRAGMA page_count").fetchone()[0]
        s._db.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(StorageError, match="full") as e:
            s.add_file(tmp_path / "big.md")
        assert "nothing was stored" in (e.value.hint or "")
        assert [d.label for d in s.list_documents()] == ["SOP-017"]
        count = VectorIndex(get_settings().sop_dir / "chroma", "nomic-embed-text").count()
        assert count == s.list_documents()[0].chunks, "the failed document's vectors are gone"
    assert _rows(data_dir, "documents") == 1


def test_injection_lines_are_stored_inert_and_flagged(tmp_path: Path) -> None:
    (tmp_path / "w.md").write_text(INJECTION)
    with _store() as s:
        doc = s.add_file(tmp_path / "w.md").document
        assert any("never obeyed" in w for w in doc.warnings)
        chunks = s.get(doc.id).chunks
        flagged = [c for c in chunks if "injection" in c.flags]
        assert flagged and "Ignore previous instructions" in flagged[0].text


def test_find_documents(tmp_path: Path) -> None:
    (tmp_path / "sub" / ".git").mkdir(parents=True)
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "sub" / "b.PDF").write_bytes(b"%PDF")
    (tmp_path / "sub" / "c.exe").write_bytes(b"MZ")
    (tmp_path / "sub" / ".git" / "d.md").write_text("x")
    (tmp_path / "sub" / "~$lock.docx").write_bytes(b"x")
    found, skipped = find_documents(tmp_path)
    assert [p.name for p in found] == ["a.md", "b.PDF"] and [p.name for p in skipped] == ["c.exe"]
    found, _ = find_documents(tmp_path, recursive=False)
    assert [p.name for p in found] == ["a.md"]


@pytest.mark.parametrize("title,name,label", [
    ("SOP-017: Brute force", "x.md", "SOP-017"), ("Lockouts", "rb_42.docx", "RB-42"),
    ("Playbook 7 ransomware", "p.md", "PLAYBOOK-7"), ("DNS hunt", "dns.md", "DNS hunt")])
def test_document_label(title: str, name: str, label: str) -> None:
    assert document_label(title, name) == label


def test_a_schema_1_store_is_migrated_and_a_newer_one_refused(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "b.md").write_text(LOCKOUT)
    with _store() as s:
        s.add_file(tmp_path / "b.md")
    db = sqlite3.connect(data_dir / "sop" / "sop.db")
    # Schema 1 kept no BM25 terms: rebuild that store's shape.
    db.executescript("""
        CREATE TABLE chunks_v1 AS SELECT id, document_id, idx, body FROM chunks;
        DROP TABLE chunks; ALTER TABLE chunks_v1 RENAME TO chunks;
        UPDATE meta SET value = '1' WHERE key = 'schema';""")
    db.close()
    with _store() as s:
        assert s.search("lockout").hits, "the migrated chunks are searchable"
    db = sqlite3.connect(data_dir / "sop" / "sop.db")
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="newer LexiQuery"):
        _store()


def test_a_damaged_store_is_a_storage_error_not_a_traceback(data_dir: Path) -> None:
    with _store() as s:
        s._db.execute("DROP TABLE chunks")  # a damaged file: the table is gone
        with pytest.raises(StorageError, match="could not be read") as e:
            s.search("lockout")
        assert "sop.db" in (e.value.hint or "")
