"""Values → fields: which field of the chosen source a value belongs to, and in what form.

A value's kind (IP, e-mail, file name, domain, hash ...) names the entity kinds that can hold it;
the source's fields of those kinds are the candidates; a role word ("from", "to", "launched by")
picks among them by the field's own name and synonyms (src_ip vs dest_ip). Values are coerced to
the field's type, and to the catalog's spelling of a known value ("notapplied" → "notApplied").
"""

from __future__ import annotations

import ipaddress
import re

from lexiquery.catalog.model import EntityKind, FieldDef, FieldType, Source
from lexiquery.ir import And, Condition, Filter, Not, Operator, Or, Scalar
from lexiquery.nl.index import SourceIndex

E = EntityKind
_PROCESS_EXTS = {"exe", "dll", "ps1", "bat", "cmd", "vbs", "js", "hta", "scr", "msi", "com", "sys"}
_KIND_ENTITIES: dict[str, tuple[EntityKind, ...]] = {
    "ip": (E.ip,), "cidr": (E.ip,), "email": (E.email, E.user), "url": (E.url, E.domain),
    "domain": (E.domain, E.host, E.url), "hash": (E.hash,), "path": (E.url, E.file),
    "hostlike": (E.host,),
}


def entities_for(kind: str, text: str) -> tuple[EntityKind, ...]:
    if kind == "file":
        ext = text.rsplit(".", 1)[-1].lower()
        return (E.process, E.file) if ext in _PROCESS_EXTS else (E.file, E.process)
    return _KIND_ENTITIES.get(kind, ())


def pick_fields(si: SourceIndex, cands: list[str], role: str) -> list[str]:
    """Narrow candidate fields by role. Several results mean "any of these" (an `or`)."""
    if len(cands) <= 1:
        return cands
    if role:
        hit = [f for f in cands if si.roles.get(f) == role]
        if hit:
            return hit[:1]
    neutral = [f for f in cands if not si.roles.get(f)]
    if neutral:
        return neutral[:1]
    # Only directional fields (src/dest) and no direction given: the value may be either.
    nonparent = [f for f in cands if si.roles.get(f) != "parent"]
    directional = [f for f in nonparent if si.roles.get(f) in {"src", "dst"}]
    return directional if len(directional) > 1 else (nonparent or cands)[:1]


def fields_for_value(si: SourceIndex, kind: str, text: str, role: str) -> list[str]:
    """Fields of the source that can hold a value of `kind`, narrowed by `role`."""
    for ent in entities_for(kind, text):
        names = si.entity_fields.get(ent)
        if names:
            return pick_fields(si, list(names), role)
    return []


def _is_pathlike(f: FieldDef) -> bool:
    text = " ".join([f.name, f.description, *f.synonyms]).lower()
    return bool(re.search(r"\b(path|full|image|command line)\b", text))


def value_op(f: FieldDef, kind: str, op: Operator) -> Operator:
    """The operator a bare value implies on this field: a file name on a path field is
    `endswith`, a domain or path on a URL field is `contains`; anything else keeps `op`."""
    if op not in {Operator.eq, Operator.ne}:
        return op
    neg = op is Operator.ne
    if kind == "file" and f.entity in {E.process, E.file} and _is_pathlike(f):
        return Operator.not_contains if neg else Operator.endswith
    if kind in {"domain", "path"} and f.entity is E.url and "path" not in f.name:
        return Operator.not_contains if neg else Operator.contains
    return op


def coerce(f: FieldDef | None, value: object) -> Scalar:
    """`value` in the field's type; known values keep the catalog's own spelling and type."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if f is None:
        return value if isinstance(value, (str, int, float, bool)) else str(value)
    for kv in f.known_values:
        if str(kv.value).lower() == str(value).lower():
            return kv.value
    if f.type.numeric:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value) if f.type is FieldType.real and not isinstance(value, int) \
                else value
        try:
            s = str(value).replace(",", "")
            return int(s) if re.fullmatch(r"-?\d+", s) else float(s)
        except ValueError:
            return str(value)
    if f.type is FieldType.bool:
        low = str(value).lower()
        if low in {"true", "yes", "1", "on"}:
            return True
        if low in {"false", "no", "0", "off"}:
            return False
    return value if isinstance(value, str) else str(value)


def known_meaning(f: FieldDef | None, value: object) -> str:
    if f is None:
        return ""
    for kv in f.known_values:
        if str(kv.value).lower() == str(value).lower():
            return kv.meaning
    return ""


def make_condition(src: Source, fields: list[str], op: Operator, values: list[object],
                   kind: str = "") -> Filter | None:
    """One condition (or an `or` over several candidate fields) for `values`; None when the
    values cannot be expressed (an IP range that is not a whole-octet prefix)."""
    if kind == "cidr":
        return _cidr_condition(fields, op, values)
    parts: list[Filter] = []
    for name in fields:
        f = src.field(name)
        if f is None:
            continue
        vals = [coerce(f, v) for v in values]
        use = value_op(f, kind, op) if len(vals) == 1 else op
        if op in {Operator.exists, Operator.not_exists}:
            parts.append(Condition(field=name, op=op))
        elif len(vals) > 1:
            if use in {Operator.eq, Operator.in_}:
                parts.append(Condition(field=name, op=Operator.in_, value=vals))
            elif use in {Operator.ne, Operator.not_in}:
                parts.append(Condition(field=name, op=Operator.not_in, value=vals))
            else:
                sub: list[Filter] = [Condition(field=name, op=use, value=v) for v in vals]
                parts.append(Or(items=sub))
        else:
            parts.append(Condition(field=name, op=use, value=vals[0]))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    if op in {Operator.ne, Operator.not_in, Operator.not_contains}:
        return And(items=parts)  # "not from X": neither side is X
    return Or(items=parts)


def cidr_prefix(net: str) -> str | None:
    """10.0.0.0/8 → "10." (an IPv4 range on whole octets as a text prefix); /32 → the address."""
    try:
        n = ipaddress.ip_network(net, strict=False)
    except ValueError:
        return None
    if n.version != 4 or n.prefixlen not in {8, 16, 24, 32}:
        return None
    octets = str(n.network_address).split(".")
    if n.prefixlen == 32:
        return str(n.network_address)
    return ".".join(octets[: n.prefixlen // 8]) + "."


def _cidr_condition(fields: list[str], op: Operator, values: list[object]) -> Filter | None:
    prefixes = [cidr_prefix(str(v)) for v in values]
    if not fields or any(p is None for p in prefixes):
        return None
    neg = op in {Operator.ne, Operator.not_in}
    parts: list[Filter] = []
    for name in fields:
        for p in prefixes:
            exact = not str(p).endswith(".")
            parts.append(Condition(field=name, op=Operator.eq if exact else Operator.startswith,
                                   value=str(p)))
    f: Filter = parts[0] if len(parts) == 1 else Or(items=parts)
    return negate(f) if neg else f


INVERSE: dict[Operator, Operator] = {
    Operator.eq: Operator.ne, Operator.ne: Operator.eq, Operator.in_: Operator.not_in,
    Operator.not_in: Operator.in_, Operator.contains: Operator.not_contains,
    Operator.not_contains: Operator.contains, Operator.exists: Operator.not_exists,
    Operator.not_exists: Operator.exists, Operator.gt: Operator.le, Operator.le: Operator.gt,
    Operator.lt: Operator.ge, Operator.ge: Operator.lt,
}


def negate(f: Filter) -> Filter:
    """The opposite filter, written as plainly as the IR allows."""
    if isinstance(f, Condition) and f.op in {Operator.eq, Operator.ne} and \
            isinstance(f.value, bool):
        return f.model_copy(update={"value": not f.value, "op": Operator.eq}) \
            if f.op is Operator.eq else f.model_copy(update={"op": Operator.eq})
    if isinstance(f, Condition) and f.op in INVERSE:
        return f.model_copy(update={"op": INVERSE[f.op]})
    if isinstance(f, Not):
        return f.item
    if isinstance(f, Or):
        return And(items=[negate(i) for i in f.items])
    return Not(item=f)


_OP_TEXT = {Operator.eq: "=", Operator.ne: "!=", Operator.gt: ">", Operator.ge: ">=",
            Operator.lt: "<", Operator.le: "<=", Operator.in_: "in", Operator.not_in: "not in"}


def describe(f: Filter) -> str:
    """A filter in short plain text for notes: `src_ip = "10.1.2.3"`, `status in 401, 403`."""
    if isinstance(f, Condition):
        op = _OP_TEXT.get(f.op, f.op.value.replace("_", " "))
        if f.value is None:
            return f"{f.field} {op}"
        vals = f.value if isinstance(f.value, list) else [f.value]
        shown = ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in vals)
        return f"{f.field} {op} {shown}"
    if isinstance(f, And):
        return " and ".join(describe(i) for i in f.items)
    if isinstance(f, Or):
        return "(" + " or ".join(describe(i) for i in f.items) + ")"
    if isinstance(f, Not):
        return f"not ({describe(f.item)})"
    return str(f)
