"""The cost tracker: every model call goes through `CostTracker.record`, which fills in the
record's total and estimated cost, stores it and emits one structured log event.

Costing (`settings.cost_rates`, per model)::

    estimated_cost = per_1k_tokens × known tokens / 1000 + per_compute_s × compute_s

"Known tokens" is the total when known, else whatever count is known (a missing counter adds
nothing: it is unknown, not zero — the summary counts the call in `unknown_token_calls`). A
model is looked up with and without its ":latest" tag, so a rate for "llama3" prices
"llama3:latest"; a model without a rate costs 0.0.

The event "model_call" goes through structlog to the stdlib logger ``lexiquery.cost`` as one
JSON line — never to stdout (the MCP stdio server owns stdout), and structlog's global
configuration is left alone (the logger is wrapped once, lazily, on first use).

A store that fails is logged and never breaks the caller: a journey must not fail because a
cost row could not be written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lexiquery.cost.model import JourneyCost, UsageRecord
from lexiquery.cost.store import open_cost_store
from lexiquery.cost.summary import summarize as _summarize
from lexiquery.errors import StorageError

if TYPE_CHECKING:
    from lexiquery.config import Settings
    from lexiquery.cost.store import CostStore
    from lexiquery.llm.embeddings import EmbedCall

LOGGER_NAME = "lexiquery.cost"
EVENT = "model_call"
# A store that failed (would not open, or a write failed) is left alone this long: a dead
# Redis behind a firewall costs a connect timeout per try, which no model call should pay.
RETRY_AFTER_S = 30.0
KEEP_JOURNEYS = 256  # journeys whose records the tracker also keeps in memory (`journey_cost`)
log = logging.getLogger(LOGGER_NAME)

_event_logger: Any = None
_event_lock = threading.Lock()


def event_logger() -> Any:
    """The structlog logger of the "model_call" events, built once on first use. Wrapped
    around the stdlib logger (not `structlog.configure`) so that an application's own
    structlog set-up is not replaced by ours, and ours never writes to stdout."""
    global _event_logger
    with _event_lock:
        if _event_logger is None:
            # deferred: structlog loads only when a record is logged
            import structlog

            _event_logger = structlog.wrap_logger(
                logging.getLogger(LOGGER_NAME),
                wrapper_class=structlog.stdlib.BoundLogger,
                # filter_by_level first: an event the logger would drop is not rendered.
                processors=[structlog.stdlib.filter_by_level,
                            structlog.processors.TimeStamper(fmt="iso", utc=True,
                                                             key="logged_at"),
                            structlog.processors.JSONRenderer()],
                cache_logger_on_first_use=True)
        return _event_logger


def strip_latest(model: str) -> str:
    return model.removesuffix(":latest")


def rate_for(settings: "Settings", model: str) -> dict[str, float]:
    """The model's rate from `settings.cost_rates` ({} when none): an exact key first, then
    the names with ":latest" stripped on either side."""
    rates = settings.cost_rates
    if model in rates:
        return rates[model]
    bare = strip_latest(model)
    for name, rate in rates.items():
        if strip_latest(name) == bare:
            return rate
    return {}


def estimate_cost(record: UsageRecord, rate: dict[str, float]) -> float:
    """The record's cost at `rate` (see the module docstring); unknown parts cost nothing."""
    tokens = record.total_tokens
    if tokens is None:
        tokens = (record.prompt_tokens or 0) + (record.completion_tokens or 0)
    cost = rate.get("per_1k_tokens", 0.0) * tokens / 1000
    cost += rate.get("per_compute_s", 0.0) * (record.compute_s or 0.0)
    return round(cost, 12)


def completed(record: UsageRecord, settings: "Settings") -> UsageRecord:
    """`record` with `total_tokens` and `estimated_cost` filled in.

    An embedding produces no completion: its completion count is 0 by definition (not
    unknown), so its total is its prompt count. For a chat call the total is the sum when both
    counts are known, else None."""
    update: dict[str, Any] = {}
    completion = record.completion_tokens
    if record.model_type == "embedding" and completion is None and \
            record.prompt_tokens is not None:
        completion = update["completion_tokens"] = 0
    if record.prompt_tokens is not None and completion is not None:
        update["total_tokens"] = record.prompt_tokens + completion
    else:
        update["total_tokens"] = None
    filled = record.model_copy(update=update)
    filled.estimated_cost = estimate_cost(filled, rate_for(settings, record.model))
    return filled


class CostTracker:
    """Records usage for one process. `store`: where records go; None opens
    `open_cost_store(settings)` on the first record. A store that fails (will not open, or a
    write fails) is logged and left alone for `RETRY_AFTER_S`; the records meanwhile are
    logged, not stored. It also keeps
    the records of its last `KEEP_JOURNEYS` journeys in memory, so `journey_cost` can answer
    even when the store cannot. Thread-safe."""

    def __init__(self, settings: "Settings", store: "CostStore | None" = None) -> None:
        self.settings = settings
        self._store = store
        self._lock = threading.Lock()
        self._failed_at: float | None = None
        self._recent: OrderedDict[str, list[UsageRecord]] = OrderedDict()

    def store(self) -> "CostStore | None":
        """The store, opened on first use; None while it cannot be used (for `RETRY_AFTER_S`
        after a failure)."""
        with self._lock:
            if self._failed_at is not None:
                if time.monotonic() - self._failed_at < RETRY_AFTER_S:
                    return None
                self._failed_at = None
            if self._store is None:
                try:
                    self._store = open_cost_store(self.settings)
                except StorageError as e:
                    self._failing(e)
                    return None
            return self._store

    def _failing(self, e: Exception) -> None:
        """Log why records are not stored and leave the store alone for a while (caller
        holds the lock)."""
        self._failed_at = time.monotonic()
        message = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
        hint = getattr(e, "hint", None)
        log.warning("usage records are not stored for the next %.0f s: %s%s", RETRY_AFTER_S,
                    message, f" ({hint})" if hint else "")

    def record(self, rec: UsageRecord) -> UsageRecord:
        """Cost, store and log one model call; returns the filled-in record. Never raises for
        a store that fails (it is logged instead)."""
        filled = completed(rec, self.settings)
        if filled.journey_id is not None:
            with self._lock:
                self._recent.setdefault(filled.journey_id, []).append(filled)
                self._recent.move_to_end(filled.journey_id)
                while len(self._recent) > KEEP_JOURNEYS:
                    self._recent.popitem(last=False)
        try:
            event_logger().info(EVENT, **filled.model_dump(mode="json"))
        except Exception:  # a log handler's failure must not fail the journey
            log.exception("the model_call event could not be logged")
        store = self.store()
        if store is not None:
            try:
                store.add(filled)
            except Exception as e:  # noqa: BLE001 — a StorageError or a store's bug: go on
                with self._lock:
                    self._failing(e)
        return filled

    def journey_cost(self, journey_id: str) -> JourneyCost:
        """The journey's cost for its answer; never raises. From the store (which also holds
        the records other processes of the fleet wrote) — or, when the store cannot answer or
        holds fewer calls than this process made (writes that failed), from the records kept
        in memory. A journey without model calls costs nothing (an empty summary)."""
        with self._lock:
            local = _summarize(list(self._recent.get(journey_id, [])), journey_id)
        stored = None
        store = self.store()
        if store is not None:
            try:
                stored = store.summary(journey_id)
            except StorageError as e:
                with self._lock:
                    self._failing(e)
        if stored is None or stored.totals.calls < local.totals.calls:
            return local
        return stored

    @staticmethod
    def summarize(records: Iterable[UsageRecord], journey_id: str | None = None) -> JourneyCost:
        """Totals, by service and by model (see `cost.summary.summarize`)."""
        return _summarize(records, journey_id)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def record_embeddings(settings: "Settings", calls: "Sequence[EmbedCall]", model: str, *,
                      service: str, operation: str, journey_id: str | None = None,
                      tracker: "CostTracker | None" = None) -> None:
    """The embedding requests in `calls` (`llm.embeddings.EmbedCall`) as usage records:
    a query embedding costed to its journey, a runbook's ingestion to none."""
    if not calls:
        return

    own = tracker is None
    t = tracker or CostTracker(settings)
    try:
        for call in calls:
            t.record(UsageRecord(
                journey_id=journey_id, at=datetime.now(timezone.utc), model_type="embedding",
                model=model, service=service, operation=operation,
                prompt_tokens=call.prompt_tokens,
                completion_tokens=0 if call.prompt_tokens is not None else None,
                latency_ms=round(call.latency_s * 1000, 2),
                compute_s=call.total_ns / 1e9 if call.total_ns is not None else None))
    finally:
        if own:
            t.close()
