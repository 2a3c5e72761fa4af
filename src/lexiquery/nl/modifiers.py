"""Known values used as adjectives of a field noun: "service accounts", "service account".

The catalog knows "service" as a value of one field (logon type 5), but in "service accounts
starting with svc_" it only says what kind of accounts are meant, and the explicit prefix says
how to find them. Read as a filter of its own it would add a condition the analyst never asked
for, and a negation before the phrase ("excluding service accounts starting with svc_") would
land on the wrong field.

    pass_modifiers(st)        a known value right before an entity field that the question
                              compares explicitly ("... starting with svc_") is absorbed

`preds.modified_field` finds the pair; `preds.field_after` looks through the adjective, so "each
service account" groups by the account (the known value stays a filter there).
"""

from __future__ import annotations

from lexiquery.nl.preds import after_field, modified_field
from lexiquery.nl.state import State

# Comparisons that spell out how to recognise the values of the field that follows.
_EXPLICIT = {"startswith", "endswith", "contains", "regex", "eq"}


def pass_modifiers(st: State) -> None:
    """Absorb known values that only qualify a field the question then compares explicitly."""
    for k in range(len(st.items)):
        j = modified_field(st, k)
        if j is None:
            continue
        o = st.at(after_field(st, j))
        if o is None or not o.is_kw("op") or o.kw is None or o.kw.arg not in _EXPLICIT:
            continue
        if o.kw.arg == "eq" and o.text.lower() in {"is", "are", "being"}:
            continue  # "service accounts are ..." says nothing about how to find them
        it = st.items[k]
        st.use(k)
        st.notes.append(f'"{it.text} {st.items[j].text}" read as a kind of {st.items[j].fields[0]}'
                        f', found by the comparison that follows (not {it.known[0].name} = '
                        f"{it.known[0].value})")
