"""An empty answer that should not be: the query returns no rows on the sample data, although
every value it filters on occurs there within its time range.

Sample data holds every known value of a field, so a filter that finds nothing alone is a
filter on a value the sample lacks — no evidence of a mistake. But when each filter finds rows
on its own and together they find none, the filters exclude each other on real-looking data:
"status in (500, 503) and status_class == 2xx", a runbook's value on one field against the
question's on another. That is shown as a warning that lowers the confidence (issue 15:
"checked" means something), never as a silent empty result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lexiquery.catalog.model import Source
from lexiquery.errors import LexiQueryError
from lexiquery.ir import PlanIssue, QueryPlan, Severity

if TYPE_CHECKING:
    from lexiquery.engine.sandbox import Sandbox

MAX_FILTERS = 8  # each filter costs one sample query; more than this is not checked


def _finds_rows(plan: QueryPlan, filters: list, source: Source,  # type: ignore[type-arg]
                box: "Sandbox") -> bool:
    probe = QueryPlan(source=plan.source, time_range=plan.time_range, filters=filters, limit=1)
    return bool(box.execute_plan(probe, source).rows)


def empty_filters_issue(plan: QueryPlan, source: Source, box: "Sandbox") -> PlanIssue | None:
    """A warning when the plan's filters find nothing together but each finds rows alone."""
    if len(plan.filters) < 2 or len(plan.filters) > MAX_FILTERS:
        return None
    try:
        if _finds_rows(plan, list(plan.filters), source, box):
            return None
        if not all(_finds_rows(plan, [f], source, box) for f in plan.filters):
            return None
    except LexiQueryError:
        return None  # the probes are a hint; the query's own execution reports real failures
    return PlanIssue(code="empty_result", severity=Severity.warning,
                     message="no rows on the sample data, although each filter alone finds "
                             "some: check that the filters belong together")


__all__ = ["empty_filters_issue"]
