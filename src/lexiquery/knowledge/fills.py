"""What a runbook fills in where the question leaves it open: a look-back when the question
gives no time range, and a threshold when it asks for one in vague words ("too many", "an
unusual number of", "escalate"). Both only from a procedure about the plan's source.

    apply_window(g, ctx)                      "look back 24 hours" → time range 24h
    apply_threshold(question, g, ctx, catalog)  "Escalate any user with more than 7 failures"
                                                → having count > 7

Which threshold: a runbook often lists several ("Failed logons for one account: more than 15",
"… from one source IP: more than 30"). Each is scored against the plan: its words against the
question's, its entity ("one account", "one source IP") against the plan's grouping, and its
measure against the plan's metric — "distinct countries" needs a distinct count, "bytes" a sum,
anything else a count. The best fit wins; one that names another entity or measure never does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from lexiquery.catalog.model import Catalog, Source
from lexiquery.ir import (
    Aggregation,
    Condition,
    Metric,
    MetricFn,
    Operator,
    QueryPlan,
    RelativeTime,
    TimeBucket,
    TimeRange,
    TimeUnit,
)
from lexiquery.ir_time import UNIT_SECONDS
from lexiquery.knowledge.gathering import Context, Relevant
from lexiquery.knowledge.guided import Guided
from lexiquery.knowledge.model import Threshold, TimeWindow
from lexiquery.knowledge.precedence import wants_threshold
from lexiquery.knowledge.relevance import STRONG, content_terms
from lexiquery.nl.vague import VAGUE_NOTE_MARK

_OP_WORDS = {Operator.gt: "more than", Operator.ge: "at least", Operator.lt: "fewer than",
             Operator.le: "at most"}
_DISTINCT = re.compile(r"\b(distinct|different|unique)\b", re.IGNORECASE)
_VOLUME = re.compile(r"\b(bytes?|[kmgt]b|volume|megabytes?|gigabytes?)\b", re.IGNORECASE)
# A threshold on a measure other than a count ("Average response time per site: above 2000
# ms") applies only to a plan with that measure.
_MEASURES = [(re.compile(r"\b(average|avg|mean)\b", re.IGNORECASE), MetricFn.avg),
             (re.compile(r"\b(maximum|max|peak)\b", re.IGNORECASE), MetricFn.max),
             (re.compile(r"\b(minimum|min|lowest)\b", re.IGNORECASE), MetricFn.min),
             (re.compile(r"\b(total|sum)\b", re.IGNORECASE), MetricFn.sum)]
# Words that name who or what a threshold counts per ("for one account", "from one source IP").
_ENTITY_WORDS = {"user", "account", "admin", "ip", "address", "client", "host", "machine",
                 "device", "computer", "server", "site", "domain", "app", "application"}


def about_source(rel: Relevant, source: str, g: Guided) -> bool:
    """The procedure names the plan's source, or names none and is clearly about the question;
    and its example query was not found to count other events."""
    if rel.hit.chunk.id in g.unrelated:
        return False
    named = {*(q.source for q in rel.procedure.queries if q.source), *rel.procedure.sources,
             *(d.source for d in rel.procedure.definitions)}
    return source in named or (not named and rel.score >= STRONG)


def apply_window(g: Guided, ctx: Context) -> None:
    if g.plan.time_range is not None:
        return
    for rel in ctx.relevant:
        if not about_source(rel, g.plan.source, g):
            continue
        for w in rel.procedure.windows:
            if w.purpose == "lookback":
                g.plan = g.plan.model_copy(update={"time_range": _window_range(w)})
                ref = g.cite(rel, "time window")
                g.changes.append(f"per {ref}, looked back {w.amount} {w.unit}"
                                 f"{'s' if w.amount != 1 else ''} (your question gave no time "
                                 "range)")
                return


def _window_range(w: TimeWindow) -> TimeRange:
    return TimeRange(start=RelativeTime(amount=w.amount, unit=TimeUnit(w.unit)))


def _words(text: str) -> set[str]:
    return content_terms(re.sub(r"[_-]", " ", text))


# "per user", "for one account", "any source IP", "each client": who the threshold counts per
# ("Distinct source IPs per user" counts IPs per user, not per IP).
_PER = re.compile(r"\b(?:per|each|every|any|one|a\s+single)\s+((?:source|client|destination|"
                  r"target|remote)\s+)?(" + "|".join(sorted(_ENTITY_WORDS)) + r")s?\b",
                  re.IGNORECASE)


def _per_entity(text: str) -> set[str]:
    return {w for m in _PER.finditer(text) for w in _words(m.group(0))} & _entity_terms()


@lru_cache(maxsize=1)
def _entity_terms() -> frozenset[str]:
    """`_ENTITY_WORDS` as the index's stemmed terms."""
    return frozenset(w for e in _ENTITY_WORDS for w in _words(e))


def _group_words(agg: Aggregation, src: Source | None) -> set[str]:
    words: set[str] = set()
    for name in agg.group_by:
        fd = src.field(name) if src else None
        words |= _words(" ".join([name, *(fd.synonyms if fd else [])]))
    return words


def _metric_for(t: Threshold, agg: Aggregation) -> Metric | None:
    """The plan's metric the threshold measures, or None when the plan measures something else."""
    said = f"{t.what} {t.text}"
    measure = next((fn for words, fn in _MEASURES if words.search(t.what)), None)
    want = measure or (MetricFn.count_distinct if _DISTINCT.search(t.what) else
                       MetricFn.sum if _VOLUME.search(said) else MetricFn.count)
    return next((m for m in agg.metrics if m.fn is want), None)


def _fit(t: Threshold, question: str, agg: Aggregation, src: Source | None) -> float:
    """How well the threshold fits the plan; 0 or less: it does not apply."""
    if _metric_for(t, agg) is None:
        return 0.0
    entity_words = _entity_terms()
    what = _words(t.what) - entity_words
    asked = _words(question)
    # Words of the threshold the question shares count for it, words it does not ("Foreign
    # VPN sign-ins" for "failed sign-ins") against it.
    score = float(len(what & asked) - len(what - asked))
    entities = _per_entity(t.text) or _words(t.text) & entity_words
    group = _group_words(agg, src)
    if entities:
        score += 2.0 if entities & group else -3.0
    return score


def apply_threshold(question: str, g: Guided, ctx: Context, catalog: Catalog) -> None:
    agg = g.plan.aggregation
    if agg is None or g.plan.having or not agg.group_by:
        return
    if not agg.metrics:
        if not wants_threshold(question):
            return
        # "which accounts should be escalated for failed sign-ins": a threshold is on a count.
        agg = agg.model_copy(update={"metrics": [Metric(fn=MetricFn.count,
                                                        alias="event_count")]})
    src = catalog.get(g.plan.source)
    best: tuple[float, float, Relevant, Threshold] | None = None
    for rel in ctx.relevant:
        if not about_source(rel, g.plan.source, g):
            continue
        for t in rel.procedure.thresholds:
            fit = _fit(t, question, agg, src)
            if fit > 0 and (best is None or (fit, rel.score) > best[:2]):
                best = (fit, rel.score, rel, t)
    if best is None:
        return
    _, _, rel, t = best
    metric = _metric_for(t, agg)
    assert metric is not None  # _fit checked it
    if not wants_threshold(question):
        if (_words(t.what) - _entity_terms()) - _words(question):
            return  # it counts something the question does not say: not worth a mention
        ref = g.cite(rel, "threshold (mentioned, not applied)")
        g.note(f"{ref} escalates at {_OP_WORDS.get(t.op, t.op.value)} {_num(t.value)} "
               f"{t.what}{_per(t.window)}; not applied — ask for \"too many\" or for "
               "escalations to apply it")
        return
    if g.plan.aggregation is not agg:
        g.plan = g.plan.model_copy(update={"aggregation": agg})
    _set_threshold(g, rel, t, metric.name, agg)


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def _per(w: TimeWindow | None) -> str:
    return f" within {w.amount} {w.unit}{'s' if w.amount != 1 else ''}" if w else ""


def _set_threshold(g: Guided, rel: Relevant, t: Threshold, metric: str,
                   agg: Aggregation) -> None:
    value = _num(t.value)
    update: dict[str, Any] = {"having": [Condition(field=metric, op=t.op, value=value)]}
    per = ""
    if t.window is not None and agg.time_bucket is None and not _spans_range(g.plan, t.window):
        update["aggregation"] = agg.model_copy(update={"time_bucket": TimeBucket(
            amount=t.window.amount, unit=TimeUnit(t.window.unit))})
        per = f" per {t.window.amount}-{t.window.unit} window"
    g.plan = g.plan.model_copy(update=update)
    # The reading's "'too many' gives no number" is answered now.
    g.parsed = g.parsed.model_copy(update={"notes": [
        n for n in g.parsed.notes if VAGUE_NOTE_MARK not in n]})
    ref = g.cite(rel, "threshold")
    g.changes.append(f"per {ref}, kept only groups with {_OP_WORDS.get(t.op, t.op.value)} "
                     f"{value} {t.what}{per}")


def _spans_range(plan: QueryPlan, w: TimeWindow) -> bool:
    """The question's own time range is no longer than the threshold's window ("in the last 10
    minutes" against "more than 15 in 10 minutes"): bucketing would change nothing."""
    tr = plan.time_range
    start = tr.start if tr is not None else None
    if not isinstance(start, RelativeTime) or start.snap or tr is None or tr.end is not None:
        return False
    return start.amount * UNIT_SECONDS[start.unit] <= w.amount * UNIT_SECONDS[TimeUnit(w.unit)]


__all__ = ["about_source", "apply_threshold", "apply_window"]
