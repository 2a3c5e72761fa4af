"""SPL search trees mapped onto the catalog and the IR: field names, values, filters.

Semantics kept (they differ between the base search and `| where`):

* base search `f=v` is a case-insensitive `eq`; `*` is always a wildcard there: `*x*`, `x*`,
  `*x` are contains/startswith/endswith and any other shape a regex; `f=*` is `exists`;
* `f!=v` is `ne` (Splunk drops events without `f`), while `NOT f=v` is `not(eq)` (Splunk keeps
  them) — and the renderer's `f=* NOT f IN (…)` / `f=* NOT f="*x*"` are `not_in` /
  `not_contains`;
* `| where f=="x"` compares exactly (case-sensitive), `lower(f)=="x"` does not;
  `match(f, "(?i)^x")` on a literal is a `startswith` (the renderer's form), any other pattern a
  regex; `like` patterns map the same way;
* `_time` (and first/last-seen outputs) hold epoch seconds in SPL and ISO text in the IR.

The eval language (`| where`, `| eval`) is mapped in `spl.expr`, time modifiers and source
prefixes in `spl.source`. Anything the IR cannot hold raises `Unsupported`; the caller turns it
into a plan issue at its position and keeps going.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.catalog.splunk_names import field_aliases
from lexiquery.dialects.base import coerce, has_letters, iso_seconds
from lexiquery.dialects.parsing import unknown_field_error
from lexiquery.dialects.spl.search import SGroup, SNode, SNot, SOpaque, STerm, SValue
from lexiquery.ir import And, Condition, Not, Operator, Or

_REGEX_SPECIAL = set("\\^$.|?*+()[]{}")
_CONTROL = {"n": "\n", "r": "\r", "t": "\t"}
CMP_OPS = {"==": Operator.eq, "=": Operator.eq, "!=": Operator.ne, "<": Operator.lt,
           "<=": Operator.le, ">": Operator.gt, ">=": Operator.ge}
FLIP = {Operator.lt: Operator.gt, Operator.gt: Operator.lt, Operator.le: Operator.ge,
        Operator.ge: Operator.le, Operator.eq: Operator.eq, Operator.ne: Operator.ne}


class Unsupported(Exception):
    """A construct the IR cannot hold, at `pos`; `changes_results` picks the severity."""

    def __init__(self, pos: int, what: str, why: str = "", *,
                 changes_results: bool = True) -> None:
        super().__init__(what)
        self.pos, self.what, self.why, self.changes_results = pos, what, why, changes_results


@dataclass(frozen=True)
class Ref:
    """What an SPL field name means at a point of the pipeline."""

    name: str  # the IR name: logical field, computed field or aggregation output
    ftype: FieldType | None
    epoch: bool = False  # holds epoch seconds in SPL (the time field, first/last seen)
    opaque: bool = False  # computed by a construct the IR could not hold


@dataclass
class Scope:
    """SPL field names → `Ref`s. Before the aggregation: the source's binding (plus computed
    fields and renames); after it: the aggregation's outputs only."""

    text: str
    source: Source
    names: dict[str, Ref] = field(default_factory=dict)
    datamodel: str | None = None  # tstats: `Authentication.user` is the binding's `user`
    # After a command the IR cannot hold that may add fields (rex, lookup, iplocation…), an
    # unknown name is most likely one of those: reported as unsupported, not as an error.
    lenient: bool = False

    @classmethod
    def of_source(cls, text: str, source: Source, datamodel: str | None = None) -> "Scope":
        scope = cls(text, source, datamodel=datamodel)
        for logical, col in source.bindings.columns(Platform.spl).items():
            f = source.field(logical)
            scope.names[col] = Ref(logical, f.type if f else None,
                                   epoch=logical == source.time_field)
        return scope

    def lookup(self, col: str) -> Ref | None:
        folded = {k.lower(): v for k, v in self.names.items()}
        for name in self._candidates(col):
            if name in self.names:
                return self.names[name]
            if name.lower() in folded:  # SPL field names are case-insensitive in practice
                return folded[name.lower()]
        # The same field under its classic, XML or CIM name (`Account_Name` / `TargetUserName`
        # / `user`): Splunk deployments differ in the rendering, not in the data.
        for name in self._candidates(col):
            for alias in field_aliases(name):
                if alias in folded:
                    return folded[alias]
        return None

    def _candidates(self, col: str) -> list[str]:
        out = [col]
        if self.datamodel and col.lower().startswith(self.datamodel.lower() + "."):
            out.append(col[len(self.datamodel) + 1:])
        return out

    def resolve(self, col: str, pos: int) -> Ref:
        ref = self.lookup(col)
        if ref is not None and ref.opaque:
            raise Unsupported(pos, f"'{col}'", "it was computed by a construct reported above")
        if ref is None and self.lenient:
            raise Unsupported(pos, f"'{col}'", "not a catalog field; probably added by a "
                              "command reported above")
        if ref is None:
            extra = [n for n in self.names if n not in
                     self.source.bindings.columns(Platform.spl).values()]
            raise unknown_field_error(self.text, pos, self.source, Platform.spl, col, extra)
        return ref


# ------------------------------------------------------------------ values


def epoch_to_iso(v: object) -> object:
    """An epoch-seconds number as the IR's ISO text; other values unchanged."""
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return iso_seconds(datetime.fromtimestamp(v, tz=timezone.utc)) + "Z"
    return v


def typed(text: str, quoted: bool, ref: Ref) -> object:
    """A search value typed as its field is (404 on a number, "404" on text)."""
    if ref.epoch:
        return epoch_to_iso(text)
    if ref.ftype is None and not quoted:
        return _number(text)
    return coerce(text, ref.ftype)


def _number(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def wildcard_condition(name: str, pattern: str) -> Condition:
    """A value with `*` (base search): contains / startswith / endswith, else a regex."""
    inner = pattern.strip("*")
    if inner and "*" not in inner:
        if pattern == f"*{inner}*":
            return Condition(field=name, op=Operator.contains, value=inner)
        if pattern == f"{inner}*":
            return Condition(field=name, op=Operator.startswith, value=inner)
        if pattern == f"*{inner}":
            return Condition(field=name, op=Operator.endswith, value=inner)
    parts = [re.escape(p) for p in pattern.split("*")]
    regex = ".*".join(parts)
    regex = ("" if pattern.startswith("*") else "^") + regex.strip(".*") \
        + ("" if pattern.endswith("*") else "$") if regex.strip(".*") else ".*"
    return Condition(field=name, op=Operator.regex, value=_tidy(regex))


def _tidy(regex: str) -> str:
    while regex.startswith(".*"):
        regex = regex[2:]
    while regex.endswith(".*") and not regex.endswith("\\.*"):
        regex = regex[:-2]
    return regex or ".*"


def regex_condition(name: str, pattern: str) -> Condition:
    """`match(f, pattern)`: a literal (optionally anchored) is the renderer's contains /
    startswith / endswith / eq; anything else stays a regex. `(?i)` = case-insensitive."""
    ci = pattern.startswith("(?i)")
    body = pattern[4:] if ci else pattern
    lit = regex_literal(body)
    if lit is not None:
        op, value = lit
        return Condition(field=name, op=op, value=value,
                         case_sensitive=not ci and has_letters(value))
    return Condition(field=name, op=Operator.regex, value=body, case_sensitive=not ci)


def regex_literal(body: str) -> tuple[Operator, str] | None:
    """(op, text) when `body` is plain text, perhaps between `^` and `$`; else None."""
    start = body.startswith("^")
    i, out, end = (1 if start else 0), [], False
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _REGEX_SPECIAL:
                out.append(nxt)
            elif nxt in _CONTROL:
                out.append(_CONTROL[nxt])
            else:
                return None  # \d, \w, \b …: a real regex
            i += 2
            continue
        if ch == "$" and i == len(body) - 1:
            end = True
            break
        if ch in _REGEX_SPECIAL:
            return None
        out.append(ch)
        i += 1
    text = "".join(out)
    if not text:
        return None
    op = {(True, True): Operator.eq, (True, False): Operator.startswith,
          (False, True): Operator.endswith, (False, False): Operator.contains}[(start, end)]
    return op, text


def like_condition(name: str, pattern: str, ci: bool) -> Condition:
    """`like(f, "a%")`: `%` is any text, `_` any one character."""
    cs = not ci and has_letters(pattern)
    if "_" not in pattern:
        inner = pattern.strip("%")
        if "%" not in inner:
            op = {(True, True): Operator.contains, (False, True): Operator.startswith,
                  (True, False): Operator.endswith,
                  (False, False): Operator.eq}[(pattern.startswith("%"), pattern.endswith("%"))]
            if inner:
                return Condition(field=name, op=op, value=inner, case_sensitive=cs)
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    regex = ("" if pattern.startswith("%") else "^") + regex + \
        ("" if pattern.endswith("%") else "$")
    return Condition(field=name, op=Operator.regex, value=_tidy(regex), case_sensitive=cs)


# ------------------------------------------------------------------ search → filters


def term_filter(node: SNode, scope: Scope, raw_ref: Ref | None) -> Any:
    """One search node as an IR filter (raises `Unsupported`)."""
    if isinstance(node, SOpaque):
        what = {"subsearch": "a subsearch [ … ]", "macro": f"the macro {node.text}"}.get(
            node.what, node.what)
        raise Unsupported(node.pos, what, "it cannot be expanded without the Splunk server")
    if isinstance(node, SNot):
        inner = term_filter(node.item, scope, raw_ref)
        if isinstance(inner, Condition) and inner.op is Operator.exists:
            return inner.model_copy(update={"op": Operator.not_exists})
        return Not(item=inner)
    if isinstance(node, SGroup):
        items = [term_filter(i, scope, raw_ref) for i in node.items]
        if node.kind == "and":
            items = fold_and(items)
            return items[0] if len(items) == 1 else And(items=items)
        return Or(items=items)
    return _term(node, scope, raw_ref)


def _term(t: STerm, scope: Scope, raw_ref: Ref | None) -> Condition:
    if t.field is None:
        assert isinstance(t.value, SValue)
        word = t.value.text
        if raw_ref is None:
            raise Unsupported(t.pos, f"the bare search term {_shown(t.value)}",
                              "it searches the raw event text, which this source binds to no "
                              "field; name the field: field=value")
        inner = word.strip("*")
        if word == inner and inner:
            return Condition(field=raw_ref.name, op=Operator.has, value=word)
        if word == f"*{inner}*" and inner and "*" not in inner:
            return Condition(field=raw_ref.name, op=Operator.contains, value=inner)
        raise Unsupported(t.pos, f"the wildcard search term {_shown(t.value)}",
                          "a partial match of raw event terms")
    if t.field.lower() in {"earliest", "latest"}:
        raise Unsupported(t.pos, f"{t.field}= inside OR/NOT", "a time range applies to the "
                          "whole search")
    ref = scope.resolve(t.field, t.pos)
    if t.op == "in":
        assert isinstance(t.value, list)
        if any("*" in v.text for v in t.value):
            return Or(items=[_eq(ref, v, t) for v in t.value])  # type: ignore[return-value]
        return Condition(field=ref.name, op=Operator.in_,
                         value=[typed(v.text, v.quoted, ref) for v in t.value])  # type: ignore
    assert isinstance(t.value, SValue)
    v = t.value
    if t.op == "=":
        return _eq(ref, v, t)
    if t.op == "!=":
        if v.text == "*":
            raise Unsupported(t.pos, f"{t.field}!=*", "it matches no event in Splunk; "
                              f"NOT {t.field}=* finds events without the field")
        if "*" in v.text:
            cond = wildcard_condition(ref.name, v.text)
            if cond.op is Operator.contains:
                return cond.model_copy(update={"op": Operator.not_contains})
            return And(items=[Condition(field=ref.name, op=Operator.exists),  # type: ignore
                              Not(item=cond)])
        return Condition(field=ref.name, op=Operator.ne, value=typed(v.text, v.quoted, ref))
    if "*" in v.text:
        raise Unsupported(t.pos, f"a wildcard in {t.field}{t.op}{v.text}")
    return Condition(field=ref.name, op=CMP_OPS[t.op], value=typed(v.text, v.quoted, ref))


def _eq(ref: Ref, v: SValue, t: STerm) -> Condition:
    if v.text == "*":
        return Condition(field=ref.name, op=Operator.exists)
    if "*" in v.text:
        if ref.epoch:
            raise Unsupported(t.pos, "a wildcard on a time field")
        return wildcard_condition(ref.name, v.text)
    return Condition(field=ref.name, op=Operator.eq, value=typed(v.text, v.quoted, ref))


def _shown(v: SValue) -> str:
    return f'"{v.text}"' if v.quoted else v.text


_NEGATED = {Operator.in_: Operator.not_in, Operator.contains: Operator.not_contains,
            Operator.eq: Operator.ne}


def fold_and(items: list[Any], guards: list[Any] | None = None) -> list[Any]:
    """The renderer's compound forms read back as one condition: `f=* NOT f IN (…)` is
    not_in, `f=* NOT f="*x*"` not_contains, `f=* NOT f=x` ne; `isnotnull(f) AND f!=""` is
    exists. Each pairs an `exists` with a negation of the same field. `guards`: the items
    that may pair (a where's bare `isnotnull(f)`, not a whole `(isnotnull(f) AND f!="")`,
    which also excludes empty values); None: every `exists`."""
    out = list(items)
    i = 0
    while i < len(out):
        item = out[i]
        if isinstance(item, Condition) and item.op is Operator.exists and \
                (guards is None or any(item is g for g in guards)):
            for j, other in enumerate(out):
                folded = _fold_pair(item.field, other)
                if j != i and folded is not None:
                    out[j] = folded
                    del out[i]
                    i = -1
                    break
        i += 1
    return out


def _fold_pair(name: str, other: Any) -> Condition | None:
    if isinstance(other, Not) and isinstance(other.item, Condition) \
            and other.item.field == name and other.item.op in _NEGATED:
        return other.item.model_copy(update={"op": _NEGATED[other.item.op]})
    if isinstance(other, Condition) and other.field == name and other.op is Operator.ne \
            and other.value == "":
        return Condition(field=name, op=Operator.exists)
    return None


def fold_or(items: list[Any]) -> list[Any]:
    """`isnull(f) OR f==""` (the renderer's not_exists) is one `not_exists`."""
    nulls = {i.field for i in items if isinstance(i, Condition) and i.op is Operator.not_exists}
    return [i for i in items if not (isinstance(i, Condition) and i.op is Operator.eq
                                     and i.value == "" and i.field in nulls)]
