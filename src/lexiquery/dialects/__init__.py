"""Dialects: one QueryPlan rendered as KQL, SPL or SQL.

    render(plan, source, Platform.kql)                       → KQL text
    render(plan, source, Platform.sql, sql_dialect="tsql")   → T-SQL text

Raises `PlanError` (issue codes ``unknown_field``, ``not_bound``, ``unsupported``) when the plan
cannot be written for that platform, `DialectError` for an unknown SQL dialect. Output is
deterministic: the same plan gives the same text byte for byte.
"""

from __future__ import annotations

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.sqlgen import SQL_DIALECTS
from lexiquery.errors import PlanError
from lexiquery.ir import QueryPlan

__all__ = ["render", "SQL_DIALECTS"]


def render(plan: QueryPlan, source: Source, platform: Platform, *,
           sql_dialect: str = "postgres") -> str:
    if getattr(source.bindings, platform.value) is None:
        raise PlanError(f"{source.name} is not available on {platform.value}",
                        issues=[{"code": "not_bound",
                                 "message": f"{source.name} has no {platform.value} binding"}])
    if platform is Platform.kql:
        from lexiquery.dialects.kusto import render_kql

        return render_kql(plan, source)
    if platform is Platform.spl:
        from lexiquery.dialects.splunk import render_spl

        return render_spl(plan, source)
    from lexiquery.dialects.sqlgen import render_sql

    return render_sql(plan, source, sql_dialect)
