"""The journey: question → plan → one query per platform → validation → stored answer.

This is the in-process orchestrator of the embedded default. It moves the journey through
PENDING → DISCOVERING → PLANNING → GATHERING_KNOWLEDGE → GENERATING_QUERIES → VALIDATING →
COMPLETED | FAILED and stores every transition. GATHERING_KNOWLEDGE searches the stored runbooks
and the known-errors base and lets them refine the plan (`knowledge.guidance`). (Agents over A2A
and the LLM path plug in here later; the orchestrator never imports a protocol.)
"""

from __future__ import annotations

import unicodedata
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from lexiquery.answer import Answer, GeneratedQuery, JourneyState, Knowledge
from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.config import Settings, get_settings
from lexiquery.errors import (
    InputError,
    LexiQueryError,
    PlanError,
    QuestionError,
    StorageError,
    UnknownFieldError,
)
from lexiquery.ir import PlanIssue, QueryPlan, Severity

if TYPE_CHECKING:
    from lexiquery.engine.sandbox import Sandbox
    from lexiquery.knowledge.guidance import Context
    from lexiquery.knowledge.known_errors import KnownErrorBase
    from lexiquery.knowledge.store import ProcedureStore
    from lexiquery.nl.rules import ParsedQuestion


def user_text(value: object, what: str, max_chars: int, *, empty_hint: str | None = None,
              long_hint: str) -> str:
    """`value` as stripped text, or `InputError`: undecodable bytes, not text, empty, or longer
    than `max_chars`. `what` names it in the messages ("question", "query")."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"the {what} is not UTF-8 text (binary data?)") from e
    if not isinstance(value, str):
        raise InputError(f"the {what} must be text, not {type(value).__name__}")
    text = value.strip().lstrip("\ufeff")
    if not text:
        raise InputError(f"the {what} is empty", hint=empty_hint)
    if len(text) > max_chars:
        raise InputError(f"the {what} is {len(text):,} characters long; the limit is "
                         f"{max_chars:,}", hint=long_hint)
    return text


def sql_dialect_name(value: str) -> str:
    """The SQL dialect, lower-cased, or `InputError` naming the ones there are."""
    from lexiquery.dialects import SQL_DIALECTS

    dialect = value.lower()
    if dialect not in SQL_DIALECTS:
        raise InputError(f"unknown SQL dialect {dialect!r}; choose one of: "
                         f"{', '.join(SQL_DIALECTS)}")
    return dialect


def clean_question(question: object, max_chars: int) -> str:
    """The question with surrounding white space removed, or `InputError` saying what is wrong.

    Refuses empty text, text over `max_chars`, and binary data (NUL or other control characters,
    undecodable bytes, or text with no letters at all)."""
    q = user_text(question, "question", max_chars,
                  empty_hint='ask e.g. "failed sign-ins in the last 24 hours"',
                  long_hint="ask one thing at a time, or raise LEXIQUERY_MAX_QUESTION_CHARS")
    controls = sum(1 for ch in q if unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn"}
                   and ch not in "\t\n\r")
    if controls or "\ufffd" in q:  # NUL and other control characters are category Cc
        raise InputError("the question contains binary or control characters",
                         hint="paste plain text")
    if not any(ch.isalpha() for ch in q):
        raise InputError("the question has no words in it",
                         hint='ask e.g. "failed sign-ins in the last 24 hours"')
    return " ".join(q.split())


def load_catalog(settings: Settings, catalog_files: Sequence[Path] = ()) -> Catalog:
    """Built-in sources, then the user's persisted imports, then `--catalog` files."""
    from lexiquery.catalog.store import load_catalog as _load

    return _load(settings.catalog_dir, list(catalog_files))


def _platforms_for(source: Source, requested: Iterable[Platform] | None) -> list[Platform]:
    bound = source.bindings.platforms()
    return list(dict.fromkeys(requested)) if requested else bound



def render_query(plan: QueryPlan, source: Source, platform: Platform, *,
                 sql_dialect: str) -> GeneratedQuery:
    """GENERATING_QUERIES for one platform: the query text, or an invalid query whose issues say
    why it could not be written. Never raises for plan problems."""
    from lexiquery.dialects import render

    dialect = sql_dialect if platform is Platform.sql else platform.value
    base = dict(platform=platform.value, dialect=dialect, source=source.id,
                target=source.target(platform), confidence=0.0)
    if getattr(source.bindings, platform.value) is None:
        issue = PlanIssue(code="not_bound", severity=Severity.error,
                          message=f"{source.name} is not available on {platform.value.upper()} "
                                  f"(bound on: {', '.join(p.value for p in source.bindings.platforms())})")
        return GeneratedQuery(query="", valid=False, issues=[issue], **base)
    try:
        text = render(plan, source, platform, sql_dialect=sql_dialect)
    except PlanError as e:
        issues = [PlanIssue(code=i.get("code", "plan_error"), message=i.get("message", str(e)),
                            severity=Severity.error, field=i.get("field")) for i in e.issues]
        return GeneratedQuery(query="", valid=False, issues=list(plan.issues) + issues, **base)
    return GeneratedQuery(query=text, valid=False, **base)


def check_query(query: GeneratedQuery, plan: QueryPlan, source: Source, *,
                confidence: float) -> GeneratedQuery:
    """VALIDATING for one rendered query: issues, validity, confidence, explanation."""
    from lexiquery.agents.validator import is_valid, validate_query
    from lexiquery.engine.explain import explain_for_platform

    if not query.query:
        return query  # could not be written; its issues already say why
    platform = Platform(query.platform)
    issues = validate_query(plan, source, platform, query.query, sql_dialect=query.dialect)
    valid = is_valid(issues)
    warnings = sum(1 for i in issues if i.severity is Severity.warning)
    conf = confidence * (0.85 ** warnings) if valid else 0.0
    return query.model_copy(update=dict(
        valid=valid, issues=issues, confidence=round(conf, 2),
        explanation=explain_for_platform(plan, source, platform)))


def generate_query(plan: QueryPlan, source: Source, platform: Platform, *, sql_dialect: str,
                   confidence: float) -> GeneratedQuery:
    """Render and check one platform's query."""
    return check_query(render_query(plan, source, platform, sql_dialect=sql_dialect), plan,
                       source, confidence=confidence)


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


def _verify(queries: list[GeneratedQuery], plan: QueryPlan, source: Source, catalog: Catalog,
            settings: Settings, sandbox: "Sandbox | None"):  # type: ignore[no-untyped-def]
    """VALIDATING, part two: round trip, execution on sample data, agreement across platforms."""
    from lexiquery.agents.verification import verify_all
    from lexiquery.operations import sandbox_for

    with sandbox_for(sandbox, catalog, settings) as box:
        return verify_all(queries, plan, source, box)


def open_procedures(settings: Settings, catalog: Catalog) -> "ProcedureStore | None":
    """The runbook store when one exists (asking never creates an empty one)."""
    from lexiquery.knowledge.store import ProcedureStore

    if not (settings.sop_dir / "sop.db").exists():
        return None
    return ProcedureStore(settings, catalog=catalog)


def _gather(text: str, settings: Settings, catalog: Catalog,
            procedures: "ProcedureStore | None", errors: "KnownErrorBase | None") -> "Context":
    """GATHERING_KNOWLEDGE. A store that cannot be read costs the answer its runbooks, not the
    answer: the failure becomes the knowledge note."""
    from lexiquery.knowledge.guidance import Context, gather
    from lexiquery.knowledge.known_errors import load_known_errors

    if errors is None:
        errors = load_known_errors(settings.known_errors_files, catalog)
    own = procedures is None
    try:
        store = open_procedures(settings, catalog) if own else procedures
    except StorageError as e:
        ctx = gather(text, None, errors)
        ctx.mode, ctx.note = "bm25", f"the runbook store could not be opened: {e.message}"
        return ctx
    try:
        ctx = gather(text, store, errors)
    except StorageError as e:
        ctx = Context(mode="bm25", note=f"the runbook store could not be read: {e.message}",
                      errors=errors)
        ctx.mentions = list(errors.find(text))
    finally:
        if own and store is not None:
            store.close()
    return ctx


def _knowledge_summary(ctx: "Context") -> Knowledge:
    return Knowledge(mode=ctx.mode, note=ctx.note, searched_documents=ctx.documents)


def ask(question: str, *, platforms: Iterable[Platform | str] | None = None,
        sql_dialect: str | None = None, catalog: Catalog | None = None,
        catalog_files: Sequence[Path | str] = (), source: str | None = None,
        settings: Settings | None = None, store: bool = True,
        sample_check: bool | None = None, sandbox: "Sandbox | None" = None,
        sop: bool | None = None, procedures: "ProcedureStore | None" = None,
        known_errors: "KnownErrorBase | None" = None, context: str | None = None) -> Answer:
    """Answer one question with checked queries for each platform.

    Raises `InputError` for unusable input (nothing is stored) and `QuestionError` when the
    catalog knows nothing the question names (the journey is stored as FAILED; the error carries
    the closest sources). Everything else about a platform becomes issues on its query.

    With `sample_check` (default: the `sample_check` setting) every valid query is parsed back
    and executed on sample data in VALIDATING (`agents.verification`); pass a `sandbox` to reuse
    one across questions (the batch mode does).

    With `sop` (default: the `sop` setting) the stored runbooks and the known-errors base refine
    the plan in GATHERING_KNOWLEDGE; the answer's `citations` and `knowledge` say what they
    changed. Pass `procedures` / `known_errors` to reuse them across questions. `context`
    (free text: the incident, the tenant, an error message) is searched with the question in
    the runbooks and the known-errors base; it never becomes part of the question's reading."""
    from lexiquery.engine.explain import describe_plan
    from lexiquery.journeys import JourneyStore
    from lexiquery.nl.rules import parse_question

    settings = settings or get_settings()
    text = clean_question(question, settings.max_question_chars)
    lookup = text if not context or not context.strip() else \
        text + "\n" + user_text(context, "context", settings.max_question_chars,
                                long_hint="shorten the context")
    dialect = sql_dialect_name(sql_dialect or settings.sql_dialect)
    try:
        wanted = [Platform(p) if isinstance(p, str) else p for p in platforms or []]
    except ValueError as e:
        raise InputError(f"{e}; platforms are kql, spl and sql") from e

    answer = Answer(journey_id=uuid.uuid4().hex, question=text)
    journeys = None
    if store:
        try:
            journeys = JourneyStore(settings.db_path)
        except StorageError as e:  # a corrupt or unwritable store must not block the answer
            answer.issues.append(PlanIssue(code="not_stored", severity=Severity.warning,
                                           message=f"the journey was not saved: {e.message}"
                                                   + (f" ({e.hint})" if e.hint else "")))
    answer.move(JourneyState.PENDING)
    try:
        answer.move(JourneyState.DISCOVERING)
        cat = catalog if catalog is not None else load_catalog(
            settings, [Path(p) for p in catalog_files])
        if source is not None and source not in cat:
            raise QuestionError(f"unknown source {source!r}", closest_sources=cat.ids()[:5])
        answer.move(JourneyState.PLANNING)
        use_sop = settings.sop if sop is None else sop
        ctx = None
        try:
            parsed = parse_question(text, cat, source_hint=source)
        except QuestionError:
            if not use_sop:
                raise
            # The question alone names no source; a runbook or a code it names may.
            answer.move(JourneyState.GATHERING_KNOWLEDGE)
            ctx = _gather(lookup, settings, cat, procedures, known_errors)
            parsed = _rescued(text, ctx, cat)
        if use_sop:
            if ctx is None:
                answer.move(JourneyState.GATHERING_KNOWLEDGE)
                ctx = _gather(lookup, settings, cat, procedures, known_errors)
            parsed = _guide(text, parsed, ctx, cat, source, answer)
        else:
            answer.knowledge = Knowledge(mode="off", note="runbooks and known errors not used "
                                                          "(--no-sop)")
        plan = parsed.plan
        src = cat.get(plan.source)
        assert src is not None, "the rules engine returned a source outside the catalog"
        answer.plan = plan
        answer.notes = list(parsed.notes)
        answer.alternatives = [] if source else list(parsed.alternatives)
        answer.understanding = describe_plan(plan, src) + [
            c[0].upper() + c[1:] + "." for c in (answer.knowledge.changes
                                                 if answer.knowledge else [])]
        answer.issues += list(plan.issues)
        unknown = [i for i in plan.issues if i.code == "unknown_field"]
        if unknown:
            raise UnknownFieldError("; ".join(i.message for i in unknown),
                                    issues=[i.model_dump(mode="json") for i in unknown],
                                    hint=f"`lexiquery catalog show {src.id}` lists its fields")
        answer.move(JourneyState.GENERATING_QUERIES)
        rendered = [render_query(plan, src, p, sql_dialect=dialect)
                    for p in _platforms_for(src, wanted or None)]
        answer.move(JourneyState.VALIDATING)
        queries = [check_query(q, plan, src, confidence=parsed.confidence) for q in rendered]
        queries = _drop_unbound_defaults(answer, queries, explicit=bool(wanted))
        if settings.sample_check if sample_check is None else sample_check:
            queries, answer.agreement = _verify(queries, plan, src, cat, settings, sandbox)
        answer.queries = queries
        answer.move(JourneyState.COMPLETED)
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
    if journeys:
        try:
            journeys.save(answer)
        except StorageError as e:
            # A full disk or a locked database must not cost the user the answer they waited for.
            answer.issues.append(PlanIssue(code="not_stored", severity=Severity.warning,
                                           message=f"the journey was not saved: {e.message}"))
    return answer


def _rescued(text: str, ctx: "Context", catalog: Catalog) -> "ParsedQuestion":
    """The parse a runbook or a known error made possible, or the original QuestionError."""
    from lexiquery.knowledge.guidance import rescue_source
    from lexiquery.nl.rules import parse_question

    found = rescue_source(text, ctx, catalog)
    if found is None:
        return parse_question(text, catalog)  # raises the QuestionError again, with its hints
    parsed, why = found
    src = catalog.get(parsed.plan.source)
    name = src.name if src else parsed.plan.source
    parsed.notes.insert(0, f"source chosen: {name} (the question alone named none; from {why})")
    return parsed


def _guide(text: str, parsed: "ParsedQuestion", ctx: "Context", catalog: Catalog,
           source: str | None, answer: Answer) -> "ParsedQuestion":
    """Apply the gathered knowledge; record citations, changes and explained codes."""
    from lexiquery.knowledge.guidance import apply_knowledge

    guided = apply_knowledge(text, parsed, ctx, catalog, source_hint=source)
    answer.citations = guided.citations
    if guided.plan.time_range is not None:  # a runbook's look-back answered this note
        guided.parsed.notes[:] = [n for n in guided.parsed.notes if n != "no time range given"]
    summary = _knowledge_summary(ctx)
    summary.changes = guided.changes
    summary.known_errors = guided.known_errors
    answer.knowledge = summary
    return guided.parsed.model_copy(update={"plan": guided.plan})
