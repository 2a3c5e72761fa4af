"""The planner's LLM path: the question read into the IR by the local chat model (Ollama),
with the rules engine as the fallback and the embedded default.

`llm_draft` returns the LLM's draft, or None and the reason the rules engine's draft stands — a
missing server or model, the setting off, or a plan still invalid after its repairs. Every chat
call (repairs and failures included) becomes a usage record of the journey.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from lexiquery.agents.contracts import PLANNER, Draft, PlanRequest
from lexiquery.agents.resources import Resources
from lexiquery.cost.model import UsageRecord
from lexiquery.journeys import JourneyStore
from lexiquery.llm.client import OllamaChat
from lexiquery.nl.llm import plan_with_llm

if TYPE_CHECKING:
    from lexiquery.llm.client import ChatReply
    from lexiquery.nl.llm import LlmPlan
    from lexiquery.nl.rules import ParsedQuestion


def llm_draft(req: PlanRequest, rules: "ParsedQuestion | None",
              res: Resources) -> tuple[Draft | None, str, int]:
    """(the LLM's draft or None, the engine note saying what wrote the plan and why, the number
    of chat calls made)."""
    settings = res.settings
    if settings.llm == "off":
        return None, "rules engine (the LLM is off: LEXIQUERY_LLM=off)", 0

    chat = OllamaChat(settings)
    available = chat.availability()
    if not available.ok:
        return None, f"rules engine ({available.reason})", 0
    catalog = res.catalog()
    try:
        store = res.procedures()
    except Exception:  # noqa: BLE001 — a broken runbook store costs the examples, not the plan
        store = None
    tracker = res.costs()
    journeys = None
    if settings.db_path.exists():  # past journeys whose queries all validated are examples too

        try:
            journeys = JourneyStore(settings.db_path)
        except Exception:  # noqa: BLE001 — an unreadable journey store costs examples only
            journeys = None

    def on_call(reply: "ChatReply | None", operation: str, error: str | None) -> None:
        tracker.record(UsageRecord(
            journey_id=req.journey_id, at=datetime.now(timezone.utc), model_type="llm",
            model=reply.model if reply is not None and reply.model else settings.chat_model,
            service=PLANNER, operation=operation,
            prompt_tokens=reply.prompt_tokens if reply else None,
            completion_tokens=reply.completion_tokens if reply else None,
            latency_ms=reply.latency_ms if reply else (chat.last_latency_ms or 0.0),
            compute_s=reply.compute_s if reply else None, ok=error is None, error=error))

    async def plan() -> "LlmPlan":
        try:  # examples are chosen inside, over the narrowed sources (one narrowing)
            return await plan_with_llm(req.question, catalog, chat=chat, settings=settings,
                                       examples=None, procedures=store, journeys=journeys,
                                       hint=req.source, on_call=on_call)
        finally:
            await chat.aclose()  # on the loop its connections belong to

    # The planner runs in a worker thread (in-process or under the A2A server): no loop here.
    out = asyncio.run(plan())
    if out.parsed is None:
        return None, f"rules engine (the LLM's plan was not used: {out.reason})", out.calls
    parsed = out.parsed
    notes = list(parsed.notes)
    if rules is not None and rules.plan != parsed.plan:
        # The two engines never disagree silently.
        theirs = catalog.get(rules.plan.source)
        notes.append("the rules engine read the question differently"
                     + (f" (source {theirs.name})" if theirs and rules.plan.source !=
                        parsed.plan.source else "") + "; the LLM's plan is used")
    repaired = f", repaired {out.repairs}×" if out.repairs else ""
    return (Draft(plan=parsed.plan, engine="llm", confidence=parsed.confidence, notes=notes,
                  # The LLM names no runner-up sources; the rules engine's ranking does.
                  alternatives=[] if req.source else [
                      a for a in (rules.alternatives if rules else parsed.alternatives)
                      if a != parsed.plan.source],
                  engine_note=f"llm ({settings.chat_model}{repaired})"),
            f"llm ({settings.chat_model}{repaired})", out.calls)
