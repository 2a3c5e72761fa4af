"""Usage records for the cost tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from lexiquery.cost.model import UsageRecord

# An hour ago (with microseconds, to prove they round-trip): recent enough that the default
# 30-day retention applied when a store opens keeps it.
T0 = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=123456)


def rec(journey_id: str | None = "j1", *, at: datetime | None = None, seconds: float = 0,
        **kw: Any) -> UsageRecord:
    """A chat call of the planner, `seconds` after T0 (or at `at`)."""
    fields: dict[str, Any] = dict(
        journey_id=journey_id, at=at or T0 + timedelta(seconds=seconds), model_type="llm",
        model="llama3:latest", service="planner", operation="plan", prompt_tokens=100,
        completion_tokens=20, total_tokens=120, latency_ms=250.0, compute_s=0.2,
        estimated_cost=0.001)
    fields.update(kw)
    return UsageRecord(**fields)


def embed(journey_id: str | None = "j1", *, seconds: float = 0, **kw: Any) -> UsageRecord:
    """An embedding call of the SOP knowledge agent."""
    fields: dict[str, Any] = dict(model_type="embedding", model="nomic-embed-text",
                                  service="knowledge-sop", operation="embed_query",
                                  prompt_tokens=8, completion_tokens=0, total_tokens=8,
                                  latency_ms=12.5, compute_s=0.01, estimated_cost=0.0)
    fields.update(kw)
    return rec(journey_id, seconds=seconds, **fields)
