"""A staged plan (schema version 2) as one SPL search: the first part as `spl.render` writes
it, then one or more commands per stage, each naming the outputs before it by their SPL names
(`dialects.scope`).

    Step          → | where … | eval … | stats … by … | where … | sort N … | table …
    Expand(f)     → | mvexpand f
    TopPerGroup   → | dedup [N] k… sortby -T …
    Window        → | eventstats m… by k…
    Join          → | join type=inner|left max=0 k… [search …]   (see `spl.join`)
                    | search [search … | table k…]  /  | search NOT [search … | table k…]

Semantics an analyst should know (besides those of `spl.render`):
* a step filters with `| where` (exact comparisons; case folded with `lower()` where the plan
  says case-insensitive), never with the base search;
* `dedup` (TopPerGroup) and `eventstats … by` (Window) leave out — `dedup` drops,
  `eventstats` gives no aggregate to — rows where a key is missing, as `stats … by` does; KQL
  and SQL make them a group of their own;
* `mvexpand` splits multivalue fields (`split()`, `values()`, `spath(x, "a{}")` — a computed
  JSON member a later stage expands or indexes is written with `{}`, its elements); a source
  field that holds the text of a JSON array is one value to it, and it stops at limits.conf's
  `max_mem_usage_mb` with a warning in the job;
* `dedup … sortby` also returns the rows in that order.
"""

from __future__ import annotations

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.language import Sources
from lexiquery.dialects.scope import Context, Scope, StepNames, check_stages, scopes_before
from lexiquery.dialects.spl.functions import array_fields
from lexiquery.dialects.spl.join import render_join
from lexiquery.dialects.spl.render import SplRenderer
from lexiquery.dialects.spl.text import search_field
from lexiquery.ir import (
    Expand,
    Join,
    QueryPlan,
    Stage,
    Step,
    TopPerGroup,
    Window,
    step_plan,
)


def epoch_columns(scope: Scope, source: Source) -> set[str]:
    """The columns of `scope` that hold epoch seconds in SPL: the time field and the time
    outputs of aggregations (first/last seen, min/max of time, a time bucket)."""
    tf = source.time_field
    return {o.column for name, o in scope.items() if o.type is FieldType.datetime
            and (name == tf or source.field(name) is None)}


def scope_renderer(plan: QueryPlan, step: Step, ctx: Context, scope: Scope,
                   position: int) -> SplRenderer:
    """A renderer whose names are the outputs before stage `position` (`scope`)."""
    r = SplRenderer(step_plan(plan, step), ctx.source)
    r.names = StepNames(plan, step, ctx, scope, position)
    r.epoch_cols = epoch_columns(scope, ctx.source)
    r.arrays = array_fields(plan)
    return r


class StageWriter:
    """The commands of one stage over the outputs before it."""

    def __init__(self, plan: QueryPlan, ctx: Context, scope: Scope, position: int) -> None:
        self.plan, self.ctx, self.scope, self.position = plan, ctx, scope, position

    def col(self, name: str) -> str:
        return search_field(self.scope[name].column)

    def write(self, stage: Stage) -> list[str]:
        if isinstance(stage, Step):
            if stage.aggregation is None and not stage.computed and \
                    stage.project == list(self.scope):
                stage = stage.model_copy(update={"project": []})  # every output: no table
            return scope_renderer(self.plan, stage, self.ctx, self.scope,
                                  self.position).pipeline(first=False)
        if isinstance(stage, Expand):
            return [f"| mvexpand {self.col(stage.field)}"]
        if isinstance(stage, TopPerGroup):
            count = f"{stage.n} " if stage.n > 1 else ""
            keys = " ".join(("-" if s.descending else "+") + self.col(s.field)
                            for s in stage.sort)
            return [f"| dedup {count}{' '.join(self.col(k) for k in stage.by)} sortby {keys}"]
        if isinstance(stage, Window):
            empty = Step.model_construct(filters=[], computed=[], aggregation=None, having=[],
                                         project=[], sort=[], limit=None)
            r = scope_renderer(self.plan, empty, self.ctx, self.scope, self.position)
            by = f" by {', '.join(self.col(k) for k in stage.by)}" if stage.by else ""
            return [f"| eventstats {', '.join(r.metric(m) for m in stage.metrics)}{by}"]
        assert isinstance(stage, Join)
        return render_join(stage, self.ctx, self.scope,
                           lambda plan, source: render_spl(plan, source, self.ctx.sources))


def render_spl(plan: QueryPlan, source: Source, sources: Sources = None) -> str:
    """The plan as one SPL search (`spl.render` writes the first part, this module the
    stages). Raises `PlanError` for names the source cannot resolve; `sources` resolves the
    source of a join's right-hand plan."""
    if not plan.stages:
        return SplRenderer(plan, source).render()
    ctx = Context(source, Platform.spl, None, sources)
    check_stages(plan, ctx)
    first = SplRenderer(plan.model_copy(update={"stages": []}), source)
    first.arrays = array_fields(plan)
    lines = first.lines()
    for i, (stage, scope) in enumerate(zip(plan.stages, scopes_before(plan, ctx)), start=1):
        lines += StageWriter(plan, ctx, scope, i).write(stage)
    return "\n".join(lines)
