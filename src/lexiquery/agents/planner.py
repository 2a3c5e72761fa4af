"""The planner agent: which source and platforms a question needs, which knowledge to gather,
and the question read into the IR once (`create_plan`).

The user never has to name a platform: the source's bindings decide, and a named platform wins.
When the question alone names no source and runbooks may be used, the plan says so
(`source=None`) and the data agents choose the source from what the knowledge agents found.
"""

from __future__ import annotations

from lexiquery.agents.base import Agent, SkillSpec
from lexiquery.agents.contracts import PLANNER, PLATFORMS, Draft, PlanRequest, PlanResult
from lexiquery.agents.llm_planning import llm_draft
from lexiquery.agents.resources import Resources
from lexiquery.catalog.model import Catalog, Platform
from lexiquery.dialects.parsing import closest
from lexiquery.errors import QuestionError
from lexiquery.nl.preds import BAD_ROW_COUNT
from lexiquery.nl.rules import ParsedQuestion, parse_question
from lexiquery.user_input import clean_question, user_text


def _read(question: str, catalog: Catalog, source: str | None,
          named: list[Platform]) -> ParsedQuestion:
    """The rules engine's reading. Platforms the question names must answer from their
    workspace; with none named, a platform the user imported a workspace for is preferred
    (its tables are what they asked about), then every source competes."""
    if named or not catalog.workspace_platforms or source is not None:
        return parse_question(question, catalog, source_hint=source, platforms=named)
    try:
        return parse_question(question, catalog, platforms=catalog.workspace_platforms)
    except QuestionError as e:
        if any(i.get("code") == BAD_ROW_COUNT for i in e.issues):
            raise
        return parse_question(question, catalog)


def create_plan(req: PlanRequest, res: Resources) -> PlanResult:
    """Raises `QuestionError` when no source fits and the runbooks may not supply one, and when
    the question asks for zero or fewer rows ("top -5")."""
    # A remote peer may call the planner directly: the question is checked as the API's is.
    req = req.model_copy(update={"question": clean_question(req.question,
                                                            res.settings.max_question_chars)})
    if req.context is not None:
        user_text(req.context, "context", res.settings.max_question_chars,
                  long_hint="shorten the context")
    catalog = res.catalog()
    if req.source is not None and req.source not in catalog:
        raise QuestionError(f"unknown source {req.source!r}",
                            closest_sources=closest(req.source, catalog.ids())[:5]
                            or catalog.ids()[:5])
    lookup = req.question if not (req.context or "").strip() else \
        req.question + "\n" + req.context.strip()  # type: ignore[union-attr]
    draft, rules, refusal = None, None, None
    try:
        rules = _read(req.question, catalog, req.source, [Platform(p) for p in req.platforms])
    except QuestionError as e:
        if any(i.get("code") == BAD_ROW_COUNT for i in e.issues):
            raise  # "top -5": no runbook or model makes that answerable
        refusal = e
    llm, why, calls = llm_draft(req, rules, res)
    if llm is not None:
        draft = llm
    elif rules is not None:
        draft = Draft(plan=rules.plan, confidence=rules.confidence, notes=rules.notes,
                      alternatives=[] if req.source else rules.alternatives, engine_note=why,
                      source_named=rules.source_named, stated_fields=rules.stated_fields)
    elif not req.sop and refusal is not None:
        raise refusal  # nothing else could name the source
    source = catalog.get(draft.plan.source) if draft else None
    named = list(dict.fromkeys(req.platforms))
    platforms = named or (source.bindings.platforms() if source
                          else [Platform(p) for p in PLATFORMS])
    steps = [f"read the question against {source.name}" if source
             else "let the runbooks and known errors name the source"]
    if req.sop:
        steps.append("search the runbooks and the known-errors base")
    steps += [f"write the {', '.join(p.value.upper() for p in platforms)} "
              f"quer{'y' if len(platforms) == 1 else 'ies'} in parallel",
              "validate every query and compare them on sample data"]
    return PlanResult(source=source.id if source else None, platforms=platforms,
                      explicit=bool(named), alternatives=draft.alternatives if draft else [],
                      gather_procedures=req.sop, gather_errors=req.sop, lookup=lookup,
                      steps=steps, draft=draft, model_calls=calls)


def planner_agent(res: Resources) -> Agent:
    return Agent(
        name=PLANNER,
        description="Plans a LexiQuery journey: the source and platforms a question needs, the "
                    "knowledge to gather, and the question read into the query IR.",
        skills=[SkillSpec(id="create_plan", name="Create a plan",
                          description="Which catalog source and platforms (KQL, SPL, SQL) a "
                                      "question needs and which knowledge to gather.",
                          input=PlanRequest, output=PlanResult, tags=("planning",),
                          examples=("failed sign-ins in the last 24 hours",))],
        handlers={"create_plan": lambda r: create_plan(r, res)},
        text_skill="create_plan", tags=("planner",))
