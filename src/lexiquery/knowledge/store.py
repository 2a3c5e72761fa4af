"""The procedure store: documents, chunks and procedures in SQLite, indexed by BM25 and Chroma.

SQLite (`<data_dir>/sop/sop.db`) is the truth. The BM25 index is rebuilt from it whenever the
store's generation changes; the Chroma collection (`<data_dir>/sop/chroma`) holds the chunks'
embeddings when an embedder was reachable at ingestion. A search only ever returns chunks SQLite
knows, so an index that missed a delete cannot resurrect a document.

Identity: a document's id comes from its content hash — adding the same bytes again is a no-op
("unchanged"); adding other bytes from the same origin (the same path, or an upload with the same
file name) replaces the old document ("replaced") in one SQLite transaction; `remove` deletes
every trace from SQLite, BM25 and Chroma. Ingestion reads, chunks, extracts and embeds everything
before the one transaction that stores it, so a failure at any step stores nothing; vectors of an
ingestion killed before that transaction are removed on the next open (`store_vectors`). The
files are 0600 in 0700 directories (`private_files`).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence, TypeVar

from pydantic import BaseModel

from lexiquery.catalog.model import Catalog
from lexiquery.catalog.store import load_user_catalog
from lexiquery.config import Settings
from lexiquery.errors import DocumentError, InputError, StorageError, UnknownDocumentError
from lexiquery.knowledge.ingest import (  # noqa: F401 — find_documents, document_label: API
    document_label,
    find_documents,
    indexed_text,
    prepare,
    read_runbook,
)
from lexiquery.knowledge.known_errors.files import load_known_errors
from lexiquery.knowledge.lexical import LexicalIndex, tokenize
from lexiquery.knowledge.model import (
    Chunk,
    DocumentInfo,
    Procedure,
    SearchHit,
    SearchResult,
)
from lexiquery.knowledge.search import fuse
from lexiquery.knowledge.store_schema import migrate
from lexiquery.knowledge.store_vectors import StoreVectors, clear_pending
from lexiquery.llm.embeddings import embedder_for
from lexiquery.private_files import private_dir, private_sqlite

if TYPE_CHECKING:
    from lexiquery.llm.embeddings import Embedder

AddStatus = Literal["added", "unchanged", "replaced"]
F = TypeVar("F", bound=Callable[..., Any])
@dataclass
class AddResult:
    status: AddStatus
    document: DocumentInfo
    replaced_id: str | None = None


class DocumentDetail(BaseModel):
    document: DocumentInfo
    chunks: list[Chunk]
    procedures: list[Procedure]


def _storage_errors(fn: F) -> F:
    """A read that fails in SQLite (a corrupt file, a locked or vanished database) is a
    `StorageError` that says what to do, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except sqlite3.Error as e:
            raise StorageError(f"the procedure store could not be read: {e}",
                               hint="check LEXIQUERY_DATA_DIR; if the file is damaged, move "
                                    "sop/sop.db aside and add the runbooks again") from e

    return wrapper  # type: ignore[return-value]


class ProcedureStore:
    """Open with `ProcedureStore(settings)`; use as a context manager or call `close()`.

    `embedder`: "auto" builds the configured Ollama embedder (None when `settings.embeddings`
    is off); pass an `Embedder` or None explicitly in code and tests. Thread-safe: one
    connection guarded by a lock (the REST router shares one store across requests)."""

    def __init__(self, settings: Settings, *, catalog: Catalog | None = None,
                 embedder: "Embedder | None | str" = "auto") -> None:
        self.settings = settings
        self._catalog = catalog
        self.embedder: Embedder | None = embedder_for(settings) if embedder == "auto" \
            else embedder  # type: ignore[assignment]
        self.dir = settings.sop_dir
        self._lock = threading.RLock()
        self._lexical: tuple[int, LexicalIndex] | None = None
        self._documents: tuple[int, list[DocumentInfo]] | None = None
        self._errors = None
        try:
            private_dir(self.dir)
            self._db = sqlite3.connect(private_sqlite(self.dir / "sop.db"), timeout=15,
                                       check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            migrate(self._db, self.dir)
        except (OSError, sqlite3.Error) as e:
            raise StorageError(f"cannot open the procedure store in {self.dir}: {e}",
                               hint="check the permissions and free space of the data "
                                    "directory (LEXIQUERY_DATA_DIR)") from e
        self.vectors = StoreVectors(settings, self.dir, self.embedder, self._db, self._lock)
        self.vectors.sweep()  # vectors of an ingestion killed before it committed

    # ---- collaborators, built on first use -------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_user_catalog(self.settings)
        return self._catalog

    def known_errors(self):  # type: ignore[no-untyped-def]
        if self._errors is None:
            self._errors = load_known_errors(self.settings.known_errors_files, self.catalog)
        return self._errors

    # ---- ingestion -------------------------------------------------------------------------

    def add_file(self, path: Path, *, tags: Sequence[str] = ()) -> AddResult:
        """Ingest a file; the size limit is checked before a byte is read."""
        try:
            size = path.stat().st_size
            if size > self.settings.sop_max_bytes:
                raise DocumentError(
                    f"the file is {size:,} bytes; the limit is {self.settings.sop_max_bytes:,}",
                    code="too_large", document=path.name,
                    hint="split the document, or raise LEXIQUERY_SOP_MAX_BYTES")
            data = path.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read {path}: {e.strerror or e}") from e
        return self._add(path.name, str(path.resolve()), data, tags)

    def add_bytes(self, name: str, data: bytes, *, tags: Sequence[str] = ()) -> AddResult:
        """Ingest an upload named `name`. `DocumentError` when it cannot be read; nothing is
        stored then."""
        base = Path(name.replace("\\", "/")).name or "upload"
        return self._add(base, f"upload:{base}", data, tags)

    def _add(self, name: str, origin: str, data: bytes, tags: Sequence[str]) -> AddResult:
        sha = hashlib.sha256(data).hexdigest()
        doc_id = sha[:16]
        with self._lock:
            existing = self._row_info(doc_id)
            if existing is not None:
                merged = sorted(set(existing.tags) | {t.strip() for t in tags if t.strip()})
                if merged != existing.tags:
                    existing = existing.model_copy(update={"tags": merged})
                    self._write(lambda db: db.execute(
                        "UPDATE documents SET body = ? WHERE id = ?",
                        (existing.model_dump_json(), doc_id)))
                return AddResult("unchanged", existing)
        doc = read_runbook(name, data, self.settings)  # refused before the catalog is loaded
        prepared = prepare(doc, origin, data, sha, doc_id, tags, settings=self.settings,
                           catalog=self.catalog, errors=self.known_errors())
        with self._lock:
            old = [r[0] for r in self._db.execute(
                "SELECT id FROM documents WHERE origin = ? AND id != ?", (origin, doc_id))]
            self.vectors.embed(prepared)

            raced: list[bool] = []

            def store(db: sqlite3.Connection) -> None:
                clear_pending(db, doc_id)  # with the commit: the vectors are no orphans now
                if db.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone():
                    raced.append(True)  # another process stored the same bytes meanwhile
                    return
                for oid in old:
                    db.execute("DELETE FROM documents WHERE id = ?", (oid,))
                info = prepared.info
                db.execute("INSERT INTO documents VALUES (?, ?, ?, ?)",
                           (info.id, info.origin, info.model_dump_json(),
                            info.added_at.isoformat()))
                db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?)",
                               [(c.id, c.document_id, c.index, c.model_dump_json(),
                                 " ".join(tokenize(indexed_text(c))))
                                for c in prepared.chunks])
                db.executemany("INSERT INTO procedures VALUES (?, ?, ?)",
                               [(info.id, i, p.model_dump_json())
                                for i, p in enumerate(prepared.procedures)])

            try:
                self._write(store)
            except StorageError:
                self.vectors.abandon(doc_id)  # the vectors of a document that was not stored
                raise
            if raced:
                return AddResult("unchanged", self._row_info(doc_id))  # type: ignore[arg-type]
            self.vectors.drop(old)
        return AddResult("replaced" if old else "added", prepared.info,
                         replaced_id=old[0] if old else None)

    def _write(self, fn) -> None:  # type: ignore[no-untyped-def]
        """Run `fn(db)` in one immediate transaction and bump the generation, or StorageError
        (a full disk, a locked or read-only database) with nothing changed."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    fn(self._db)
                    self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                                     "WHERE key = 'generation'")
                    self._db.execute("COMMIT")
                except BaseException:
                    # SQLite has already rolled back after some errors (SQLITE_FULL among them).
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                full = "full" in str(e).lower()
                raise StorageError(
                    f"the procedure store could not be written: {e}",
                    hint="free disk space and try again; nothing was stored" if full else
                    "nothing was stored; check LEXIQUERY_DATA_DIR") from e

    @_storage_errors
    def ingest_mode(self, documents: Sequence[DocumentInfo]) -> tuple[str | None, str | None]:
        """(mode, why) that `documents` just got at ingestion: "hybrid" when any has vectors,
        else "bm25" with the embedder's reason; (None, None) for no documents. The documents'
        `embedded` flag is the truth, not what Ollama says a moment later."""
        if not documents:
            return None, None
        if any(d.embedded for d in documents):
            return "hybrid", f"embeddings from {self.embedder.model}" if self.embedder else None
        if self.embedder is None:
            return "bm25", "embeddings are switched off (LEXIQUERY_EMBEDDINGS=0)"
        reasons = [w.split(": ", 1)[1] for d in documents for w in d.warnings
                   if w.startswith("stored for lexical search only: ")]
        return "bm25", reasons[0] if reasons else self.embedder.available()[1] or None

    # ---- reading ---------------------------------------------------------------------------

    def _row_info(self, doc_id: str) -> DocumentInfo | None:
        row = self._db.execute("SELECT body FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return DocumentInfo.model_validate_json(row[0]) if row else None

    @_storage_errors
    def list_documents(self, *, tag: str | None = None) -> list[DocumentInfo]:
        """Every stored document, oldest first (read once per generation: a search at 10,000
        chunks would otherwise spend most of its time re-reading them)."""
        with self._lock:
            gen = self._generation()
            if self._documents is None or self._documents[0] != gen:
                rows = self._db.execute(
                    "SELECT body FROM documents ORDER BY added_at, id").fetchall()
                self._documents = (gen, [DocumentInfo.model_validate_json(r[0]) for r in rows])
            docs = self._documents[1]
        return [d.model_copy() for d in docs if tag is None or tag in d.tags]

    @_storage_errors
    def resolve(self, ref: str) -> DocumentInfo:
        """By id, unique id prefix (4+ characters), label ("SOP-017") or file name;
        `UnknownDocumentError` otherwise (with the closest refs as hint)."""
        ref = (ref or "").strip()
        docs = self.list_documents()
        for test in (lambda d: d.id == ref,
                     lambda d: len(ref) >= 4 and d.id.startswith(ref.lower()),
                     lambda d: d.label.lower() == ref.lower(),
                     lambda d: d.name == ref or d.name.lower() == ref.lower()):
            found = [d for d in docs if test(d)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise UnknownDocumentError(
                    f"{ref!r} matches {len(found)} documents",
                    hint="use the id: " + ", ".join(f"{d.id} ({d.name})" for d in found[:5]))

        names = [d.label for d in docs] + [d.name for d in docs]
        close = difflib.get_close_matches(ref, names, n=3, cutoff=0.4)
        hint = ("did you mean: " + ", ".join(close)) if close else (
            "`lexiquery sop list` shows the stored documents" if docs else
            "no documents are stored yet; add some with `lexiquery sop add PATH`")
        raise UnknownDocumentError(f"no stored document {ref!r}", hint=hint)

    @_storage_errors
    def get(self, ref: str) -> DocumentDetail:
        info = self.resolve(ref)
        with self._lock:
            chunks = [Chunk.model_validate_json(r[0]) for r in self._db.execute(
                "SELECT body FROM chunks WHERE document_id = ? ORDER BY idx", (info.id,))]
            procs = [Procedure.model_validate_json(r[0]) for r in self._db.execute(
                "SELECT body FROM procedures WHERE document_id = ? ORDER BY idx", (info.id,))]
        return DocumentDetail(document=info, chunks=chunks, procedures=procs)

    @_storage_errors
    def procedures(self, document_ids: Sequence[str] | None = None
                   ) -> list[tuple[str, Procedure]]:
        """(document id, procedure) of the given documents (all when None)."""
        with self._lock:
            rows = self._db.execute("SELECT document_id, body FROM procedures "
                                    "ORDER BY document_id, idx").fetchall()
        return [(doc_id, Procedure.model_validate_json(body)) for doc_id, body in rows
                if document_ids is None or doc_id in document_ids]

    def remove(self, ref: str) -> DocumentInfo:
        info = self.resolve(ref)
        self._write(lambda db: db.execute("DELETE FROM documents WHERE id = ?", (info.id,)))
        self.vectors.drop([info.id])
        return info

    # ---- search ----------------------------------------------------------------------------

    def _generation(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'generation'")
                   .fetchone()[0])

    @_storage_errors
    def lexical_index(self) -> "LexicalIndex":
        """The BM25 index of every stored chunk, rebuilt when another writer (this process or
        another) changed the store."""
        with self._lock:
            gen = self._generation()
            if self._lexical is None or self._lexical[0] != gen:
                rows = self._db.execute(
                    "SELECT id, terms FROM chunks ORDER BY document_id, idx").fetchall()
                self._lexical = (gen, LexicalIndex([r[0] for r in rows],
                                                   [r[1].split() for r in rows]))
            return self._lexical[1]

    @_storage_errors
    def search(self, text: str, *, limit: int = 5, document: str | None = None,
               tag: str | None = None, platform: str | None = None,
               since: datetime | None = None, until: datetime | None = None) -> SearchResult:
        """The chunks best matching `text`, hybrid (BM25 + embeddings, fused by RRF) when the
        embedder serves and documents have vectors, BM25 alone otherwise — `mode` and `note`
        say which and why. Filters narrow by document (any ref `resolve` accepts), tag,
        platform (a language the document's queries are in) and time added."""
        text = (text or "").strip()
        if not text:
            raise InputError("the search text is empty", hint='search e.g. "brute force"')
        if platform is not None and platform not in ("kql", "spl", "sql"):
            raise InputError(f"unknown platform {platform!r}; platforms are kql, spl and sql")
        limit = max(1, min(int(limit), 100))
        docs = {d.id: d for d in self.list_documents()}
        wanted = self.resolve(document).id if document else None
        allowed_docs = {i for i, d in docs.items()
                        if (wanted is None or i == wanted) and (tag is None or tag in d.tags)
                        and (platform is None or platform in d.platforms)
                        and (since is None or d.added_at >= _aware(since))
                        and (until is None or d.added_at <= _aware(until))}
        filtered = len(allowed_docs) < len(docs)
        depth = max(limit * 4, 20)
        lexical = self.lexical_index()
        allowed_chunks = {cid for cid in lexical.ids if cid.split(":", 1)[0] in allowed_docs} \
            if filtered else None
        lex = lexical.top(text, depth, allowed=allowed_chunks)
        dense, mode, note = self.vectors.dense(text, depth, docs,
                                               allowed_docs if filtered else None)
        ranked = fuse([c for c, _ in lex], dense) if mode == "hybrid" else None
        lex_score = dict(lex)
        order = [(f.chunk_id, f.score, f.lexical_rank, f.dense_rank) for f in ranked] \
            if ranked is not None else \
            [(cid, s, r, None) for r, (cid, s) in enumerate(lex, 1)]
        hits: list[SearchHit] = []
        with self._lock:
            for cid, score, lr, dr in order:
                row = self._db.execute("SELECT body FROM chunks WHERE id = ?", (cid,)).fetchone()
                doc = docs.get(cid.split(":", 1)[0])
                if row is None or doc is None or doc.id not in allowed_docs:
                    continue  # a vector whose document is gone: never resurrect it
                hits.append(SearchHit(chunk=Chunk.model_validate_json(row[0]), document=doc,
                                      score=round(score if ranked is not None
                                                  else lex_score[cid], 6),
                                      lexical_rank=lr, dense_rank=dr))
                if len(hits) == limit:
                    break
        return SearchResult(query=text, mode=mode, hits=hits, note=note)

    def close(self) -> None:
        with self._lock:
            self.vectors.close()
            try:
                self._db.close()
            except sqlite3.Error:
                pass

    def __enter__(self) -> "ProcedureStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)



__all__ = ["AddResult", "DocumentDetail", "ProcedureStore", "document_label", "find_documents"]


def open_procedures(settings: Settings, catalog: Catalog) -> ProcedureStore | None:
    """The runbook store when one exists (asking never creates an empty one)."""
    if not (settings.sop_dir / "sop.db").exists():
        return None
    return ProcedureStore(settings, catalog=catalog)
