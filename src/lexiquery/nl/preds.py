"""Shared predicates over items: is this a field, is it followed by a value, which field is it.

Both the aggregation passes and the filter pass ask these questions; answering them in one place
keeps "by user alice" (a filter) and "by user" (a grouping) consistent.
"""

from __future__ import annotations

from lexiquery.catalog.model import EntityKind, FieldType
from lexiquery.errors import QuestionError
from lexiquery.limits import MAX_ROWS
from lexiquery.nl.lexicon import FUNCTION_WORDS
from lexiquery.nl.match import Item
from lexiquery.nl.state import State
from lexiquery.nl.values import entities_for, pick_fields

# Entities whose values are names an analyst types bare ("user bob", "app Outlook").
_NAMED = {EntityKind.user, EntityKind.host, EntityKind.app, EntityKind.process, EntityKind.file,
          EntityKind.resource, EntityKind.domain}


def is_field(it: Item | None) -> bool:
    """A catalog item usable as a field (a concept or known value is not)."""
    return bool(it is not None and it.kind == "cat" and it.fields and it.concept is None
                and not it.known)


def value_like(st: State, field_k: int, j: int | None, explicit: bool) -> bool:
    """Can item j be a value of field item field_k? Plain words count only after an explicit
    operator ("app is outlook"), or when they look like names ("user bob", "host web01")."""
    it = st.at(j)
    if it is None or it.used:
        return False
    ftype = _ftype(st, field_k)
    if ftype in {FieldType.datetime, FieldType.timespan}:
        return False  # times are the time range's business
    if ftype is not None and ftype.numeric:
        return it.tok is not None and it.tok.kind == "number" and it.kind == "value"
    if ftype is FieldType.bool:
        return it.tok is not None and it.tok.low in _BOOL_WORDS
    if it.kind == "value":
        if it.tok is None or it.tok.kind in {"date", "ord"}:
            return False
        if not explicit and known_elsewhere(st, field_k, it):
            return False  # "url path for 404s": 404 is a status, not a path
        f = st.src.field(st.items[field_k].fields[0])
        ents = entities_for(it.tok.kind, it.tok.text)
        # "apps ... alice@contoso.com": an e-mail address is no app name
        return not (ents and f is not None and f.entity is not None and f.entity not in ents
                    and not any((g := st.src.field(n)) is not None and g.entity in ents
                                for n in st.items[field_k].fields))
    if it.vkind == "hostlike":
        return True
    if it.known and any(t.name in st.items[field_k].fields for t in it.known):
        return True
    if it.kind == "cat" and it.known:
        return False  # "client without NXDOMAIN": a known value of another field
    if explicit and it.kind == "cat" and it.i1 - it.i0 == 1 and it.tok is not None and \
            any(ch.isdigit() or ch.isupper() for ch in it.tok.text):
        return True  # "client app is POP3": a literal, even if a concept is called that
    if it.kind != "word" or it.is_filler or it.tok is None or it.tok.kind != "word":
        return False
    if explicit:
        return True
    if it.i0 != st.items[field_k].i1:
        return False  # "resources in Azure", "by user today bob": not right after the field
    text = it.tok.text
    if it.tok.low in FUNCTION_WORDS:
        return False  # "per user through the firewall"
    if any(ch.isdigit() for ch in text):
        return True
    if text[:1].isupper() and j != 0:
        return not _in_proper_name(st, field_k)
    f = st.src.field(st.items[field_k].fields[0])
    return bool(f is not None and f.type is FieldType.string and f.entity in _NAMED
                and len(text) >= 2 and not _plural_noun(st.items[field_k]))


def _plural_noun(field_it: Item) -> bool:
    """ "users added to ...": after a plural field word a bare lower-case word is what they
    did, not a name ("user bob" names one user; "users bob" is not how anyone writes it)."""
    tok = field_it.tok
    if tok is None or field_it.i1 - field_it.i0 != 1:
        return False
    low = tok.low
    return low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3


def _in_proper_name(st: State, field_k: int) -> bool:
    """ "the Domain Admins group": a capitalised field word inside the question followed by a
    capitalised word is part of a proper name, not a field and its value."""
    tok = st.items[field_k].tok
    return tok is not None and st.items[field_k].i0 > 0 and tok.text[:1].isupper() and \
        not tok.text.isupper()


_BOOL_WORDS = {"true", "false", "yes", "no", "1", "0"}


def known_elsewhere(st: State, field_k: int, it: Item) -> bool:
    """Is value item `it` a known value of some field of the source, but of none of field item
    `field_k`'s candidate fields? Then it belongs to that other field."""
    if it.tok is None:
        return False
    v = it.tok.value
    key = str(int(v) if isinstance(v, float) and v.is_integer() else v).lower()
    hits = st.si.known.get(key, [])
    return bool(hits) and not any(h[0] in st.items[field_k].fields for h in hits)


def _ftype(st: State, field_k: int) -> FieldType | None:
    """The type shared by all candidate fields of item field_k (None when they differ)."""
    types = {f.type for n in st.items[field_k].fields if (f := st.src.field(n)) is not None}
    return types.pop() if len(types) == 1 else None


_RELATIVE = frozenset({"that", "which", "who", "whose"})


def after_field(st: State, k: int) -> int | None:
    """The item after field item k where its comparison starts, reading through a relative
    word before a comparison ("accounts that start with svc_", "hosts whose name is ...")."""
    j = st.nxt(k)
    it = st.at(j)
    if it is not None and it.is_kw("conj") and it.text.lower() in _RELATIVE:
        o = st.at(st.nxt(j))  # type: ignore[arg-type]
        if o is not None and o.is_kw("op", "neg"):
            st.use(j)
            return st.nxt(j)  # type: ignore[arg-type]
    return j


def followed_by_value(st: State, k: int) -> bool:
    """Is field item k followed by a value (so it is a filter, not a grouping)?"""
    j = after_field(st, k)
    explicit = False
    while st.at(j) is not None and st.items[j].is_kw("op", "neg"):  # type: ignore[index]
        explicit = True
        j = st.nxt(j)  # type: ignore[arg-type]
    return value_like(st, k, j, explicit)


def resolve(st: State, k: int, role: str = "") -> str:
    """The single field meant by field item k, using a role word just before it."""
    it = st.items[k]
    p = st.at(st.prv(k))
    if not role and p is not None and p.is_kw("role") and p.kw:
        role = p.kw.arg
    picked = pick_fields(st.si, it.fields, role)
    it.role = role
    return picked[0] if picked else it.fields[0]


def field_after(st: State, k: int) -> int | None:
    """Index of a field item right after k, allowing one role word in between, or a known value
    used as its adjective ("each service account")."""
    j = st.nxt(k)
    it = st.at(j)
    if j is not None and (m := modified_field(st, j)) is not None:
        return m
    if it is not None and it.is_kw("role") and is_field(st.at(st.nxt(j))):  # type: ignore[arg-type]
        st.use(j)
        return st.nxt(j)  # type: ignore[arg-type]
    return j if is_field(it) else None


def modified_field(st: State, k: int) -> int | None:
    """Index of the entity field item that known-value item `k` is an adjective of: written
    right after it, a different field than the known value's own, one with an entity (the
    noun an analyst qualifies: accounts, hosts)."""
    it = st.at(k)
    if it is None or it.kind != "cat" or not it.known or it.concept or it.used:
        return None
    j = k + 1
    nxt = st.at(j)
    if nxt is None or not is_field(nxt) or nxt.i0 != it.i1:
        return None
    own = {t.name for t in it.known}
    if own & set(nxt.fields):
        return None
    f = st.src.field(nxt.fields[0])
    return j if f is not None and f.entity is not None else None


def number(it: Item | None) -> int | None:
    """An integer count/limit value (no unit), or None."""
    if it is not None and it.kind == "value" and it.tok is not None and \
            it.tok.kind == "number" and not it.tok.unit and isinstance(it.tok.value, (int, float)):
        return int(it.tok.value) if float(it.tok.value).is_integer() else None
    return None


# The issue code of the `QuestionError` for a row count below 1: no runbook or model can answer
# such a question, so the planner refuses it whatever else could supply a source.
BAD_ROW_COUNT = "bad_row_count"


def row_count(st: State, n: int, said: str) -> int:
    """The row count a question asked for ("top 5", "limit 50"; `said` quotes it): above
    `limits.MAX_ROWS` it is clamped with a note; zero or less is a `QuestionError` (issue code
    `BAD_ROW_COUNT`), never a silent default (a ranking of "top -5" is no ranking of 10)."""
    if n < 1:
        message = f'"{said}" asks for {"no" if n == 0 else "a negative number of"} rows'
        raise QuestionError(message, hint="ask for 1 row or more, e.g. top 5 or limit 50",
                            issues=[{"code": BAD_ROW_COUNT, "message": message}])
    if n > MAX_ROWS:
        st.clamps += 1
        st.notes.append(f'"{said}" clamped to {MAX_ROWS:,} rows, the most a query returns here')
        return MAX_ROWS
    return n
