"""Reading values off the items: after a field ("status 401 or 403"), before it ("the Azure
Portal app"), a list of same-kind values ("10.0.0.1, 10.0.0.2 or 10.0.0.3"), and the field a
bare number names ("event 4625").
"""

from __future__ import annotations

from lexiquery.catalog.model import FieldType
from lexiquery.nl.match import Item
from lexiquery.nl.preds import is_field, value_like
from lexiquery.nl.state import State

TYPED = {"ip", "cidr", "email", "url", "domain", "file", "hash", "path", "hostlike"}


def values_after(st: State, field_k: int, j: int | None, explicit: bool) -> tuple[list[object], int,
                                                                             str, str]:
    """Values from item j on: one, or a list joined by commas / "or" / "and".
    Returns (values, last item index used, value kind, joining word)."""
    vals: list[object] = []
    kind, joiner, last = "", "", j if j is not None else -1
    while j is not None and value_like(st, field_k, j, explicit or bool(vals)):
        it = st.items[j]
        known = [t for t in it.known if t.name in st.items[field_k].fields]
        if it.kind == "cat" and known:
            vals.append(known[0].value)
        elif it.kind == "value" and it.tok is not None:
            vals.append(it.tok.value)
            kind = kind or it.tok.kind
        else:  # a word, or a run of capitalised words after an explicit operator
            words, end = [it.tok.text], j  # type: ignore[union-attr]
            while explicit and (n := st.nxt(end)) == end + 1 and cap_word(st.items[n]):
                words.append(st.items[n].text)
                end = n
            vals.append(" ".join(words))
            kind = kind or it.vkind or "word"
            j = end
        last = j
        sep = st.at(st.nxt(j))
        if sep is None or not (sep.text == "," or (sep.is_kw("conj") and sep.kw and
                                                   sep.kw.arg in {"or", "and"})):
            break
        nj = st.nxt(st.nxt(j))  # type: ignore[arg-type]
        if nj is not None and st.items[nj].is_kw("conj"):  # ", or"
            nj = st.nxt(nj)
        if not value_like(st, field_k, nj, True) or is_field(st.at(nj)) or \
                (kind in TYPED and st.items[nj].kind == "word" and
                 st.items[nj].vkind not in TYPED):
            break
        joiner = joiner or (sep.kw.arg if sep.kw else ",")
        st.use(*range(j + 1, nj))
        j = nj
    return vals, last, kind, joiner


def values_before(st: State, k: int) -> tuple[list[object], int]:
    """"the Azure Portal app": capitalised words (or one quoted value) right before a name
    field, not at the start of the question."""
    words: list[str] = []
    j = k - 1
    while j > 0 and cap_word(st.items[j]):
        words.insert(0, st.items[j].text)
        j -= 1
    f = st.src.field(st.items[k].fields[0])
    if not words or f is None or f.type is not FieldType.string:
        return [], k
    return [" ".join(words)], j + 1


def cap_word(it: Item) -> bool:
    return it.kind == "word" and not it.used and it.tok is not None and \
        it.tok.text[:1].isupper() and not it.is_filler


def same_kind_list(st: State, k: int, kind: str) -> tuple[list[object], int]:
    tok = st.items[k].tok
    vals: list[object] = [tok.value if tok is not None else st.items[k].text]
    last = k
    while True:
        sep = st.at(st.nxt(last))
        if sep is None or not (sep.text == "," or (sep.is_kw("conj") and sep.kw and
                                                   sep.kw.arg in {"or", "and"})):
            break
        nj = st.nxt(st.nxt(last))  # type: ignore[arg-type]
        if nj is not None and st.items[nj].is_kw("conj"):
            nj = st.nxt(nj)
        n = st.at(nj)
        if n is None or n.tok is None or (n.vkind or n.tok.kind) != kind:
            break
        vals.append(n.tok.value)
        last = nj  # type: ignore[assignment]
    return vals, last


def field_named_before(st: State, k: int) -> list[str]:
    """"event 4625" with no known value: a field whose name starts with the word before."""
    p = st.at(st.prv(k))
    if p is None or p.tok is None or not p.tok.subwords:
        return []
    w = p.tok.subwords[-1]
    hits = [f.name for f in st.src.fields if f.name.split("_")[0].startswith(w[:4])
            and len(w) >= 3]
    if len(hits) == 1:
        st.use(st.prv(k))
        return hits
    return []
