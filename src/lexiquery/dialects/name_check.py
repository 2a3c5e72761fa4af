"""Every name a plan reads, checked against its catalog source: a field of the source or an
output of an earlier stage, bound on the platform when one is given, and a time field where a
time range or bucket needs one. Used wherever a plan is made or read (nl, agents, operations),
so it sits below them all.
"""

from __future__ import annotations

from typing import Callable

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.base import collection_misuse
from lexiquery.dialects.scope import Context, check_stages
from lexiquery.errors import PlanError
from lexiquery.ir import PlanIssue, QueryPlan, Severity, iter_conditions, iter_expr_fields


def error_issue(code: str, message: str, field: str | None = None) -> PlanIssue:
    """An error-severity issue (what makes a query invalid)."""
    return PlanIssue(code=code, message=message, severity=Severity.error, field=field)


def referenced_fields(plan: QueryPlan) -> list[tuple[str, str]]:
    """(stage, name) for every name the plan reads, in pipeline order."""
    refs: list[tuple[str, str]] = [("filter", c.field) for c in iter_conditions(plan.filters)]
    for cf in plan.computed:
        refs += [("computed", n) for n in iter_expr_fields(cf.expr)]
    if plan.aggregation:
        refs += [("group_by", g) for g in plan.aggregation.group_by]
        refs += [("metric", m.field) for m in plan.aggregation.metrics if m.field]
    refs += [("having", c.field) for c in iter_conditions(plan.having)]
    refs += [("project", p) for p in plan.project]
    refs += [("sort", s.field) for s in plan.sort]
    return refs


def _stage_issues(plan: QueryPlan, source: Source, platform: Platform | None,
                  sources: Callable[[str], Source | None] | None) -> list[PlanIssue]:
    """The first name a stage reads that is not an output of the stages before it, or not
    bound on `platform` (called once the first part's names all resolve)."""
    if not plan.stages:
        return []
    try:
        check_stages(plan, Context(source, platform, sources=sources))
    except PlanError as e:
        first = e.issues[0] if e.issues else {}
        return [error_issue(str(first.get("code", "unknown_field")), e.message,
                            first.get("field"))]
    return []


def check_names(plan: QueryPlan, source: Source, platform: Platform | None = None,
                sources: Callable[[str], Source | None] | None = None) -> list[PlanIssue]:
    """Every name must be a field of the source or an output of an earlier stage; with a
    platform, every source field must also be bound there (and the time field, if a time range
    or time bucket uses it). A having filter or sort key on a values/list output is an
    ``unsupported`` error on every platform (see `dialects.base.collection_misuse`): a plan read
    from query text is told so before any renderer refuses it."""
    issues: list[PlanIssue] = []
    fields = {f.name for f in source.fields}
    computed = {c.name for c in plan.computed}
    agg_out = set(plan.aggregation.output_names()) if plan.aggregation else set()
    seen: set[str] = set()
    for stage, name in referenced_fields(plan):
        # After an aggregation only its outputs exist; before it, fields and computed fields.
        if stage in {"having", "project", "sort"} and plan.aggregation:
            allowed = agg_out | ({source.time_field} if plan.aggregation.time_bucket and
                                 source.time_field else set())
            if name not in allowed:
                if name not in seen:
                    issues.append(error_issue("unknown_field",
                                       f"'{name}' is not an output of the aggregation "
                                       f"(outputs: {', '.join(sorted(allowed))})", name))
                    seen.add(name)
                continue
            if name in agg_out - fields - computed:
                continue
        if name in computed:
            continue
        if name not in fields:
            if name not in seen:
                issues.append(error_issue("unknown_field",
                                   f"'{name}' is not a field of {source.name} ({source.id})",
                                   name))
                seen.add(name)
            continue
        if platform is not None and source.column(platform, name) is None and name not in seen:
            issues.append(error_issue("not_bound", f"{source.name} has no '{name}' on {platform.value}",
                               name))
            seen.add(name)
    issues += [error_issue("unsupported", message, name)
               for _, name, message in collection_misuse(plan)]
    if not issues:
        issues += _stage_issues(plan, source, platform, sources)
    needs_time = plan.time_range is not None or (
        plan.aggregation is not None and plan.aggregation.time_bucket is not None)
    needs_time = needs_time or any(
        m.fn.value in {"first_seen", "last_seen"}
        for m in (plan.aggregation.metrics if plan.aggregation else []))
    if needs_time:
        if not source.time_field:
            issues.append(error_issue("no_time_field", f"{source.name} has no time field"))
        elif platform is not None and source.column(platform, source.time_field) is None:
            issues.append(error_issue("not_bound",
                               f"{source.name} has no time column on {platform.value}",
                               source.time_field))
    return issues
