"""Vague amounts: "users with too many failed sign-ins", "accounts with an unusual number of
...", "source IPs with excessive failed logons", "a suspicious number of distinct users".

The analyst asks for a count per entity and leaves the threshold to the organisation. Without a
runbook there is no number to apply, so the plan counts per the entity the question names and
sets no threshold (a runbook supplies one later: `knowledge.precedence.wants_threshold` reads
the same words). The vague words are understood — they are not reported as "not understood".

* the entity counted per: the field named before the vague words ("users with", "source IPs
  with", "service accounts logging on to"), unless the question groups already;
* the metric: the number of distinct values when the vague words are followed by a field
  ("too many countries" → distinct locations, "too many hosts" → distinct hosts), else a count
  of the events ("too many failed sign-ins"). "a suspicious number of distinct users" is read by
  the metric pass ("number of distinct ...").

    pass_vague(st)    runs after the grouping passes and before thresholds and metrics
"""

from __future__ import annotations

from lexiquery.ir import Metric, MetricFn
from lexiquery.nl.preds import is_field, resolve
from lexiquery.nl.state import State

# "an unusual number of", "a high count of": adjectives before an amount word.
_ADJECTIVES = frozenset({"unusual", "suspicious", "abnormal", "anomalous", "unexpected", "high",
                         "large", "elevated", "huge", "big", "excessive", "extreme"})
_AMOUNT_WORDS = frozenset({"amount", "amounts", "volume", "volumes", "count", "counts",
                           "numbers", "quantity"})
# The note's words that say no number was given (a runbook's threshold removes the note).
VAGUE_NOTE_MARK = "gives no number"
_ALONE = frozenset({"excessive", "excessively"})  # "excessive failed logons"


def _word(st: State, k: int | None) -> str:
    it = st.at(k)
    return it.tok.low if it is not None and it.kind == "word" and it.tok is not None else ""


def _marker(st: State, k: int) -> tuple[list[int], int | None] | None:
    """(items of the vague words at k, index of the first item after them) or None."""
    w = _word(st, k)
    if w == "too" and _word(st, k + 1) in {"many", "much"}:
        return [k, k + 1], k + 2
    if w in {"lots", "lot"} and _word(st, k + 1) == "of":
        return [k, k + 1], k + 2
    if w in _ADJECTIVES:
        nxt = st.at(k + 1)
        if nxt is not None and nxt.is_kw("agg") and nxt.kw is not None and \
                nxt.kw.arg == "count":
            return [k], k + 1  # "unusual number of": the metric pass reads "number of"
        if _word(st, k + 1) in _AMOUNT_WORDS:
            end = k + 2 if _word(st, k + 2) != "of" else k + 3
            return list(range(k, end)), end
    if w in _ALONE:
        return [k], k + 1
    return None


def pass_vague(st: State) -> None:
    for k, it in enumerate(st.items):
        if it.used:
            continue
        found = _marker(st, k)
        if found is None:
            continue
        words, after = found
        st.use(*words)
        said = " ".join(st.items[i].text for i in words)
        _group_by_subject(st, k)
        counted = st.at(after)
        if counted is not None and counted.is_kw("agg"):
            pass  # "number of (distinct) ...": the metric pass reads it
        elif after is not None and is_field(counted) and not counted.used:  # type: ignore[union-attr]
            name = resolve(st, after)
            st.use(after)
            st.add_metric(Metric(fn=MetricFn.count_distinct, field=name))
        else:
            st.add_metric(Metric(fn=MetricFn.count))
        per = ", ".join(st.group_by) or "source"
        st.notes.append(f'"{said}" {VAGUE_NOTE_MARK}: counted per {per} with no threshold '
                        "(a runbook may set one)")
        return


def _group_by_subject(st: State, k: int) -> None:
    """Group by the field the question names before the vague words, if it groups by nothing."""
    if st.group_by:
        return
    for b in range(k):
        it = st.items[b]
        if is_field(it) and not it.used:
            st.add_group(resolve(st, b))
            st.use(b)
            return
