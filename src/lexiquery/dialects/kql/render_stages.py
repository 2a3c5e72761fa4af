"""A staged QueryPlan → KQL: the first part (`kql.render.KqlRenderer`), then one or more pipes
per stage, each written over the outputs of the stages before it (`dialects.scope`).

    Step         → the pipeline again: `| where`, `| extend`, `| summarize`, `| top`, `| project`
    Expand       → `| mv-expand F = iff(array_length(F) == 0, dynamic(null), F)`
    TopPerGroup  → `| summarize arg_max(T, *) by k` (arg_min for an ascending sort); n rows,
                   or several sort keys: `| sort by k, T desc | extend _rn = row_number(1,
                   tostring(k) != tostring(prev(k))) | where _rn <= n | project-away _rn`
    Window       → `| lookup (<the same pipeline> | summarize m by k) on k`
    Join         → `| join kind=inner|leftouter|leftsemi|leftanti (<right>) on $left.a == $right.b`

Semantics an analyst should know:
* `mv-expand` makes no row for an empty array (and one, with null, for a null value); the IR
  keeps a row whose field is empty, so an empty array is replaced by null first;
* `arg_max(T, *)` keeps one row per group, a row with the greatest T (which one among equal Ts
  is unspecified, as in the IR); a null T is never chosen while the group has a value. With
  n > 1 or several sort keys the rows are sorted and numbered per group (nulls sort first
  ascending, last descending);
* a window repeats the pipeline before it inside a `lookup` (KQL evaluates `now()` once per
  query, so both copies read the same rows; after a row limit or a top per group, which may
  keep other rows among equals on a second run, it is refused) and joins the group
  aggregates back on the group keys. A key that is not text is matched through `tostring()`, so a null key (only non-text
  columns can be null in Kusto) finds its own group; `lookup` keeps every row of the left side;
* joins compare keys exactly (case-sensitive text). `kind=inner`/`leftouter` output both key
  columns; the right one is projected away (the IR outputs the left key only). A right column
  named like a left one is refused: KQL would rename it (`Name1`). Only the explicit kinds are
  written; KQL's default `innerunique` de-duplicates the left keys first.
"""

from __future__ import annotations

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.base import plan_error
from lexiquery.dialects.kql.render import KqlRenderer
from lexiquery.dialects.kql.text import ident, is_path, output_name
from lexiquery.dialects.language import Sources
from lexiquery.dialects.scope import Context, Scope, StepNames, check_stages, right_scope, walk
from lexiquery.ir import (
    Aggregation,
    Expand,
    Join,
    JoinKind,
    QueryPlan,
    Step,
    TopPerGroup,
    Window,
    step_plan,
)

JOIN_KINDS = {JoinKind.inner: "inner", JoinKind.left: "leftouter", JoinKind.semi: "leftsemi",
              JoinKind.anti: "leftanti"}
_TEXT = {FieldType.string, FieldType.guid}
WINDOW_KEY = "_wk"  # the prefix of the columns a window is joined back on
ROW_NUMBER = "_rn"  # the column that numbers the rows of each group (top rows per group)


def kql_context(source: Source, sources: Sources) -> Context:
    return Context(source, Platform.kql, group_output=output_name, sources=sources,
                   project_output=output_name)


def render_kql(plan: QueryPlan, source: Source, sources: Sources = None) -> str:
    """The plan as one KQL query, stages included (see the module docstring). Raises
    `PlanError` for names out of scope, a join without `sources`, and what KQL cannot write."""
    first = KqlRenderer(plan, source)
    if not plan.stages:
        return first.render()
    ctx = kql_context(source, sources)
    check_stages(plan, ctx)
    lines = first.render().split("\n")
    for i, (stage, scope) in enumerate(_stage_scopes(plan, ctx), start=1):
        lines += _stage(plan, stage, scope, ctx, i, lines)
    return "\n".join(lines)


def _stage_scopes(plan: QueryPlan, ctx: Context) -> list[tuple[object, Scope]]:
    """Each stage with the scope it reads."""
    out, prev = [], None
    for stage, scope in walk(plan, ctx):
        if stage is not None and prev is not None:
            out.append((stage, prev))
        prev = scope
    return out


def _column(scope: Scope, name: str, what: str) -> str:
    col = scope[name].column
    if is_path(col):
        raise plan_error("unsupported", f"{what} '{name}' is a path into a dynamic column "
                         f"({col}) on KQL; project it into a column of its own first", name)
    return ident(col)


def _indent(lines: list[str]) -> list[str]:
    return ["    " + ln for ln in lines]


def _stage(plan: QueryPlan, stage: object, scope: Scope, ctx: Context, i: int,
           before: list[str]) -> list[str]:
    if isinstance(stage, Step):
        names = StepNames(plan, stage, ctx, scope, i)
        return KqlRenderer(step_plan(plan, stage), ctx.source, names).body()
    if isinstance(stage, Expand):
        col = _column(scope, stage.field, "the expanded field")
        if scope[stage.field].type not in (FieldType.dynamic, None):
            raise plan_error("unsupported", f"expanding '{stage.field}', a single-valued "
                             f"{scope[stage.field].type.value} column on KQL (mv-expand "
                             f"expands dynamic arrays)", stage.field)
        return [f"| mv-expand {col} = iff(array_length({col}) == 0, dynamic(null), {col})"]
    if isinstance(stage, TopPerGroup):
        if stage.n != 1 or len(stage.sort) != 1:
            return _top_rows(stage, scope, i)
        key = stage.sort[0]
        fn = "arg_max" if key.descending else "arg_min"
        by = ", ".join(_column(scope, k, "the group key") for k in stage.by)
        return [f"| summarize {fn}({_column(scope, key.field, 'the sort key')}, *) by {by}"]
    if isinstance(stage, Window):
        return _window(plan, stage, scope, ctx, i, before)
    assert isinstance(stage, Join)
    return _join(stage, scope, ctx, i)


def _top_rows(stage: TopPerGroup, scope: Scope, i: int) -> list[str]:
    """The first n rows per group in sort order: sorted by the group, then numbered within it
    (`row_number` restarts where the group's text changes: a null key is its own group)."""
    if ROW_NUMBER in {o.column for o in scope.values()}:
        raise plan_error("unsupported", f"stage {i}: the first rows per group need the column "
                         f"name '{ROW_NUMBER}', which is already taken")
    keys = [_column(scope, k, "the group key") for k in stage.by]
    order = [f"{k} asc" for k in keys] + [
        f"{_column(scope, s.field, 'the sort key')} {'desc' if s.descending else 'asc'}"
        for s in stage.sort]
    restart = " or ".join(f"tostring({k}) != tostring(prev({k}))" for k in keys)
    return [f"| sort by {', '.join(order)}",
            f"| extend {ROW_NUMBER} = row_number(1, {restart})",
            f"| where {ROW_NUMBER} <= {stage.n}", f"| project-away {ROW_NUMBER}"]


def _window(plan: QueryPlan, stage: Window, scope: Scope, ctx: Context, i: int,
            before: list[str]) -> list[str]:
    earlier = [plan, *plan.stages[:i - 1]]
    if any(isinstance(p, (QueryPlan, Step)) and p.limit is not None
           or isinstance(p, TopPerGroup) for p in earlier):
        raise plan_error("unsupported", f"stage {i}: a window after a row limit or a top per "
                         f"group; KQL computes it from a second run of the query before it, "
                         f"which may keep other rows among equals")
    taken = {o.column for o in scope.values()}
    for m in stage.metrics:
        if m.name in taken:
            raise plan_error("unsupported", f"stage {i}: the window metric '{m.name}' is named "
                             f"like a column already there on KQL; give it an alias", m.name)
    step = Step(aggregation=Aggregation(metrics=stage.metrics, group_by=stage.by))
    r = KqlRenderer(step_plan(plan, step), ctx.source, StepNames(plan, step, ctx, scope, i))
    metrics = ", ".join(r.metric(m) for m in stage.metrics)
    left: list[str] = []
    keys: list[str] = []  # the columns both sides are matched on
    right_by: list[str] = []
    for n, name in enumerate(stage.by):
        col = _column(scope, name, "the group key")
        if scope[name].type in _TEXT:
            keys.append(col)
            right_by.append(col)
        else:  # a null key must find its own group: match on the text of the key
            key = f"{WINDOW_KEY}{n}"
            keys.append(key)
            left.append(f"{key} = tostring({col})")
            right_by.append(f"{key} = tostring({col})")
    if not stage.by:
        keys, left, right_by = [f"{WINDOW_KEY}0"], [f"{WINDOW_KEY}0 = 1"], [f"{WINDOW_KEY}0 = 1"]
    for k in keys:
        if k.startswith(WINDOW_KEY) and k in taken:
            raise plan_error("unsupported", f"stage {i}: a window needs the column name '{k}', "
                             f"which is already taken")
    out = [f"| extend {', '.join(left)}"] if left else []
    right = [*before, f"| summarize {metrics} by {', '.join(right_by)}"]
    out += ["| lookup (", *_indent(right), f") on {', '.join(keys)}"]
    hidden = [k for k in keys if k.startswith(WINDOW_KEY)]
    if hidden:
        out.append(f"| project-away {', '.join(hidden)}")
    return out


def _join(stage: Join, scope: Scope, ctx: Context, i: int) -> list[str]:
    src = ctx.right_source(stage)
    right = right_scope(stage, ctx)
    text = render_kql(stage.right, src, ctx.sources)
    left_cols = {o.column for o in scope.values()}
    conds, away = [], []
    for k in stage.on:
        a = _column(scope, k.left, "the join key")
        b = _column(right, k.right, "the join key")
        conds.append(a if a == b else f"$left.{a} == $right.{b}")
        if stage.how in (JoinKind.inner, JoinKind.left):
            col = right[k.right].column  # compared unquoted: `['Odd Name']` is `Odd Name`
            dup = col in left_cols
            if dup and f"{col}1" in left_cols | {o.column for o in right.values()}:
                raise plan_error("unsupported", f"stage {i}: KQL would name the right key "
                                 f"'{col}' '{col}1', which is already a column", k.right)
            away.append(ident(f"{col}1") if dup else b)
    if stage.how in (JoinKind.inner, JoinKind.left):
        keys = {k.right for k in stage.on}
        for name, o in right.items():
            if name not in keys and o.column in left_cols:
                raise plan_error("unsupported", f"stage {i}: both sides of the join have a "
                                 f"column '{o.column}' on KQL; rename it in the right-hand "
                                 f"query", name)
    out = [f"| join kind={JOIN_KINDS[stage.how]} (", *_indent(text.split("\n")),
           f") on {', '.join(conds)}"]
    if away:
        out.append(f"| project-away {', '.join(dict.fromkeys(away))}")
    return out
