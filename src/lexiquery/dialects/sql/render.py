"""QueryPlan → SQL, built as a sqlglot expression tree and emitted for one dialect.

    build_select(plan, source)                 → exp.Select of generic nodes (dialect-neutral)
    build_select(plan, source, "tsql")         → exp.Select with T-SQL's idioms as nodes
    render_sql(plan, source, "tsql")           → pretty T-SQL text

One pipeline is one SELECT (`sql.builder.SqlBuilder`, whose docstring lists the semantics an
analyst should know); a staged plan is one CTE per stage (`sql.render_stages`).
"""

from __future__ import annotations

from sqlglot import exp

from lexiquery.catalog.model import Source
from lexiquery.dialects.language import Sources
from lexiquery.dialects.sql.builder import (
    IDIOMS,
    SQL_DIALECTS,
    SqlBuilder,
    constant,
    idiom_for,
)
from lexiquery.dialects.sql.render_stages import StagedSql
from lexiquery.dialects.sql.text import emit
from lexiquery.ir import QueryPlan

__all__ = ["IDIOMS", "SQL_DIALECTS", "SqlBuilder", "build_select", "constant", "idiom_for",
           "render_sql"]

def build_select(plan: QueryPlan, source: Source, dialect: str | None = None,
                 sources: Sources = None) -> exp.Select:
    """The statement as a sqlglot tree.

    Without `dialect` the tree holds only generic nodes, which sqlglot can transpile to any
    dialect (its best effort); with one it holds that dialect's idioms (`render_sql`'s text).
    Raises `PlanError` for names the source cannot resolve or features the dialect lacks,
    `DialectError` for an unknown dialect. A staged plan is one CTE per stage
    (`sql.render_stages`); `sources` resolves a join's right-hand source."""
    if plan.stages:
        return StagedSql(plan, source, dialect, sources).build()
    return SqlBuilder(plan, source, dialect).build()


def render_sql(plan: QueryPlan, source: Source, dialect: str = "postgres",
               sources: Sources = None) -> str:
    """The plan as one pretty-printed SQL statement in `dialect`. `sources` resolves the source
    of a join's right-hand plan."""
    return emit(build_select(plan, source, dialect, sources), dialect)
