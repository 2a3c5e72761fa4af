"""The cost store interface every backend implements (SQLite default, Redis second backend),
and the retention schedule they share."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

from lexiquery.cost.model import JourneyCost, UsageRecord

RETENTION_EVERY_S = 3600.0  # purge at most this often per process (it scans an index)


@runtime_checkable
class CostStore(Protocol):
    """The cost store interface (SQLite default, Redis second backend)."""

    def add(self, record: UsageRecord) -> None:
        """Keep one usage record (already filled in by the tracker)."""
        ...

    def records(self, journey_id: str) -> list[UsageRecord]:
        """The journey's records, oldest first ([] for an unknown journey)."""
        ...

    def summary(self, journey_id: str) -> JourneyCost | None:
        """The journey's totals and breakdowns; None when it has no record."""
        ...

    def recent(self, limit: int = 20) -> list[JourneyCost]:
        """Summaries of the `limit` journeys with the newest last record, newest first."""
        ...

    def purge(self, older_than: datetime) -> int:
        """Remove every record older than `older_than`; the number removed."""
        ...

    def ping(self) -> None:
        """Raise `StorageError` (with a hint) when the store cannot be used now."""
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


class Retention:
    """Calls `purge(now - days)` at once and then at most every `every_s` seconds (`due()`)."""

    def __init__(self, days: float | None, purge: Callable[[datetime], int],
                 every_s: float = RETENTION_EVERY_S) -> None:
        self.days, self._purge, self.every_s = days, purge, every_s
        self._last: float | None = None
        self._lock = threading.Lock()

    def apply(self) -> int:
        """Purge now (no-op without a retention)."""
        self._last = time.monotonic()
        if self.days is None:
            return 0
        return self._purge(datetime.now(timezone.utc) - timedelta(days=self.days))

    def due(self) -> int:
        """Purge when the last purge is older than `every_s`; else nothing."""
        with self._lock:  # one purge per interval, even with many writing threads
            if self._last is not None and time.monotonic() - self._last < self.every_s:
                return 0
            self._last = time.monotonic()
        return self.apply()
