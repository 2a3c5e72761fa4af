"""Where usage records are kept: the SQLite default of `CostStore` (`cost.contract`), and
`open_cost_store`, which opens the backend the settings name.

Every store answers the same contract (tests/cost run one suite against each backend):

* `add(record)` keeps one record; `records(journey_id)` returns a journey's records in time
  order; `summary(journey_id)` is their `JourneyCost` (None: no such journey);
* `recent(limit)` lists journeys newest first (by their last record) — records outside any
  journey (`journey_id` None, e.g. `sop add` embeddings) are kept and purged but are no journey;
* `purge(older_than)` removes records older than the cut and says how many;
* `ping()` proves the store usable now; `close()` lets go of its connections.

Every failure is a `StorageError` with a hint, never a raw sqlite3/redis exception. Retention
(`settings.cost_retention_days`) is applied when a store opens and then at most once an hour
per process, on a write (`Retention`), so no background thread is needed.

Times: records carry aware datetimes; a naive `at` is read as UTC. Stores keep UTC microseconds.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from lexiquery.cost.contract import CostStore, Retention
from lexiquery.cost.model import JourneyCost, UsageRecord
from lexiquery.cost.summary import from_us, summarize, to_us
from lexiquery.errors import StorageError
from lexiquery.private_files import private_dir, private_sqlite

if TYPE_CHECKING:
    from lexiquery.config import Settings

SQLITE_BUSY_MS = 10_000  # the fleet's agents write to one file: wait for a lock, don't fail
T = TypeVar("T")


# ── SQLite ───────────────────────────────────────────────────────────────────────────────────

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    journey_id        TEXT,
    at                INTEGER NOT NULL,       -- UTC epoch microseconds (exact): order, retention
    model_type        TEXT NOT NULL,
    model             TEXT NOT NULL,
    service           TEXT NOT NULL,
    operation         TEXT NOT NULL,
    prompt_tokens     INTEGER,               -- NULL: the model did not say (unknown, not 0)
    completion_tokens INTEGER,
    total_tokens      INTEGER,
    latency_ms        REAL NOT NULL,
    compute_s         REAL,
    estimated_cost    REAL NOT NULL,
    ok                INTEGER NOT NULL,
    error             TEXT
);
CREATE INDEX IF NOT EXISTS usage_journey ON usage(journey_id, at);
CREATE INDEX IF NOT EXISTS usage_at ON usage(at);
"""
_COLUMNS = ("journey_id", "at", "model_type", "model", "service", "operation", "prompt_tokens",
            "completion_tokens", "total_tokens", "latency_ms", "compute_s", "estimated_cost",
            "ok", "error")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM usage"
_HINT = "move the file aside (a new one is created) or set LEXIQUERY_DATA_DIR"


def _row(record: UsageRecord) -> tuple[object, ...]:
    d = record.model_dump()
    d["at"] = to_us(record.at)
    d["ok"] = int(record.ok)
    return tuple(d[c] for c in _COLUMNS)


def _record(row: tuple[object, ...]) -> UsageRecord:
    d = dict(zip(_COLUMNS, row))
    d["at"] = from_us(d["at"])  # type: ignore[arg-type]
    d["ok"] = bool(d["ok"])
    return UsageRecord.model_validate(d)


class SqliteCostStore:
    """Usage records in one SQLite file (`settings.cost_db_path`), shared by every process of
    the fleet. WAL so readers never block the writer, a busy timeout so concurrent writers
    wait instead of failing; the schema version is kept in its own table, checked on open.

    One connection per thread, kept open: closing the last connection of a WAL file
    checkpoints it with an fsync, which made every model call pay ~5 ms (measured) when
    connections were per call. A connection that failed is dropped and the next call opens
    afresh (creating the schema when the file was moved aside); one inherited across a fork
    is never used.
    """

    def __init__(self, path: Path, *, retention_days: float | None = None) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._all_lock = threading.Lock()
        try:
            private_dir(self.path.parent)
        except OSError as e:
            raise StorageError(f"cannot create the directory of the cost store {self.path}: "
                               f"{e}", hint="set LEXIQUERY_DATA_DIR to a writable "
                                            "directory") from e
        self._call(lambda db: None, "open")  # connecting creates or checks the schema
        self.retention = Retention(retention_days, self.purge)
        self.retention.apply()

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None and self._local.pid == os.getpid():
            return db
        private_sqlite(self.path)  # 0600 before SQLite creates it (again, if moved aside)
        db = sqlite3.connect(self.path, timeout=SQLITE_BUSY_MS / 1000,
                             check_same_thread=False)  # used by its thread; closed by close()
        try:
            db.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
            db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL never corrupts the file; a power cut may lose the last rows — for
            # cost rows, better than an fsync per model call.
            db.execute("PRAGMA synchronous=NORMAL")
            with db:  # every new connection: a file moved aside is recreated, not an error
                self._create(db)
        except BaseException:
            db.close()
            raise
        self._local.db, self._local.pid = db, os.getpid()
        with self._all_lock:
            # Threads come and go (a worker per request in some servers): the connections of
            # the ones that ended are closed here, so they never pile up.
            ended = [c for t, c in self._all if not t.is_alive()]
            self._all = [(t, c) for t, c in self._all if t.is_alive()]
            self._all.append((threading.current_thread(), db))
        for c in ended:
            with contextlib.suppress(sqlite3.Error):
                c.close()
        return db

    def _drop(self) -> None:
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            with self._all_lock:
                self._all = [(t, c) for t, c in self._all if c is not db]
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def _call(self, work: Callable[[sqlite3.Connection], T], what: str) -> T:
        """`work` in one transaction; sqlite3 and OS errors become a `StorageError`."""
        try:
            db = self._connection()
            with db:
                return work(db)
        except StorageError:
            raise
        except (sqlite3.Error, OSError) as e:
            self._drop()
            raise StorageError(f"cannot {what} the cost store {self.path}: {e}",
                               hint=_HINT) from e

    def _create(self, db: sqlite3.Connection) -> None:
        db.executescript(_SCHEMA)
        # One statement, so two processes creating the file at once write one version row.
        db.execute("INSERT INTO schema_version SELECT ? WHERE NOT EXISTS "
                   "(SELECT 1 FROM schema_version)", (_SCHEMA_VERSION,))
        row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        if row[0] > _SCHEMA_VERSION:
            raise StorageError(f"{self.path} was written by a newer LexiQuery (cost schema "
                               f"{row[0]}, this one reads {_SCHEMA_VERSION})",
                               hint="upgrade LexiQuery or set LEXIQUERY_DATA_DIR elsewhere")

    def add(self, record: UsageRecord) -> None:
        self._call(lambda db: db.execute(
            f"INSERT INTO usage ({', '.join(_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(_COLUMNS))})", _row(record)), "write to")
        self.retention.due()

    def records(self, journey_id: str) -> list[UsageRecord]:
        rows = self._call(lambda db: db.execute(
            f"{_SELECT} WHERE journey_id = ? ORDER BY at, id", (journey_id,)).fetchall(), "read")
        return [_record(r) for r in rows]

    def summary(self, journey_id: str) -> JourneyCost | None:
        records = self.records(journey_id)
        return summarize(records, journey_id) if records else None

    def recent(self, limit: int = 20) -> list[JourneyCost]:
        def read(db: sqlite3.Connection) -> list[tuple[str, list[UsageRecord]]]:
            ids = [r[0] for r in db.execute(
                "SELECT journey_id FROM usage WHERE journey_id IS NOT NULL GROUP BY journey_id "
                "ORDER BY MAX(at) DESC, MAX(id) DESC LIMIT ?", (max(0, limit),))]
            return [(j, [_record(r) for r in db.execute(
                f"{_SELECT} WHERE journey_id = ? ORDER BY at, id", (j,))]) for j in ids]

        return [summarize(recs, j) for j, recs in self._call(read, "read")]

    def purge(self, older_than: datetime) -> int:
        cut = to_us(older_than)
        return int(self._call(lambda db: db.execute("DELETE FROM usage WHERE at < ?",
                                                    (cut,)).rowcount, "purge"))

    def ping(self) -> None:
        self._call(lambda db: db.execute("SELECT COUNT(*) FROM usage").fetchone(), "read")

    def close(self) -> None:
        """Close every thread's connection."""
        with self._all_lock:
            opened, self._all = [c for _, c in self._all], []
        for db in opened:
            with contextlib.suppress(sqlite3.Error):
                db.close()
        self._local = threading.local()


def open_cost_store(settings: "Settings") -> CostStore:
    """The store `settings.cost_backend` names, opened and with retention applied (so an
    unusable store fails here, as a `StorageError` with a hint)."""
    if settings.cost_backend == "redis":
        # deferred: the redis client (~0.1 s) loads only when the Redis backend is configured
        from lexiquery.cost.redis_store import RedisCostStore

        # deferred: the redis client is loaded only when the Redis backend is configured

        return RedisCostStore(settings.redis_url, retention_days=settings.cost_retention_days)
    return SqliteCostStore(settings.cost_db_path, retention_days=settings.cost_retention_days)
