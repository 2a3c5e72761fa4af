"""Plan equivalence for the round trip render → parse: `canonical(plan, source)`.

A renderer writes one plan in the idiom of its platform, and some choices do not survive as
they were written: KQL writes `not(user =~ "a")` as `user !~ "a"`, SPL moves filters the base
search can hold before the `| where` ones, `ago(24h)` reads back as 24 hours whether the plan
said one day or 24 hours, a metric alias that equals the default name is indistinguishable from
no alias. `canonical` removes exactly those differences — nothing that changes which rows a
query returns — so that ``canonical(parse(render(p))) == canonical(p)`` is the round-trip
property every parser must keep.

What is normalised:
* top-level filters are a set (they are ANDed): nested `and` groups are split into top-level
  filters, and the list is sorted; one-item `and`/`or` groups are unwrapped, `not(not(x))` is
  `x`, `not` of a comparison on a text field becomes its complement (`eq`↔`ne`, `in`↔`not_in`,
  `contains`↔`not_contains`, `exists`↔`not_exists`, as the KQL renderer writes them);
* values are typed as their field is (`"5"` → `5` on a number), datetimes are ISO UTC text,
  `case_sensitive` is dropped where it cannot matter (no letters in the value, comparisons), and
  the text of a case-insensitive comparison is lower-cased (SQL writes `LOWER(col) = 'outlook'`;
  regular expressions keep their case: `\\D` is not `\\d`);
* absolute bounds of the time range are the filters `time >= <datetime>` / `time < <datetime>`
  they mean (parsers read `>= datetime(…)` either way);
* with `platform` given as SPL or SQL, `has` is `contains`: those platforms have no whole-term
  match, and their renderers write `has` as the substring match it then reads back as;
* relative times and buckets use the largest unit that divides them exactly (24 h → 1 day);
* metric aliases equal to the default output name are dropped; integral float literals become
  ints and a `to_real` on a division's first operand is dropped (the IR divides as reals);
* a regular expression with no metacharacters is the plain text test it equals (`ab` is
  contains, `^ab` startswith, `ab$` endswith, `^ab$` eq): renderers write them alike;
* `concat` is associative: nested concats are flattened (`a || b || c` has no nesting);
* a zero relative time is now (or the start of today), whatever its unit; an end at now is
  no end;
* with `platform` SQL, the shape SQL gives a plan: computed fields read by other computed
  fields are inlined, those nothing outputs or reads are dropped, and their order does not
  matter; with an explicit projection, metrics neither projected nor used by having/sort are
  dropped, metric and group-by order do not matter, and a projection of every output is no
  projection; a computed field that is not selected is named by what it computes (SQL writes
  the expression, not the name), and an unselected constant sort key is dropped; `not` of any
  comparison is its complement (SQL's `NOT (x = 5)` and
  `x <> 5` both exclude NULL);
* with `platform` SQL, a sort with no limit that other stages follow orders what SQL's CTEs
  keep: it moves on through steps that neither aggregate nor sort (and keep its keys) to the
  first of them with a limit, or to the last stage; after any other stage it orders nothing
  and goes (`sql.render_stages`);
* a member or index of `parse_json(f)` is one of `f` (a path reads a field as JSON either way);
* a join's right-hand plan over the same source is canonical as a plan is; a step's projection
  of exactly the outputs before it and then its new computed fields, in their order (what it
  outputs with no projection), is none, and so is the first part's
  projection of every output of its aggregation (its time bucket first), in order (a step's that
  fusion moved there); with SQL, a step has the shape SQL gives the first part (above);
* stages: every step is fused into the pipeline before it wherever the fixed order holds it
  with the same rows (`dialects.fusion`: `| project A | extend B = A` is one pipeline,
  `| stats … | where n > 5` a having); each remaining `Step` is normalised as the first part
  is, its types read from the outputs of the stages before it (`dialects.scope`); other stages
  are compared as written;
* plan issues are dropped (they are compared separately).

Values, conditions and expressions are put in form by `dialects.canon`; the shape SQL gives a
plan is `dialects.canon_sql`'s.
"""

from __future__ import annotations

import json
from typing import Any

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.base import iso_seconds, parse_datetime
from lexiquery.dialects.canon import Canon, unit_amount
from lexiquery.dialects.canon_sql import sql_carried_order, sql_shape
from lexiquery.dialects.fusion import fuse
from lexiquery.dialects.scope import Context, StepNames, scopes_before
from lexiquery.errors import PlanError
from lexiquery.ir import (
    AbsoluteTime,
    ComputedField,
    Condition,
    Join,
    Operator,
    QueryPlan,
    RelativeTime,
    Step,
    TimeBucket,
    TimeRange,
    step_plan,
)


def _lower_absolute_time(plan: QueryPlan, source: Source) -> QueryPlan:
    """Absolute bounds of the time range → `time >= a` / `time < b` filters: one normal form
    whichever way a parser reads `>= datetime(…)` (no renderer writes `< now()`, so a relative
    end stays in the range). An end at now is no end first: `earliest=<fixed> latest=now` is
    a fixed start alone."""
    tr, tf = plan.time_range, source.time_field
    if tr is None or not tf or tf in {c.name for c in plan.computed}:
        return plan
    if isinstance(tr.end, RelativeTime) and tr.end.amount == 0 and tr.end.snap is None:
        tr = tr.model_copy(update={"end": None})
    bounds: list[Condition] = []
    keep: TimeRange | None = tr
    if isinstance(tr.start, AbsoluteTime) and (tr.end is None or isinstance(tr.end, AbsoluteTime)):
        bounds.append(Condition(field=tf, op=Operator.ge, value=iso_seconds(tr.start.at)))
        if tr.end is not None:
            bounds.append(Condition(field=tf, op=Operator.lt, value=iso_seconds(tr.end.at)))
        keep = None
    elif isinstance(tr.end, AbsoluteTime):
        bounds.append(Condition(field=tf, op=Operator.lt, value=iso_seconds(tr.end.at)))
        keep = tr.model_copy(update={"end": None})
    return plan.model_copy(update={"time_range": keep, "filters": [*bounds, *plan.filters]})


def canonical(plan: QueryPlan, source: Source, platform: Platform | None = None) -> QueryPlan:
    """The plan with every difference that does not change the results removed (see module).
    `platform`: the platform whose rendering is being compared, when there is one."""
    plan = _lower_absolute_time(plan, source)
    if platform is Platform.sql:  # before steps merge: it may leave a step that continues one
        plan = sql_carried_order(plan)
    # Fused, read as a parser reads each step, and fused again: a projection that goes may let
    # the next step continue the pipeline.
    plan = fuse(_steps_as_read(fuse(plan), source, platform))
    if platform is Platform.sql:
        plan = sql_shape(plan, source)
    c = Canon(plan, source, platform)
    data: dict[str, Any] = {"source": plan.source}
    tr = plan.time_range
    if tr is not None:
        def point(p: Any) -> Any:
            if isinstance(p, RelativeTime):
                # A snapped point counts whole days; weeks stay days there.
                amount, unit = unit_amount(p.amount, p.unit, allow_week=p.snap is None)
                return RelativeTime(amount=amount, unit=unit, snap=p.snap)
            return p.model_copy(update={"at": parse_datetime(p.at)})
        end = tr.end
        if isinstance(end, RelativeTime) and end.amount == 0 and end.snap is None:
            end = None  # "up to 0 hours ago" is up to now (SPL writes it latest=now)
        data["time_range"] = {"start": point(tr.start),
                              "end": point(end) if end is not None else None}
    data["filters"] = c.filters(plan.filters, after_agg=False)
    data["computed"] = [ComputedField(name=cf.name, expr=c.expr(cf.expr)) for cf in plan.computed]
    agg = plan.aggregation
    if agg is not None:
        metrics = [m.model_copy(update={"alias": None}) if m.alias == m.model_copy(
            update={"alias": None}).name else m for m in agg.metrics]
        bucket = None
        if agg.time_bucket is not None:
            amount, unit = unit_amount(agg.time_bucket.amount, agg.time_bucket.unit)
            bucket = TimeBucket(amount=amount, unit=unit)
        data["aggregation"] = agg.model_copy(update={"metrics": metrics, "time_bucket": bucket})
    data["having"] = c.filters(plan.having, after_agg=True)
    data["project"] = list(plan.project)
    data["sort"] = list(plan.sort)
    data["limit"] = plan.limit
    data["stages"] = _canonical_stages(plan, source, platform)
    return QueryPlan.model_validate(
        {k: (v.model_dump(mode="json") if hasattr(v, "model_dump") else
             [x.model_dump(mode="json") if hasattr(x, "model_dump") else x for x in v]
             if isinstance(v, list) else v) for k, v in data.items()})


def _steps_as_read(plan: QueryPlan, source: Source, platform: Platform | None) -> QueryPlan:
    """Each step as a parser reads it back: a projection of exactly the outputs before it and
    its new computed fields (in their order: what it outputs without one) is none; with SQL,
    the shape SQL gives the first part (`sql_shape`); a step left empty goes. The first part's
    projection of every output of its aggregation (the time bucket first), in order, is none
    too (a step's that fusion moved there)."""
    agg, tf = plan.aggregation, source.time_field
    if agg is not None and plan.project == \
            [*([tf] if agg.time_bucket is not None and tf else []), *agg.output_names()]:
        plan = plan.model_copy(update={"project": []})
    if not plan.stages:
        return plan
    same = Context(source, Platform.sql,
                   sources=lambda sid: source if sid == source.id else None)  # type: ignore
    try:
        scopes = scopes_before(plan, same)
    except PlanError:
        return plan
    stages: list[Any] = []
    for stage, scope in zip(plan.stages, scopes):
        if isinstance(stage, Step):
            if platform is Platform.sql:
                shaped = sql_shape(step_plan(plan, stage), source)
                stage = Step.model_construct(**{k: getattr(shaped, k) for k in (
                    "filters", "computed", "aggregation", "having", "project", "sort",
                    "limit")})
            natural = list(dict.fromkeys([*scope, *(c.name for c in stage.computed)]))
            if stage.aggregation is None and stage.project == natural:
                stage = stage.model_copy(update={"project": []})
            elif stage.aggregation is not None and \
                    stage.project == stage.aggregation.output_names():
                stage = stage.model_copy(update={"project": []})  # every output, in order
            if not (stage.filters or stage.computed or stage.aggregation or stage.project
                    or stage.sort or stage.limit):
                continue
        stages.append(stage)
    return plan.model_copy(update={"stages": stages})


def _canonical_stages(plan: QueryPlan, source: Source,
                      platform: Platform | None) -> list[dict[str, Any]]:
    """Each stage in canonical form: a `Step` as the first part is (its types from the outputs
    before it), a `Join`'s right-hand plan canonical too when it reads the same source (another
    source is not known here: then as it stands)."""
    if not plan.stages:
        return []
    same = Context(source, Platform.sql,
                   sources=lambda sid: source if sid == source.id else None)  # type: ignore
    try:
        scopes = scopes_before(plan, same)
    except PlanError:  # a name out of scope: compare the stages as written
        return [s.model_dump(mode="json") for s in plan.stages]
    out: list[dict[str, Any]] = []
    for i, (stage, scope) in enumerate(zip(plan.stages, scopes), start=1):
        if isinstance(stage, Join) and stage.right.source == source.id:
            right = canonical(stage.right, source, platform).model_dump(mode="json")
            out.append({**stage.model_dump(mode="json"), "right": right})
            continue
        if not isinstance(stage, Step):
            out.append(stage.model_dump(mode="json"))
            continue
        sub = step_plan(plan, stage)
        c = Canon(sub, source, platform)
        c.names = StepNames(plan, stage, Context(source, Platform.sql), scope, i)
        agg = stage.aggregation
        if agg is not None:
            agg = agg.model_copy(update={"metrics": [
                m.model_copy(update={"alias": None}) if m.alias == m.model_copy(
                    update={"alias": None}).name else m for m in agg.metrics]})
        out.append(Step(
            filters=c.filters(stage.filters, after_agg=False),
            computed=[ComputedField(name=cf.name, expr=c.expr(cf.expr)) for cf in stage.computed],
            aggregation=agg, having=c.filters(stage.having, after_agg=True),
            project=list(stage.project), sort=list(stage.sort), limit=stage.limit,
        ).model_dump(mode="json"))
    return out


def same_plan(a: QueryPlan, b: QueryPlan, source: Source,
              platform: Platform | None = None) -> bool:
    return (canonical(a, source, platform).model_dump(mode="json")
            == canonical(b, source, platform).model_dump(mode="json"))


def plan_diff(expected: QueryPlan, got: QueryPlan, source: Source,
              platform: Platform | None = None) -> list[str]:
    """The top-level keys whose canonical forms differ, with both values (for messages)."""
    e = canonical(expected, source, platform).model_dump(mode="json")
    g = canonical(got, source, platform).model_dump(mode="json")
    return [f"{k}: expected {json.dumps(e[k])} got {json.dumps(g[k])}" for k in e if e[k] != g[k]]
