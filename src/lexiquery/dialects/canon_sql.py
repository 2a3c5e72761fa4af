"""The shape SQL gives a plan, for the round trip (`dialects.roundtrip`, "with platform SQL"):
`sql_shape` inlines and names computed fields as SQL writes them and drops what SQL does not
select; `sql_carried_order` moves a sort to where SQL's chain of CTEs keeps it.
"""

from __future__ import annotations

import json
from typing import Any

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.canon import Canon
from lexiquery.ir import (
    And,
    Call,
    Compare,
    ComputedField,
    Condition,
    FieldRef,
    Literal_,
    Not,
    Or,
    QueryPlan,
    Step,
    iter_conditions,
)


def _inline(e: Any, computed: dict[str, Any], depth: int = 0) -> Any:
    if depth > 50:  # bounded: a computed field cannot read itself
        return e
    if isinstance(e, FieldRef) and e.name in computed:
        return _inline(computed[e.name], computed, depth + 1)
    if isinstance(e, Call):
        return Call(fn=e.fn, args=[_inline(a, computed, depth + 1) for a in e.args])
    if isinstance(e, Compare):
        return Compare(left=_inline(e.left, computed, depth + 1), op=e.op,
                       right=_inline(e.right, computed, depth + 1) if e.right else None)
    return e


def _renamed(f: Any, names: dict[str, str]) -> Any:
    if isinstance(f, Condition):
        return f.model_copy(update={"field": names.get(f.field, f.field)})
    if isinstance(f, (And, Or)):
        return f.model_copy(update={"items": [_renamed(i, names) for i in f.items]})
    if isinstance(f, Not):
        return f.model_copy(update={"item": _renamed(f.item, names)})
    return f


def _sql_unnamed_computed(plan: QueryPlan, source: Source) -> QueryPlan:
    """SQL names a computed field only where it is selected; elsewhere it writes the expression.
    So an unselected rename (`calc0 = status`) is the field itself (a metric over it keeps its
    output name as alias), any other unselected computed field is named after its canonical
    expression, and an unselected constant sort key is dropped (sorting by a constant is a
    no-op, and SQL leaves it out: `ORDER BY 2` would mean the second column)."""
    exprs = {c.name: c.expr for c in plan.computed}
    inlined = {n: _inline(e, {k: v for k, v in exprs.items() if k != n}) for n, e in exprs.items()}
    agg = plan.aggregation
    if agg is not None:
        outputs = set(agg.group_by)
        selected = set(plan.project or agg.group_by) | {m.name for m in agg.metrics}
    else:
        outputs = selected = set(plan.project) if plan.project else set(exprs)
    canon = Canon(plan, source, Platform.sql)
    names: dict[str, str] = {}
    for n, e in inlined.items():
        if n in outputs:
            continue
        names[n] = e.name if isinstance(e, FieldRef) and e.name not in exprs else \
            "<expr " + json.dumps(canon.expr(e).model_dump(mode="json"), sort_keys=True) + ">"
    constants = {n for n, e in inlined.items() if isinstance(e, Literal_)}
    sort = [s.model_copy(update={"field": names.get(s.field, s.field)}) for s in plan.sort
            if not (s.field in constants and s.field not in selected)]
    computed: dict[str, ComputedField] = {}
    for n, e in inlined.items():
        new = names.get(n, n)
        if not (isinstance(e, FieldRef) and new == e.name):
            computed.setdefault(new, ComputedField(name=new, expr=e))
    update: dict[str, Any] = {"filters": [_renamed(f, names) for f in plan.filters],
                              "sort": sort, "computed": list(computed.values())}
    if agg is not None:
        metrics = [m.model_copy(update={"field": names[m.field], "alias": m.name})
                   if m.field in names else m for m in agg.metrics]
        # A metric SQL does not select has no name there (`ORDER BY MAX(status)`): it is known
        # by its default name; in HAVING, SQL repeats the expression, so metrics computing the
        # same thing are one (the first of them).
        shown = set(plan.project) if plan.project else {m.name for m in metrics}
        renames = {m.name: m.model_copy(update={"alias": None}).name for m in metrics
                   if m.name not in shown}
        metrics = [m.model_copy(update={"alias": None}) if m.name in renames else m
                   for m in metrics]
        first: dict[tuple[Any, ...], str] = {}
        same = {}
        for m in metrics:
            key = (m.fn, m.field, m.percentile)
            same[m.name] = first.setdefault(key, m.name)
        update["aggregation"] = agg.model_copy(update={"metrics": metrics})
        update["sort"] = [k.model_copy(update={"field": renames.get(k.field, k.field)})
                          for k in sort]
        update["having"] = [_renamed(_renamed(h, renames), same) for h in plan.having]
    return plan.model_copy(update=update)


def sql_shape(plan: QueryPlan, source: Source) -> QueryPlan:
    """The plan as SQL can hold it (see the module docstring, "with platform SQL")."""
    plan = _sql_unnamed_computed(plan, source)

    exprs = {c.name: c.expr for c in plan.computed}
    inlined = {n: _inline(e, {k: v for k, v in exprs.items() if k != n}) for n, e in exprs.items()}
    agg = plan.aggregation
    project = list(plan.project)
    if agg is not None and project:
        used = set(project) | {c.field for c in iter_conditions(plan.having)} | \
            {s.field for s in plan.sort}
        kept = [m for m in agg.metrics if m.name in used]
        if kept or agg.group_by or agg.time_bucket:
            agg = agg.model_copy(update={"metrics": kept})
        natural = agg.group_by + ([source.time_field] if agg.time_bucket and source.time_field
                                  else []) + [m.name for m in agg.metrics]
        if sorted(project) == sorted(natural) and len(project) == len(natural):
            project = []  # every output, in the order SQL lists them: no projection
    if agg is not None:  # SQL lists the outputs in the SELECT's order; names, not places, count
        agg = agg.model_copy(update={"group_by": sorted(agg.group_by),
                                     "metrics": sorted(agg.metrics, key=lambda m: m.name)})
    reads = {c.field for c in iter_conditions(plan.filters)} | \
        {c.field for c in iter_conditions(plan.having)} | {s.field for s in plan.sort} | \
        set(project)
    if agg is not None:
        reads |= set(agg.group_by) | {m.field for m in agg.metrics if m.field}
    elif not project:
        reads |= set(exprs)
    computed = sorted((ComputedField(name=n, expr=e) for n, e in inlined.items() if n in reads),
                      key=lambda c: c.name)
    return plan.model_copy(update={"computed": computed, "aggregation": agg, "project": project})


def sql_carried_order(plan: QueryPlan) -> QueryPlan:
    """Where SQL's CTE chain keeps a sort (see the module docstring)."""
    if not plan.stages:
        return plan
    parts: list[Any] = [plan, *plan.stages]
    order: list[Any] = []
    for i, part in enumerate(parts):
        if i and order:
            if isinstance(part, Step) and not part.sort and part.aggregation is None and \
                    all(k.field in part.project for k in order if part.project):
                if part.limit is not None or i == len(parts) - 1:
                    parts[i] = part = part.model_copy(update={"sort": list(order)})
            else:
                order = []
        if isinstance(part, (QueryPlan, Step)) and part.sort:
            shown = not part.project or all(k.field in part.project for k in part.sort)
            order = list(part.sort) if shown else []
            if part.limit is None and i < len(parts) - 1:
                parts[i] = part.model_copy(update={"sort": []})
    stages = [s for s in parts[1:] if not isinstance(s, Step) or s.filters or s.computed or
              s.aggregation or s.project or s.sort or s.limit]  # a step left empty goes
    return parts[0].model_copy(update={"stages": stages})
