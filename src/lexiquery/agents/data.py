"""The data agents, one per platform (`data-kql`, `data-spl`, `data-sql`: `generate_query`).

Each starts from the planner's draft of the question in the IR (or, when the question named no
source, lets the knowledge choose one), applies what the knowledge agents found — runbook
definitions, an example query, known-error codes, look-back windows, thresholds — and renders
its platform's query. Rendering problems become issues on the query, never an exception; the
validator checks the text afterwards.
"""

from __future__ import annotations

from lexiquery.agents.base import Agent, SkillSpec
from lexiquery.agents.contracts import GenerateRequest, GenerateResult, data_agent
from lexiquery.agents.knowledge_agents import to_context
from lexiquery.agents.plan_logic import dedupe
from lexiquery.agents.resources import Resources
from lexiquery.answer import GeneratedQuery
from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects import render
from lexiquery.errors import PlanError, QuestionError
from lexiquery.ir import PlanIssue, QueryPlan, Severity
from lexiquery.knowledge.guidance import apply_knowledge, rescue_source
from lexiquery.nl.rules import ParsedQuestion, parse_question
from lexiquery.user_input import clean_question


def render_query(plan: QueryPlan, source: Source, platform: Platform, *,
                 sql_dialect: str, catalog: Catalog | None = None) -> GeneratedQuery:
    """One platform's query text, or an invalid query whose issues say why it could not be
    written. Never raises for plan problems. `catalog` resolves a join's other source."""
    dialect = sql_dialect if platform is Platform.sql else platform.value
    base = dict(platform=platform.value, dialect=dialect, source=source.id,
                target=source.target(platform), confidence=0.0)
    if getattr(source.bindings, platform.value) is None:
        issue = PlanIssue(code="not_bound", severity=Severity.error,
                          message=f"{source.name} is not available on {platform.value.upper()} "
                                  f"(bound on: {', '.join(p.value for p in source.bindings.platforms())})")
        return GeneratedQuery(query="", valid=False, issues=[issue], **base)
    try:
        text = render(plan, source, platform, sql_dialect=sql_dialect, catalog=catalog)
    except PlanError as e:
        issues = [PlanIssue(code=i.get("code", "plan_error"), message=i.get("message", str(e)),
                            severity=Severity.error, field=i.get("field")) for i in e.issues]
        return GeneratedQuery(query="", valid=False, issues=list(plan.issues) + issues, **base)
    return GeneratedQuery(query=text, valid=False, **base)


def generate(req: GenerateRequest, platform: Platform, res: Resources) -> GenerateResult:
    """Raises `QuestionError` when there is no draft and the knowledge names no source."""
    # A remote peer may call this agent directly: its question is checked as the API's is.
    req = req.model_copy(update={"question": clean_question(req.question,
                                                            res.settings.max_question_chars)})
    catalog = res.catalog()
    ctx = to_context(req.knowledge, res) if req.knowledge is not None else None
    if req.draft is not None:
        parsed = ParsedQuestion(plan=req.draft.plan, confidence=req.draft.confidence,
                                notes=list(req.draft.notes),
                                alternatives=list(req.draft.alternatives),
                                source_named=req.draft.source_named,
                                stated_fields=req.draft.stated_fields)
    else:
        found = rescue_source(req.question, ctx, catalog) if ctx is not None else None
        if found is None:
            # raises the QuestionError with its hints (closest sources)
            parse_question(req.question, catalog)
            raise QuestionError("no catalog source fits the question")
        parsed, why = found
        src = catalog.get(parsed.plan.source)
        parsed.notes.insert(0, f"source chosen: {src.name if src else parsed.plan.source} "
                               f"(the question alone named none; from {why})")
    plan, notes = parsed.plan, list(parsed.notes)
    applied: dict = {}  # type: ignore[type-arg]
    if ctx is not None:
        g = apply_knowledge(req.question, parsed, ctx, catalog, source_hint=req.pinned)
        parsed, plan, notes = g.parsed, g.plan, list(g.parsed.notes)
        parsed = parsed.model_copy(update={"confidence": g.confidence_after(parsed.confidence)})
        if plan.time_range is not None:  # a runbook's look-back answered this note
            notes = [n for n in notes if n != "no time range given"]
        applied = dict(citations=g.citations, changes=g.changes, known_errors=g.known_errors)
    source = catalog.get(plan.source)
    if source is None:
        raise QuestionError(f"the plan reads {plan.source!r}, which this agent's catalog "
                            "does not have", closest_sources=catalog.ids()[:5])
    plan, repeated = dedupe(plan)
    if repeated:
        notes.append(f"{repeated} repeated filter{'s' if repeated > 1 else ''} dropped")
    return GenerateResult(
        query=render_query(plan, source, platform, sql_dialect=req.sql_dialect.lower()),
        plan=plan, confidence=parsed.confidence, notes=notes,
        alternatives=list(parsed.alternatives),
        engine=req.draft.engine if req.draft else "rules", **applied)


def platform_agent(platform: Platform, res: Resources) -> Agent:
    name = data_agent(platform.value)
    language = {"kql": "KQL (Azure Log Analytics / Microsoft Sentinel)",
                "spl": "SPL (Splunk)", "sql": "SQL (PostgreSQL, T-SQL, MySQL, …)"}[platform.value]
    return Agent(
        name=name, platform=platform.value,
        description=f"Writes {language} queries from a plan in LexiQuery's query IR, refined "
                    "by the organisation's runbooks and known errors.",
        skills=[SkillSpec(id="generate_query", name=f"Write a {platform.value.upper()} query",
                          description=f"One {language} query for a question and its context.",
                          input=GenerateRequest, output=GenerateResult,
                          tags=("data", platform.value, f"platform:{platform.value}"),
                          examples=("failed sign-ins in the last 24 hours",))],
        handlers={"generate_query": lambda r: generate(r, platform, res)},
        text_skill="generate_query", tags=("data",))
