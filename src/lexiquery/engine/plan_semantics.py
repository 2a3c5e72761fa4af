"""How a plan's result reads in the sandbox: the platform semantics applied to each pipeline's
SELECT (SPL's dropped missing keys, KQL's non-empty counts) and the facts about the final rows
(limit, output types, the aggregation that made them) — for `Sandbox.execute_plan`."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.base import Names
from lexiquery.dialects.scope import Context, walk
from lexiquery.dialects.sql.render import SqlBuilder
from lexiquery.errors import LexiQueryError
from lexiquery.ir import Aggregation, QueryPlan, Step


def final_limit(plan: QueryPlan) -> int | None:
    """The limit of the last pipeline, if nothing after it adds rows."""
    if not plan.stages:
        return plan.limit
    last = plan.stages[-1]
    return last.limit if isinstance(last, Step) else None


def final_outputs(plan: QueryPlan, source: Source, main: Source, sources: Any,
                   columns: list[str]) -> dict[str, FieldType | None]:
    """The type of each result column (sandbox columns are the logical names)."""
    if not plan.stages:
        names = Names(plan, source, Platform.sql)
        return {c: output_type(names, c) for c in columns}
    scope: dict[str, Any] = {}
    for _, scope in walk(plan, Context(main, Platform.sql, None, sources)):
        pass
    return {o.column: o.type for o in scope.values()}


def final_aggregation(plan: QueryPlan, source: Source) -> tuple[Aggregation | None, list[str]]:
    """The aggregation that made the final rows (of the first part, or of a last Step), and
    the logical names of its group columns."""
    agg = plan.aggregation
    if plan.stages:
        last = plan.stages[-1]
        agg = last.aggregation if isinstance(last, Step) else None
    if agg is None:
        return None, []
    return agg, list(agg.group_by) + ([source.time_field or ""] if agg.time_bucket else [])


def output_type(names: Names, name: str) -> FieldType | None:
    try:
        return names.output_type(name)
    except LexiQueryError:
        return None


def drop_missing_groups(tree: exp.Select, plan: QueryPlan, builder: SqlBuilder) -> None:
    """Splunk's `stats … by f`: events without `f` (or without a time, for a bucket) are not
    counted in any group."""
    agg = plan.aggregation
    if agg is None:
        return
    keys = [builder.ref(g) for g in agg.group_by]
    if agg.time_bucket is not None:
        keys.append(builder.column(builder.names.time_column()))
    for key in keys:
        tree.where(exp.Not(this=exp.Is(this=key, expression=exp.Null())), append=True,
                   copy=False)


def count_non_empty(tree: exp.Expression, source: Source) -> None:
    """KQL's `countif(isnotempty(f))` for `count(f)`: empty strings do not count."""
    strings = {f.name for f in source.fields if f.type is FieldType.string}
    for node in list(tree.find_all(exp.Count)):
        arg = node.this
        if isinstance(arg, exp.Column) and arg.name in strings:
            node.set("this", exp.Nullif(this=arg.copy(), expression=exp.Literal.string("")))
