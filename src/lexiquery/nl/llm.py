"""Question → QueryPlan with the local LLM: narrowed schema, worked examples, structured
output, validation, at most `settings.llm_repairs` repairs.

    await plan_with_llm(question, catalog, chat=OllamaChat(settings), settings=settings,
                        examples=select_examples(...), hint=None, on_call=record) -> LlmPlan

Contract:

* `LlmPlan.parsed` is a `ParsedQuestion` whose plan names a catalog source and only names
  `agents.validator.check_names` accepts — or None, and then `reason` says why in words the
  answer can show ("the chat model llama3 is not installed … (run `ollama pull llama3`)",
  "the LLM's plan was still invalid after 2 repairs: …"). The caller then uses the rules
  engine's plan; nothing here raises for a failed model.
* An unavailable model (off, unreachable, missing — cached, see `llm.client`) costs no call.
  A `ChatFailed` (timeout, connection, 404) ends the attempt at once: no repair of a call that
  did not answer.
* Every call is reported through `on_call(reply, operation, error)`: operation "plan" for the
  first call, "repair" for the others; `reply` None and `error` the reason when it failed
  (`chat.last_latency_ms` then holds how long it took). This is where usage is recorded (the
  cost tracker's rows).
* Confidence of an LLM plan is fixed and moderate (0.8), minus 0.1 per repair: the model's
  answer passed every check we have, but nothing measured how well it read the question.
* The answer is JSON from outside: it is size- and depth-bounded (`limits.loads_bounded`,
  `MAX_ANSWER_CHARS`, `limits.MAX_JSON_DEPTH`) before pydantic parses it. An answer past either
  bound takes the path of any unreadable answer (a repair, then the rules fallback with the
  reason), and only its beginning is echoed back to the model in the repair request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lexiquery.catalog.model import Catalog
from lexiquery.config import Settings
from lexiquery.dialects.name_check import check_names
from lexiquery.errors import InputError
from lexiquery.ir import QueryPlan, Severity, question_plan_schema
from lexiquery.limits import loads_bounded
from lexiquery.llm.client import ChatFailed, ChatReply, OllamaChat
from lexiquery.nl.examples import Example, select_examples
from lexiquery.nl.narrow import narrow
from lexiquery.nl.prompts import build_messages, repair_message
from lexiquery.nl.rules import ParsedQuestion

BASE_CONFIDENCE = 0.8
REPAIR_PENALTY = 0.1
MAX_ISSUES = 8  # sent back per repair: enough to fix, short enough for a small model
MAX_ANSWER_CHARS = 64 * 1024  # a plan is a few hundred characters; far more is a runaway model
ECHO_CHARS = 2_000  # of an oversized answer, what the repair request quotes back

OnCall = Callable[[ChatReply | None, str, str | None], None]
_TIMES = {1: "once", 2: "twice"}


@dataclass
class LlmPlan:
    """What the LLM path produced. `calls` counts chat requests made (failed ones too),
    `repairs` the repair requests among them, `prompt_chars` the characters of each request's
    messages (for the benchmark and logs)."""

    parsed: ParsedQuestion | None
    repairs: int = 0
    calls: int = 0
    reason: str | None = None
    prompt_chars: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # the narrowed sources sent

    @property
    def engine(self) -> str:
        """Which engine the plan comes from: "llm", or "rules" (the caller's fallback)."""
        return "llm" if self.parsed is not None else "rules"


def check_answer(content: str, catalog: Catalog, allowed: Sequence[str],
                 hint: str | None = None) -> tuple[QueryPlan | None, list[str]]:
    """(plan, []) when `content` is a valid plan over `catalog`; else (plan or None, issues)."""
    try:
        loads_bounded(content, what="the answer", max_bytes=MAX_ANSWER_CHARS)
    except InputError as e:
        return None, [f"{e.message}; answer with one JSON object, the plan only"]
    try:
        plan = QueryPlan.model_validate_json(content)
    except ValidationError as e:
        issues = [f"{'.'.join(str(p) for p in err['loc']) or 'plan'}: {err['msg']}"
                  for err in e.errors()[:MAX_ISSUES]]
        return None, issues
    src = catalog.get(plan.source)
    if src is None:
        return plan, [f"unknown source '{plan.source}'; use one of: {', '.join(allowed)}"]
    if hint is not None and plan.source != hint:
        return plan, [f"the question is about source '{hint}', not '{plan.source}'"]

    issues = [i.message for i in check_names(plan, src) if i.severity is Severity.error]
    return plan, issues[:MAX_ISSUES]


async def plan_with_llm(question: str, catalog: Catalog, *, chat: OllamaChat,
                        settings: Settings, examples: Sequence[Example] | None,
                        hint: str | None = None,
                        on_call: OnCall | None = None,
                        procedures: Any = None, journeys: Any = None) -> LlmPlan:
    """A plan for `question` written by the chat model (see the module doc).

    `examples` None: the `settings.llm_examples` most similar ones are selected here, over the
    narrowed sources (from `procedures` and `journeys` too when given) — one narrowing per
    question instead of two."""
    report = on_call or (lambda reply, op, err: None)
    avail = await chat.aavailability()
    if not avail.ok:
        return LlmPlan(None, reason=avail.reason)
    narrowed = narrow(question, catalog, max_sources=settings.llm_max_sources, hint=hint)
    if examples is None:
        examples = select_examples(question, catalog, k=settings.llm_examples,
                                   procedures=procedures, journeys=journeys,
                                   sources=narrowed.sources)
    messages = build_messages(question, narrowed.text, examples)
    schema = question_plan_schema()
    out = LlmPlan(None, sources=narrowed.sources)
    first_issues: list[str] = []
    issues: list[str] = []
    for attempt in range(settings.llm_repairs + 1):
        op = "plan" if attempt == 0 else "repair"
        out.prompt_chars.append(sum(len(m["content"]) for m in messages))
        out.calls += 1
        out.repairs = attempt
        try:
            reply = await chat.chat(messages, format=schema)
        except ChatFailed as e:
            report(None, op, e.reason)
            out.reason = e.reason
            return out
        report(reply, op, None)
        plan, issues = check_answer(reply.content, catalog, narrowed.sources, hint)
        if not issues and plan is not None:
            out.parsed = _parsed(plan, chat.model, attempt, first_issues, narrowed.sources)
            return out
        first_issues = first_issues or issues
        src = catalog.get(plan.source) if plan is not None else None
        messages = [*messages, {"role": "assistant", "content": _echo(reply.content)},
                    {"role": "user", "content": repair_message(
                        issues, [f.name for f in src.fields] if src else None,
                        src.id if src else None)}]
    n = settings.llm_repairs
    out.reason = (f"the LLM's plan was still invalid after {n} repair{'s' if n != 1 else ''}: "
                  + "; ".join(issues[:3]))
    return out


def _echo(content: str) -> str:
    """The answer as the repair request quotes it: an oversized one only by its beginning."""
    if len(content) <= MAX_ANSWER_CHARS:
        return content
    return f"{content[:ECHO_CHARS]} … [cut: the answer was {len(content):,} characters]"


def _parsed(plan: QueryPlan, model: str, repairs: int, first_issues: list[str],
            sources: list[str]) -> ParsedQuestion:
    notes = [f"plan written by the LLM ({model})", f"source chosen by the LLM: {plan.source}"]
    if repairs:
        times = _TIMES.get(repairs, f"{repairs} times")
        notes.append(f"repaired {times}: " + "; ".join(first_issues[:3]))
    if plan.time_range is None:
        notes.append("no time range given")
    conf = max(0.1, BASE_CONFIDENCE - REPAIR_PENALTY * repairs)
    return ParsedQuestion(plan=plan, confidence=round(conf, 2), notes=notes,
                          alternatives=[s for s in sources if s != plan.source])


__all__ = ["LlmPlan", "check_answer", "plan_with_llm"]
