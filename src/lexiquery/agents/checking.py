"""The validator agent (`validator.validate_queries`): every written query parsed back, its
names checked against the catalog, the read-only guard, then — with the sample check — executed
on sample data and the platforms' results compared (`agents.validator`, `agents.verification`).
"""

from __future__ import annotations

from lexiquery.agents.base import Agent, SkillSpec
from lexiquery.agents.contracts import VALIDATOR, ValidateRequest, ValidateResult
from lexiquery.agents.resources import Resources
from lexiquery.agents.validator import is_valid, validate_query
from lexiquery.agents.verification import WARNING_FACTOR, verify_all
from lexiquery.answer import GeneratedQuery
from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.engine.explain import explain_for_platform
from lexiquery.errors import QuestionError
from lexiquery.ir import QueryPlan, Severity


def check_query(query: GeneratedQuery, plan: QueryPlan, source: Source, *,
                confidence: float, catalog: Catalog | None = None) -> GeneratedQuery:
    """One rendered query's issues, validity, confidence and explanation. `catalog` resolves
    a join's other source."""
    if not query.query:
        return query  # could not be written; its issues already say why
    platform = Platform(query.platform)
    issues = validate_query(plan, source, platform, query.query, sql_dialect=query.dialect,
                            catalog=catalog)
    valid = is_valid(issues)
    warnings = sum(1 for i in issues if i.severity is Severity.warning)
    conf = confidence * (WARNING_FACTOR ** warnings) if valid else 0.0
    return query.model_copy(update=dict(
        valid=valid, issues=issues, confidence=round(conf, 2),
        explanation=explain_for_platform(plan, source, platform)))


def validate_queries(req: ValidateRequest, res: Resources) -> ValidateResult:
    catalog = res.catalog()
    source = catalog.get(req.plan.source)
    if source is None:
        raise QuestionError(f"the plan reads {req.plan.source!r}, which the validator's catalog "
                            "does not have", closest_sources=catalog.ids()[:5])
    queries = [check_query(q, req.plan, source, confidence=req.confidence, catalog=catalog)
               for q in req.queries]
    if not req.sample_check:
        return ValidateResult(queries=queries)
    box = res.sandbox()
    with res.sandbox_lock:
        checked, agreement = verify_all(queries, req.plan, source, box)
    return ValidateResult(queries=checked, agreement=agreement)


def validator_agent(res: Resources) -> Agent:
    return Agent(
        name=VALIDATOR,
        description="Checks generated KQL, SPL and SQL: parsed back, names against the catalog, "
                    "read-only guard, executed on sample data and compared across platforms.",
        skills=[SkillSpec(id="validate_queries", name="Validate queries",
                          description="Issues, validity and sample-data results of queries "
                                      "written from one plan.",
                          input=ValidateRequest, output=ValidateResult,
                          tags=("validation", "sample-data"))],
        handlers={"validate_queries": lambda r: validate_queries(r, res)},
        tags=("validator",))
