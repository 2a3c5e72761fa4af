"""Journey store: every question, its answer and its state transitions, in SQLite.

One file in the data directory (`Settings.db_path`). Writes are single transactions, so an
interrupted run leaves either the whole journey or none of it. WAL mode lets `history` read while
another process writes. The schema is versioned with `PRAGMA user_version`. The file (and its WAL)
is 0600 in a 0700 directory: questions and answers are the user's own.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from lexiquery.answer import Answer
from lexiquery.errors import StorageError
from lexiquery.private_files import private_sqlite

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS journeys (
    id          TEXT PRIMARY KEY,
    question    TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    source      TEXT,
    answer_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journeys_created ON journeys(created_at);
CREATE TABLE IF NOT EXISTS transitions (
    journey_id  TEXT NOT NULL REFERENCES journeys(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    state       TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (journey_id, seq)
);
"""


class JourneyStore:
    """Persist and read answers. Opens a short-lived connection per call (safe across threads
    and processes); raises `StorageError` with the file path when the database is unusable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            private_sqlite(path)  # 0600 in a 0700 directory, before SQLite creates it
            with closing(self._connect()) as db, db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > _SCHEMA_VERSION:
                    raise StorageError(
                        f"{path} was written by a newer LexiQuery (schema {version})",
                        hint="upgrade LexiQuery or point LEXIQUERY_DATA_DIR elsewhere")
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            raise StorageError(f"cannot open the journey store {path}: {e}",
                               hint="move the file aside or set LEXIQUERY_DATA_DIR") from e
        except OSError as e:
            raise StorageError(f"cannot create the data directory {path.parent}: {e}") from e

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def save(self, answer: Answer) -> None:
        source = answer.plan.source if answer.plan else None
        try:
            with closing(self._connect()) as db, db:
                db.execute(
                    "INSERT OR REPLACE INTO journeys VALUES (?, ?, ?, ?, ?, ?)",
                    (answer.journey_id, answer.question, answer.status.value,
                     answer.created_at.isoformat(), source, answer.model_dump_json()),
                )
                db.execute("DELETE FROM transitions WHERE journey_id = ?", (answer.journey_id,))
                db.executemany(
                    "INSERT INTO transitions VALUES (?, ?, ?, ?)",
                    [(answer.journey_id, i, t.state.value, t.at.isoformat())
                     for i, t in enumerate(answer.transitions)],
                )
        except sqlite3.DatabaseError as e:
            raise StorageError(f"cannot write to {self.path}: {e}") from e

    def get(self, journey_id: str) -> Answer | None:
        try:
            with closing(self._connect()) as db:
                row = db.execute("SELECT answer_json FROM journeys WHERE id = ?",
                                 (journey_id,)).fetchone()
        except sqlite3.DatabaseError as e:
            raise StorageError(f"cannot read {self.path}: {e}") from e
        return Answer.model_validate_json(row[0]) if row else None

    def recent(self, limit: int = 20) -> list[dict[str, str | None]]:
        """Newest first: id, created_at, status, source, question."""
        try:
            with closing(self._connect()) as db:
                rows = db.execute(
                    "SELECT id, created_at, status, source, question FROM journeys "
                    "ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        except sqlite3.DatabaseError as e:
            raise StorageError(f"cannot read {self.path}: {e}") from e
        keys = ("journey_id", "created_at", "status", "source", "question")
        return [dict(zip(keys, r)) for r in rows]

    def count(self) -> int:
        with closing(self._connect()) as db:
            return int(db.execute("SELECT COUNT(*) FROM journeys").fetchone()[0])
