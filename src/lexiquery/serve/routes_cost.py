"""The cost routes: what a journey's model calls cost, and the recent journeys' costs.

    GET /api/v1/cost/journey/{id}      → {summary, records} (404 unknown_journey: no record)
    GET /api/v1/cost/recent?limit=N    → journey summaries, newest first (1 ≤ N ≤ 200)

Sync endpoints on purpose: the stores block (SQLite, the Redis client), so FastAPI runs them on
its thread pool and the event loop never waits on them. The store is opened on first use and
kept; a store that cannot be opened (Redis down) is a 500 `storage_error` with the hint, and
the next request tries again. (No `from __future__ import annotations`: FastAPI reads the
annotations.)
"""

import threading
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lexiquery.config import Settings
from lexiquery.cost.model import JourneyCost, UsageRecord
from lexiquery.cost.store import CostStore, open_cost_store
from lexiquery.cost.summary import summarize

UNKNOWN_JOURNEY_HINT = "GET /api/v1/cost/recent lists the journeys with model calls (a journey " \
                       "the rules engine answered without Ollama has none)"


class JourneyCostResponse(BaseModel):
    summary: JourneyCost
    records: list[UsageRecord] = Field(description="The journey's model calls, oldest first")


def cost_router(settings: Settings) -> APIRouter:
    """The cost routes, reading the store `settings.cost_backend` names."""
    router = APIRouter()
    lock = threading.Lock()
    opened: list[CostStore] = []

    def store() -> CostStore:
        with lock:
            if not opened:
                opened.append(open_cost_store(settings))  # raises StorageError: not cached
            return opened[0]

    @router.get("/api/v1/cost/journey/{journey_id}", response_model=JourneyCostResponse,
                tags=["cost"], summary="One journey's model calls and their cost",
                responses={404: {"description": "No model call recorded for this journey"}})
    def journey_cost(journey_id: str) -> Any:
        records = store().records(journey_id)
        if not records:
            message = f"no cost records for journey {journey_id!r}"
            return JSONResponse({"error": "unknown_journey", "message": message,
                                 "hint": UNKNOWN_JOURNEY_HINT,
                                 "issues": [{"code": "unknown_journey", "message": message}]},
                                status_code=404)
        return JourneyCostResponse(summary=summarize(records, journey_id), records=records)

    @router.get("/api/v1/cost/recent", response_model=list[JourneyCost], tags=["cost"],
                summary="The cost of recent journeys, newest first")
    def recent_costs(limit: int = Query(20, ge=1, le=200)) -> Any:
        return store().recent(limit)

    return router
