"""Comparisons on the length of a text field: "the length of the query name is more than 60",
"domains longer than 50 characters", "url is longer than 200 characters".

These compare a computed `length(field)`, never the field itself: `Name > "60"` compares text
with text and answers another question. The plan gets a computed field (`<field>_length`, the
IR's `length` function, which every dialect renders) and a condition on it.

A comparison is on the length when the question says so:

* "length of <field> <comparison> N" (also "len", "number of characters in");
* "<field> (is) longer/shorter than N";
* "<field> <comparison> N characters" (chars, letters).

    pass_lengths(st)    reads them before the other passes, so "more than 60" is no threshold
                        and the field is no filter on the text "60"
"""

from __future__ import annotations

from lexiquery.catalog.model import FieldType
from lexiquery.ir import Call, ComputedField, Condition, FieldRef, Function, Operator
from lexiquery.nl.preds import is_field, number, resolve
from lexiquery.nl.state import State
from lexiquery.nl.values import describe

_LENGTH_WORDS = frozenset({"length", "len", "lengths"})
_UNIT_WORDS = frozenset({"character", "characters", "chars", "char", "letters", "letter"})
_LENGTH_OPS = ("longer", "shorter")
_CMP = {"gt": Operator.gt, "ge": Operator.ge, "lt": Operator.lt, "le": Operator.le,
        "eq": Operator.eq}


def pass_lengths(st: State) -> None:
    for k, it in enumerate(st.items):
        if it.used or not is_field(it):
            continue
        f = st.src.field(resolve(st, k))
        if f is None or f.type is not FieldType.string:
            continue
        said_length = _length_word_before(st, k)
        found = _comparison_after(st, k)
        if found is None:
            continue
        op, ops, nk, unit_k = found
        longer = any(_LENGTH_OPS[0] in st.items[o].text.lower()
                     or _LENGTH_OPS[1] in st.items[o].text.lower() for o in ops)
        if not (said_length is not None or longer or unit_k is not None):
            continue
        n = number(st.items[nk])
        assert n is not None
        name = f"{f.name}_length"
        if all(c.name != name for c in st.computed):
            st.computed.append(ComputedField(
                name=name, expr=Call(fn=Function.length, args=[FieldRef(name=f.name)])))
        cond = Condition(field=name, op=op, value=n)
        st.use(k, *ops, nk, unit_k, *(said_length or []))
        st.filters.append(cond)
        st.notes.append(f"filter: length({f.name}) {describe(cond).split(' ', 1)[1]} "
                        f'(from "{it.text}": a comparison on its length in characters)')


def _length_word_before(st: State, k: int) -> list[int] | None:
    """Items of "length of (the)" right before field item k, or None."""
    j = k - 1
    while j >= 0 and st.items[j].is_filler:
        j -= 1
    it = st.at(j)
    if it is None or it.kind != "word" or it.tok is None or it.tok.low not in _LENGTH_WORDS:
        return None
    return [j]


def _comparison_after(st: State, k: int) -> tuple[Operator, list[int], int, int | None] | None:
    """(operator, operator items, number item, unit item or None) of "<op> N [characters]"
    right after field item k ("is more than 60", "longer than 200 characters")."""
    j = st.nxt(k)
    ops: list[int] = []
    cmps: list[Operator] = []
    while j is not None and (o := st.at(j)) is not None and o.is_kw("op") and \
            o.kw is not None and o.kw.arg in _CMP:
        ops.append(j)
        cmps.append(_CMP[o.kw.arg])
        j = st.nxt(j)
    # "is longer than": the comparison is the last word that is not a plain "is"
    op = next((c for c in reversed(cmps) if c is not Operator.eq), cmps[0] if cmps else None)
    if op is None or j is None or number(st.at(j)) is None:
        return None
    u = st.nxt(j)
    unit = st.at(u)
    unit_k = u if unit is not None and unit.tok is not None and \
        unit.tok.low in _UNIT_WORDS else None
    return op, ops, j, unit_k
