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
* top-level conditions `time >= <datetime>` (and `time < <datetime>`) on the source's time field
  are the absolute time range they mean, when the plan has none (KQL reads them back so);
* with `platform` given as SPL or SQL, `has` is `contains`: those platforms have no whole-term
  match, and their renderers write `has` as the substring match it then reads back as;
* relative times and buckets use the largest unit that divides them exactly (24 h → 1 day);
* metric aliases equal to the default output name are dropped; integral float literals become
  ints and a `to_real` on a division's first operand is dropped (the IR divides as reals);
* plan issues are dropped (they are compared separately).
"""

from __future__ import annotations

import json
from typing import Any

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.base import Names, coerce, has_letters, iso_seconds, parse_datetime
from lexiquery.ir import (
    UNIT_SECONDS,
    And,
    Call,
    Compare,
    ComputedField,
    Condition,
    FieldRef,
    Function,
    Literal_,
    Not,
    Operator,
    Or,
    QueryPlan,
    RelativeTime,
    TimeBucket,
    TimeRange,
    TimeUnit,
)

_COMPLEMENT = {Operator.eq: Operator.ne, Operator.ne: Operator.eq,
               Operator.in_: Operator.not_in, Operator.not_in: Operator.in_,
               Operator.contains: Operator.not_contains,
               Operator.not_contains: Operator.contains,
               Operator.exists: Operator.not_exists, Operator.not_exists: Operator.exists}
_TEXT = {FieldType.string, FieldType.guid, None}
_NO_CASE = {Operator.gt, Operator.ge, Operator.lt, Operator.le, Operator.exists,
            Operator.not_exists}
_UNITS_DESC = [TimeUnit.week, TimeUnit.day, TimeUnit.hour, TimeUnit.minute, TimeUnit.second]


def _unit_amount(amount: int, unit: TimeUnit, *, allow_week: bool = True) -> tuple[int, TimeUnit]:
    seconds = amount * UNIT_SECONDS[unit]
    if seconds == 0:
        return 0, unit
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
        values = value if isinstance(value, list) else [value]
        cs = c.case_sensitive and c.op not in _NO_CASE and any(has_letters(v) for v in values)
        if not cs and c.op is not Operator.regex and ftype is not FieldType.datetime:
            value = [v.lower() if isinstance(v, str) else v for v in value] \
                if isinstance(value, list) else value.lower() if isinstance(value, str) else value
        op = Operator.contains if c.op is Operator.has and self.has_is_contains else c.op
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
            if isinstance(inner, Condition) and inner.op in _COMPLEMENT and (
                    self.ftype(inner.field, after_agg) in _TEXT
                    or inner.op in {Operator.exists, Operator.not_exists}):
                return inner.model_copy(update={"op": _COMPLEMENT[inner.op]})
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
            return Call(fn=e.fn, args=[self.expr(a) for a in args])
        return e


def _lift_time_filters(plan: QueryPlan, source: Source) -> QueryPlan:
    """`time >= a` (and `time < b`) among the top-level filters → time range [a, b)."""
    tf = source.time_field
    if plan.time_range is not None or not tf or tf in {c.name for c in plan.computed}:
        return plan

    def bound(op: Operator) -> Condition | None:
        hits = [f for f in plan.filters if isinstance(f, Condition) and f.field == tf
                and f.op is op and parse_datetime(f.value) is not None]
        return hits[0] if len(hits) == 1 else None

    start, end = bound(Operator.ge), bound(Operator.lt)
    if start is None:
        return plan
    rest = [f for f in plan.filters if f is not start and f is not end]
    tr = {"start": {"at": parse_datetime(start.value)},
          "end": {"at": parse_datetime(end.value)} if end is not None else None}
    return plan.model_copy(update={"filters": rest, "time_range": TimeRange.model_validate(tr)})


def canonical(plan: QueryPlan, source: Source, platform: Platform | None = None) -> QueryPlan:
    """The plan with every difference that does not change the results removed (see module).
    `platform`: the platform whose rendering is being compared, when there is one."""
    plan = _lift_time_filters(plan, source)
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
        data["time_range"] = {"start": point(tr.start),
                              "end": point(tr.end) if tr.end is not None else None}
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
    return QueryPlan.model_validate(
        {k: (v.model_dump(mode="json") if hasattr(v, "model_dump") else
             [x.model_dump(mode="json") if hasattr(x, "model_dump") else x for x in v]
             if isinstance(v, list) else v) for k, v in data.items()})


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
