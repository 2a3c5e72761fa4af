"""What an analyst does with a query they already have: run it, translate it, explain it, check it.

    run_query(text, "spl")                         → RunResult    rows on sample data (or yours)
    translate_query(text, "spl", "kql")            → Translation  the same plan on another platform
    explain_query(text, "kql")                     → Explanation  the query in plain English
    validate_query_text(text, "sql", dialect=…)    → Validation   read-only, syntax, names, execution

Every operation reads the text through the platform's parser into the IR (`dialects.parse`), so
the catalog's bindings decide what a table or field means. Pasted text is checked by the
read-only guard before anything else reads it. SQL is executed as written (transpiled to
DuckDB); KQL and SPL have no engine here, so their parsed plan is compiled to DuckDB with the
platform's own semantics where they differ (see `engine.sandbox`).

Errors: `QueryError` (syntax, unknown_source, unknown_field, read_only, unsupported) and
`InputError` for unusable input; `validate_query_text` reports them as failed checks instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from pydantic import BaseModel, Field

from lexiquery.agents.checking import check_query
from lexiquery.agents.data import render_query
from lexiquery.answer import Agreement
from lexiquery.catalog.model import Catalog, Platform
from lexiquery.config import Settings, get_settings
from lexiquery.dialects import parse
from lexiquery.dialects.guard import check_read_only
from lexiquery.dialects.name_check import check_names
from lexiquery.dialects.parsing import ParsedQuery
from lexiquery.dialects.reading import (
    catalog_or_load,
    clean_query,
    dialect_for,
    expand_declared,
    platform_of,
    read_query,
    require_faithful,
)
from lexiquery.engine.execute import data_label, execute, sandbox_for, source_id
from lexiquery.engine.explain import describe_plan
from lexiquery.engine.results import compare_results
from lexiquery.engine.sandbox import Sandbox
from lexiquery.errors import LexiQueryError, PlanError, QueryError
from lexiquery.ir import PlanIssue, QueryPlan, Severity


class RunResult(BaseModel):
    platform: str
    dialect: str
    source: str
    query: str
    plan: QueryPlan
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False
    truncated_by: str | None = Field(default=None, description="Which sandbox cap cut the "
                                     "rows: 'rows' or 'bytes' (None: nothing was cut)")
    elapsed_ms: float = 0.0
    executed: str = Field(description="'query' (SQL text run as written) or 'plan'")
    data: str = Field(description="Which rows the query ran on")
    issues: list[PlanIssue] = Field(default_factory=list)


class Translation(BaseModel):
    from_platform: str
    from_dialect: str
    to_platform: str
    to_dialect: str
    source: str
    input: str
    query: str = Field(description="The translated query; empty when it cannot be written")
    valid: bool
    plan: QueryPlan
    issues: list[PlanIssue] = Field(
        default_factory=list, description="Every part that does not carry over, and why")
    agreement: Agreement | None = Field(
        default=None, description="Both queries run on the same sample data")


class Explanation(BaseModel):
    platform: str
    dialect: str
    source: str
    query: str
    steps: list[str]
    plan: QueryPlan
    issues: list[PlanIssue] = Field(default_factory=list)


class Check(BaseModel):
    name: str = Field(description="read_only, syntax, names, execution")
    ok: bool | None = Field(description="None when the check could not run")
    message: str
    hint: str | None = Field(default=None, description="How to fix it, for common slips")


class Validation(BaseModel):
    platform: str
    dialect: str
    query: str
    valid: bool
    source: str | None = None
    checks: list[Check]
    issues: list[PlanIssue] = Field(default_factory=list)
    rows: int | None = None


# ------------------------------------------------------------------------- operations


def run_query(text: str, platform: Platform | str, *, catalog: Catalog | None = None,
              catalog_files: Sequence[Path | str] = (), sql_dialect: str | None = None,
              data: Mapping[str, Path | str] | None = None, settings: Settings | None = None,
              sandbox: Sandbox | None = None) -> RunResult:
    """Execute the query on sample data (or the user's rows for its source).

    A KQL or SPL query with a construct the IR cannot hold is refused (`QueryError`,
    code ``unsupported``) rather than run without it; SQL runs as written whatever it holds."""
    settings = settings or get_settings()
    cat = catalog_or_load(catalog, catalog_files, settings)
    parsed = read_query(text, platform, catalog=cat, sql_dialect=sql_dialect, settings=settings)
    if parsed.platform is not Platform.sql:
        require_faithful(parsed, "run this query on sample data")
    with sandbox_for(sandbox, cat, settings, data=data) as box:
        result, how = execute(parsed, box)
    keyed = {source_id(cat, k): v for k, v in (data or {}).items()}
    return RunResult(platform=parsed.platform.value, dialect=parsed.dialect,
                     source=parsed.source.id, query=parsed.text, plan=parsed.plan,
                     columns=list(result.columns), rows=[list(r) for r in result.rows],
                     truncated=result.truncated, truncated_by=result.truncated_by,
                     elapsed_ms=round(result.elapsed_ms, 2),
                     executed=how, data=data_label(settings, keyed, parsed.source.id),
                     issues=list(parsed.plan.issues))


def translate_query(text: str, from_platform: Platform | str, to_platform: Platform | str, *,
                    catalog: Catalog | None = None, catalog_files: Sequence[Path | str] = (),
                    from_dialect: str | None = None, to_dialect: str | None = None,
                    check: bool = True, settings: Settings | None = None,
                    sandbox: Sandbox | None = None) -> Translation:
    """The query on another platform (or another SQL dialect), through the IR.

    Every part that does not carry over is an issue on the result: constructs the IR cannot
    hold, and features the target lacks (then `query` is empty and `valid` false). With
    `check`, both queries run on the same sample data and `agreement` says whether they
    return the same rows."""
    settings = settings or get_settings()
    cat = catalog_or_load(catalog, catalog_files, settings)
    parsed = read_query(text, from_platform, catalog=cat, sql_dialect=from_dialect,
                        settings=settings)
    target = platform_of(to_platform)
    dialect = dialect_for(target, to_dialect, settings)
    issues = list(parsed.plan.issues)
    query = render_query(parsed.plan, parsed.source, target, sql_dialect=dialect, catalog=cat)
    query = check_query(query, parsed.plan, parsed.source, confidence=1.0, catalog=cat)
    issues += [i for i in query.issues if i not in issues]
    agreement = None
    if check and query.valid and parsed.faithful:
        agreement = _agree(parsed, query.query, target, dialect, cat, settings, sandbox)
    return Translation(from_platform=parsed.platform.value, from_dialect=parsed.dialect,
                       to_platform=target.value, to_dialect=dialect, source=parsed.source.id,
                       input=parsed.text, query=query.query, valid=query.valid,
                       plan=parsed.plan, issues=issues, agreement=agreement)


def _agree(parsed: ParsedQuery, translated: str, target: Platform, dialect: str,
           catalog: Catalog, settings: Settings, sandbox: Sandbox | None) -> Agreement | None:
    """Run the original and the translation on the same rows and compare."""
    try:
        back = parse(translated, target, catalog, sql_dialect=dialect)
        with sandbox_for(sandbox, catalog, settings) as box:
            a, _ = execute(parsed, box)
            b, _ = execute(back, box)
    except LexiQueryError as e:
        return Agreement(platforms=[parsed.dialect, dialect], identical=False,
                         differences=[f"could not run both on sample data: {e.message}"])
    names = [parsed.dialect, dialect] if parsed.dialect != dialect else ["input", "translation"]
    cmp = compare_results(dict(zip(names, (a, b))))
    return Agreement(platforms=names, identical=cmp.identical, differences=list(cmp.differences))


def explain_query(text: str, platform: Platform | str, *, catalog: Catalog | None = None,
                  catalog_files: Sequence[Path | str] = (), sql_dialect: str | None = None,
                  settings: Settings | None = None) -> Explanation:
    """The query in plain English, one sentence per step, in the platform's own names."""
    settings = settings or get_settings()
    parsed = read_query(text, platform, catalog=catalog, catalog_files=catalog_files,
                        sql_dialect=sql_dialect, settings=settings)
    src, p = parsed.source, parsed.platform

    def name(n: str) -> str:
        col = src.column(p, n)
        return f"{col} ({n})" if col and col != n else n

    steps = describe_plan(parsed.plan, src, name=name, reads=f"{src.target(p)} — {src.name} —")
    return Explanation(platform=p.value, dialect=parsed.dialect, source=src.id, query=parsed.text,
                       steps=steps + list(parsed.notes), plan=parsed.plan,
                       issues=list(parsed.plan.issues))


def validate_query_text(text: str, platform: Platform | str, *, catalog: Catalog | None = None,
                        catalog_files: Sequence[Path | str] = (), sql_dialect: str | None = None,
                        execute_sample: bool = True, settings: Settings | None = None,
                        sandbox: Sandbox | None = None) -> Validation:
    """Every check on a pasted query, each reported (never raised): read-only, syntax, names,
    and execution on sample data. `valid` is false when any check failed or any issue is an
    error (an ``unsupported`` part of error severity too: what the query does is then not what
    was checked). SPL macros the catalog declares are expanded first (`expand_declared`)."""
    settings = settings or get_settings()
    p = platform_of(platform)
    dialect = dialect_for(p, sql_dialect, settings)
    q = clean_query(text, settings.max_query_chars)
    cat = catalog_or_load(catalog, catalog_files, settings)
    checks: list[Check] = []
    issues: list[PlanIssue] = []

    def done(source: str | None = None, rows: int | None = None) -> Validation:
        valid = all(c.ok is not False for c in checks) and not any(
            i.severity is Severity.error for i in issues)
        return Validation(platform=p.value, dialect=dialect, query=q, valid=valid, source=source,
                          checks=checks, issues=issues, rows=rows)

    try:
        read = expand_declared(q, p, cat)
        refused = [i for i in check_read_only(p.value, read, sql_dialect=dialect)
                   if i.code == "read_only"]
    except QueryError as e:
        read, refused = q, [PlanIssue(code=e.code, message=e.message, severity=Severity.error,
                                      line=e.line, column=e.column)]
    checks.append(Check(name="read_only", ok=not refused, message="; ".join(
        i.message for i in refused) or "reads only: no command that writes, deletes or runs code"))
    issues += refused
    if refused:
        return done()
    try:
        parsed = parse(read, p, cat, sql_dialect=dialect)
    except QueryError as e:
        syntax = e.code == "syntax"
        checks.append(Check(name="syntax", ok=not syntax, message=e.message if syntax
                            else "parses", hint=e.hint if syntax else None))
        if not syntax:
            checks.append(Check(name="names", ok=False, message=e.message, hint=e.hint))
        issues.append(PlanIssue(code=e.code, message=e.message + (f" — {e.hint}" if e.hint else ""),
                                severity=Severity.error, line=e.line, column=e.column))
        return done()
    checks.append(Check(name="syntax", ok=True, message="parses"))
    issues += parsed.plan.issues
    name_issues = check_names(parsed.plan, parsed.source, p, cat.get)
    issues += name_issues
    checks.append(Check(name="names", ok=not name_issues, message="; ".join(
        i.message for i in name_issues) or f"every name is a field of {parsed.source.name} "
                                            f"({parsed.source.id})"))
    if not execute_sample or name_issues:
        return done(parsed.source.id)
    if p is not Platform.sql and not parsed.faithful:
        checks.append(Check(name="execution", ok=None, message="not run: the query uses parts "
                            "the query model cannot hold (see issues)"))
        return done(parsed.source.id)
    try:
        with sandbox_for(sandbox, cat, settings) as box:
            result, _ = execute(parsed, box)
    except (LexiQueryError, PlanError) as e:
        checks.append(Check(name="execution", ok=False, message=e.message))
        issues.append(PlanIssue(code="execution", message=e.message, severity=Severity.error))
        return done(parsed.source.id)
    more = "+" if result.truncated else ""
    checks.append(Check(name="execution", ok=True,
                        message=f"ran on sample data: {len(result.rows)}{more} rows"))
    return done(parsed.source.id, rows=len(result.rows))
