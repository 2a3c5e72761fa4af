"""Identifier-shaped words: an account name ("svc_backup") or a column name ("shoe_size").

Both are written in snake_case, so the shape alone does not tell them apart. After a bare "by"
on a source that holds users, an identifier is an account ("successful logons by svc_backup")
unless its words read like a column's ("by shoe_size", "by event_type") or it is close to one of
the source's field names — then it stays an unknown field reference, reported as such.

    account_name(st, k)   is item k an account identifier written after "by"?
"""

from __future__ import annotations

import difflib
import re

from lexiquery.catalog.model import EntityKind
from lexiquery.nl.state import State

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9.-]*(?:_[A-Za-z0-9.-]*)+$|^[A-Za-z]+[0-9]+[A-Za-z0-9]*$")
# Last words of column names: shoe_size, event_kind, port_number, account_name.
_COLUMN_WORDS = frozenset("""id ids name names type types size count code codes time date ip
    port status path value values len length level num number key kind class category flag
    address addr id_str ts timestamp bytes total""".split())


def account_name(st: State, k: int) -> bool:
    """An unread identifier-shaped word right after a bare "by", on a source with a user field,
    that does not read like a column name."""
    it = st.items[k]
    if it.used or it.kind != "word" or it.tok is None or not _IDENT.match(it.tok.text):
        return False
    prev = st.at(st.prv(k))
    if prev is None or not prev.is_kw("by") or not st.si.entity_fields.get(EntityKind.user):
        return False
    low = it.tok.low
    if low.rsplit("_", 1)[-1] in _COLUMN_WORDS:
        return False
    names = [f.name for f in st.src.fields]
    return not difflib.get_close_matches(low, names, n=1, cutoff=0.75)
