"""The filter pass: concepts, known values, "field op value(s)" and bare typed values.

Reads the items the aggregation passes left, left to right, keeping two bits of pending context:
a negation ("not", "except", "other than") that applies to the next filter, and a role word
("from", "to", "launched by") that picks src/dest/parent fields for the next value.
"""

from __future__ import annotations

from lexiquery.catalog.model import EntityKind, FieldType
from lexiquery.ir import And, Condition, Filter, Operator, PlanIssue
from lexiquery.nl.countries import country_field, country_list
from lexiquery.nl.lexicon import KEYWORDS
from lexiquery.nl.names import account_name
from lexiquery.nl.preds import after_field, is_field, resolve
from lexiquery.nl.state import State
from lexiquery.nl.valuelists import (
    TYPED,
    field_named_before,
    same_kind_list,
    values_after,
    values_before,
)
from lexiquery.nl.values import (
    fields_for_value,
    known_meaning,
    describe,
    make_condition,
    negate,
    pick_fields,
)

_RESET = {"group", "by", "top", "agg", "sort", "show", "limit", "conj"}
_OPS = {a: Operator(a) for a in ("eq", "ne", "gt", "ge", "lt", "le", "contains", "not_contains",
                                 "startswith", "endswith", "regex", "exists", "not_exists")}


class _Ctx:
    def __init__(self) -> None:
        self.neg = False
        self.role = ""
        self.neg_items: list[int] = []
        self.role_items: list[int] = []

    def reset(self) -> None:
        self.neg, self.role, self.neg_items, self.role_items = False, "", [], []


def pass_filters(st: State) -> None:
    ctx = _Ctx()
    k = 0
    while k < len(st.items):
        it = st.items[k]
        if it.used:
            k += 1
            continue
        nk = k + 1
        if it.is_kw("neg") or (it.is_kw("op") and it.kw and it.kw.arg == "ne"):
            ctx.neg = True
            ctx.neg_items.append(k)
        elif it.is_kw("role") and it.kw:
            ctx.role = it.kw.arg
            ctx.role_items.append(k)
        elif it.is_kw("by"):
            ctx.role = ctx.role or _by_role(st, k)
            ctx.role_items.append(k)
        elif it.kind == "kw" and it.kw and it.kw.cat in _RESET and not it.is_kw("conj"):
            ctx.reset()
        elif (place := _country_filter(st, k, ctx)) is not None:
            nk = place
        elif it.kind == "cat" and it.concept:
            _concept(st, k, ctx)
        elif is_field(it):
            nk = _field_filter(st, k, ctx) or nk
        elif it.kind == "cat" and it.known:
            nk = _known_filter(st, k, ctx)
        elif it.kind == "cat" and it.is_source:
            st.use(k)
        elif it.kind == "value" or it.vkind in TYPED:
            nk = _value_filter(st, k, ctx)
        elif ctx.role == "src" and account_name(st, k):
            nk = _account_filter(st, k, ctx)
        elif ctx.role == "dst" and _proper_name(it) and _app_fields(st):
            nk = _app_filter(st, k, ctx)
        k = nk
    _explicit_values_win(st)


def _values(f: Filter) -> tuple[str, set[str]] | None:
    """(field, values) of an `eq`/`in` condition, values as lower-case text."""
    if not isinstance(f, Condition) or f.op not in {Operator.eq, Operator.in_}:
        return None
    vals = f.value if isinstance(f.value, list) else [f.value]
    return f.field, {str(v).lower() for v in vals}


def _explicit_values_win(st: State) -> None:
    """ "windows logon failures (4625)": a concept word ("windows logon" → event 4624) and a
    value the question writes out (4625) that want the same field to be different values: the
    written value wins and the concept's filter is dropped, with a note (never both: no row
    could match)."""
    for c in list(st.concept_filters):
        cv = _values(c)
        if cv is None or c not in st.filters:
            continue
        for f in st.filters:
            fv = _values(f)
            if f is c or any(f is x for x in st.concept_filters) or fv is None:
                continue
            if fv[0] == cv[0] and not fv[1] & cv[1]:
                st.filters = [x for x in st.filters if x is not c]
                st.notes = [n for n in st.notes if not n.startswith(f"filter: {describe(c)} (")]
                st.notes.append(f"filter dropped: {describe(c)} (a concept word) — the question "
                                f"names {describe(f)} outright")
                break


def _country_filter(st: State, k: int, ctx: _Ctx) -> int | None:
    """ "outside the US", "from Germany or France": the source's country field (see
    `countries`); the next item index, or None when item k is no country."""
    fname = country_field(st.src)
    found = country_list(st, k) if fname is not None else None
    if found is None or fname is None:
        return None
    codes, last = found
    cond = make_condition(st.src, [fname], Operator.eq, list(codes))
    st.use(*range(k, last + 1))
    if cond is not None:
        what = "names a country" if len(codes) == 1 else "name countries"
        _add(st, cond, ctx, f'{", ".join(codes)} {what} (ISO 3166 codes)')
    return last + 1


def _account_filter(st: State, k: int, ctx: _Ctx) -> int:
    """ "logons by svc_backup": an account identifier after "by" is the source's user."""
    names = list(st.si.entity_fields.get(EntityKind.user, []))
    fields = [n for n in names if n == EntityKind.user.value] or pick_fields(st.si, names, "")[:1]
    tok = st.items[k].tok
    cond = make_condition(st.src, fields, Operator.eq, [tok.text if tok else st.items[k].text])
    st.use(k)
    if cond is not None:
        _add(st, cond, ctx, f'"{st.items[k].text}" after "by" is shaped like an account name')
    return k + 1


def _proper_name(it: object) -> bool:
    """A capitalised word the engine did not otherwise read: "Outlook", "Teams"."""
    tok = getattr(it, "tok", None)
    return (getattr(it, "kind", "") == "word" and not getattr(it, "used", True)
            and tok is not None and tok.text[:1].isupper() and tok.text.isalnum()
            and not getattr(it, "is_filler", False))


def _app_fields(st: State) -> list[str]:
    return [f.name for f in st.src.fields if f.entity is EntityKind.app]


def _app_filter(st: State, k: int, ctx: _Ctx) -> int:
    """ "sign-ins to Outlook (or Teams)": names after "to" are the application signed in to,
    when the source has exactly one application field."""
    fields = _app_fields(st)
    if len(fields) != 1:
        return k + 1

    def name_run(i: int) -> tuple[str, int]:  # "Azure Portal": consecutive capitalised words
        words, j = [st.items[i].text], i + 1
        while j < len(st.items) and _proper_name(st.items[j]):
            words.append(st.items[j].text)
            j += 1
        return " ".join(words), j

    name, j = name_run(k)
    if j < len(st.items) and is_field(st.items[j]):
        return k + 1  # "to the Azure Portal app": the field-first pass reads it
    names, last = [name], j - 1
    while j + 1 < len(st.items) and st.items[j].is_kw("conj") and _proper_name(st.items[j + 1]):
        name, nj = name_run(j + 1)
        names.append(name)
        last, j = nj - 1, nj
    st.use(*range(k, last + 1))
    cond = Condition(field=fields[0], op=Operator.in_ if len(names) > 1 else Operator.eq,
                     value=names if len(names) > 1 else names[0])
    _add(st, cond, ctx, f'"{" or ".join(names)}" after "to" names the {fields[0]}')
    return last + 1


def _by_role(st: State, k: int) -> str:
    """"by" after a verb a catalog phrase swallowed ("processes launched" + "by"): the verb and
    "by" may still form a role phrase ("launched by" → parent); otherwise "by" names the actor."""
    p = st.at(st.prv(k))
    if p is not None and p.tok is not None:
        last = st.tokens[p.i1 - 1].subwords[-1:] if st.tokens[p.i1 - 1].subwords else ()
        kw = KEYWORDS.get((*last, "by"))
        if kw is not None and kw.cat == "role":
            return kw.arg
    return "src"


def _add(st: State, f: Filter, ctx: _Ctx, why: str) -> None:
    """Append filter `f` (negated when a negation is pending) and a note saying why."""
    if ctx.neg:
        f = negate(f)
        st.use(*ctx.neg_items)
    st.use(*ctx.role_items)
    if f not in st.filters:  # two phrases for one idea ("4769 service ticket requests")
        st.filters.append(f)
        st.notes.append(f"filter: {describe(f)} ({why})")
    ctx.reset()


_ABSENCE_WORDS = frozenset({"without", "no", "lacking", "missing"})


def _absence(st: State, ctx: _Ctx) -> bool:
    """A pending "without"/"no" right before a field with no value: the field is empty."""
    return ctx.neg and bool(ctx.neg_items) and \
        st.items[ctx.neg_items[-1]].text.lower() in _ABSENCE_WORDS


def _concept(st: State, k: int, ctx: _Ctx) -> None:
    it = st.items[k]
    c = st.src.concept(it.concept or "")
    st.use(k)
    if c is None:
        return
    items = [f.model_copy(deep=True) for f in c.filters]
    f: Filter = items[0] if len(items) == 1 else And(items=items)
    if not ctx.neg:
        st.concept_filters.append(f)
    _add(st, f, ctx, f'concept "{c.name}", matched "{it.text}"'
                     + (f": {c.description}" if c.description else ""))


def _field_filter(st: State, k: int, ctx: _Ctx) -> int | None:
    it = st.items[k]
    j = after_field(st, k)
    op: Operator | None = None
    fneg = False
    ops: list[int] = []
    for _ in range(3):
        o = st.at(j)
        if o is None or not o.is_kw("op", "neg") or not o.kw:
            break
        if o.is_kw("neg"):
            fneg = not fneg
        elif o.kw.arg == "ne":
            fneg, op = not fneg, op or Operator.eq
        else:
            op = _OPS.get(o.kw.arg, op)
        ops.append(j)  # type: ignore[arg-type]
        j = st.nxt(j)  # type: ignore[arg-type]
    role = ctx.role or it.role
    if op in {Operator.exists, Operator.not_exists}:
        f = resolve(st, k, role)
        st.use(k, *ops)
        cond: Filter = Condition(field=f, op=op)
        _add(st, negate(cond) if fneg else cond, ctx, f'from "{it.text}"')
        return (ops[-1] if ops else k) + 1
    vals, last, kind, _ = values_after(st, k, j, explicit=op is not None or fneg)
    if not vals and not ops and not fneg:
        vals, first = values_before(st, k)
        if vals:
            fields = pick_fields(st.si, it.fields, role)
            cond0 = make_condition(st.src, fields, Operator.eq, vals)
            if cond0 is not None:
                st.use(*range(first, k + 1))
                _add(st, cond0, ctx, f'"{vals[0]}" named before "{it.text}"')
                return None
    if not vals:
        if it.is_source:
            st.use(k)
            return None
        f0 = st.src.field(pick_fields(st.si, it.fields, role)[0])
        if f0 is not None and _absence(st, ctx) and f0.type is not FieldType.bool:
            st.use(k, *ops)  # "requests without a user agent": the field is empty
            _add(st, Condition(field=f0.name, op=Operator.exists), ctx,
                 f'"{st.items[ctx.neg_items[-1]].text} {it.text}": no value')
            return None
        if f0 is not None and f0.type is FieldType.bool:  # "interactive sign-ins"
            st.use(k, *ops)
            flag: Filter = Condition(field=f0.name, op=Operator.eq, value=True)
            _add(st, negate(flag) if fneg else flag, ctx, f'yes/no field named by "{it.text}"')
        return None
    fields = pick_fields(st.si, it.fields, role)
    if kind in TYPED:  # "ip 10.1.2.3": keep only fields of a fitting entity
        typed = fields_for_value(st.si, kind, str(vals[0]), role)
        if role and typed and st.si.roles.get(typed[0]) == role:
            fields = typed  # "child processes of cmd.exe": the role picks the parent field
        else:
            fields = [f for f in fields if f in typed] or fields
    base = op or Operator.eq
    cond2 = make_condition(st.src, fields, base, vals, kind)
    if cond2 is None:
        _cannot(st, kind, vals)
        st.use(k, *ops, *range(j, last + 1))  # type: ignore[arg-type]
        return last + 1
    st.use(k, *ops, *range(j, last + 1))  # type: ignore[arg-type]
    meaning = known_meaning(st.src.field(fields[0]), vals[0]) if len(vals) == 1 else ""
    _add(st, negate(cond2) if fneg else cond2, ctx,
         f'from "{it.text}"' + (f"; {vals[0]} means {meaning}" if meaning else ""))
    return last + 1


def _known_filter(st: State, k: int, ctx: _Ctx) -> int:
    it = st.items[k]
    t = it.known[0]
    vals = [t.value]
    last = k
    while True:  # "medium or high risk": a list of known values of one field
        sep = st.at(st.nxt(last))
        nj = st.nxt(st.nxt(last)) if sep is not None else None  # type: ignore[arg-type]
        nxt_it = st.at(nj)
        if sep is None or nxt_it is None or not (sep.text == "," or sep.is_kw("conj")) or \
                not any(x.name == t.name for x in nxt_it.known):
            break
        vals.append(next(x.value for x in nxt_it.known if x.name == t.name))
        last = nj  # type: ignore[assignment]
    prev = st.at(st.prv(k))
    if prev is not None and is_field(prev) and t.name in prev.fields and not prev.used:
        st.use(st.prv(k))
    cond = make_condition(st.src, [t.name], Operator.eq, vals)
    st.use(*range(k, last + 1))
    if cond is not None:
        what = "; ".join(f"{v} means {known_meaning(st.src.field(t.name), v)}" for v in vals)
        _add(st, cond, ctx, f'known value matched "{it.text}": {what}')
    return last + 1


def _value_filter(st: State, k: int, ctx: _Ctx) -> int:
    it = st.items[k]
    tok = it.tok
    assert tok is not None
    kind = it.vkind or tok.kind
    fields: list[str] = []
    why = ""
    if kind in TYPED:
        fields = fields_for_value(st.si, kind, tok.text, ctx.role)
        why = f'"{tok.text}" looks like {_KIND_WORDS.get(kind, kind)}'
    if not fields and kind in {"number", "quoted", "word", "hex"}:
        key = str(int(tok.value) if isinstance(tok.value, float) and tok.value.is_integer()
                  else tok.value).lower()
        hits = st.si.known.get(key, [])
        if hits:
            fields, why = [hits[0][0]], f'"{tok.text}" is a known value of {hits[0][0]}'
        elif kind in {"number", "hex"}:
            fields, why = field_named_before(st, k), f'"{tok.text}" follows the field name'
    if not fields:
        if kind not in {"word", "ord", "date"}:
            st.use(k)
            msg = f'could not tell which field "{tok.value}" is for; it is not in the query'
            st.issues.append(PlanIssue(code="ambiguous", message=msg))
            st.notes.append(msg)
        return k + 1
    vals, last = same_kind_list(st, k, kind)
    cond = make_condition(st.src, fields, Operator.eq, vals, kind)
    if cond is None:
        _cannot(st, kind, vals)
        st.use(*range(k, last + 1))
        return last + 1
    st.use(*range(k, last + 1))
    meaning = known_meaning(st.src.field(fields[0]), vals[0]) if len(vals) == 1 else ""
    _add(st, cond, ctx, why + (f"; {vals[0]} means {meaning}" if meaning else ""))
    return last + 1


def _cannot(st: State, kind: str, vals: list[object]) -> None:
    """A recognised value the IR cannot filter on: say so, never drop it silently."""
    shown = ", ".join(str(v) for v in vals)
    what = (f"matching the IP range {shown} (only whole-octet IPv4 ranges /8, /16, /24 become "
            "prefix filters)") if kind == "cidr" else f"a filter on {shown}"
    if what not in st.unsupported:
        st.unsupported.append(what)


_KIND_WORDS = {"ip": "an IP address", "cidr": "an IP range", "email": "an e-mail address",
               "url": "a URL", "domain": "a domain name", "file": "a file name",
               "hash": "a hash", "path": "a path", "hostlike": "a host name"}
