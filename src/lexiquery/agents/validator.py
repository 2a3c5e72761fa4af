"""Validation v1: names against the catalog, read-only guard, and SQL parsed back.

`check_names` works on the plan (platform-neutral and per platform); `validate_query` adds the
checks on the rendered text. Every issue has a stable `code`; a query is valid when none of its
issues has severity error. Full KQL/SPL parsing and execution on sample data come later.
"""

from __future__ import annotations

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.base import collection_misuse
from lexiquery.dialects.guard import check_read_only
from lexiquery.dialects.kql.lex import check_balance, tokenize
from lexiquery.dialects.spl.macros import expand_macros
from lexiquery.errors import QueryError
from lexiquery.ir import (
    PlanIssue,
    QueryPlan,
    Severity,
    iter_conditions,
    iter_expr_fields,
)


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


def check_names(plan: QueryPlan, source: Source, platform: Platform | None = None) -> list[PlanIssue]:
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


def _check_balanced(text: str, platform: str) -> list[PlanIssue]:
    """Quotes and brackets close, read by the language's own lexer for KQL (verbatim,
    multi-line and obfuscated strings), and with backslash escapes for SPL."""
    if platform == "kql":
        try:
            check_balance(text, tokenize(text))
        except QueryError:
            return [error_issue("syntax", "unbalanced quotes or brackets in the KQL query")]
        return []
    depth = 0
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                break
        i += 1
    if quote or depth != 0:
        return [error_issue("syntax", f"unbalanced quotes or brackets in the {platform.upper()} query")]
    return []


def validate_query(plan: QueryPlan, source: Source, platform: Platform, text: str, *,
                   sql_dialect: str = "postgres") -> list[PlanIssue]:
    """All v1 checks for one rendered query. Plan-level `unsupported` issues are carried over.
    SPL macros the source declares are expanded before the read-only guard sees the text (a
    prefix may call one); any other macro is refused as unknown code."""
    issues = list(plan.issues)
    issues += check_names(plan, source, platform)
    guarded = text
    if platform is Platform.spl and source.bindings.spl is not None:
        try:
            guarded = expand_macros(text, source.bindings.spl.macros)
        except QueryError as e:
            issues.append(error_issue(e.code, e.message))
    issues += check_read_only(platform.value, guarded, sql_dialect=sql_dialect)
    # The SQL guard reads the text into trees (a failure is its `syntax` issue), so SQL is not
    # parsed a second time here; KQL and SPL get the structural check.
    if platform is not Platform.sql and not any(i.code == "syntax" for i in issues):
        issues += _check_balanced(text, platform.value)
    return issues


def is_valid(issues: list[PlanIssue]) -> bool:
    return not any(i.severity is Severity.error for i in issues)
