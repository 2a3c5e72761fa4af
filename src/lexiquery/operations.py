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

import re
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from pydantic import BaseModel, Field

from lexiquery.answer import Agreement
from lexiquery.catalog.model import Catalog, Platform
from lexiquery.config import Settings, get_settings
from lexiquery.errors import InputError, LexiQueryError, PlanError, QueryError
from lexiquery.ir import PlanIssue, QueryPlan, Severity

if TYPE_CHECKING:
    from lexiquery.dialects.parsing import ParsedQuery
    from lexiquery.engine.results import ResultSet
    from lexiquery.engine.sandbox import Sandbox


# ------------------------------------------------------------------------- results


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


# ------------------------------------------------------------------------- reading


def _dialect(platform: Platform, sql_dialect: str | None, settings: Settings) -> str:
    from lexiquery.orchestrator import sql_dialect_name

    if platform is not Platform.sql:
        return platform.value
    return sql_dialect_name(sql_dialect or settings.sql_dialect)


def _platform(value: Platform | str) -> Platform:
    try:
        return Platform(str(getattr(value, "value", value)).lower())
    except ValueError:
        raise InputError(f"unknown platform {value!r}; choose kql, spl or sql") from None


def clean_query(text: object, max_chars: int) -> str:
    """The pasted query, or `InputError` when it is empty, binary or over `max_chars`."""
    from lexiquery.user_input import user_text

    q = user_text(text, "query", max_chars, long_hint="raise LEXIQUERY_MAX_QUERY_CHARS")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in q):
        raise InputError("the query contains binary or control characters")
    return q


_SQL_START = re.compile(r"^\(*\s*(select|with|insert|update|delete|drop|create|alter|merge|"
                        r"truncate|grant|copy|exec|execute)\b", re.IGNORECASE)
_SPL_START = re.compile(r"^(\||search\s|(index|sourcetype|source|host|earliest|latest|tag|"
                        r"eventtype)\s*!?=)", re.IGNORECASE)
_KQL_START = re.compile(r"^(let\s|\.[a-z]|[A-Za-z_][\w]*\s*(\||$|\n))", re.IGNORECASE)


def guess_platform(text: str) -> str:
    """kql, spl or sql from the first words of the text; `InputError` when it cannot tell."""
    body = re.sub(r"^(\s*(//|--|#)[^\n]*\n)+", "", text.lstrip("\ufeff")).strip()
    body = re.sub(r"^/\*.*?\*/\s*", "", body, flags=re.DOTALL)
    if _SQL_START.match(body):
        return "sql"
    if _SPL_START.match(body):
        return "spl"
    if _KQL_START.match(body):
        return "kql"
    raise InputError("cannot tell which language this query is in",
                     hint="pass --platform kql, spl or sql")


def _catalog(catalog: Catalog | None, catalog_files: Sequence[Path | str],
             settings: Settings) -> Catalog:
    if catalog is not None:
        return catalog
    from lexiquery.orchestrator import load_catalog

    return load_catalog(settings, [Path(p) for p in catalog_files])


def read_query(text: str, platform: Platform | str, *, catalog: Catalog | None = None,
               catalog_files: Sequence[Path | str] = (), sql_dialect: str | None = None,
               settings: Settings | None = None) -> "ParsedQuery":
    """The query read into the IR: read-only guard first, then the platform's parser."""
    from lexiquery.dialects import parse
    from lexiquery.dialects.guard import check_read_only

    settings = settings or get_settings()
    p = _platform(platform)
    dialect = _dialect(p, sql_dialect, settings)
    cat = _catalog(catalog, catalog_files, settings)
    q = expand_declared(clean_query(text, settings.max_query_chars), p, cat)
    # check_read_only also reports SQL it cannot parse: that is the parser's to say, not a refusal
    refused = [i for i in check_read_only(p.value, q, sql_dialect=dialect) if i.code == "read_only"]
    if refused:
        raise QueryError("; ".join(i.message for i in refused), code="read_only",
                         hint="LexiQuery only reads: queries that write, delete, send or run "
                              "code are refused")
    return parse(q, p, cat, sql_dialect=dialect)


def expand_declared(text: str, platform: Platform, catalog: Catalog) -> str:
    """SPL with the macros the catalog declares expanded (`dialects.spl_macros`), so the guard
    and the parser read what Splunk would run; other text as it is. Raises a ``read_only``
    `QueryError` for macros that nest too deep."""
    if platform is not Platform.spl:
        return text
    from lexiquery.dialects.spl.macros import expand_macros

    return expand_macros(text, catalog.spl_macros())


def _require_faithful(parsed: "ParsedQuery", doing: str) -> None:
    errors = [i for i in parsed.plan.issues if i.severity is Severity.error]
    if errors:
        raise QueryError(f"cannot {doing}: " + "; ".join(i.message for i in errors),
                         code="unsupported", line=errors[0].line, column=errors[0].column,
                         issues=[i.model_dump(mode="json") for i in errors],
                         hint="the query model cannot hold these parts; rewrite them or remove "
                              "them to see the rest")


# ------------------------------------------------------------------------- sandbox


def make_sandbox(catalog: Catalog, settings: Settings, *,
                 data: Mapping[str, Path | str] | None = None) -> "Sandbox":
    """A sandbox on the settings' sample data, with the user's rows for the sources in `data`
    (keys: source ids, or a KQL/SQL table name bound to one)."""
    from lexiquery.engine.sandbox import Sandbox

    box = Sandbox(catalog, rows_per_source=settings.sample_rows, seed=settings.sample_seed,
                  row_cap=settings.row_cap, timeout_s=settings.query_timeout_s,
                  result_max_bytes=settings.result_max_bytes)
    try:
        for key, path in (data or {}).items():
            box.use_rows(_source_id(catalog, key), Path(path))
    except BaseException:
        box.close()
        raise
    return box


@contextmanager
def sandbox_for(given: "Sandbox | None", catalog: Catalog, settings: Settings, *,
                data: Mapping[str, Path | str] | None = None) -> Iterator["Sandbox"]:
    """`given`, or a new sandbox closed on the way out (DuckDB connections are released
    deterministically, not by the garbage collector at interpreter exit)."""
    if given is not None:
        yield given
        return
    box = make_sandbox(catalog, settings, data=data)
    try:
        yield box
    finally:
        box.close()


def _source_id(catalog: Catalog, key: str) -> str:
    if key in catalog:
        return key
    for s in catalog:
        for p in (Platform.kql, Platform.sql):
            b = getattr(s.bindings, p.value)
            if b is not None and b.table.lower() == key.lower():
                return s.id
    from lexiquery.dialects.parsing import closest

    near = closest(key, catalog.ids())
    raise InputError(f"--data names {key!r}, which is no catalog source",
                     hint=f"did you mean {', '.join(near)}?" if near else
                     "`lexiquery catalog list` shows the source ids")


def execute(parsed: "ParsedQuery", box: "Sandbox") -> tuple["ResultSet", str]:
    """Run a parsed query: SQL as written, KQL/SPL through their plan. Returns the result and
    how it ran: ``query``, ``plan``, or ``plan (…)`` with the reason when SQL text that DuckDB
    cannot run after transpiling (a dialect function with no DuckDB equivalent) was checked
    through the plan it parses to instead.

    A plan's result columns carry logical names; they are renamed to what the platform itself
    would call them (`UserPrincipalName`, not `user`), so the table reads like the real one."""
    from dataclasses import replace

    from lexiquery.engine.sandbox import SandboxError

    if parsed.platform is Platform.sql:
        try:
            return box.execute_sql(parsed.text, parsed.dialect, parsed.source), "query"
        except SandboxError as e:
            if e.code == "timeout" or not parsed.faithful:
                raise
            why = f"plan (the {parsed.dialect} text does not run in DuckDB: {e.message})"
            return box.execute_plan(parsed.plan, parsed.source), why
    result = box.execute_plan(parsed.plan, parsed.source, semantics=parsed.platform)
    return replace(result, columns=platform_columns(parsed, result.columns)), "plan"


def platform_columns(parsed: "ParsedQuery", columns: Sequence[str]) -> list[str]:
    """Logical output names → the platform's names for the source fields among them."""
    from lexiquery.dialects.kql.text import output_name

    plan, src = parsed.plan, parsed.source
    own = {c.name for c in plan.computed}
    if plan.aggregation is not None:
        own |= {m.name for m in plan.aggregation.metrics}
    out = []
    for c in columns:
        col = src.column(parsed.platform, c) if c not in own else None
        if col is None:
            out.append(c)
        elif parsed.platform is Platform.kql:
            out.append(output_name(c, col))  # a dynamic path keeps the logical name
        else:
            out.append(col)
    return out


def _data_label(settings: Settings, data: Mapping[str, Any] | None, source: str) -> str:
    if data and source in data:
        return f"your rows from {data[source]}"
    return (f"sample data ({settings.sample_rows:,} generated rows per source, "
            f"seed {settings.sample_seed})")


# ------------------------------------------------------------------------- operations


def run_query(text: str, platform: Platform | str, *, catalog: Catalog | None = None,
              catalog_files: Sequence[Path | str] = (), sql_dialect: str | None = None,
              data: Mapping[str, Path | str] | None = None, settings: Settings | None = None,
              sandbox: "Sandbox | None" = None) -> RunResult:
    """Execute the query on sample data (or the user's rows for its source).

    A KQL or SPL query with a construct the IR cannot hold is refused (`QueryError`,
    code ``unsupported``) rather than run without it; SQL runs as written whatever it holds."""
    settings = settings or get_settings()
    cat = _catalog(catalog, catalog_files, settings)
    parsed = read_query(text, platform, catalog=cat, sql_dialect=sql_dialect, settings=settings)
    if parsed.platform is not Platform.sql:
        _require_faithful(parsed, "run this query on sample data")
    with sandbox_for(sandbox, cat, settings, data=data) as box:
        result, how = execute(parsed, box)
    keyed = {_source_id(cat, k): v for k, v in (data or {}).items()}
    return RunResult(platform=parsed.platform.value, dialect=parsed.dialect,
                     source=parsed.source.id, query=parsed.text, plan=parsed.plan,
                     columns=list(result.columns), rows=[list(r) for r in result.rows],
                     truncated=result.truncated, truncated_by=result.truncated_by,
                     elapsed_ms=round(result.elapsed_ms, 2),
                     executed=how, data=_data_label(settings, keyed, parsed.source.id),
                     issues=list(parsed.plan.issues))


def translate_query(text: str, from_platform: Platform | str, to_platform: Platform | str, *,
                    catalog: Catalog | None = None, catalog_files: Sequence[Path | str] = (),
                    from_dialect: str | None = None, to_dialect: str | None = None,
                    check: bool = True, settings: Settings | None = None,
                    sandbox: "Sandbox | None" = None) -> Translation:
    """The query on another platform (or another SQL dialect), through the IR.

    Every part that does not carry over is an issue on the result: constructs the IR cannot
    hold, and features the target lacks (then `query` is empty and `valid` false). With
    `check`, both queries run on the same sample data and `agreement` says whether they
    return the same rows."""
    from lexiquery.agents.checking import check_query
    from lexiquery.agents.data import render_query

    settings = settings or get_settings()
    cat = _catalog(catalog, catalog_files, settings)
    parsed = read_query(text, from_platform, catalog=cat, sql_dialect=from_dialect,
                        settings=settings)
    target = _platform(to_platform)
    dialect = _dialect(target, to_dialect, settings)
    issues = list(parsed.plan.issues)
    query = render_query(parsed.plan, parsed.source, target, sql_dialect=dialect)
    query = check_query(query, parsed.plan, parsed.source, confidence=1.0)
    issues += [i for i in query.issues if i not in issues]
    agreement = None
    if check and query.valid and parsed.faithful:
        agreement = _agree(parsed, query.query, target, dialect, cat, settings, sandbox)
    return Translation(from_platform=parsed.platform.value, from_dialect=parsed.dialect,
                       to_platform=target.value, to_dialect=dialect, source=parsed.source.id,
                       input=parsed.text, query=query.query, valid=query.valid,
                       plan=parsed.plan, issues=issues, agreement=agreement)


def _agree(parsed: "ParsedQuery", translated: str, target: Platform, dialect: str,
           catalog: Catalog, settings: Settings, sandbox: "Sandbox | None") -> Agreement | None:
    """Run the original and the translation on the same rows and compare."""
    from lexiquery.dialects import parse
    from lexiquery.engine.results import compare_results

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
    from lexiquery.engine.explain import describe_plan

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
                        sandbox: "Sandbox | None" = None) -> Validation:
    """Every check on a pasted query, each reported (never raised): read-only, syntax, names,
    and execution on sample data. `valid` is false when any check failed or any issue is an
    error (an ``unsupported`` part of error severity too: what the query does is then not what
    was checked). SPL macros the catalog declares are expanded first (`expand_declared`)."""
    from lexiquery.agents.validator import check_names
    from lexiquery.dialects import parse
    from lexiquery.dialects.guard import check_read_only

    settings = settings or get_settings()
    p = _platform(platform)
    dialect = _dialect(p, sql_dialect, settings)
    q = clean_query(text, settings.max_query_chars)
    cat = _catalog(catalog, catalog_files, settings)
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
    name_issues = check_names(parsed.plan, parsed.source, p)
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
