"""Aggregation passes: grouping ("by user", "per host"), ranking ("top 10 users"), metrics
("how many", "distinct", "average", "p95", "last seen") and thresholds on aggregates ("users with
more than 5 failed logins" → having event_count > 5).

Passes run in that order over the items and mark what they use; the filter pass sees the rest.
Concept items are never used here — "top users by failed sign-ins" still filters on the concept.
"""

from __future__ import annotations

from lexiquery.catalog.model import EntityKind
from lexiquery.ir import Condition, Metric, MetricFn, Operator, SortKey
from lexiquery.nl.lexicon import FUNCTION_WORDS
from lexiquery.nl.match import Item
from lexiquery.nl.preds import (
    field_after,
    followed_by_value,
    is_field,
    number,
    resolve,
    row_count,
)
from lexiquery.nl.measures import head_field, is_measure, measure_metric
from lexiquery.nl.state import State
from lexiquery.nl.values import pick_fields

_AGG_FN = {"sum": MetricFn.sum, "avg": MetricFn.avg, "min": MetricFn.min, "max": MetricFn.max,
           "first": MetricFn.first_seen, "last": MetricFn.last_seen}
_COUNT_NOUNS = {"times", "attempts", "tries", "events", "occurrences", "records", "entries",
                "hits", "rows", "instances"}
_CMP = {"gt": Operator.gt, "ge": Operator.ge, "lt": Operator.lt, "le": Operator.le}


def pass_group(st: State) -> None:
    for k, it in enumerate(st.items):
        if it.used or not it.is_kw("group", "by"):
            continue
        j = field_after(st, k)
        if j is None or followed_by_value(st, j):
            continue
        if _ranked_measure(st, k, j):
            continue  # "top 5 hosts by bytes sent": the ranking's measure, not a grouping
        if it.is_kw("by") and is_measure(st, j):
            _by_measure(st, k, j)  # "source ips by bytes sent": the measure of each source ip
            continue
        st.use(k)
        while j is not None:
            st.add_group(resolve(st, j))
            st.use(j)
            c = st.nxt(j)
            sep = st.at(c)
            if sep is None or not (sep.text == "," or sep.is_kw("conj") and sep.kw.arg == "and"):
                break
            j2 = field_after(st, c)  # type: ignore[arg-type]
            if j2 is None or followed_by_value(st, j2):
                break
            st.use(c)
            j = j2


def _by_measure(st: State, k: int, j: int) -> None:
    """ "<entity> by <measure>": group by the entity named before "by", the measure's metric,
    largest first."""
    p = st.prv(k)
    if p is None or not is_field(st.items[p]) or st.items[p].used:
        return
    st.add_group(resolve(st, p))
    m = st.add_metric(measure_metric(st, resolve(st, j)))
    st.use(p, k, j)
    if not st.sort:
        st.sort = [_sort(m.name, True)]
    st.notes.append(f'"{st.items[p].text} by {st.items[j].text}" read as {m.fn.value} of '
                    f"{m.field} per {st.group_by[-1]}, largest first")


def _ranked_measure(st: State, k: int, j: int) -> bool:
    f = st.src.field(st.items[j].fields[0])
    measure = f is not None and f.type.numeric and f.entity is None and not f.known_values
    return measure and any(i.is_kw("top") for i in st.items[:k])


def metric_after(st: State, k: int | None) -> Metric | None:
    """A metric spelled from item k on: "count", "distinct IPs", "bytes", "average latency"."""
    it = st.at(k)
    if it is None or k is None:
        return None
    if it.is_kw("agg") and it.kw:
        arg = it.kw.arg
        j = st.nxt(k)
        if arg == "count":
            st.use(k)
            nj = st.at(j)
            if nj is not None and nj.is_kw("agg") and nj.kw and nj.kw.arg == "distinct":
                return metric_after(st, j)
            return Metric(fn=MetricFn.count)
        f = _measure(st, j, numeric=arg not in {"distinct", "min", "max", "first", "last"},
                     reading=arg in {"min", "max"})
        fj = j if is_field(st.at(j)) else None  # a concept after "average" stays a filter
        if f is None and arg == "distinct" and (f := head_field(st, j)) is not None:
            fj = j  # "distinct domains queried": the phrase names the source and the field
        if arg == "distinct" and f:
            st.use(k, fj)
            return Metric(fn=MetricFn.count_distinct, field=f)
        if arg in {"first", "last"}:
            st.use(k)
            return Metric(fn=_AGG_FN[arg])
        if arg == "firstlast":  # "first and last seen": both ends of the activity window
            st.use(k)
            st.add_metric(Metric(fn=MetricFn.first_seen))
            return Metric(fn=MetricFn.last_seen)
        if f and arg in _AGG_FN:
            st.use(k, fj)
            return Metric(fn=_AGG_FN[arg], field=f)
        if f and (arg in {"median", "pct"} or arg.startswith("p")):
            pct = _percentile(st, k)
            if pct:
                st.use(k, fj)
                return Metric(fn=MetricFn.percentile, field=f, percentile=pct)
        return None
    if is_field(it):
        name = resolve(st, k)
        fdef = st.src.field(name)
        st.use(k)
        if fdef is not None and fdef.type.numeric and fdef.entity is None:
            return Metric(fn=MetricFn.sum, field=name)
        return Metric(fn=MetricFn.count_distinct, field=name)
    if it.concept or it.is_source or it.is_kw("noun") or it.known:
        if it.is_kw("noun"):
            st.use(k)
        return Metric(fn=MetricFn.count)
    return None


def _measure(st: State, j: int | None, numeric: bool, reading: bool = False) -> str | None:
    """The field a metric word applies to (prefers numeric candidates for sum/avg/...).
    After a concept ("average CPU" where CPU is a concept of counter samples) it is the
    source's one measure field, if it has exactly one; so too for min/max (`reading`:
    "minimum free memory")."""
    it = st.at(j)
    if it is None or j is None:
        return None
    if (numeric or reading) and (it.concept or it.known):
        return measure_field(st)
    if is_field(it):
        cands = it.fields
        if numeric:
            nums = [f for f in cands if (fd := st.src.field(f)) is not None and fd.type.numeric]
            cands = nums or cands
        picked = pick_fields(st.si, cands, "")
        return picked[0] if picked else None
    return None


def _percentile(st: State, k: int) -> float | None:
    it = st.items[k]
    arg = it.kw.arg if it.kw else ""
    if arg == "median":
        return 50.0
    if arg.startswith("p") and arg != "pct":
        try:
            v = float(arg[1:])
        except ValueError:
            return None
        return v if 0 < v < 100 else None
    p = st.at(st.prv(k))
    if p is not None and p.kind == "value" and p.tok is not None and \
            p.tok.kind in {"ord", "number"} and 0 < float(p.tok.value) < 100:  # type: ignore[arg-type]
        st.use(st.prv(k))
        return float(p.tok.value)  # type: ignore[arg-type]
    return None


def pass_top(st: State) -> None:
    for k, it in enumerate(st.items):
        if it.used or not it.is_kw("top") or not it.kw:
            continue
        desc = it.kw.arg == "desc"
        p = st.prv(k)
        n = number(st.at(p))
        j = st.nxt(k)
        if n is not None and n >= 1:  # "5 top users"; "result code 0 top users" is a value
            st.use(p)
            n = row_count(st, n, f"{n} {it.text}")
        elif (n2 := number(st.at(j))) is not None:
            n = row_count(st, n2, f"{it.text} {n2}")
            st.use(j)
            j = st.nxt(j)  # type: ignore[arg-type]
        else:
            n = None
        fj = field_after(st, j - 1) if j is not None else None
        if fj is None:
            fj = next((b for b in range(k - 1, max(-1, k - 5), -1)
                       if is_field(st.items[b]) and not st.items[b].used), None)
            if fj is None:
                if st.ranking:  # "top 10 IPs with the most failed sign-ins": said twice
                    st.use(k)
                elif st.group_by:  # "failed sign-ins per user, top 5": rank that grouping
                    st.use(k)
                    _rank(st, None, desc, n)
                elif n is not None:
                    st.use(k)
                    st.limit = n
                continue
        st.use(k)
        st.add_group(resolve(st, fj))
        st.use(fj)
        m = None
        after = st.nxt(fj)
        a = st.at(after)
        if a is not None and (a.is_kw("by") or (a.is_kw("conj") and a.kw and a.kw.arg == "with")):
            m = metric_after(st, st.nxt(after))  # type: ignore[arg-type]
            if m is not None:
                st.use(after)
        _rank(st, m, desc, n)


def _rank(st: State, m: Metric | None, desc: bool, n: int | None) -> None:
    """Top/bottom N: sort on the metric (count unless said otherwise) and keep N rows."""
    m = st.add_metric(m or (st.metrics[0] if st.metrics else Metric(fn=MetricFn.count)))
    st.ranking = True
    st.sort = [_sort(m.name, desc)]
    st.limit = n or 10
    if not n:
        st.notes.append(f"no number given for the ranking: showing {st.limit}")


def _sort(name: str, desc: bool) -> SortKey:
    return SortKey(field=name, descending=desc)


def pass_metrics(st: State) -> None:
    for k, it in enumerate(st.items):
        if it.used or not it.is_kw("agg") or not it.kw:
            continue
        arg = it.kw.arg
        j = st.nxt(k)
        nj = st.at(j)
        if arg == "count" and is_field(nj) and not nj.is_source and \
                not followed_by_value(st, j) and _entity(st, j):  # type: ignore[arg-type]
            f = resolve(st, j)  # type: ignore[arg-type]
            st.use(k, j)
            st.add_metric(Metric(fn=MetricFn.count_distinct, field=f))
            st.notes.append(f'"{it.text} {nj.text}" read as the number of distinct {f}')
            continue
        if arg == "distinct" and is_field(nj) and not (
                any(i.is_kw("agg") and i.kw and i.kw.arg == "count" for i in st.items[:k])
                or st.group_by or st.bucket or st.default_bucket):
            st.use(k, j)
            st.add_group(resolve(st, j))  # type: ignore[arg-type]
            st.distinct_only = True
            continue
        m = metric_after(st, k)
        if m is None and arg not in {"count", "distinct"}:
            prev = st.prv(k)
            if is_field(st.at(prev)):  # "latency p95", "bytes total"
                f = _measure(st, prev, numeric=True)
                pct = _percentile(st, k) if arg in {"median", "pct"} or arg.startswith("p") \
                    else None
                fn = MetricFn.percentile if pct else _AGG_FN.get(arg)
                if f and fn:
                    st.use(k, prev)
                    m = Metric(fn=fn, field=f, percentile=pct)
            if m is None and arg == "sum":  # "total failed logins" is a count
                st.use(k)
                m = Metric(fn=MetricFn.count)
        if m is not None:
            st.add_metric(m)


def _entity(st: State, j: int) -> bool:
    """Counting an entity ("how many users") means counting distinct values."""
    f = st.src.field(st.items[j].fields[0])
    return bool(f is not None and f.entity is not None and f.entity is not EntityKind.resource
                and st.items[j].tok is not None and st.items[j].text.lower().endswith("s"))


def pass_having(st: State) -> None:
    for k, it in enumerate(st.items):
        if it.used:
            continue
        op = None
        if it.is_kw("op") and it.kw and it.kw.arg in _CMP:
            p = st.prv(k)
            if is_field(st.at(p)) and not st.items[p].used:  # type: ignore[index]
                continue  # "bytes over 1000" is a filter
            j = st.nxt(k)
            op = _CMP[it.kw.arg]
        elif number(it) is not None and _is_postop(st.at(st.nxt(k))):
            j = k
            post = st.items[st.nxt(k)]  # type: ignore[index]
            op = _CMP[post.kw.arg]  # type: ignore[union-attr]
        if op is None:
            continue
        n = number(st.at(j))
        if n is None or j is None:
            continue
        x = st.nxt(j)
        if x is not None and _is_postop(st.at(x)):
            st.use(x)
            x = st.nxt(x)
        xi = st.at(x)
        countable = xi is not None and (
            xi.concept or xi.is_source or xi.known or xi.is_kw("noun", "agg")
            or (xi.tok is not None and xi.tok.low in _COUNT_NOUNS)
            or (bool(st.group_by) and _plural_word(xi))  # "per account with 5+ failures"
            or (is_field(xi) and not followed_by_value(st, x)))  # type: ignore[arg-type]
        if not countable:
            continue
        m = metric_after(st, x) or Metric(fn=MetricFn.count)
        if xi is not None and xi.tok is not None and (xi.tok.low in _COUNT_NOUNS
                                                      or _plural_word(xi)):
            st.use(x)
        if xi is not None and xi.is_source:
            st.use(x)
        if not st.group_by:
            g = next((b for b in range(k - 1, -1, -1)
                      if is_field(st.items[b]) and not st.items[b].used), None)
            if g is not None:
                st.add_group(resolve(st, g))
                st.use(g)
        m = st.add_metric(m)
        st.use(k, j)
        st.having.append(Condition(field=m.name, op=op, value=n))
        if not st.sort:  # the most extreme first: "more than" → highest, "fewer than" → lowest
            st.sort = [_sort(m.name, op in {Operator.gt, Operator.ge})]


def _plural_word(it: Item) -> bool:
    """A plain plural noun the catalog does not know ("failures", "errors"): after "at least 5"
    in a grouped question it names what is counted."""
    tok = it.tok
    return it.kind == "word" and tok is not None and tok.kind == "word" and not it.is_filler \
        and tok.low.endswith("s") and not tok.low.endswith(("ss", "us", "is")) \
        and len(tok.low) > 3 and tok.low not in FUNCTION_WORDS


def _is_postop(it: Item | None) -> bool:
    return it is not None and it.is_kw("postop")


def measure_field(st: State) -> str | None:
    """The source's single plain numeric field (not an id, port, code or entity), if any;
    with several, the one whose name or synonyms say "value"."""
    cands = [f for f in st.src.fields if f.type.numeric and f.entity is None
             and not f.known_values and not f.name.endswith(("_id", "_code", "_type"))]
    if len(cands) == 1:
        return cands[0].name
    named = [f.name for f in cands if "value" in " ".join([f.name, *f.synonyms]).lower()]
    return named[0] if len(named) == 1 else None
