"""The procedure store's SQLite schema, and the migration that brings an older store up to date.

SQLite (`<data_dir>/sop/sop.db`) is the truth of the store; a store written by a newer LexiQuery
is refused rather than read wrongly.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lexiquery.errors import StorageError
from lexiquery.knowledge.ingest import indexed_text
from lexiquery.knowledge.lexical import tokenize
from lexiquery.knowledge.model import Chunk

SCHEMA_VERSION = 2  # 2: chunks.terms

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, origin TEXT NOT NULL, body TEXT NOT NULL, added_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS documents_origin ON documents(origin);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, body TEXT NOT NULL,
    terms TEXT NOT NULL);  -- the BM25 terms, space-separated: restarts skip the tokenizer
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
CREATE TABLE IF NOT EXISTS procedures (
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (document_id, idx));
"""


def migrate(db: sqlite3.Connection, where: Path) -> None:
    """Create the schema, or bring an older store up to date (a newer one is refused)."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    version = SCHEMA_VERSION
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        version = int(row[0]) if row else SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise StorageError(f"the procedure store in {where} was written by a newer "
                           f"LexiQuery (schema {version}; this one reads {SCHEMA_VERSION})",
                           hint="upgrade LexiQuery, or point LEXIQUERY_DATA_DIR elsewhere")
    if "chunks" in tables and version < 2:
        db.execute("ALTER TABLE chunks ADD COLUMN terms TEXT NOT NULL DEFAULT ''")
        rows = db.execute("SELECT id, body FROM chunks").fetchall()
        db.executemany("UPDATE chunks SET terms = ? WHERE id = ?", [
            (" ".join(tokenize(indexed_text(Chunk.model_validate_json(b)))), i)
            for i, b in rows])
    if tables >= {"meta", "documents", "chunks", "procedures"} and version == SCHEMA_VERSION:
        return  # current: opening writes nothing (a read-only data directory still reads)
    db.executescript(_SCHEMA)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
