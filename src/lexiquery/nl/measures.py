"""Measure words: numeric fields the catalog knows by name, read as the metric of a question
that names them without a metric word.

    "bytes sent per source ip"        sum(bytes_out) by src_ip
    "source ips by bytes sent"        sum(bytes_out) by src_ip, largest first
    "response time per url"           avg(response_time) by uri_path

A measure is a plain numeric field: no entity (a port is not summed), no known values (a status
code is not summed), not an id/code/type. Quantities that add up (bytes, packets, counts, sizes,
pages) are summed; others (durations, latencies, readings) are averaged.

    is_measure(st, k)         is item k a measure field?
    measure_metric(st, name)  the metric a bare measure word asks for
    head_field(st, k)         the field a source phrase starts with ("domains queried" → query)
    pass_measure_words(st)    "bytes sent per X": the metric when no metric word was given
"""

from __future__ import annotations

import re

from lexiquery.ir import Metric, MetricFn
from lexiquery.nl.preds import followed_by_value, is_field, resolve
from lexiquery.nl.state import State

_ADDITIVE = re.compile(r"\b(bytes?|octets?|packets?|pkts|count|counts|size|sizes|pages|total|"
                       r"volume|upload|download|sent|received|transferred)\b", re.IGNORECASE)
_ID_SUFFIXES = ("_id", "_code", "_type")


def is_measure(st: State, k: int | None) -> bool:
    it = st.at(k)
    if it is None or not is_field(it):
        return False
    f = st.src.field(it.fields[0])
    return bool(f is not None and f.type.numeric and f.entity is None and not f.known_values
                and not f.name.endswith(_ID_SUFFIXES))


def measure_metric(st: State, name: str) -> Metric:
    """sum for quantities that add up, avg for the rest (see the module doc)."""
    f = st.src.field(name)
    words = " ".join([name.replace("_", " "), *(f.synonyms if f else [])])
    return Metric(fn=MetricFn.sum if _ADDITIVE.search(words) else MetricFn.avg, field=name)


def head_field(st: State, k: int | None) -> str | None:
    """ "distinct domains queried": a catalog phrase that names the source but starts with a
    field's word; that field (the phrase's first word looked up alone), or None."""
    it = st.at(k)
    if it is None or it.kind != "cat" or not it.is_source or it.tok is None:
        return None
    stems = list(it.tok.subwords)
    if not stems:
        return None
    hit = st.si.lookup(stems, 0)
    if hit is None or hit[0] != len(stems):
        return None
    names = [t.name for t in hit[1] if t.kind in {"field", "entity"}]
    return names[0] if names else None


def pass_measure_words(st: State) -> None:
    """A measure field named right before "per"/"by"/"for each" ("bytes sent per source ip"),
    in a question with no metric word: that measure is the metric."""
    if st.metrics:
        return
    for k, it in enumerate(st.items):
        if it.used or not is_measure(st, k) or followed_by_value(st, k):
            continue
        nxt = st.at(k + 1)
        if nxt is None or not nxt.is_kw("group", "by"):
            continue
        m = st.add_metric(measure_metric(st, resolve(st, k)))
        st.use(k)
        st.notes.append(f'"{it.text}" read as the measure: {m.fn.value} of {m.field}')
        return
