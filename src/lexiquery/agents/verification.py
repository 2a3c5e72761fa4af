"""Validation v2, the part that needs data: every generated query is read back and executed.

For each query that passed the v1 checks (`agents.validator`):

1. **Round trip.** The text is parsed by its own dialect's parser; the plan it reads back must be
   the plan it was rendered from (`dialects.roundtrip.same_plan`). A difference is a renderer or
   parser defect and makes the query invalid (code ``round_trip``): nobody should be shown a
   query whose meaning we cannot read back.
2. **Execution.** The query runs in the sandbox on sample data: SQL as written (transpiled to
   DuckDB), KQL and SPL through the plan they parsed back to, with their platform's semantics.
   A failure is an error (code ``execution``).
3. **Agreement.** The platforms' result sets are compared; the answer says whether they are
   identical and, if not, what differs.
4. **Empty for no good reason.** No rows, although each filter alone finds some: a warning
   (`agents.empty_check`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lexiquery.agents.empty_check import empty_filters_issue
from lexiquery.answer import Agreement, GeneratedQuery, SampleCheck
from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects import parse
from lexiquery.dialects.name_check import error_issue
from lexiquery.dialects.roundtrip import plan_diff
from lexiquery.engine.execute import execute
from lexiquery.engine.results import compare_results
from lexiquery.errors import LexiQueryError
from lexiquery.ir import PlanIssue, QueryPlan, Severity

# What one warning multiplies the confidence by (as the v1 checks do, `agents.checking`).
WARNING_FACTOR = 0.85

if TYPE_CHECKING:
    from lexiquery.engine.results import ResultSet
    from lexiquery.engine.sandbox import Sandbox


def verify_query(query: GeneratedQuery, plan: QueryPlan, source: Source,
                 box: "Sandbox") -> tuple[GeneratedQuery, "ResultSet | None"]:
    """The query with its round-trip and execution results; the result set when it ran."""
    if not query.valid or not query.query:
        return query, None
    platform = Platform(query.platform)
    issues = list(query.issues)
    try:
        back = parse(query.query, platform, Catalog([source]), sql_dialect=query.dialect)
    except LexiQueryError as e:
        issues.append(error_issue(
            "round_trip", f"the {platform.value.upper()} query does not parse back: {e.message}"))
        return query.model_copy(update=dict(valid=False, issues=issues, confidence=0.0)), None
    diff = plan_diff(plan, back.plan, source, platform)
    if diff:
        issues.append(error_issue(
            "round_trip", f"the {platform.value.upper()} query reads back as a different plan: "
                          f"{'; '.join(diff)}"))

    try:
        result, how = execute(back, box)
    except LexiQueryError as e:
        issues.append(error_issue("execution", f"failed on sample data: {e.message}"))
        return query.model_copy(update=dict(valid=False, issues=issues, confidence=0.0)), None
    if how.startswith("plan ("):
        issues.append(PlanIssue(code="execution", severity=Severity.info,
                                message=f"checked through its {how}"))
        how = "plan"
    sample = SampleCheck(rows=len(result.rows), truncated=result.truncated,
                         elapsed_ms=round(result.elapsed_ms, 2), executed=how,
                         round_trip=not diff)
    explanation = (query.explanation + " " if query.explanation else "") + \
        sample.summary().capitalize() + "."
    update = dict(sample=sample, issues=issues, explanation=explanation)
    if diff:
        update.update(valid=False, confidence=0.0)
    return query.model_copy(update=update), result


def verify_all(queries: list[GeneratedQuery], plan: QueryPlan, source: Source,
               box: "Sandbox") -> tuple[list[GeneratedQuery], Agreement | None]:
    """Verify every query and compare the platforms' results (None with fewer than two)."""
    out: list[GeneratedQuery] = []
    results: dict[str, "ResultSet"] = {}
    for q in queries:
        checked, result = verify_query(q, plan, source, box)
        out.append(checked)
        if result is not None and checked.valid:
            results[q.platform if q.platform != "sql" else q.dialect] = result
    if results and not any(r.rows for r in results.values()):
        issue = empty_filters_issue(plan, source, box)
        if issue is not None:
            out = [q.model_copy(update=dict(issues=[*q.issues, issue],
                                            confidence=round(q.confidence * WARNING_FACTOR, 2)))
                   if q.valid else q for q in out]
    if len(results) < 2:
        return out, None
    cmp = compare_results(results)
    return out, Agreement(platforms=list(results), identical=cmp.identical,
                          differences=list(cmp.differences))
