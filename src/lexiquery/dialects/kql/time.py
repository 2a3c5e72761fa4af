"""KQL time expressions → the plan's time range.

`time_point` reads the points a time column is compared with (`ago(7d)`, `now() - 1h`,
`now()`, `startofday(ago(1d))`, `datetime(…)`): the exact inverse of `kql.text.time_point`.
`time_bound` decides, for one `where` term on the time column, whether it is the time range
or an ordinary filter, keeping the bounds found so far on the `Binder`; `time_range` turns
them into the plan's `TimeRange` once every stage is read.
"""

from __future__ import annotations

from lexiquery.dialects.base import parse_datetime
from lexiquery.dialects.kql import ast as syn
from lexiquery.dialects.kql.bind import Binder, Unsupported, iso_utc
from lexiquery.dialects.kql.lex import to_amount_unit
from lexiquery.ir import (
    UNIT_SECONDS,
    AbsoluteTime,
    Condition,
    Operator,
    RelativeTime,
    TimeRange,
    TimeUnit,
)

# ---------------------------------------------------------------------- time points


def _seconds(p: RelativeTime) -> int:
    return p.amount * UNIT_SECONDS[p.unit]


def relative(e: syn.Node) -> RelativeTime | None:
    """`ago(7d)` and `now() - 7d` → 7 days before now; `now()` → now."""
    if isinstance(e, syn.Call) and e.name == "now" and not e.args:
        return RelativeTime(amount=0, unit=TimeUnit.day)
    span: syn.Node | None = None
    if isinstance(e, syn.Call) and e.name == "ago" and len(e.args) == 1:
        span = e.args[0]
    elif isinstance(e, syn.Bin) and e.op == "-" and isinstance(e.left, syn.Call) \
            and e.left.name == "now" and not e.left.args:
        span = e.right
    if not (isinstance(span, syn.Lit) and span.kind == "timespan" and span.value >= 0):
        return None
    au = to_amount_unit(span.value, span.unit)
    if au is None:
        raise Unsupported(span.offset, f"the time span {span.unit}", "the IR counts time in "
                          "whole seconds")
    return RelativeTime(amount=au[0], unit=TimeUnit(au[1]))


def time_point(e: syn.Node) -> RelativeTime | AbsoluteTime | None:
    """The inverse of `kql.text.time_point`: the point a time expression names, or None."""
    if isinstance(e, syn.Lit) and e.kind == "datetime":
        at = parse_datetime(str(e.value).replace(" ", "T", 1))
        return AbsoluteTime(at=at) if at is not None else None
    if isinstance(e, syn.Call) and e.name == "startofday" and len(e.args) == 1:
        inner = relative(e.args[0])
        return inner.model_copy(update={"snap": "day"}) if inner is not None else None
    return relative(e)


# ---------------------------------------------------------------------- time range


def time_bound(b: Binder, e: syn.Node, nested: bool = False) -> bool:
    """Take a time-column bound into the time range; False when `e` is not one.

    A bound relative to now can only be the time range. A fixed (datetime) bound is the
    time range where the renderer writes one — the start, and an end in the same `where`
    as the start or after a fixed start — and an ordinary filter elsewhere (inside a
    parenthesised group, after a relative start in another `where`)."""
    tf = b.source.time_field
    if b.agg is not None or tf is None:
        return False
    if isinstance(e, syn.Between) and not e.negated and b.field_of(e.left) == tf:
        low, high = time_point(e.low), time_point(e.high)
        if low is None or high is None or b.start is not None \
                or low.kind == high.kind == "absolute":
            return False
        b.start = (low, e.offset)
        if not (high.kind == "relative" and high.amount == 0 and high.snap is None):
            b.end = (high, e.offset)
        return True
    if not (isinstance(e, syn.Bin) and e.op in (">=", ">", "<", "<=")):
        return False
    if not isinstance(e.left, syn.Name) or b.field_of(e.left) != tf:
        return False
    p = time_point(e.right)
    if p is None or (nested and p.kind == "absolute"):
        return False
    if e.op in (">=", ">") and (p.kind == "relative" or e.op == ">="):
        if b.start is not None and p.kind == "absolute":
            return False  # a second, fixed lower bound is an ordinary filter
        if b.start is not None:
            old = b.start[0]
            if old.kind == p.kind == "relative" and old.snap is None and p.snap is None:
                # Two "since" bounds on the time column: the more recent one decides.
                if _seconds(p) < _seconds(old):
                    b.start = (p, e.offset)
                return True
            raise Unsupported(e.offset, "a second start time", "write one time range")
        b.start = (p, e.offset)
        b.start_where = b.where_count
        return True
    if e.op == "<" or (e.op == "<=" and p.kind == "relative"):
        if b.end is not None:
            return False
        if p.kind == "absolute" and b.start is not None \
                and b.start[0].kind == "relative" and b.start_where != b.where_count:
            return False
        b.end = (p, e.offset)
        return True
    return False

def time_range(b: Binder) -> TimeRange | None:
    if b.start is None:
        if b.end is not None:
            p, off = b.end
            if p.kind == "absolute":  # a filter of the first part, where it was read
                first = b.first["filters"] if b.first is not None else b.filters
                first.append(Condition(field=b.source.time_field or "", op=Operator.lt,
                                       value=iso_utc(p.at)))
            else:
                b.issue(Unsupported(off, "an end time relative to now without a start",
                                       "add TimeGenerated >= ago(…) as well"))
        return None
    return TimeRange(start=b.start[0], end=b.end[0] if b.end else None)
