"""Validation v1: names against the catalog, read-only guard, and SQL parsed back.

`validate_query` adds to the plan's name checks (`dialects.name_check.check_names`) the checks on
the rendered text. Every issue has a stable `code`; a query is valid when none of its
issues has severity error. Full KQL/SPL parsing and execution on sample data come later.
"""

from __future__ import annotations

from lexiquery.agents.plan_logic import contradictions
from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects.guard import check_read_only
from lexiquery.dialects.kql.lex import check_balance, tokenize
from lexiquery.dialects.name_check import check_names, error_issue
from lexiquery.dialects.spl.macros import expand_macros
from lexiquery.errors import QueryError
from lexiquery.ir import Join, PlanIssue, QueryPlan, Severity


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


def assumed_bindings(plan: QueryPlan, source: Source, platform: Platform,
                     catalog: Catalog | None) -> list[PlanIssue]:
    """A warning for each source the query reads through an assumed SQL binding (its note)."""
    if platform is not Platform.sql:
        return []
    found = [source] + [s for j in plan.stages if isinstance(j, Join) and catalog is not None
                        and (s := catalog.get(j.right.source)) is not None]
    by_id = {s.id: s for s in found}
    return [PlanIssue(code="assumed_binding", severity=Severity.warning,
                      message=f"{s.name}: {s.bindings.sql.note}")
            for s in by_id.values() if s.bindings.sql is not None and s.bindings.sql.note]


def validate_query(plan: QueryPlan, source: Source, platform: Platform, text: str, *,
                   sql_dialect: str = "postgres",
                   catalog: Catalog | None = None) -> list[PlanIssue]:
    """All v1 checks for one rendered query. Plan-level `unsupported` issues are carried over;
    filters that contradict each other are an error (`plan_logic`).
    SPL macros the source declares are expanded before the read-only guard sees the text (a
    prefix may call one); any other macro is refused as unknown code."""
    issues = list(plan.issues)
    issues += assumed_bindings(plan, source, platform, catalog)
    issues += check_names(plan, source, platform,
                          catalog.get if catalog is not None else None)
    issues += contradictions(plan)
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
