"""Usage records → `JourneyCost`: totals and the breakdowns by service and by model.

One rule matters: an unknown count is never summed as zero. A record whose total is unknown
(a counter Ollama did not send) is counted in `unknown_token_calls`; whatever counts it does
have (say its prompt count) are still summed in their own column, so `total_tokens` can be less
than `prompt_tokens + completion_tokens` — the difference is what is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from lexiquery.cost.model import JourneyCost, Totals, UsageRecord


def utc(at: datetime) -> datetime:
    """`at` as an aware UTC datetime (naive times are taken to be UTC already)."""
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_us(at: datetime) -> int:
    """`at` as integer microseconds since the epoch (exact, unlike a float timestamp)."""
    return (utc(at) - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


def known_total(record: UsageRecord) -> int | None:
    """The record's total: as recorded, else the sum of both counts when both are known."""
    if record.total_tokens is not None:
        return record.total_tokens
    if record.prompt_tokens is not None and record.completion_tokens is not None:
        return record.prompt_tokens + record.completion_tokens
    return None


def add_to(totals: Totals, record: UsageRecord) -> None:
    """Count `record` into `totals` (in place)."""
    totals.calls += 1
    totals.prompt_tokens += record.prompt_tokens or 0  # None adds nothing: it is not a count
    totals.completion_tokens += record.completion_tokens or 0
    total = known_total(record)
    if total is None:
        totals.unknown_token_calls += 1
    else:
        totals.total_tokens += total
    totals.latency_ms += record.latency_ms
    totals.compute_s += record.compute_s or 0.0
    totals.estimated_cost += record.estimated_cost


def summarize(records: Iterable[UsageRecord], journey_id: str | None = None) -> JourneyCost:
    """The summary of `records` (one journey's). `journey_id` defaults to the first record's
    (and to "" when there is none)."""
    records = list(records)
    jid = journey_id if journey_id is not None else next(
        (r.journey_id for r in records if r.journey_id), "")
    cost = JourneyCost(journey_id=jid)
    for r in records:
        add_to(cost.totals, r)
        add_to(cost.by_service.setdefault(r.service, Totals()), r)
        add_to(cost.by_model.setdefault(r.model, Totals()), r)
    if records:
        cost.first_at = min(utc(r.at) for r in records)
        cost.last_at = max(utc(r.at) for r in records)
    # Floating sums of many small costs drift in the last digits; rates are never that precise.
    for t in (cost.totals, *cost.by_service.values(), *cost.by_model.values()):
        t.estimated_cost = round(t.estimated_cost, 9)
        t.latency_ms = round(t.latency_ms, 3)
        t.compute_s = round(t.compute_s, 6)
    return cost
