"""Last steps: the staleness pattern, defaults (count, time bucket, default fields), checks that
keep the plan valid, what was not understood, and the confidence score."""

from __future__ import annotations

import re

from datetime import datetime, timedelta

from lexiquery.ir import (
    UNIT_SECONDS,
    AbsoluteTime,
    Aggregation,
    Metric,
    MetricFn,
    PlanIssue,
    QueryPlan,
    RelativeTime,
    SortKey,
    TimeBucket,
    TimeRange,
    TimeUnit,
)
from lexiquery.nl.lexicon import ABSENT_WHAT, STALE_WHAT
from lexiquery.nl.preds import is_field, resolve
from lexiquery.nl.source_select import Candidate
from lexiquery.nl.state import State
from lexiquery.nl.values import describe

_HARMLESS_KW = {"show", "conj", "noun", "latest", "cols", "role", "by", "group", "limit"}


def stale_check(st: State) -> None:
    """"Which computers stopped sending heartbeats": last seen per entity, oldest first. The
    comparison with now is not expressible and stays an `unsupported` issue."""
    if STALE_WHAT not in st.unsupported and ABSENT_WHAT not in st.unsupported:
        return
    if not st.group_by:
        k = next((i for i, it in enumerate(st.items) if is_field(it) and not it.used), None)
        if k is not None:
            st.add_group(resolve(st, k))
            st.use(k)
    st.metrics = [m for m in st.metrics if m.fn is not MetricFn.count]
    st.notes = [n for n in st.notes if "distinct values of" not in n]
    m = st.add_metric(Metric(fn=MetricFn.last_seen))
    st.distinct_only = False
    st.sort = [SortKey(field=m.name, descending=False)]
    st.notes.append("staleness read as: last seen time per " +
                    (", ".join(st.group_by) or "source") + ", oldest first")


def _span_seconds(tr: TimeRange | None, now: datetime) -> float | None:
    if tr is None:
        return None

    def at(p: RelativeTime | AbsoluteTime | None) -> datetime:
        if p is None:
            return now
        if isinstance(p, AbsoluteTime):
            return p.at
        back = now - timedelta(seconds=p.amount * UNIT_SECONDS[p.unit])
        return back.replace(hour=0, minute=0, second=0, microsecond=0) if p.snap else back

    try:
        return max(0.0, (at(tr.end) - at(tr.start)).total_seconds())
    except (OverflowError, ValueError, TypeError):
        return None


def default_bucket(tr: TimeRange | None, now: datetime) -> TimeBucket:
    """A bucket giving a readable number of points for the range (1 hour without a range)."""
    span = _span_seconds(tr, now)
    if span is None:
        return TimeBucket(amount=1, unit=TimeUnit.hour)
    for limit, amount, unit in ((3600, 1, TimeUnit.minute), (6 * 3600, 5, TimeUnit.minute),
                                (3 * 86400, 1, TimeUnit.hour), (31 * 86400, 1, TimeUnit.day)):
        if span <= limit:
            return TimeBucket(amount=amount, unit=unit)
    return TimeBucket(amount=1, unit=TimeUnit.week)


def build_plan(st: State, now: datetime) -> QueryPlan:
    if st.default_bucket and st.bucket is None:
        st.bucket = default_bucket(st.time_range, now)
        st.notes.append(f"time bucket: {st.bucket.amount} {st.bucket.unit.value}"
                        f"{'' if st.bucket.amount == 1 else 's'} (default for the time range)")
    if st.bucket is not None and st.src.time_field is None:
        st.notes.append("time bucket dropped: the source has no time field")
        st.issues.append(PlanIssue(code="unsupported",
                                   message="not supported: a trend on a source without time"))
        st.bucket = None
    agg = None
    if st.metrics or st.group_by or st.bucket is not None:
        if st.metrics or st.bucket is not None:
            st.distinct_only = False
        if not st.metrics and not st.distinct_only:
            st.metrics = [Metric(fn=MetricFn.count)]
        agg = Aggregation(metrics=st.metrics, group_by=st.group_by, time_bucket=st.bucket)
    outputs = set(agg.output_names()) if agg else {f.name for f in st.src.fields}
    if agg and st.bucket is not None and st.src.time_field:
        outputs.add(st.src.time_field)
    sort = [s for s in st.sort if s.field in outputs]
    for s in st.sort:
        if s.field not in outputs:
            st.notes.append(f'sort on "{s.field}" dropped: not in the result')
    project: list[str] = []
    if agg is None:
        project = list(st.project)
        if not project and st.src.default_fields:
            # Defaults must work on every platform the source lives on: a field one platform
            # lacks is left out here (asked for by name, it is kept and reported there).
            platforms = st.src.bindings.platforms()
            project = [f for f in st.src.default_fields
                       if all(st.src.column(p, f) for p in platforms)]
            st.notes.append("showing the source's default fields: " + ", ".join(project))
    elif st.project:
        st.notes.append("projection ignored: the question also aggregates")
    limit = st.limit if st.limit is not None and st.limit >= 1 else None
    plan = QueryPlan(source=st.src.id, time_range=st.time_range, filters=st.filters,
                     computed=st.computed, aggregation=agg, having=st.having if agg else [], project=project,
                     sort=sort, limit=limit, issues=list(st.issues))
    for what in st.unsupported:
        plan.unsupported(what)
    if agg is not None:
        st.notes.append(_describe_agg(agg, st))
    if sort:
        st.notes.append("sort: " + ", ".join(f"{s.field} {'descending' if s.descending else 'ascending'}" for s in sort))
    if limit:
        st.notes.append(f"limit: {limit} rows")
    return plan


def _describe_agg(agg: Aggregation, st: State) -> str:
    if not agg.metrics:
        return "distinct values of " + ", ".join(agg.group_by)
    parts = ["aggregate: " + ", ".join(m.name for m in agg.metrics)]
    if agg.group_by:
        parts.append("by " + ", ".join(agg.group_by))
    if agg.time_bucket:
        parts.append(f"per {agg.time_bucket.amount} {agg.time_bucket.unit.value}")
    if st.having:
        parts.append("having " + " and ".join(describe(h) for h in st.having))
    if st.ranking and st.sort:
        parts.append(f"{'top' if st.sort[0].descending else 'bottom'} {st.limit}")
    return " ".join(parts)


def leftovers(st: State) -> list[str]:
    """Words and phrases no pass used: reported as not understood."""
    out: list[str] = []
    for it in st.items:
        if it.used or it.helped or it.is_filler:
            continue
        if it.kind == "kw" and it.kw and (it.kw.cat in _HARMLESS_KW or it.kw == ("op", "eq")):
            continue
        if it.kind == "word" and it.tok is not None and it.tok.kind == "sym":
            continue
        if it.kind == "cat" and is_field(it):
            continue  # a field named without a value ("sign-ins with a user agent") is harmless
        out.append(it.text)
    return out


_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)+$|^[a-z]+[A-Z][A-Za-z0-9]*$")


def unknown_field_refs(st: State) -> list[str]:
    """Unread words the question uses as field names: right after "by"/"per"/"grouped by", or
    spelled like a column (snake_case, camelCase). They must not be dropped silently: the caller
    turns them into `unknown_field` errors naming the closest real fields."""
    out: list[str] = []
    for k, it in enumerate(st.items):
        if it.used or it.helped or it.kind != "word" or it.is_filler or it.tok is None:
            continue
        prev = st.items[k - 1] if k > 0 else None
        # A bare "by" names an actor as often as a grouping ("files downloaded by contractors"):
        # only "per"/"grouped by" make a plain word a field name; an unknown actor word is just
        # not understood.
        after_group = prev is not None and prev.is_kw("group")
        if (after_group or _IDENTIFIER.match(it.text)) and it.text not in out:
            out.append(it.text)
    return out


def confidence(st: State, plan: QueryPlan, chosen: Candidate, runner: Candidate | None, *,
               hinted: bool, n_time: int, clamps: int = 0) -> float:
    """0..1: the share of meaningful words understood, lowered by ambiguity and gaps, and by
    each number the question stated that had to be clamped (`clamps`): the query does not
    do exactly what was asked, so it must not look certain."""
    content = understood = n_time
    for it in st.items:
        if it.is_filler or (it.kind == "kw" and it.kw and not it.used and
                            (it.kw.cat in _HARMLESS_KW or it.kw == ("op", "eq"))):
            continue
        if it.kind == "word" and it.tok is not None and it.tok.kind == "sym":
            continue
        content += 1
        understood += 1 if (it.used or it.helped or is_field(it)) else 0
    coverage = understood / content if content else 0.0
    conf = 0.35 + 0.6 * coverage
    if not hinted and not chosen.strong:
        conf -= 0.1  # chosen from field names or value kinds only
    if not hinted and runner is not None and runner.score >= 0.85 * chosen.score:
        conf -= 0.1  # another source fits almost as well
    conf -= 0.1 * sum(1 for i in plan.issues if i.code == "unsupported")
    conf -= 0.15 * sum(1 for i in plan.issues if i.code == "ambiguous")
    conf -= 0.2 * clamps
    if any(i.code == "internal_error" for i in plan.issues):
        conf = 0.05
    return round(min(0.99, max(0.05, conf)), 2)
