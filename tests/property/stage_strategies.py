"""Hypothesis strategies for staged plans (IR version 2): a random first part from
`strategies.raw_plans`, then one to three stages valid over what the stages before them output.

    staged_plans(pool=…)          → QueryPlan with stages that renders on KQL, SPL and SQL
    renders_everywhere(plan)      → the same test as `strategies.renders_everywhere`, joins too

Each stage is drawn over the *scope* before it (`dialects.scope.check_stages` with no platform:
logical names and types), so names are valid by construction:

* `Step`: filters, computed fields, an aggregation (with having), sort — a limit only in the
  last stage (rows cut from an unsorted or tied input would differ between platforms);
* `TopPerGroup` (n=1), followed by a projection of its keys and sort key: rows that tie on the
  sort key are then indistinguishable, so every correct rendering returns the same rows;
* `Window` of count/sum/min/max/avg per zero or one group key;
* `Expand` of a values/list output (last: the element type is unknown to later stages);
* `Join` with a plan over the same source: semi/anti on a source field with a filter on the
  right, or inner/left with the right side's count per key.

The first part has no limit (a cut of tied rows feeds the stages different rows per platform).
"""

from __future__ import annotations

from typing import Any, Sequence

from hypothesis import strategies as st

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects import render
from lexiquery.dialects.scope import Context, check_stages
from lexiquery.errors import PlanError
from lexiquery.ir import (
    Aggregation,
    ComputedField,
    Expand,
    Join,
    JoinKey,
    Metric,
    MetricFn,
    QueryPlan,
    SortKey,
    Step,
    TopPerGroup,
    Window,
)

from .strategies import (
    CATALOG,
    INTEGRAL,
    SOURCES,
    TEXT,
    ValuePool,
    filter_tree,
    metric,
    num_expr,
    raw_plans,
    source_of,
    str_expr,
    usable_fields,
)

_COLLECTION = FieldType.dynamic
_GROUPABLE = frozenset({*TEXT, *INTEGRAL, FieldType.bool})


def scope_types(plan: QueryPlan, source: Source) -> dict[str, FieldType | None]:
    """Logical output name → type after every stage of `plan`."""
    out = check_stages(plan, Context(source, None, sources=CATALOG.get))
    return {name: o.type for name, o in out.items()}


def renders_everywhere(plan: QueryPlan) -> bool:
    """Does every renderer accept the plan (a join's right source from `CATALOG`)?"""
    source = source_of(plan)
    try:
        for p in (Platform.kql, Platform.spl, Platform.sql):
            render(plan, source, p, catalog=CATALOG)
    except PlanError:
        return False
    return True


def _groupable(env: dict[str, FieldType | None], source: Source) -> list[str]:
    return sorted(n for n, t in env.items() if t in _GROUPABLE and n != source.time_field)


@st.composite
def step(draw: st.DrawFn, env: dict[str, FieldType | None], source: Source, seen: Any,
         last: bool) -> Step:
    plain = {n: t for n, t in env.items() if t is not _COLLECTION}
    body: dict[str, Any] = {}
    if plain and draw(st.booleans()):
        body["filters"] = draw(st.lists(filter_tree(plain, 1, seen), min_size=1, max_size=2))
    inner = dict(plain)
    if plain and draw(st.integers(0, 2)) == 0:
        e, t = draw(st.one_of(num_expr(plain), str_expr(plain)))
        name = draw(st.sampled_from(["later", "ratio_x", "label2"]))
        if name not in env:
            body["computed"] = [ComputedField(name=name, expr=e)]
            inner[name] = t
    outputs = dict(inner)
    if inner and draw(st.booleans()):
        groups = draw(st.lists(st.sampled_from(_groupable(inner, source) or sorted(inner)),
                               max_size=2, unique=True))
        metrics: list[Metric] = []
        has_time = source.time_field in inner
        for m in draw(st.lists(metric(inner), max_size=2)):
            timed = m.fn in {MetricFn.first_seen, MetricFn.last_seen}
            if (timed and not has_time) or m.fn in {MetricFn.values, MetricFn.list}:
                continue
            if m.name not in groups and m.name not in inner and \
                    all(m.name != x.name for x in metrics):
                metrics.append(m)
        if not metrics and not groups:
            metrics = [Metric(fn=MetricFn.count, alias="n2")]
        body["aggregation"] = Aggregation(metrics=metrics, group_by=groups)
        outputs = {g: inner[g] for g in groups}
        # First/last seen are datetimes (`scope.metric_type`): a having on one compares it
        # with times, not with text (a value a datetime cannot hold).
        outputs.update({m.name: FieldType.real if m.fn is MetricFn.avg else
                        FieldType.long if m.fn in {MetricFn.count, MetricFn.count_distinct}
                        else FieldType.datetime if m.fn in {MetricFn.first_seen,
                                                            MetricFn.last_seen}
                        else inner.get(m.field or "") for m in metrics})
        if draw(st.integers(0, 2)) == 0:
            body["having"] = [draw(filter_tree(outputs, 0, seen))]
    if outputs and draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(sorted(outputs)), min_size=1, max_size=2,
                             unique=True))
        body["sort"] = [SortKey(field=k, descending=draw(st.booleans())) for k in keys]
    if last and draw(st.booleans()):
        body["limit"] = draw(st.integers(1, 30))
    if not body:
        body["project"] = sorted(plain)[:3] or sorted(env)[:1]
    return Step.model_validate(body)


@st.composite
def join(draw: st.DrawFn, env: dict[str, FieldType | None], source: Source,
         seen: Any) -> Join | None:
    fields = usable_fields(source)
    keys = [n for n in _groupable(env, source) if n in fields and env[n] == fields[n]]
    if not keys:
        return None
    key = draw(st.sampled_from(keys))
    how = draw(st.sampled_from(["semi", "anti", "inner", "left"]))
    right: dict[str, Any] = {"source": source.id}
    if how in ("semi", "anti"):
        right["filters"] = [draw(filter_tree(fields, 1, seen))]
        right["project"] = [key]
    else:
        if draw(st.booleans()):
            right["filters"] = [draw(filter_tree(fields, 1, seen))]
        right["aggregation"] = {"metrics": [{"fn": "count", "alias": "right_n"}],
                                "group_by": [key]}
        if "right_n" in env:
            return None
    return Join.model_validate({"how": how, "right": right,
                                "on": [JoinKey(left=key, right=key)]})


@st.composite
def staged_plans_raw(draw: st.DrawFn, sources: Sequence[Source] = SOURCES,
                     pool: ValuePool | None = None) -> QueryPlan:
    base = draw(raw_plans(sources, pool, allow_limit=False))
    source = source_of(base)
    pool = pool or ValuePool()

    def seen(name: str) -> list[Any]:
        return pool.get(source.id, name)

    stages: list[Any] = []
    count = draw(st.integers(1, 3))
    for i in range(count):
        plan = base.model_copy(update={"stages": list(stages)})
        env = scope_types(plan, source)
        last = i == count - 1
        kind = draw(st.sampled_from(["step", "step", "top", "window", "join", "expand"]))
        collections = [n for n, t in env.items() if t is _COLLECTION]
        if kind == "expand" and collections:
            stages.append(Expand(field=draw(st.sampled_from(collections))))
            break
        if kind == "top" and _groupable(env, source):
            by = draw(st.sampled_from(_groupable(env, source)))
            sortable = sorted(n for n, t in env.items() if t is not _COLLECTION and n != by)
            if sortable:
                key = draw(st.sampled_from(sortable))
                stages.append(TopPerGroup(by=[by], sort=[SortKey(
                    field=key, descending=draw(st.booleans()))]))
                stages.append(Step(project=[by, key]))
                continue
        if kind == "window":
            nums = sorted(n for n, t in env.items() if t in {FieldType.int, FieldType.long,
                                                               FieldType.real})
            fn = draw(st.sampled_from([MetricFn.count, *([MetricFn.sum, MetricFn.min,
                                                         MetricFn.max, MetricFn.avg]
                                                        if nums else [])]))
            m = Metric(fn=fn, field=None if fn is MetricFn.count else draw(st.sampled_from(nums)),
                       alias="w_" + fn.value)
            groups = _groupable(env, source)
            by = draw(st.lists(st.sampled_from(groups), max_size=1)) if groups else []
            if m.name not in env:
                stages.append(Window(metrics=[m], by=by))
                continue
        if kind == "join":
            j = draw(join(env, source, seen))
            if j is not None:
                stages.append(j)
                continue
        stages.append(draw(step(env, source, seen, last)))
    return QueryPlan.model_validate({**base.model_dump(), "stages": stages})


def staged_plans(sources: Sequence[Source] = SOURCES,
                 pool: ValuePool | None = None) -> st.SearchStrategy[QueryPlan]:
    """Random staged plans that render on KQL, SPL and SQL (postgres)."""
    return staged_plans_raw(sources, pool).filter(renders_everywhere)
