"""The vector side of the procedure store: chunk embeddings in Chroma, written before SQLite
commits, and the protocol that keeps a crash between the two from leaving vectors behind.

A document's vectors are written before the SQLite transaction that stores it (embedding is slow
and may fail; the transaction stays short). A ``kill -9`` in between leaves vectors whose
document never committed: harmless — a search only returns chunks SQLite knows — but never
cleaned by themselves. So:

1. right before its vectors are written, a marker ``pending_vectors:<document id>`` (the
   writer's pid and a per-process token) is committed in the store's `meta` table;
2. the transaction that stores the document deletes the marker (`clear_pending`) atomically with
   the commit; when that transaction fails, the vectors are dropped and then the marker;
3. the next open of the store (`sweep`) looks for markers whose process is gone: their documents'
   vectors are removed from every model's collection unless the document did commit, then the
   markers go. No such marker, no cost: Chroma is not even imported;
4. when a model's collection is opened (`index`), any vector whose document is neither committed
   nor being ingested by a live process is removed too (vectors left by an older version, or by
   a drop that failed). Chroma's ids are listed *before* SQLite is read, and markers are
   committed before vectors are written, so a live ingestion is never taken for an orphan.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Sequence

from lexiquery.config import Settings
from lexiquery.cost.tracker import CostTracker, record_embeddings
from lexiquery.errors import StorageError
from lexiquery.knowledge.ingest import Prepared, indexed_text
from lexiquery.knowledge.model import DocumentInfo
from lexiquery.knowledge.vectors import VectorIndex, delete_from_all
from lexiquery.llm.embeddings import EmbeddingUnavailable

if TYPE_CHECKING:
    from lexiquery.llm.embeddings import Embedder

PENDING = "pending_vectors:"
_TOKEN = uuid.uuid4().hex  # tells this process from an earlier one that had the same pid


def clear_pending(db: sqlite3.Connection, document_id: str) -> None:
    """Inside the transaction that stores the document: its vectors are no longer pending."""
    db.execute("DELETE FROM meta WHERE key = ?", (PENDING + document_id,))


def _alive(marker: str) -> bool:
    """Whether the ingestion that wrote `marker` may still be running."""
    try:
        data = json.loads(marker)
        pid, token = int(data["pid"]), str(data["token"])
    except (ValueError, KeyError, TypeError):
        return False
    if pid == os.getpid():
        return token == _TOKEN
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    except OSError:
        return False
    return True


class StoreVectors:
    """Chroma for one `ProcedureStore`, sharing its SQLite connection and lock."""

    def __init__(self, settings: Settings, directory: Path, embedder: "Embedder | None",
                 db: sqlite3.Connection, lock: threading.RLock) -> None:
        self.settings, self.dir, self.embedder = settings, directory, embedder
        self._db, self._lock = db, lock
        self._index: VectorIndex | None = None
        self._costs: CostTracker | None = None  # opened on the first embedded ingestion

    # ---- the crash protocol -----------------------------------------------------------------

    def _pending(self) -> dict[str, bool]:
        """Document id → whether its ingestion may still be running, for every marker."""
        rows = self._db.execute("SELECT key, value FROM meta WHERE key LIKE ?",
                                (PENDING + "%",)).fetchall()
        return {key[len(PENDING):]: _alive(value) for key, value in rows}

    def _committed(self, document_ids: Sequence[str] | None = None) -> set[str]:
        rows = self._db.execute("SELECT id FROM documents").fetchall()
        return {r[0] for r in rows if document_ids is None or r[0] in document_ids}

    def _forget(self, document_ids: Sequence[str]) -> None:
        if document_ids:
            with self._lock, self._db:
                self._db.executemany("DELETE FROM meta WHERE key = ?",
                                     [(PENDING + d,) for d in document_ids])

    def _mark(self, document_id: str) -> None:
        marker = json.dumps({"pid": os.getpid(), "token": _TOKEN, "at": time.time()})
        try:
            with self._lock, self._db:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                 (PENDING + document_id, marker))
        except sqlite3.Error as e:
            raise StorageError(f"the procedure store could not be written: {e}",
                               hint="nothing was stored; check LEXIQUERY_DATA_DIR") from e

    def sweep(self) -> None:
        """Remove the vectors of ingestions that died before committing (step 3). Never
        raises: an orphan left for the next open is harmless."""
        with contextlib.suppress(Exception), self._lock:
            dead = [d for d, alive in self._pending().items() if not alive]
            if not dead:
                return
            orphans = sorted(set(dead) - self._committed(dead))
            if orphans and (self.dir / "chroma").exists():
                delete_from_all(self.dir / "chroma", orphans)
            self._forget(dead)

    def _reconcile(self, index: "VectorIndex") -> None:
        """Remove vectors of documents neither committed nor being ingested (step 4)."""
        with contextlib.suppress(Exception), self._lock:
            present = index.document_ids()  # before SQLite is read: see the module docstring
            if not present:
                return
            live = {d for d, alive in self._pending().items() if alive}
            orphans = present - self._committed() - live
            index.delete_documents(sorted(orphans))

    # ---- use --------------------------------------------------------------------------------

    def index(self) -> "VectorIndex | None":
        """The model's collection when the embedder is usable now, else None."""
        if self.embedder is None or not self.embedder.available()[0]:
            return None
        if self._index is None:
            self._index = VectorIndex(self.dir / "chroma", self.embedder.model)
            self._reconcile(self._index)
        return self._index

    def embed(self, prepared: Prepared) -> None:
        """Put the chunks' vectors in Chroma when an embedder serves; otherwise (or when it
        fails midway) the document is stored for BM25 only, with a warning that says why."""
        vectors = self.index()
        if vectors is None or self.embedder is None:
            return
        info = prepared.info
        calls = self.embedder.calls
        seen = len(calls)
        try:
            embs = self.embedder.embed_documents([indexed_text(c) for c in prepared.chunks])
            self._mark(info.id)
            vectors.add([c.id for c in prepared.chunks], embs,
                        [{"document_id": info.id, "index": c.index} for c in prepared.chunks])
        except EmbeddingUnavailable as e:
            info.warnings.append(f"stored for lexical search only: {e.reason}")
            return
        except StorageError:
            raise
        except Exception as e:  # noqa: BLE001 — a vector index failure must not lose the document
            self.drop([info.id])
            info.warnings.append(f"stored for lexical search only: the vector index failed ({e})")
            return
        finally:
            if len(calls) > seen:
                self._costs = self._costs or CostTracker(self.settings)
                record_embeddings(self.settings, calls[seen:], self.embedder.model,
                                  service="sop-engine", operation="embed_documents",
                                  tracker=self._costs)
        info.embedded = True

    def abandon(self, document_id: str) -> None:
        """The document's transaction failed: drop its vectors, then its marker (kept for the
        next open's sweep when the drop failed)."""
        if self.drop([document_id]):
            with contextlib.suppress(sqlite3.Error):
                self._forget([document_id])

    def drop(self, document_ids: Sequence[str]) -> bool:
        """Remove the documents' vectors (every model's); False when that failed."""
        if not document_ids:
            return True
        try:
            if self._index is not None:
                self._index.delete_documents(document_ids)
            else:
                delete_from_all(self.dir / "chroma", document_ids)
        except Exception:  # noqa: BLE001 — orphans are harmless: search keeps SQLite's ids only
            return False
        return True

    def dense(self, text: str, depth: int, docs: dict[str, DocumentInfo],
              allowed: set[str] | None) -> tuple[list[str], Literal["hybrid", "bm25"], str | None]:
        """Chunk ids nearest to `text` among `allowed` documents, with the mode and a note."""
        if self.embedder is None:
            return [], "bm25", "embeddings are switched off (LEXIQUERY_EMBEDDINGS=0)"
        ok, why = self.embedder.available()
        if not ok:
            return [], "bm25", why
        embedded = [i for i, d in docs.items() if d.embedded]
        if not embedded:
            return [], "bm25", ("no stored document has embeddings yet" if docs else
                                "no documents are stored")
        vectors = self.index()
        if vectors is None:
            return [], "bm25", self.embedder.available()[1]
        try:
            qv = self.embedder.embed_query(text)
            scope = sorted(allowed & set(embedded)) if allowed is not None else None
            found = vectors.query(qv, depth, document_ids=scope)
        except EmbeddingUnavailable as e:
            return [], "bm25", e.reason
        except Exception as e:  # noqa: BLE001 — a broken vector index degrades to lexical
            return [], "bm25", f"the vector index failed ({e})"
        missing = len(docs) - len(embedded)
        note = f"{missing} document(s) have no embeddings and are ranked lexically only" \
            if missing else None
        return [cid for cid, _ in found], "hybrid", note

    def close(self) -> None:
        if self._costs is not None:
            self._costs.close()
            self._costs = None


__all__ = ["PENDING", "StoreVectors", "clear_pending"]
