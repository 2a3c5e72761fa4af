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
  projection of every output of its aggregation (no time bucket), in order (a step's that
  fusion moved there); with SQL, a step has the shape SQL gives the first part (above);
* stages: every step is fused into the pipeline before it wherever the fixed order holds it
  with the same rows (`dialects.fusion`: `| project A | extend B = A` is one pipeline,
  `| stats … | where n > 5` a having); each remaining `Step` is normalised as the first part
  is, its types read from the outputs of the stages before it (`dialects.scope`); other stages
  are compared as written;
* plan issues are dropped (they are compared separately).
"""

from __future__ import annotations

import json
from typing import Any

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.base import Names, coerce, has_letters, iso_seconds, parse_datetime
from lexiquery.dialects.fusion import fuse
from lexiquery.dialects.scope import Context, StepNames, scopes_before
from lexiquery.errors import PlanError
from lexiquery.ir import (
    COMPLEMENT,
    ORDER_COMPLEMENT,
    UNIT_SECONDS,
    AbsoluteTime,
    And,
    Call,
    Compare,
    ComputedField,
    Condition,
    FieldRef,
    Function,
    Join,
    Literal_,
    Not,
    Operator,
    Or,
    QueryPlan,
    RelativeTime,
    Step,
    TimeBucket,
    TimeRange,
    TimeUnit,
    iter_conditions,
    step_plan,
)

_TEXT = {FieldType.string, FieldType.guid, None}
_NO_CASE = {Operator.gt, Operator.ge, Operator.lt, Operator.le, Operator.exists,
            Operator.not_exists}
_UNITS_DESC = [TimeUnit.week, TimeUnit.day, TimeUnit.hour, TimeUnit.minute, TimeUnit.second]


_REGEX_META = set("\\^$.|?*+()[]{}")
_CONTROL_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}  # how SPL writes line breaks in a regex


def _literal_regex(pattern: str) -> tuple[Operator, str] | None:
    """(op, text) when a regex is a plain text test: no metacharacters but anchors at the ends
    and backslash-escaped metacharacters."""
    start = pattern.startswith("^")
    body = pattern[1:] if start else pattern
    end = body.endswith("$") and not body.endswith("\\$") or body.endswith("\\\\$")
    body = body[:-1] if end else body
    text, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt in _REGEX_META or nxt in _CONTROL_ESCAPES:
                text.append(_CONTROL_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            return None
        if ch in _REGEX_META:
            return None
        text.append(ch)
        i += 1
    if not text:
        return None
    op = {(False, False): Operator.contains, (True, False): Operator.startswith,
          (False, True): Operator.endswith, (True, True): Operator.eq}[(start, end)]
    return op, "".join(text)


def _unit_amount(amount: int, unit: TimeUnit, *, allow_week: bool = True) -> tuple[int, TimeUnit]:
    seconds = amount * UNIT_SECONDS[unit]
    if seconds == 0:
        return 0, TimeUnit.day
    for u in _UNITS_DESC:
        if u is TimeUnit.week and not allow_week:
            continue
        if seconds % UNIT_SECONDS[u] == 0:
            return seconds // UNIT_SECONDS[u], u
    return amount, unit


class _Canon:
    def __init__(self, plan: QueryPlan, source: Source, platform: Platform | None) -> None:
        self.names = Names(plan, source, Platform.sql)
        self.plan = plan
        self.has_is_contains = platform in {Platform.spl, Platform.sql}
        self.complement = ORDER_COMPLEMENT if platform is Platform.sql else COMPLEMENT
        self.any_type_not = platform is Platform.sql

    def ftype(self, name: str, after_agg: bool) -> FieldType | None:
        try:
            return self.names.output_type(name) if after_agg else self.names.field_type(name)
        except Exception:  # an unknown name: leave its values as they are
            return None

    def value(self, v: Any, ftype: FieldType | None) -> Any:
        if ftype is FieldType.datetime:
            at = parse_datetime(v)
            if at is not None:
                return iso_seconds(at)
        return coerce(v, ftype)

    def condition(self, c: Condition, after_agg: bool) -> Condition:
        ftype = self.ftype(c.field, after_agg)
        value = c.value
        if isinstance(value, list):
            value = [self.value(v, ftype) for v in value]
        elif value is not None:
            value = self.value(value, ftype)
        op = Operator.contains if c.op is Operator.has and self.has_is_contains else c.op
        if op is Operator.regex and isinstance(value, str):
            plain = _literal_regex(value)
            if plain is not None:
                op, value = plain
        values = value if isinstance(value, list) else [value]
        # A GUID's letters are hex digits: its case never matters (T-SQL's uniqueidentifier
        # and postgres' uuid compare without it), so a GUID test is never case-sensitive.
        cs = (c.case_sensitive and ftype in _TEXT and ftype is not FieldType.guid
              and op not in _NO_CASE and any(has_letters(v) for v in values))
        if not cs and op is not Operator.regex and ftype is not FieldType.datetime:
            value = [v.lower() if isinstance(v, str) else v for v in value] \
                if isinstance(value, list) else value.lower() if isinstance(value, str) else value
        return Condition(field=c.field, op=op, value=value, case_sensitive=cs)

    def filter(self, f: Any, after_agg: bool) -> Any:
        if isinstance(f, Condition):
            return self.condition(f, after_agg)
        if isinstance(f, (And, Or)):
            items: list[Any] = []
            for i in f.items:
                c = self.filter(i, after_agg)
                items += c.items if type(c) is type(f) else [c]  # (a and (b and c)) = a and b and c
            if len(items) == 1:
                return items[0]
            return type(f)(items=items)
        if isinstance(f, Not):
            inner = self.filter(f.item, after_agg)
            if isinstance(inner, Not):
                return inner.item
            if isinstance(inner, Condition) and inner.op in self.complement and (
                    self.any_type_not or self.ftype(inner.field, after_agg) in _TEXT
                    or inner.op in {Operator.exists, Operator.not_exists}):
                return inner.model_copy(update={"op": self.complement[inner.op]})
            return Not(item=inner)
        raise TypeError(f"not a filter: {f!r}")

    def filters(self, fs: list[Any], after_agg: bool) -> list[Any]:
        out: list[Any] = []
        for f in fs:
            c = self.filter(f, after_agg)
            out += c.items if isinstance(c, And) else [c]
        return sorted(out, key=lambda x: json.dumps(x.model_dump(mode="json"), sort_keys=True))

    def expr(self, e: Any, *, numerator: bool = False) -> Any:
        if isinstance(e, Literal_):
            v = e.value
            if isinstance(v, float) and v.is_integer():
                return Literal_(value=int(v))
            return e
        if isinstance(e, FieldRef):
            return e
        if isinstance(e, Compare):
            return Compare(left=self.expr(e.left), op=e.op,
                           right=self.expr(e.right) if e.right is not None else None)
        if isinstance(e, Call):
            args = list(e.args)
            if e.fn is Function.div and args and isinstance(args[0], Call) \
                    and args[0].fn is Function.to_real and len(args[0].args) == 1:
                args[0] = args[0].args[0]
            out = [self.expr(a) for a in args]
            if e.fn is Function.concat:  # associative: (a . b) . c is a . b . c
                out = [x for a in out for x in (a.args if isinstance(a, Call) and
                                                a.fn is Function.concat else [a])]
            if e.fn in (Function.member, Function.index) and out and isinstance(out[0], Call) \
                    and out[0].fn is Function.parse_json and isinstance(out[0].args[0], FieldRef):
                out[0] = out[0].args[0]  # a path into a field reads it as JSON, parsed or not
            return Call(fn=e.fn, args=out)
        return e


def _lower_absolute_time(plan: QueryPlan, source: Source) -> QueryPlan:
    """Absolute bounds of the time range → `time >= a` / `time < b` filters: one normal form
    whichever way a parser reads `>= datetime(…)` (no renderer writes `< now()`, so a relative
    end stays in the range)."""
    tr, tf = plan.time_range, source.time_field
    if tr is None or not tf or tf in {c.name for c in plan.computed}:
        return plan
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
    canon = _Canon(plan, source, Platform.sql)
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


def _sql_shape(plan: QueryPlan, source: Source) -> QueryPlan:
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
        {c.field for c in iter_conditions(plan.having)} | {s.field for s in plan.sort} | set(project)
    if agg is not None:
        reads |= set(agg.group_by) | {m.field for m in agg.metrics if m.field}
    elif not project:
        reads |= set(exprs)
    computed = sorted((ComputedField(name=n, expr=e) for n, e in inlined.items() if n in reads),
                      key=lambda c: c.name)
    return plan.model_copy(update={"computed": computed, "aggregation": agg, "project": project})


def canonical(plan: QueryPlan, source: Source, platform: Platform | None = None) -> QueryPlan:
    """The plan with every difference that does not change the results removed (see module).
    `platform`: the platform whose rendering is being compared, when there is one."""
    plan = _lower_absolute_time(plan, source)
    if platform is Platform.sql:  # before steps merge: it may leave a step that continues one
        plan = _sql_carried_order(plan)
    # Fused, read as a parser reads each step, and fused again: a projection that goes may let
    # the next step continue the pipeline.
    plan = fuse(_steps_as_read(fuse(plan), source, platform))
    if platform is Platform.sql:
        plan = _sql_shape(plan, source)
    c = _Canon(plan, source, platform)
    data: dict[str, Any] = {"source": plan.source}
    tr = plan.time_range
    if tr is not None:
        def point(p: Any) -> Any:
            if isinstance(p, RelativeTime):
                # A snapped point counts whole days; weeks stay days there.
                amount, unit = _unit_amount(p.amount, p.unit, allow_week=p.snap is None)
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
            amount, unit = _unit_amount(agg.time_bucket.amount, agg.time_bucket.unit)
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
    its new computed fields (in their order: what it outputs without one) is none; with SQL, the shape SQL gives the first part (`_sql_shape`); a step
    left empty goes. The first part's projection of every output of its aggregation, in order,
    is none too (a step's that fusion moved there)."""
    if plan.aggregation is not None and plan.aggregation.time_bucket is None and \
            plan.project == plan.aggregation.output_names():
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
                shaped = _sql_shape(step_plan(plan, stage), source)
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


def _sql_carried_order(plan: QueryPlan) -> QueryPlan:
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
        c = _Canon(sub, source, platform)
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
