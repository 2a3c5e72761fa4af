"""What each stage of a staged plan sees: the outputs of everything before it, by logical name.

    scope = first_scope(names)                      → the plan's first part's outputs
    scope = next_scope(scope, stage, ctx)           → after one more stage
    names = StepNames(plan, step, ctx, scope)       → `Names` for a `Step` over `scope`
    for stage, scope in walk(plan, ctx): …          → each stage with the scope it reads

A scope maps each logical output name to the name it has on the platform (`Out.column`) and its
type. The first part (source → … → limit) outputs what `Names.output` resolves: its group keys
(named as the platform names them), metrics and time bucket; or its projection; or, with
neither, every field the source binds on the platform and its computed fields. A later stage
names those outputs by their logical names, so one plan means the same on every platform,
and each renderer writes the platform's names from the scope. A computed field or metric keeps
its own name everywhere.

Every renderer calls `check_stages` before writing text, so a name that is not in scope at its
stage fails as ``unknown_field`` (naming the stage) before any text is produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.base import (  # noqa: F401 (Out is part of this module's API)
    COLLECTION_METRICS,
    Names,
    Out,
    collection_misuse,
    plan_error,
)
from lexiquery.ir import (
    Expand,
    Join,
    JoinKind,
    Metric,
    MetricFn,
    QueryPlan,
    Stage,
    Step,
    TopPerGroup,
    Window,
    iter_conditions,
    iter_expr_fields,
    step_plan,
)

Scope = dict[str, Out]


@dataclass(frozen=True)
class Context:
    """What a scope is computed for: the plan's source on one platform, how that platform names
    a group key in an aggregation's output, and where a join's right-hand source comes from."""

    source: Source
    platform: Platform | None  # None: logical names, no binding checked
    group_output: Callable[[str, str], str] | None = None
    sources: Callable[[str], Source] | None = None
    # How the platform names a projected source field (logical, column) → output column; by
    # default its column (KQL names a projected dynamic path after the logical field).
    project_output: Callable[[str, str], str] | None = None

    def names(self, plan: QueryPlan, source: Source | None = None) -> Names:
        return Names(plan, source or self.source, self.platform, self.group_output)

    def right_source(self, join: Join) -> Source:
        src = self.sources(join.right.source) if self.sources is not None else None
        if src is None:
            raise plan_error("unknown_source", f"the join's right side reads "
                             f"'{join.right.source}', which no catalog was given to resolve")
        return src


def metric_type(m: Metric, field_type: Callable[[str], FieldType | None]) -> FieldType | None:
    """The type of a metric's output (as `Names.output_type` gives it)."""
    if m.fn in COLLECTION_METRICS:
        return FieldType.dynamic
    if m.fn in {MetricFn.first_seen, MetricFn.last_seen}:
        return FieldType.datetime
    if m.fn in {MetricFn.min, MetricFn.max} and m.field:
        return field_type(m.field)
    return FieldType.long if m.fn in {MetricFn.count, MetricFn.count_distinct} \
        else FieldType.real


def pipeline_scope(names: Names,
                   project_output: Callable[[str, str], str] | None = None) -> Scope:
    """The outputs of the fixed pipeline `names.plan` (its stages left out)."""
    plan = names.plan
    agg = plan.aggregation
    if agg is not None:
        out: Scope = {}
        tf = names.source.time_field
        if agg.time_bucket is not None and tf:
            out[tf] = Out(names.time_column(), FieldType.datetime)
        for g in agg.group_by:
            out[g] = Out(names.group_output(g), names.field_type(g))
        for m in agg.metrics:
            out[m.name] = Out(m.name, metric_type(m, names.field_type))
        if plan.project:
            out = {p: out[p] for p in plan.project if p in out}
        return out
    if plan.project:
        named = project_output or (lambda logical, column: column)
        return {p: Out(named(p, names.column(p)) if p not in names.computed else p,
                       names.field_type(p)) for p in plan.project}
    return names.all_columns()


def first_scope(names: Names, project_output: Callable[[str, str], str] | None = None) -> Scope:
    return pipeline_scope(names, project_output)


class ScopedNames(Names):
    """`Names` for a pipeline over `scope` (the outputs of the stages before it) rather than
    over its source's fields; `position` (from 1) names the stage in errors."""

    def __init__(self, plan: QueryPlan, source: Source, platform: Platform | None,
                 group_output: Callable[[str, str], str] | None, scope: Scope,
                 position: int | None = None) -> None:
        super().__init__(plan, source, platform, group_output)
        self.scope = scope
        self.position = position

    def column(self, name: str) -> str:
        if name in self.computed:
            return name
        out = self.scope.get(name)
        if out is None:
            where = f"stage {self.position}" if self.position is not None else "it"
            raise plan_error("unknown_field", f"'{name}' is not an output of the stages before "
                             f"{where} (outputs: {', '.join(self.scope)})", name)
        return out.column

    def field_type(self, name: str) -> FieldType | None:
        if name in self.computed:
            return super().field_type(name)
        out = self.scope.get(name)
        return out.type if out is not None else None

    def all_columns(self) -> Scope:
        out = dict(self.scope)
        for c in self.plan.computed:
            out[c.name] = Out(c.name, self.field_type(c.name))
        return out


class StepNames(ScopedNames):
    """`Names` for the `position`-th stage, a `Step`, over the outputs before it (`scope`)."""

    def __init__(self, plan: QueryPlan, step: Step, ctx: Context, scope: Scope,
                 position: int) -> None:
        super().__init__(step_plan(plan, step), ctx.source, ctx.platform, ctx.group_output,
                         scope, position)


def _need(scope: Scope, name: str, position: int, what: str) -> Out:
    out = scope.get(name)
    if out is None:
        raise plan_error("unknown_field", f"{what} '{name}' is not an output of the stages "
                         f"before stage {position} (outputs: {', '.join(scope)})", name)
    return out


def right_scope(join: Join, ctx: Context) -> Scope:
    """The outputs of a join's right-hand plan, on the same platform."""
    src = ctx.right_source(join)
    rctx = Context(src, ctx.platform, ctx.group_output, ctx.sources, ctx.project_output)
    scope: Scope = {}
    for _, scope in walk(join.right, rctx):
        pass
    return scope


def next_scope(scope: Scope, stage: Stage, ctx: Context, plan: QueryPlan,
               position: int) -> Scope:
    """The outputs after `stage` (the `position`-th, from 1) over `scope`; checks its names."""
    if isinstance(stage, Step):
        names = StepNames(plan, stage, ctx, scope, position)
        names.check_all()
        return pipeline_scope(names, ctx.project_output)
    if isinstance(stage, Expand):
        out = _need(scope, stage.field, position, "the expanded field")
        return {**scope, stage.field: Out(out.column, None)}
    if isinstance(stage, TopPerGroup):
        for n in [*stage.by, *(s.field for s in stage.sort)]:
            _need(scope, n, position, "the field")
        return dict(scope)
    if isinstance(stage, Window):
        for n in stage.by:
            _need(scope, n, position, "the group key")
        added: Scope = {}
        for m in stage.metrics:
            if m.fn in {MetricFn.first_seen, MetricFn.last_seen}:
                _need(scope, ctx.source.time_field or "", position, "the time field")
            elif m.field:
                _need(scope, m.field, position, "the field")
            if m.name in scope:
                raise plan_error("unsupported", f"the window metric '{m.name}' would replace the "
                                 f"column of that name; give it an alias", m.name)
            added[m.name] = Out(m.name, metric_type(
                m, lambda f: scope[f].type if f in scope else None))
        return {**scope, **added}
    assert isinstance(stage, Join)
    right = right_scope(stage, ctx)
    for k in stage.on:
        _need(scope, k.left, position, "the join key")
        if k.right not in right:
            raise plan_error("unknown_field", f"the join key '{k.right}' is not an output of "
                             f"the right-hand query (outputs: {', '.join(right)})", k.right)
    if stage.how in (JoinKind.semi, JoinKind.anti):
        return dict(scope)
    keys = {k.right for k in stage.on}
    out = dict(scope)
    for name, o in right.items():
        if name in keys:
            continue
        if name in out:
            raise plan_error("unsupported", f"both sides of the join output '{name}'; rename it "
                             f"in the right-hand query", name)
        out[name] = o
    return out


def walk(plan: QueryPlan, ctx: Context) -> Iterator[tuple[Stage | None, Scope]]:
    """(None, the first part's outputs), then (each stage, the outputs after it), in order."""
    names = ctx.names(plan)
    names.check_all()
    scope = first_scope(names, ctx.project_output)
    yield None, scope
    for i, stage in enumerate(plan.stages, start=1):
        scope = next_scope(scope, stage, ctx, plan, i)
        yield stage, scope


def scopes_before(plan: QueryPlan, ctx: Context) -> list[Scope]:
    """For each stage, the scope it reads (the outputs of everything before it)."""
    out: list[Scope] = []
    prev: Scope | None = None
    for stage, scope in walk(plan, ctx):
        if stage is not None and prev is not None:
            out.append(prev)
        prev = scope
    return out


def check_stages(plan: QueryPlan, ctx: Context) -> Scope:
    """Resolve every stage's names (see the module docstring); the final outputs."""
    scope: Scope = {}
    for _, scope in walk(plan, ctx):
        pass
    for i, stage in enumerate(plan.stages, start=1):
        if isinstance(stage, Step):
            misuse = collection_misuse(step_plan(plan, stage))
            if misuse:
                raise plan_error("unsupported", f"stage {i}: {misuse[0][2]}", misuse[0][1])
    return scope


def stage_fields(stage: Stage) -> list[str]:
    """Every name a stage reads from the stages before it (for name checks and canonical forms)."""
    if isinstance(stage, Step):
        computed = {c.name for c in stage.computed}
        names = [c.field for c in iter_conditions(stage.filters)]
        names += [n for c in stage.computed for n in iter_expr_fields(c.expr)]
        if stage.aggregation is not None:
            names += stage.aggregation.group_by
            names += [m.field for m in stage.aggregation.metrics if m.field]
        return [n for n in dict.fromkeys(names) if n not in computed]
    if isinstance(stage, Expand):
        return [stage.field]
    if isinstance(stage, TopPerGroup):
        return list(dict.fromkeys([*stage.by, *(s.field for s in stage.sort)]))
    if isinstance(stage, Window):
        return list(dict.fromkeys([*stage.by, *(m.field for m in stage.metrics if m.field)]))
    return [k.left for k in stage.on]
