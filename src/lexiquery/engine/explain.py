"""Plain-English account of a QueryPlan, in the catalog's words or in one platform's names.

`describe_plan(plan, source)` is what was understood (logical names: "user", "source IP");
`explain_for_platform(plan, source, platform)` names the platform's table and columns so an
analyst can map each sentence onto the query text.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from lexiquery.catalog.model import Platform, Source
from lexiquery.ir import (
    AbsoluteTime,
    And,
    Condition,
    Expand,
    Metric,
    MetricFn,
    Not,
    Operator,
    Or,
    QueryPlan,
    RelativeTime,
    Stage,
    Step,
    TimeRange,
    TopPerGroup,
    Window,
    step_plan,
)

_OP_WORDS: dict[Operator, str] = {
    Operator.eq: "is",
    Operator.ne: "is not",
    Operator.gt: "is greater than",
    Operator.ge: "is at least",
    Operator.lt: "is less than",
    Operator.le: "is at most",
    Operator.in_: "is one of",
    Operator.not_in: "is none of",
    Operator.contains: "contains",
    Operator.not_contains: "does not contain",
    Operator.startswith: "starts with",
    Operator.endswith: "ends with",
    Operator.has: "has the term",
    Operator.regex: "matches the regular expression",
    Operator.exists: "is present",
    Operator.not_exists: "is empty or missing",
}


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("" if n == 1 else "s")


def _point(p: RelativeTime | AbsoluteTime) -> str:
    if isinstance(p, AbsoluteTime):
        at = p.at if p.at.tzinfo else p.at.replace(tzinfo=timezone.utc)
        return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if p.snap == "day":
        return {0: "the start of today", 1: "the start of yesterday"}.get(
            p.amount, f"the start of the day {_plural(p.amount, p.unit.value)} ago")
    return f"{_plural(p.amount, p.unit.value)} ago"


def describe_time(tr: TimeRange | None) -> str:
    if tr is None:
        return "over all time (no time range given)"
    start, end = tr.start, tr.end
    if end is None and isinstance(start, RelativeTime) and not start.snap:
        if start.amount == 1:
            return f"over the last {start.unit.value}"
        return f"over the last {_plural(start.amount, start.unit.value)}"
    if (end is None and isinstance(start, RelativeTime) and start.snap == "day"
            and start.amount == 0):
        return "today"
    if (isinstance(start, RelativeTime) and isinstance(end, RelativeTime) and start.snap == "day"
            and end.snap == "day" and start.amount == 1 and end.amount == 0):
        return "yesterday"
    if end is None:
        return f"since {_point(start)}"
    return f"from {_point(start)} to {_point(end)}"


def _value(v: object) -> str:
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    return f'"{v}"' if isinstance(v, str) else str(v)


def _known(source: Source, field: str, value: object) -> str:
    f = source.field(field)
    if f is None:
        return ""
    meanings = [kv.meaning for kv in f.known_values
                if str(kv.value) == str(value) or (isinstance(value, list) and
                                                   str(kv.value) in map(str, value))]
    return f" ({'; '.join(meanings)})" if meanings else ""


def describe_filter(f: object, source: Source, name=lambda n: n) -> str:  # type: ignore[no-untyped-def]
    if isinstance(f, Condition):
        words = _OP_WORDS[f.op]
        if f.value is None:
            return f"{name(f.field)} {words}"
        return f"{name(f.field)} {words} {_value(f.value)}{_known(source, f.field, f.value)}"
    if isinstance(f, And):
        return " and ".join(describe_filter(i, source, name) for i in f.items)
    if isinstance(f, Or):
        return "(" + " or ".join(describe_filter(i, source, name) for i in f.items) + ")"
    if isinstance(f, Not):
        return f"not ({describe_filter(f.item, source, name)})"
    return str(f)


def describe_metric(m: Metric, name=lambda n: n) -> str:  # type: ignore[no-untyped-def]
    fld = name(m.field) if m.field else ""
    if m.fn is MetricFn.percentile:
        return f"the {m.percentile or 0:g}th percentile of {fld} (as {m.name})"
    return {
        MetricFn.count: "the number of events" if not m.field else f"the number of {fld} values",
        MetricFn.count_distinct: f"the number of distinct {fld}",
        MetricFn.sum: f"the total of {fld}",
        MetricFn.avg: f"the average {fld}",
        MetricFn.min: f"the minimum {fld}",
        MetricFn.max: f"the maximum {fld}",
        MetricFn.first_seen: "when each was first seen",
        MetricFn.last_seen: "when each was last seen",
        MetricFn.values: f"the distinct values of {fld}",
        MetricFn.list: f"every {fld} value including repeats",
    }[m.fn] + f" (as {m.name})"


def describe_plan(plan: QueryPlan, source: Source, *, name=lambda n: n,  # type: ignore[no-untyped-def]
                  reads: str | None = None) -> list[str]:
    """One sentence per pipeline step, then per stage ("Then …")."""
    lines = [f"Reads {reads or source.name} {describe_time(plan.time_range)}."]
    lines += _pipeline(plan, source, name)
    for stage in plan.stages:
        lines += ["Then: " + s[0].lower() + s[1:] for s in _stage(plan, stage, source, name)]
    for issue in plan.issues:
        lines.append(f"Note: {issue.message}.")
    return lines


def _stage(plan: QueryPlan, stage: Stage, source: Source, name: Any) -> list[str]:
    """The sentences of one stage after the first part."""
    if isinstance(stage, Step):
        return [s.replace("Keeps events where", "Keeps rows where")
                for s in _pipeline(step_plan(plan, stage), source, name)]
    if isinstance(stage, Expand):
        return [f"Makes one row per value of {name(stage.field)}."]
    if isinstance(stage, TopPerGroup):
        keys = ", ".join(f"{name(s.field)} ({'highest' if s.descending else 'lowest'} first)"
                         for s in stage.sort)
        rows = "row" if stage.n == 1 else f"{stage.n} rows"
        return [f"Keeps the first {rows} per {', '.join(map(name, stage.by))}, by {keys}."]
    if isinstance(stage, Window):
        what = ", ".join(describe_metric(m, name) for m in stage.metrics)
        per = f" per {', '.join(map(name, stage.by))}" if stage.by else " over all rows"
        return [f"Adds to every row {what}{per}."]
    keys = " and ".join(f"{name(k.left)} = {k.right}" for k in stage.on)
    how = {"inner": "Joins the rows with", "left": "Adds, where they match, the rows of",
           "semi": "Keeps the rows that match", "anti": "Keeps the rows that do not match"}
    return [f"{how[stage.how.value]} a query of {stage.right.source} on {keys}."]


def _pipeline(plan: QueryPlan, source: Source, name: Any) -> list[str]:
    """Filters → … → limit of one pipeline, one sentence each."""
    lines: list[str] = []
    for f in plan.filters:
        lines.append(f"Keeps events where {describe_filter(f, source, name)}.")
    for c in plan.computed:
        lines.append(f"Computes {c.name}.")
    agg = plan.aggregation
    if agg:
        what = ", ".join(describe_metric(m, name) for m in agg.metrics)
        by = [name(g) for g in agg.group_by]
        if agg.time_bucket:
            by.append(f"{_plural(agg.time_bucket.amount, agg.time_bucket.unit.value)} bucket")
        if what:
            lines.append(f"Calculates {what}" + (f" per {', '.join(by)}." if by else "."))
        else:
            lines.append(f"Lists the distinct values of {', '.join(by)}.")
    for h in plan.having:
        lines.append(f"Keeps groups where {describe_filter(h, source, name)}.")
    if plan.project:
        lines.append(f"Shows {', '.join(name(p) for p in plan.project)}.")
    if plan.sort:
        keys = ", ".join(f"{name(s.field)} ({'highest' if s.descending else 'lowest'} first)"
                         for s in plan.sort)
        lines.append(f"Sorts by {keys}.")
    if plan.limit:
        lines.append(f"Returns at most {plan.limit} rows.")
    return lines


def explain_for_platform(plan: QueryPlan, source: Source, platform: Platform) -> str:
    """The plan told in the platform's own table and column names."""
    def name(n: str) -> str:
        col = source.column(platform, n)
        return col if col and col != n else n

    return " ".join(describe_plan(plan, source, name=name, reads=source.target(platform)))

