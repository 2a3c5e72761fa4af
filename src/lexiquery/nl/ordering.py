"""Sort, limit and projection passes: "sorted by bytes descending", "most recent first",
"last 20 sign-ins", "limit 50", "show user, IP and time", "list unique users".
"""

from __future__ import annotations

from lexiquery.ir import Metric, MetricFn, SortKey
from lexiquery.nl.aggregate import metric_after
from lexiquery.nl.preds import followed_by_value, is_field, number, resolve, row_count
from lexiquery.nl.state import State


def _time_sort(st: State, desc: bool, why: str) -> None:
    tf = st.src.time_field
    if tf is None:
        st.notes.append(f'"{why}" ignored: the source has no time field')
        return
    st.sort = [SortKey(field=tf, descending=desc)]


def pass_sort_limit(st: State) -> None:
    for k, it in enumerate(st.items):
        if it.used or it.kind != "kw" or it.kw is None:
            continue
        cat = it.kw.cat
        j = st.nxt(k)
        if cat == "sort":
            j = st.nxt(k, skip_used=False)  # "sorted by count": the metric may be known already
            key = _sort_key(st, j)
            if key is not None:
                st.use(k)
                d = st.at(st.nxt(j))  # type: ignore[arg-type]
                if d is not None and d.is_kw("dir") and d.kw:
                    key.descending = d.kw.arg == "desc"
                    st.use(st.nxt(j))  # type: ignore[arg-type]
                st.sort = [key]
        elif cat == "order":
            st.use(k)
            _time_sort(st, it.kw.arg == "desc", it.text)
        elif cat == "dir":
            st.use(k)
            if st.sort:
                st.sort[-1].descending = it.kw.arg == "desc"
        elif cat in {"limit", "show"} and (n := number(st.at(j))) is not None and \
                (n > 0 or cat == "limit"):  # "show -1 codes" may be a value; "limit -1" not
            st.use(k, j)
            st.limit = row_count(st, n, f"{it.text} {n}")
        elif cat == "latest":
            n = number(st.at(j))
            if n is not None:
                st.use(k, j)
                st.limit = row_count(st, n, f"{it.text} {n}")
                _time_sort(st, True, it.text)
            elif st.group_by or st.question.lower().lstrip().startswith("when"):
                st.use(k)  # "last sign-in per user", "when did alice last sign in"
                st.add_metric(Metric(fn=MetricFn.last_seen))
            elif j is not None and (st.items[j].is_source or is_field(st.items[j])
                                    or st.items[j].concept):
                st.use(k)
                _time_sort(st, True, it.text)


def _sort_key(st: State, j: int | None) -> SortKey | None:
    it = st.at(j)
    if it is None or j is None:
        return None
    if it.is_kw("agg") or it.is_kw("noun"):
        m = metric_after(st, j)
        if m is None:
            return None
        st.use(j)
        m = st.add_metric(m) if (st.group_by or st.metrics) else m
        return SortKey(field=m.name, descending=True)
    if is_field(it):
        name = resolve(st, j)
        st.use(j)
        for m in st.metrics:
            if m.field == name:
                return SortKey(field=m.name, descending=True)
        return SortKey(field=name)
    return None


def pass_project(st: State) -> None:
    """Fields listed after "show"/"only" become the projection ("show user, IP and time"); one
    plural entity after "list"/"which" ("list users") asks for its distinct values."""
    first = st.nxt(-1, skip_used=False)
    for k, it in enumerate(st.items):
        implied = k == first and is_field(it) and not it.used
        if it.used or not (it.is_kw("show", "cols") or implied):
            continue
        fields = _field_list(st, k - 1 if implied else k)
        if not fields:
            continue
        verb = [] if implied else [k]
        names = [resolve(st, f) for f in fields]
        if len(fields) >= 2 or it.is_kw("cols"):
            st.use(*verb, *fields)
            st.project = list(dict.fromkeys(names))
            return
        one = st.items[fields[0]]
        plural = one.text.lower().endswith("s") and not one.text.lower().endswith("ss")
        if plural and not one.is_source and not st.metrics and not st.group_by:
            st.use(*verb, fields[0])
            st.add_group(names[0])
            st.distinct_only = True
            said = one.text if implied else f"{it.text} {one.text}"
            st.notes.append(f'"{said}" read as the distinct values of {names[0]}')
            return
        if not plural and not one.is_source and not implied:
            st.use(k, fields[0])
            st.project = [names[0]]
            return


def _field_list(st: State, k: int) -> list[int]:
    """Field items after item k joined by commas / "and", none of them followed by a value."""
    fields: list[int] = []
    j = st.nxt(k)
    while j is not None and is_field(st.items[j]) and not followed_by_value(st, j):
        fields.append(j)
        c = st.nxt(j)
        sep = st.at(c)
        if sep is not None and (sep.text in {",", ";"} or
                                (sep.is_kw("conj") and sep.kw and sep.kw.arg == "and")):
            nj = st.nxt(c)  # type: ignore[arg-type]
            if nj is not None and is_field(st.items[nj]):
                st.use(c)
                j = nj
                continue
        break
    return fields
