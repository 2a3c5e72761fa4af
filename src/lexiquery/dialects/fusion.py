"""One staged plan, one shape: `fuse(plan)` moves what a `Step` holds into the pipeline before
it wherever the fixed order (filters → computed → aggregation → having → project → sort →
limit) can hold it there with the same rows.

A query can be written either way: `| project A | extend B = A` is one pipeline with a computed
field, or a pipeline and a step; `| stats … | where n > 5` is a having, or a step. Parsers keep
what the platform's text makes natural and renderers write what they are given, so the
round-trip canonicaliser (`dialects.roundtrip.canonical`) compares fused forms.

A step's parts move in pipeline order, each only once everything before it in the step has
moved, and never across a limit of the pipeline before (rows cut first are other rows):

* filters that read no field the step computes: into the filters when the pipeline before has
  no aggregation, into its having when it has one;
* computed fields, with the filters that read them: when the pipeline before has no
  aggregation and does not already define or read those names (a projection there is extended
  with them, since a step keeps every column it is given);
* the aggregation and its having: when the pipeline before has none (its sort has no effect
  before an aggregation and goes; its projection only named what the step reads, and goes);
* a projection, a sort and a limit: they replace the pipeline's own (a projection only narrows,
  and a sort there came before these rows were sorted again).

A step left empty goes. Other stages (expand, top per group, window, join) stay where they are,
and a step after one of them has no pipeline to fuse into.
"""

from __future__ import annotations

from typing import Any

from lexiquery.ir import QueryPlan, Step, iter_conditions, iter_expr_fields

_PARTS = ("filters", "computed", "aggregation", "having", "project", "sort", "limit")


def _empty(step: Step) -> bool:
    return not any(getattr(step, k) for k in _PARTS)


def defined_names(part: Any) -> set[str]:
    """Names a pipeline (a plan, a step, or a parser's draft of one: anything with `computed`
    and `filters`) defines or reads before its aggregation: a field computed after it with one
    of these names, or one it projects, cannot join it (it would change what the pipeline
    means), so a parser starts a step for it and `fuse` leaves it there."""
    return ({c.name for c in part.computed}
            | {n for c in part.computed for n in iter_expr_fields(c.expr)}
            | {c.field for c in iter_conditions(part.filters)})


def _merge(part: Any, step: Step) -> tuple[Any, Step]:
    """(the pipeline, what is left of the step) after moving what can move."""
    if part.limit is not None:
        return part, step
    own = {c.name for c in step.computed}
    reads_own = [f for f in step.filters if {c.field for c in iter_conditions([f])} & own]
    plain = [f for f in step.filters if not any(f is r for r in reads_own)]
    upd: dict[str, Any] = {}
    if plain:
        key = "having" if part.aggregation is not None else "filters"
        upd[key] = [*getattr(part, key), *plain]
    rest: dict[str, Any] = {}
    if step.computed:
        if part.aggregation is None and not own & (defined_names(part) | set(part.project)):
            upd["computed"] = [*part.computed, *step.computed]
            upd["filters"] = [*upd.get("filters", part.filters), *reads_own]
            if part.project:
                upd["project"] = [*part.project, *(c.name for c in step.computed)]
        else:
            rest = {k: getattr(step, k) for k in _PARTS if k != "filters"}
            rest["filters"] = reads_own
    if not rest and step.aggregation is not None:
        if part.aggregation is None:
            upd.update(aggregation=step.aggregation, having=step.having, sort=[], project=[])
        else:
            rest = {k: getattr(step, k) for k in ("aggregation", "having", "project", "sort",
                                                  "limit")}
    if not rest:
        upd.update({k: getattr(step, k) for k in ("project", "sort", "limit")
                    if getattr(step, k)})
    left = Step.model_construct(kind="step", **{k: ([] if k not in ("aggregation", "limit")
                                                    else None) for k in _PARTS} | rest)
    return part.model_copy(update=upd), left


def fuse(plan: QueryPlan) -> QueryPlan:
    """The plan with every step fused into the pipeline before it where that is exact."""
    if not plan.stages:
        return plan
    parts: list[Any] = [plan.model_copy(update={"stages": []})]
    for stage in plan.stages:
        prev = parts[-1]
        if isinstance(stage, Step) and isinstance(prev, (QueryPlan, Step)):
            merged, left = _merge(prev, stage)
            parts[-1] = merged
            if _empty(left):
                continue
            stage = left
        parts.append(stage)
    return parts[0].model_copy(update={"stages": parts[1:]})
