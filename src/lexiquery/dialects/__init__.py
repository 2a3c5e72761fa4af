"""Dialects: one QueryPlan rendered as KQL, SPL or SQL.

    render(plan, source, Platform.kql)                       → KQL text
    render(plan, source, Platform.spl)                       → SPL text
    render(plan, source, Platform.sql, sql_dialect="tsql")   → T-SQL text
    SQL_DIALECTS                                             → the sqlglot dialect names accepted
    lexiquery.dialects.sql.render.build_select(plan, source)        → the SQL as a sqlglot tree

Raises `PlanError` when the plan cannot be written for that platform — issue codes
``unknown_field`` (not a field of the source, nor an output of an earlier stage), ``not_bound``
(a field, or the whole source, the platform does not have), ``no_time_field``, ``unsupported``
(a feature the target lacks, e.g. regexes in T-SQL) — and `DialectError` for an unknown SQL
dialect. Output is deterministic: the same plan gives the same text byte for byte.

`parse(text, platform, catalog, sql_dialect=…)` reads a KQL, SPL or SQL query back into a
`ParsedQuery` (plan + source); see `dialects.parsing` for the parsers' contract.

Modules: `base` (name resolution, typing, values shared by all); `kql` + `kql_text`; `spl` +
`spl_text`; `sql` (the statement) + `sql_filters` (conditions, expressions) + `sql_text`
(quoting, printing) + `sql_idioms` / `sql_idioms_db` / `sql_idioms_dw` (what each SQL dialect
writes its own way). Each renderer's docstring lists the semantics an analyst should know (case
sensitivity, NULL/missing-field handling, time formats).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.kql.parse import parse_kql
from lexiquery.dialects.kql.render import render_kql
from lexiquery.dialects.spl.parse import parse_spl
from lexiquery.dialects.spl.render import render_spl
from lexiquery.dialects.sql.parse import parse_sql
from lexiquery.dialects.sql.render import SQL_DIALECTS, idiom_for, render_sql
from lexiquery.errors import InputError, PlanError
from lexiquery.ir import QueryPlan

if TYPE_CHECKING:
    from lexiquery.catalog.model import Catalog
    from lexiquery.dialects.parsing import ParsedQuery

__all__ = ["render", "parse", "sql_dialect_name", "SQL_DIALECTS"]


def render(plan: QueryPlan, source: Source, platform: Platform, *,
           sql_dialect: str = "postgres") -> str:
    """The plan as query text for `platform` (and `sql_dialect` when the platform is SQL)."""
    platform = Platform(platform)
    if platform is Platform.sql:
        idiom_for(sql_dialect)  # an unknown dialect is the caller's error, whatever the source
    if getattr(source.bindings, platform.value) is None:
        raise PlanError(f"{source.name} is not available on {platform.value}",
                        issues=[{"code": "not_bound",
                                 "message": f"{source.name} has no {platform.value} binding",
                                 "field": None}])
    if platform is Platform.kql:
        return render_kql(plan, source)
    if platform is Platform.spl:
        return render_spl(plan, source)

    return render_sql(plan, source, sql_dialect)


def parse(text: str, platform: Platform | str, catalog: "Catalog", *,
          sql_dialect: str = "postgres") -> "ParsedQuery":
    """Read query `text` of `platform` into the IR through `catalog`'s bindings.

    Raises `QueryError` (syntax, unknown_source, unknown_field, read_only) with the position."""
    platform = Platform(platform)
    if platform is Platform.kql:
        return parse_kql(text, catalog)
    if platform is Platform.spl:
        return parse_spl(text, catalog)
    idiom_for(sql_dialect)

    return parse_sql(text, catalog, dialect=sql_dialect)


def sql_dialect_name(value: str) -> str:
    """The SQL dialect, lower-cased, or `InputError` naming the ones there are."""
    dialect = value.lower()
    if dialect not in SQL_DIALECTS:
        raise InputError(f"unknown SQL dialect {dialect!r}; choose one of: "
                         f"{', '.join(SQL_DIALECTS)}")
    return dialect
