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

One folder per language (`kql/`, `spl/`, `sql/`), each registered once, in `LANGUAGES`, as a
`language.Language` (renderer, parser, read-only guard). Shared by all: `base` (name resolution,
typing, values), `parsing` (the parsers' contract), `roundtrip` (plan equivalence), `guard` and
`refusals` (the read-only check), `reading` (a pasted query: clean, guess its language, parse),
`name_check` (a plan's names against the catalog). Each renderer's docstring lists the semantics
an analyst should know (case sensitivity, NULL/missing-field handling, time formats).
"""

from __future__ import annotations

from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects import kql, spl, sql
from lexiquery.dialects.language import Language
from lexiquery.dialects.parsing import ParsedQuery
from lexiquery.dialects.sql.render import SQL_DIALECTS, idiom_for
from lexiquery.errors import InputError, PlanError
from lexiquery.ir import QueryPlan

__all__ = ["LANGUAGES", "SQL_DIALECTS", "language_of", "parse", "render", "sql_dialect_name"]

# The one place a language is registered.
LANGUAGES: dict[Platform, Language] = {lang.LANGUAGE.platform: lang.LANGUAGE
                                       for lang in (kql, spl, sql)}


def language_of(platform: Platform | str) -> Language:
    """The language of `platform`; `ValueError` when it is none of `LANGUAGES`."""
    try:
        return LANGUAGES[Platform(platform)]
    except (KeyError, ValueError):
        raise ValueError(f"unknown platform {platform!r}") from None


def render(plan: QueryPlan, source: Source, platform: Platform, *,
           sql_dialect: str = "postgres", catalog: Catalog | None = None) -> str:
    """The plan as query text for `platform` (and `sql_dialect` when the platform is SQL).
    `catalog` resolves the source of a join's right-hand plan (a plan with a join needs it)."""
    platform = Platform(platform)
    if platform is Platform.sql:
        idiom_for(sql_dialect)  # an unknown dialect is the caller's error, whatever the source
    if getattr(source.bindings, platform.value) is None:
        raise PlanError(f"{source.name} is not available on {platform.value}",
                        issues=[{"code": "not_bound",
                                 "message": f"{source.name} has no {platform.value} binding",
                                 "field": None}])
    return language_of(platform).render(plan, source, sql_dialect,
                                        catalog.get if catalog is not None else None)


def parse(text: str, platform: Platform | str, catalog: Catalog, *,
          sql_dialect: str = "postgres") -> ParsedQuery:
    """Read query `text` of `platform` into the IR through `catalog`'s bindings.

    Raises `QueryError` (syntax, unknown_source, unknown_field, read_only) with the position."""
    platform = Platform(platform)
    if platform is Platform.sql:
        idiom_for(sql_dialect)
    return language_of(platform).parse(text, catalog, sql_dialect)


def sql_dialect_name(value: str) -> str:
    """The SQL dialect, lower-cased, or `InputError` naming the ones there are."""
    dialect = value.lower()
    if dialect not in SQL_DIALECTS:
        raise InputError(f"unknown SQL dialect {dialect!r}; choose one of: "
                         f"{', '.join(SQL_DIALECTS)}")
    return dialect
