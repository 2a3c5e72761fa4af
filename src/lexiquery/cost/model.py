"""What cost tracking records and reports (the contract every store and interface shares).

A `UsageRecord` is one model call. Token counts are the model's own, from Ollama's response
counters (`prompt_eval_count`, `eval_count`); a counter Ollama did not send is None — unknown,
never zero. `compute_s` is the model's compute time from Ollama's `total_duration` (the
"compute units" rates are priced in); `latency_ms` is the wall time we waited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ModelType = Literal["llm", "embedding"]


class UsageRecord(BaseModel):
    journey_id: str | None = Field(default=None, description="None: outside any journey "
                                                             "(e.g. `sop add` embeddings)")
    at: datetime
    model_type: ModelType
    model: str
    service: str = Field(description='Who called: the agent ("planner", "knowledge-sop") or '
                                     '"sop-engine" for ingestion')
    operation: str = Field(description='"plan", "repair", "embed_query", "embed_documents"')
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = Field(default=None, description="None when either count is "
                                                               "unknown")
    latency_ms: float
    compute_s: float | None = Field(default=None, description="Model compute seconds "
                                                              "(Ollama total_duration)")
    estimated_cost: float = Field(default=0.0, description="From the model's rate (settings)")
    ok: bool = True
    error: str | None = None


class Totals(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    unknown_token_calls: int = Field(default=0, description="Calls whose counts were missing "
                                                            "(not included in the sums)")
    latency_ms: float = 0.0
    compute_s: float = 0.0
    estimated_cost: float = 0.0


class JourneyCost(BaseModel):
    journey_id: str
    totals: Totals = Field(default_factory=Totals)
    by_service: dict[str, Totals] = Field(default_factory=dict)
    by_model: dict[str, Totals] = Field(default_factory=dict)
    first_at: datetime | None = None
    last_at: datetime | None = None
