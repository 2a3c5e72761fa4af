"""The journey: question → plan → knowledge → one query per platform → validation → answer.

The orchestrator moves a journey through PENDING → DISCOVERING → PLANNING →
GATHERING_KNOWLEDGE → GENERATING_QUERIES → VALIDATING → COMPLETED | FAILED, stores every
transition with its time, and does its work through agents: the planner, the knowledge agents
(runbooks, known errors), one data agent per platform (called in parallel) and the validator.
It reaches them through `AgentHandle`s from `registry.directory` — in-process by default, over A2A
when `settings.agents == "registry"` — and cannot tell which: it never imports a protocol.

Every agent call has a timeout (`agent_timeout_s`) and is retried with backoff when the agent
could not be reached (`agent_retries`, tenacity). A data agent that fails costs the answer that
platform only: the answer says which platform failed and why (`failed_platforms`, issues).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence, TypeVar

from pydantic import BaseModel, ValidationError

from lexiquery.agents import contracts as c
from lexiquery.agents.resources import Resources
from lexiquery.answer import AgentCall, Answer, GeneratedQuery, JourneyState, Knowledge
from lexiquery.catalog.model import Catalog, Platform
from lexiquery.config import Settings, get_settings
from lexiquery.cost.model import JourneyCost
from lexiquery.dialects import sql_dialect_name
from lexiquery.engine.explain import describe_plan
from lexiquery.errors import (
    AgentError,
    InputError,
    LexiQueryError,
    QuestionError,
    StorageError,
    UnknownFieldError,
)
from lexiquery.ir import PlanIssue, Severity
from lexiquery.journeys import JourneyStore
from lexiquery.registry.directory import agent_handles
from lexiquery.user_input import clean_question, user_text

if TYPE_CHECKING:
    from lexiquery.agents.contracts import GenerateResult, KnowledgeContext, PlanResult
    from lexiquery.agents.handles import AgentHandle
    from lexiquery.engine.sandbox import Sandbox
    from lexiquery.knowledge.known_errors.base import KnownErrorBase
    from lexiquery.knowledge.store import ProcedureStore

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


# ---- the journey ------------------------------------------------------------------------------


def ask(question: str, **kwargs: Any) -> Answer:
    """Answer one question with checked queries for each platform (see `ask_async` for the
    arguments). Runs the journey on its own event loop; called from inside a running loop (a
    synchronous tool of an async server) it runs that loop in a worker thread."""
    out: list[Answer] = []

    async def journey() -> None:
        # The answer leaves through `out`, not as the task's result: asyncio.run's signal
        # handling formats the main task's repr on the way out, and an Answer's repr costs ~1 ms.
        out.append(await ask_async(question, **kwargs))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(journey())
        return out[0]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, journey()).result()
    return out[0]


async def ask_async(question: str, *, platforms: Iterable[Platform | str] | None = None,
                    sql_dialect: str | None = None, catalog: Catalog | None = None,
                    catalog_files: Sequence[Path | str] = (), source: str | None = None,
                    settings: Settings | None = None, store: bool = True,
                    sample_check: bool | None = None, sandbox: "Sandbox | None" = None,
                    sop: bool | None = None, procedures: "ProcedureStore | None" = None,
                    known_errors: "KnownErrorBase | None" = None,
                    context: str | None = None,
                    resources: "Resources | None" = None) -> Answer:
    """Answer one question with checked queries for each platform.

    Raises `InputError` for unusable input (nothing is stored) and `QuestionError` when the
    catalog knows nothing the question names (the journey is stored as FAILED; the error carries
    the closest sources), `AgentError` when the planner or every data agent could not be
    reached. A platform whose data agent failed is named in `failed_platforms`; everything else
    about a platform becomes issues on its query.

    With `sample_check` (default: the `sample_check` setting) every valid query is parsed back
    and executed on sample data in VALIDATING; pass a `sandbox` to reuse one across questions
    (the batch mode does). With `sop` (default: the `sop` setting) the stored runbooks and the
    known-errors base refine the plan in GATHERING_KNOWLEDGE; the answer's `citations` and
    `knowledge` say what they changed. Pass `procedures` / `known_errors` to reuse them across
    questions. `context` (free text: the incident, the tenant, an error message) is searched
    with the question in the runbooks and the known-errors base; it never becomes part of the
    question's reading. `catalog` / `catalog_files` are used by in-process agents; remote agents
    read the persisted catalog of their own data directory. A server passes its long-lived
    `resources` instead (then `catalog`, `procedures`, `known_errors` and `sandbox` are its)."""
    settings = settings or get_settings()
    text = clean_question(question, settings.max_question_chars)
    extra = None if not context or not context.strip() else \
        user_text(context, "context", settings.max_question_chars, long_hint="shorten the context")
    dialect = sql_dialect_name(sql_dialect or settings.sql_dialect)
    try:
        wanted = [Platform(p) if isinstance(p, str) else p for p in platforms or []]
    except ValueError as e:
        raise InputError(f"{e}; platforms are kql, spl and sql") from e

    answer = Answer(journey_id=uuid.uuid4().hex, question=text)
    journeys = _open_journeys(settings, answer) if store else None
    res = resources or Resources(settings, catalog=catalog,
                                 catalog_files=[Path(p) for p in catalog_files],
                                 procedures=procedures, known_errors=known_errors,
                                 sandbox=sandbox)
    answer.move(JourneyState.PENDING)
    try:
        journey = _Journey(settings, answer, res)
        await journey.run(text, extra, wanted, source, dialect,
                          sop=settings.sop if sop is None else sop,
                          sample_check=settings.sample_check if sample_check is None
                          else sample_check)
    except LexiQueryError as e:
        answer.issues.append(PlanIssue(code=e.code, message=e.message, severity=Severity.error))
        answer.move(JourneyState.FAILED)
        if journeys:
            try:
                journeys.save(answer)
            except StorageError:
                pass  # the error being raised matters more than its record
        e.journey_id = answer.journey_id  # type: ignore[attr-defined]
        raise
    finally:
        if resources is None:
            res.close()
    if journeys:
        try:
            journeys.save(answer)
        except StorageError as e:
            # A full disk or a locked database must not cost the user the answer they waited for.
            answer.issues.append(PlanIssue(code="not_stored", severity=Severity.warning,
                                           message=f"the journey was not saved: {e.message}"))
    return answer


def _open_journeys(settings: Settings, answer: Answer):  # type: ignore[no-untyped-def]

    try:
        return JourneyStore(settings.db_path)
    except StorageError as e:  # a corrupt or unwritable store must not block the answer
        answer.issues.append(PlanIssue(code="not_stored", severity=Severity.warning,
                                       message=f"the journey was not saved: {e.message}"
                                               + (f" ({e.hint})" if e.hint else "")))
        return None


class _Journey:
    """One journey's agent calls, with their trace in `answer.agents`."""

    def __init__(self, settings: Settings, answer: Answer, res: Any) -> None:
        self.settings = settings
        self.answer = answer
        self.res = res
        self.handles: dict[str, "AgentHandle"] = {}

    async def run(self, text: str, extra: str | None, wanted: list[Platform],
                  source: str | None, dialect: str, *, sop: bool, sample_check: bool) -> None:
        answer = self.answer
        answer.move(JourneyState.DISCOVERING)
        catalog = self.res.catalog()
        if source is not None and source not in catalog:
            raise QuestionError(f"unknown source {source!r}", closest_sources=catalog.ids()[:5])
        self.handles = agent_handles(self.settings, self.res)

        answer.move(JourneyState.PLANNING)
        plan = await self.call(c.PLANNER, "create_plan", c.PlanRequest(
            question=text, platforms=wanted, source=source, sop=sop, context=extra,
            journey_id=answer.journey_id), c.PlanResult)
        if plan.draft is not None:
            answer.engine_note = plan.draft.engine_note  # `engine` comes with the queries

        knowledge = None
        if plan.gather_procedures or plan.gather_errors:
            answer.move(JourneyState.GATHERING_KNOWLEDGE)
            knowledge = await self.gather(plan)
        else:
            answer.knowledge = Knowledge(mode="off",
                                         note="runbooks and known errors not used (--no-sop)")

        answer.move(JourneyState.GENERATING_QUERIES)
        request = c.GenerateRequest(question=text, draft=plan.draft, pinned=source,
                                    sql_dialect=dialect, knowledge=knowledge)
        outcomes = await asyncio.gather(*(self.generate(p, request) for p in plan.platforms))
        written = {p: r for p, r in zip(plan.platforms, outcomes) if not isinstance(r, Exception)}
        failed = {p: r for p, r in zip(plan.platforms, outcomes) if isinstance(r, Exception)}
        if not written:
            raise _no_query(failed)
        primary = next(iter(written.values()))
        src = catalog.get(primary.plan.source)
        self._record_plan(primary, written, knowledge, source)
        answer.understanding = (describe_plan(primary.plan, src) if src else []) + [
            ch[0].upper() + ch[1:] + "." for ch in primary.changes]
        unknown = [i for i in primary.plan.issues if i.code == "unknown_field"]
        if unknown:
            raise UnknownFieldError(
                "; ".join(i.message for i in unknown),
                issues=[i.model_dump(mode="json") for i in unknown],
                hint=f"`lexiquery catalog show {primary.plan.source}` lists its fields")
        queries = _drop_unbound_defaults(answer, [r.query for r in written.values()],
                                         explicit=plan.explicit)

        answer.move(JourneyState.VALIDATING)
        checked = await self.validate(queries, primary, sample_check)
        for p, e in failed.items():
            checked.append(_failed_query(p, e, primary.plan.source, dialect))
            answer.failed_platforms.append(p.value)
            answer.issues.append(PlanIssue(code="platform_failed", severity=Severity.warning,
                                           message=f"no {p.value.upper()} query: {e}"))
        order = {p.value: i for i, p in enumerate(plan.platforms)}
        answer.queries = sorted(checked, key=lambda q: order.get(q.platform, len(order)))
        made = plan.model_calls + (knowledge.procedures.model_calls
                                   if knowledge is not None and knowledge.procedures else 0)
        answer.cost = await asyncio.to_thread(self._cost) if made else \
            _no_cost(answer.journey_id)  # nothing to read back
        answer.move(JourneyState.COMPLETED)

    # -- steps ---------------------------------------------------------------------------------

    def _cost(self) -> "JourneyCost":
        """The journey's model calls as the agents recorded them (in this process, or another
        sharing the cost store); from this process's own records when the store cannot
        answer — an answer is never lost to its bill."""
        return self.res.costs().journey_cost(self.answer.journey_id)

    async def gather(self, plan: "PlanResult") -> "KnowledgeContext":
        """GATHERING_KNOWLEDGE: both knowledge agents at once. A knowledge agent that fails
        costs the answer its knowledge, not the answer."""
        async def nothing() -> None:
            return None

        sop, errs = await asyncio.gather(
            self.call(c.KNOWLEDGE_SOP, "search_procedures",
                      c.SearchRequest(text=plan.lookup, journey_id=self.answer.journey_id),
                      c.ProcedureSearch) if plan.gather_procedures else nothing(),
            self.call(c.KNOWLEDGE_ERRORS, "lookup_known_errors",
                      c.LookupRequest(text=plan.lookup), c.KnownErrorLookup)
            if plan.gather_errors else nothing(),
            return_exceptions=True)
        notes = []
        for what, r in (("runbook search", sop), ("known-errors lookup", errs)):
            if isinstance(r, LexiQueryError):
                notes.append(f"the {what} failed: {r.message}")
            elif isinstance(r, BaseException):
                raise r
        return c.KnowledgeContext(
            procedures=sop if isinstance(sop, c.ProcedureSearch) else None,
            mentions=errs.mentions if isinstance(errs, c.KnownErrorLookup) else [],
            note="; ".join(notes) or None)

    async def generate(self, platform: Platform, request: BaseModel) -> "GenerateResult | LexiQueryError":
        try:
            return await self.call(c.data_agent(platform.value), "generate_query", request,
                                   c.GenerateResult)
        except LexiQueryError as e:
            return e

    async def validate(self, queries: list[GeneratedQuery], primary: "GenerateResult",
                       sample_check: bool) -> list[GeneratedQuery]:
        """VALIDATING. A validator that cannot be reached leaves the queries unvalidated (and
        says so) rather than withholding them."""
        if not queries:
            return []
        try:
            result = await self.call(c.VALIDATOR, "validate_queries", c.ValidateRequest(
                queries=queries, plan=primary.plan, confidence=primary.confidence,
                sample_check=sample_check), c.ValidateResult)
        except AgentError as e:
            note = PlanIssue(code="not_validated", severity=Severity.warning,
                             message=f"not validated: {e.message}")
            self.answer.issues.append(note)
            return [q.model_copy(update={"issues": [*q.issues, note]}) for q in queries]
        self.answer.agreement = result.agreement
        return list(result.queries)

    def _record_plan(self, primary: "GenerateResult", written: dict[Platform, "GenerateResult"],
                     knowledge: "KnowledgeContext | None", source: str | None) -> None:
        answer = self.answer
        answer.plan = primary.plan
        answer.engine = primary.engine
        answer.notes = list(primary.notes)
        answer.alternatives = [] if source else list(primary.alternatives)
        answer.issues += list(primary.plan.issues)
        differ = [p.value.upper() for p, r in written.items() if r.plan != primary.plan]
        if differ:  # the data agents never disagree silently
            answer.issues.append(PlanIssue(
                code="plans_differ", severity=Severity.warning,
                message=f"the {', '.join(differ)} agent{'s' if len(differ) > 1 else ''} wrote "
                        "from a different plan than the one shown"))
        if knowledge is not None:
            p = knowledge.procedures
            answer.citations = list(primary.citations)
            answer.knowledge = Knowledge(
                mode=p.mode if p else "off",
                note="; ".join(n for n in (p.note if p else None, knowledge.note) if n) or None,
                searched_documents=p.documents if p else 0, changes=list(primary.changes),
                known_errors=list(primary.known_errors))

    # -- one call --------------------------------------------------------------------------------

    async def call(self, name: str, skill: str, request: BaseModel, output: type[M]) -> M:
        """One agent call with its timeout, retries and trace entry; the reply checked against
        the skill's contract. Raises the agent's own LexiQueryError, or AgentError."""
        # deferred: tenacity loads only when a call is retried
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

        handle = self.handles[name]
        payload = request.model_dump(mode="json")
        started, attempts, error = time.perf_counter(), 0, None
        try:
            try:
                attempts += 1
                data = await self._once(handle, skill, payload)
            except AgentError as e:
                if not _worth_retrying(e) or self.settings.agent_retries == 0:
                    raise
                # Retried with backoff only once a call has failed: the retry machinery costs
                # ~0.2 ms a call, which every in-process journey would otherwise pay 7 times.
                await asyncio.sleep(0.1)  # the first backoff; tenacity waits between the rest
                async for attempt in AsyncRetrying(
                        stop=stop_after_attempt(self.settings.agent_retries),
                        wait=wait_exponential(multiplier=0.1, min=0.1, max=1.0),
                        retry=retry_if_exception(_worth_retrying), reraise=True):
                    with attempt:
                        attempts += 1
                        data = await self._once(handle, skill, payload)
            try:
                return output.model_validate(data)
            except ValidationError as e:
                raise AgentError(f"the {name} agent's {skill} reply does not fit its contract: "
                                 f"{e.errors()[0].get('msg')}", agent=name,
                                 code="agent_bad_reply") from e
        except LexiQueryError as e:
            error = e.message
            raise
        finally:
            self.answer.agents.append(AgentCall(
                agent=name, skill=skill, where=handle.where, attempts=attempts, ok=error is None,
                elapsed_ms=round((time.perf_counter() - started) * 1000, 2), error=error))

    async def _once(self, handle: "AgentHandle", skill: str,
                    payload: dict[str, Any]) -> dict[str, Any]:
        timeout = self.settings.agent_timeout_s
        where = "" if handle.where == "local" else f" at {handle.where}"
        try:
            return await asyncio.wait_for(handle.call(skill, payload), timeout)
        except TimeoutError as e:
            raise AgentError(f"the {handle.name} agent{where} did not answer within "
                             f"{timeout:g} s", agent=handle.name, code="agent_timeout",
                             hint="raise LEXIQUERY_AGENT_TIMEOUT_S, or check the agent") from e
        except LexiQueryError:
            raise
        except Exception as e:  # noqa: BLE001 — an agent's bug costs its part, not the journey
            log.exception("agent %s failed", handle.name)
            raise AgentError(f"the {handle.name} agent{where} failed: {e!r}", agent=handle.name,
                             code="agent_failed") from e


def _no_cost(journey_id: str) -> "JourneyCost":
    return JourneyCost(journey_id=journey_id)


def _worth_retrying(e: BaseException) -> bool:
    """Only a connection that failed: a timeout would double the wait, and a refusal or a
    broken contract gives the same answer again."""
    return isinstance(e, AgentError) and e.retryable and e.code != "agent_timeout"


def _no_query(failed: dict[Platform, LexiQueryError]) -> LexiQueryError:
    """The error of a journey with no query at all: the agents' own refusal (an unanswerable
    question reads the same from every agent), or every agent's failure."""
    for e in failed.values():
        if not isinstance(e, AgentError):
            return e
    return AgentError("no data agent answered: " + "; ".join(
        f"{p.value.upper()}: {e.message}" for p, e in failed.items()),
        hint="check the agents with `lexiquery up` or GET /health")


def _failed_query(platform: Platform, e: LexiQueryError, source: str,
                  dialect: str) -> GeneratedQuery:
    return GeneratedQuery(
        platform=platform.value, dialect=dialect if platform is Platform.sql else platform.value,
        query="", valid=False, confidence=0.0, source=source,
        issues=[PlanIssue(code="agent_failed", severity=Severity.error, message=e.message)])


def _drop_unbound_defaults(answer: Answer, queries: list[GeneratedQuery], *,
                           explicit: bool) -> list[GeneratedQuery]:
    """Platforms the user did not ask for by name are left out when the plan needs a field that
    platform does not have; the answer says so. Asked for by name, the invalid query stays."""
    if explicit:
        return queries
    kept = []
    for q in queries:
        errors = [i for i in q.issues if i.severity is Severity.error]
        if errors and all(i.code == "not_bound" for i in errors):
            answer.issues.append(PlanIssue(
                code="platform_skipped", severity=Severity.info,
                message=f"no {q.platform.upper()} query: " + "; ".join(i.message for i in errors)))
        else:
            kept.append(q)
    return kept
