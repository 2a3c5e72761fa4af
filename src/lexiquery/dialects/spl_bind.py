"""SPL syntax trees mapped onto the catalog and the IR: names, values, filters, expressions.

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

Anything the IR cannot hold raises `Unsupported`; the caller turns it into a plan issue at its
position and keeps going.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.base import coerce, has_letters, iso_seconds
from lexiquery.dialects.parsing import unknown_field_error
from lexiquery.dialects.spl_search import (
    EBin,
    ECall,
    EField,
    EIn,
    ELit,
    ENode,
    EUnary,
    SGroup,
    SNode,
    SNot,
    SOpaque,
    STerm,
    SValue,
)
from lexiquery.ir import (
    And,
    Call,
    Compare,
    Condition,
    FieldRef,
    Function,
    Literal_,
    Not,
    AbsoluteTime,
    Operator,
    Or,
    RelativeTime,
    TimeBucket,
    TimeUnit,
)

_REGEX_SPECIAL = set("\\^$.|?*+()[]{}")
_CONTROL = {"n": "\n", "r": "\r", "t": "\t"}
_CMP_OPS = {"==": Operator.eq, "=": Operator.eq, "!=": Operator.ne, "<": Operator.lt,
            "<=": Operator.le, ">": Operator.gt, ">=": Operator.ge}
_FLIP = {Operator.lt: Operator.gt, Operator.gt: Operator.lt, Operator.le: Operator.ge,
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
        for name in self._candidates(col):
            if name in self.names:
                return self.names[name]
            folded = {k.lower(): v for k, v in self.names.items()}
            if name.lower() in folded:  # SPL field names are case-insensitive in practice
                return folded[name.lower()]
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
    return Condition(field=ref.name, op=_CMP_OPS[t.op], value=typed(v.text, v.quoted, ref))


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


def fold_and(items: list[Any]) -> list[Any]:
    """The renderer's compound forms read back as one condition: `f=* NOT f IN (…)` is
    not_in, `f=* NOT f="*x*"` not_contains, `f=* NOT f=x` ne; `isnotnull(f) AND f!=""` is
    exists. Each pairs an `exists` with a negation of the same field."""
    out = list(items)
    i = 0
    while i < len(out):
        item = out[i]
        if isinstance(item, Condition) and item.op is Operator.exists:
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


# ------------------------------------------------------------------ where → filters


def and_items(node: ENode) -> list[ENode]:
    """The top-level AND operands of a where expression."""
    if isinstance(node, EBin) and node.op == "AND" and not node.paren:
        return and_items(node.left) + and_items(node.right)
    if isinstance(node, EBin) and node.op == "AND":
        return and_items(EBin("AND", node.left, node.right, node.pos))
    return [node]


def _or_items(node: ENode) -> list[ENode]:
    if isinstance(node, EBin) and node.op == "OR":
        left = _or_items(node.left) if not node.left.paren else [node.left]
        right = _or_items(node.right) if not node.right.paren else [node.right]
        return left + right
    return [node]


def where_filter(node: ENode, scope: Scope) -> Any:
    """A `| where` condition as an IR filter (raises `Unsupported`)."""
    if isinstance(node, EBin) and node.op == "AND":
        items = fold_and([where_filter(i, scope) for i in and_items(node)])
        return items[0] if len(items) == 1 else And(items=items)
    if isinstance(node, EBin) and node.op == "OR":
        items = fold_or([where_filter(i, scope) for i in _or_items(node)])
        return items[0] if len(items) == 1 else Or(items=items)
    if isinstance(node, EBin) and node.op == "XOR":
        raise Unsupported(node.pos, "XOR")
    if isinstance(node, EUnary) and node.op == "NOT":
        inner = where_filter(node.operand, scope)
        if isinstance(inner, Condition) and inner.op in {Operator.exists, Operator.not_exists}:
            return inner.model_copy(update={"op": Operator.not_exists if inner.op is
                                            Operator.exists else Operator.exists})
        return Not(item=inner)
    if isinstance(node, EBin) and node.op in _CMP_OPS:
        return _comparison(node, scope)
    if isinstance(node, EBin) and node.op == "LIKE":
        return _like(node.left, node.right, scope, node.pos)
    if isinstance(node, EIn):
        return _in(node.left, node.values, scope, node.pos)
    if isinstance(node, ECall):
        return _where_call(node, scope)
    raise Unsupported(_npos(node), "this where condition", "a filter compares a field with "
                      "a value")


def _npos(node: ENode) -> int:
    return node.pos


def _subject(node: ENode, scope: Scope) -> tuple[Ref, bool] | None:
    """(field, case-folded) for `f`, `lower(f)`, `upper(f)`; None for other expressions."""
    if isinstance(node, EField):
        return field_ref(node, scope), False
    if isinstance(node, ECall) and node.name in {"lower", "upper"} and len(node.args) == 1 \
            and isinstance(node.args[0], EField):
        return field_ref(node.args[0], scope), True
    return None


def field_ref(node: EField, scope: Scope) -> Ref:
    return scope.resolve(node.name, node.pos)


def _literal(node: ENode) -> ELit | None:
    return node if isinstance(node, ELit) else None


def _value(lit: ELit, ref: Ref) -> object:
    if ref.epoch:
        return epoch_to_iso(lit.value)
    return coerce(lit.value, ref.ftype) if lit.value is not None else None  # type: ignore


def _comparison(node: EBin, scope: Scope) -> Condition:
    op = _CMP_OPS[node.op]
    left, right = node.left, node.right
    subj, lit = _subject(left, scope), _literal(right)
    if subj is None or lit is None:  # `5 < f` reads as `f > 5`
        subj2, lit2 = _subject(right, scope), _literal(left)
        if subj2 is not None and lit2 is not None:
            subj, lit, op = subj2, lit2, _FLIP[op]
    if subj is None or lit is None or lit.value is None:
        raise Unsupported(node.pos, "this comparison", "the IR compares a field with a value; "
                          "compute other expressions with eval first")
    ref, folded = subj
    value = _value(lit, ref)
    cs = not folded and op in {Operator.eq, Operator.ne} and has_letters(value)
    return Condition(field=ref.name, op=op, value=value, case_sensitive=cs)  # type: ignore


def _in(left: ENode, values: list[ENode], scope: Scope, pos: int) -> Condition:
    subj = _subject(left, scope)
    lits = [_literal(v) for v in values]
    if subj is None or not lits or any(v is None or v.value is None for v in lits):
        raise Unsupported(pos, "this in() test", "in() needs a field and plain values")
    ref, folded = subj
    vals = [_value(v, ref) for v in lits]  # type: ignore[arg-type]
    cs = not folded and any(has_letters(v) for v in vals)
    return Condition(field=ref.name, op=Operator.in_, value=vals,  # type: ignore[arg-type]
                     case_sensitive=cs)


def _like(left: ENode, pattern: ENode, scope: Scope, pos: int) -> Condition:
    subj, lit = _subject(left, scope), _literal(pattern)
    if subj is None or lit is None or not isinstance(lit.value, str):
        raise Unsupported(pos, "this like() test", "like() needs a field and a text pattern")
    return like_condition(subj[0].name, lit.value, subj[1])


def _where_call(node: ECall, scope: Scope) -> Condition:
    name, args = node.name, node.args
    if name in {"isnull", "isnotnull"} and len(args) == 1 and isinstance(args[0], EField):
        ref = field_ref(args[0], scope)
        return Condition(field=ref.name,
                         op=Operator.not_exists if name == "isnull" else Operator.exists)
    if name == "like" and len(args) == 2:
        return _like(args[0], args[1], scope, node.pos)
    if name == "match" and len(args) == 2:
        subj, lit = _subject(args[0], scope), _literal(args[1])
        if subj is not None and lit is not None and isinstance(lit.value, str):
            cond = regex_condition(subj[0].name, lit.value)
            return cond.model_copy(update={"case_sensitive": False}) if subj[1] else cond
    if name == "in" and len(args) >= 2:
        return _in(args[0], args[1:], scope, node.pos)
    if name in {"searchmatch", "cidrmatch"}:
        why = {"searchmatch": "it runs a search expression on the raw event",
               "cidrmatch": "the IR has no network-range operator"}[name]
        raise Unsupported(node.pos, f"{name}()", why)
    raise Unsupported(node.pos, f"{name}() in a where condition")


# ------------------------------------------------------------------ eval → expressions

_SIMPLE = {"lower": Function.lower, "upper": Function.upper, "len": Function.length,
           "coalesce": Function.coalesce, "tostring": Function.to_string,
           "tonumber": Function.to_real}
_ARITH = {"+": Function.add, "-": Function.sub, "*": Function.mul, "/": Function.div,
          "%": Function.mod, ".": Function.concat}
_ARITY = {"lower": 1, "upper": 1, "len": 1, "tostring": 1, "tonumber": 1}


@dataclass
class ExprBinder:
    """Eval expressions → IR expressions over the scope before the aggregation."""

    scope: Scope
    resolve: Callable[[EField], Any] | None = None

    def expr(self, node: ENode) -> Any:
        if isinstance(node, ELit):
            return Literal_(value=node.value)
        if isinstance(node, EField):
            return self._field(node)
        if isinstance(node, EBin) and node.op in _ARITH:
            return Call(fn=_ARITH[node.op], args=[self.expr(a) for a in _chain(node)])
        if isinstance(node, EUnary) and node.op == "-":
            return Call(fn=Function.sub, args=[Literal_(value=0), self.expr(node.operand)])
        if isinstance(node, ECall):
            return self._call(node)
        raise Unsupported(_npos(node), "a true/false value in eval",
                          "the IR's if() takes one comparison")

    def _field(self, node: EField) -> Any:
        ref = self.scope.lookup(node.name)
        if ref is None and "." in node.name and not node.quoted:
            parts = node.name.split(".")
            if all(self.scope.lookup(p) is not None for p in parts):  # `a.b` = a . b
                return Call(fn=Function.concat, args=[
                    FieldRef(name=self.scope.lookup(p).name) for p in parts])  # type: ignore
        if ref is None or ref.opaque:
            ref = self.scope.resolve(node.name, node.pos)
        return FieldRef(name=ref.name)

    def _call(self, node: ECall) -> Any:
        name, args = node.name, node.args
        if name in _ARITY and len(args) != _ARITY[name]:
            raise Unsupported(node.pos, f"{name}() with {len(args)} arguments")
        if name in _SIMPLE:
            if not args:
                raise Unsupported(node.pos, f"{name}() without arguments")
            return Call(fn=_SIMPLE[name], args=[self.expr(a) for a in args])
        if name == "floor" and len(args) == 1:
            inner = args[0]
            if isinstance(inner, ECall) and inner.name == "tonumber" and len(inner.args) == 1:
                inner = inner.args[0]
            return Call(fn=Function.to_int, args=[self.expr(inner)])
        if name == "substr" and len(args) in {2, 3}:
            return self._substr(node)
        if name == "if" and len(args) == 3:
            return Call(fn=Function.if_, args=[self.compare(args[0]), self.expr(args[1]),
                                               self.expr(args[2])])
        if name == "case" and len(args) >= 2 and len(args) % 2 == 0:
            return self._case(args)
        if name == "null" and not args:
            return Literal_(value=None)
        if name in {"true", "false"} and not args:
            return Literal_(value=name == "true")
        raise Unsupported(node.pos, f"the eval function {name}()")

    def _substr(self, node: ECall) -> Any:
        text, start = node.args[0], node.args[1]
        rest = [self.expr(a) for a in node.args[2:]]
        if isinstance(start, ELit) and isinstance(start.value, int):
            if start.value < 1:
                raise Unsupported(start.pos, "substr() counting from the end")
            first: Any = Literal_(value=start.value - 1)  # SPL counts from 1, the IR from 0
        elif isinstance(start, EBin) and start.op == "+" and isinstance(start.right, ELit) \
                and start.right.value == 1:
            first = self.expr(start.left)  # the renderer's `x + 1`
        else:
            first = Call(fn=Function.sub, args=[self.expr(start), Literal_(value=1)])
        return Call(fn=Function.substring, args=[self.expr(text), first, *rest])

    def _case(self, args: list[ENode]) -> Any:
        pairs = list(zip(args[0::2], args[1::2]))
        default: Any = Literal_(value=None)
        last_cond = pairs[-1][0]
        if _always_true(last_cond):
            default = self.expr(pairs[-1][1])
            pairs = pairs[:-1]
        out = default
        for cond, val in reversed(pairs):
            out = Call(fn=Function.if_, args=[self.compare(cond), self.expr(val), out])
        return out

    def compare(self, node: ENode) -> Compare:
        """The condition of `if`/`case`: one comparison (the IR's `Compare`)."""
        if isinstance(node, EBin) and node.op in _CMP_OPS:
            return Compare(left=self.expr(node.left), op=_CMP_OPS[node.op],
                           right=self.expr(node.right))
        if isinstance(node, ECall) and node.name in {"isnull", "isnotnull"} \
                and len(node.args) == 1:
            return Compare(left=self.expr(node.args[0]), op=Operator.not_exists
                           if node.name == "isnull" else Operator.exists)
        if isinstance(node, ECall) and node.name == "match" and len(node.args) == 2 \
                and isinstance(node.args[1], ELit) and isinstance(node.args[1].value, str):
            lit = regex_literal(node.args[1].value)
            op, value = lit if lit else (Operator.regex, node.args[1].value)
            return Compare(left=self.expr(node.args[0]), op=op, right=Literal_(value=value))
        if isinstance(node, EUnary) and node.op == "NOT":
            inner = self.compare(node.operand)
            flipped = {Operator.eq: Operator.ne, Operator.ne: Operator.eq,
                       Operator.exists: Operator.not_exists,
                       Operator.not_exists: Operator.exists,
                       Operator.contains: Operator.not_contains,
                       Operator.in_: Operator.not_in}.get(inner.op)
            if flipped is not None:
                return inner.model_copy(update={"op": flipped})
        raise Unsupported(_npos(node), "this if()/case() condition",
                          "the IR's if() takes one comparison, not AND/OR")


def _always_true(node: ENode) -> bool:
    if isinstance(node, ECall) and node.name == "true" and not node.args:
        return True
    return isinstance(node, EBin) and node.op == "==" and isinstance(node.left, ELit) \
        and isinstance(node.right, ELit) and node.left.value == node.right.value


def _chain(node: EBin) -> list[ENode]:
    """`a + b + c` (unparenthesised, same operator) as one n-ary call's operands."""
    left = node.left
    if isinstance(left, EBin) and left.op == node.op and not left.paren:
        return _chain(left) + [node.right]
    return [left, node.right]


# ------------------------------------------------------------------ time modifiers

_REL = re.compile(r"^(?:(?P<sign>[+-])(?P<amount>\d*)(?P<unit>[A-Za-z]+))?(?:@(?P<snap>[A-Za-z]+\d*))?$")
_UNITS = {"s": TimeUnit.second, "sec": TimeUnit.second, "secs": TimeUnit.second,
          "second": TimeUnit.second, "seconds": TimeUnit.second,
          "m": TimeUnit.minute, "min": TimeUnit.minute, "mins": TimeUnit.minute,
          "minute": TimeUnit.minute, "minutes": TimeUnit.minute,
          "h": TimeUnit.hour, "hr": TimeUnit.hour, "hrs": TimeUnit.hour, "hour": TimeUnit.hour,
          "hours": TimeUnit.hour, "d": TimeUnit.day, "day": TimeUnit.day, "days": TimeUnit.day,
          "w": TimeUnit.week, "week": TimeUnit.week, "weeks": TimeUnit.week}
_FORMATS = ("%m/%d/%Y:%H:%M:%S", "%m/%d/%Y")


def time_point(text: str, pos: int) -> tuple[Any, bool]:
    """An `earliest=`/`latest=` value as a time point: (point, is_now). `0` is the start of
    time (None); `now` is (None, True). Raises `Unsupported` for modifiers the IR cannot hold
    (months, snapping to hours or weekdays, chained offsets)."""
    t = text.strip()
    if t.lower() == "now" or t == "":
        return None, True
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        value = float(t)
        if value == 0:
            return None, False
        return AbsoluteTime(at=datetime.fromtimestamp(value, tz=timezone.utc)), False
    for fmt in _FORMATS:
        try:
            return AbsoluteTime(at=datetime.strptime(t, fmt)), False
        except ValueError:
            pass
    m = _REL.match(t)
    if not m or (m.group("unit") is None and m.group("snap") is None):
        raise Unsupported(pos, f"the time modifier {text!r}",
                          "use -24h, -7d@d, @d, now, epoch seconds or %m/%d/%Y:%H:%M:%S")
    snap = m.group("snap")
    if snap is not None and snap.lower() not in {"d", "day", "days"}:
        raise Unsupported(pos, f"snapping to @{snap} in {text!r}",
                          "the IR snaps to the start of a day only")
    if m.group("sign") == "+":
        raise Unsupported(pos, f"a time in the future ({text!r})")
    amount, unit = 0, TimeUnit.day
    if m.group("unit") is not None:
        name = m.group("unit").lower()
        if name not in _UNITS:
            raise Unsupported(pos, f"the time unit {m.group('unit')!r} in {text!r}",
                              "months, quarters and years have no fixed length; use days")
        amount, unit = int(m.group("amount") or 1), _UNITS[name]
    return RelativeTime(amount=amount, unit=unit, snap="day" if snap else None), False


def span_bucket(text: str, pos: int) -> TimeBucket:
    """`span=1h` as a time bucket (raises `Unsupported` for months and odd units)."""
    m = re.fullmatch(r"(\d*)([A-Za-z]+)", text.strip())
    unit = _UNITS.get(m.group(2).lower()) if m else None
    if m is None or unit is None or (m.group(1) and int(m.group(1)) < 1):
        raise Unsupported(pos, f"span={text}", "a fixed span such as 30s, 5m, 1h, 1d or 7d")
    return TimeBucket(amount=int(m.group(1) or 1), unit=unit)


# ------------------------------------------------------------------ sources


@dataclass
class BoundPrefix:
    """A source's SPL search prefix, read with the same search parser as the queries."""

    source: Source
    terms: list[SNode]
    generating: str | None  # the normalised generating command (`| tstats …`), if any
    datamodel: str | None


def node_key(node: SNode) -> str:
    """A case-insensitive, order-free fingerprint: equal keys = the same constraint."""
    if isinstance(node, STerm):
        vals = node.value if isinstance(node.value, list) else [node.value]
        return f"{(node.field or '').lower()}{node.op}{','.join(v.text.lower() for v in vals)}"
    if isinstance(node, SGroup):
        return f"{node.kind}(" + ",".join(sorted(node_key(i) for i in node.items)) + ")"
    if isinstance(node, SNot):
        return f"not({node_key(node.item)})"
    return node.text.lower()


def normalise_command(text: str) -> str:
    return " ".join(text.split()).lower().lstrip("| ")


@dataclass
class SourceMatch:
    source: Source
    used: set[int]  # indices of the query's top-level terms the prefix consumed
    score: float
    narrowed: list[int]  # terms that select only part of the source (reported)


def bound_prefix(source: Source) -> BoundPrefix | None:
    """The source's prefix as search terms, or as a generating command (`| tstats …`)."""
    binding = source.bindings.spl
    if binding is None:
        return None
    search = binding.search.strip()
    dm = re.search(r"datamodel(?:\s*=\s*|\s+)([A-Za-z_]\w*)", search, re.IGNORECASE)
    if search.startswith("|"):
        first = search[1:].split("|", 1)[0]
        return BoundPrefix(source, [], normalise_command(first), dm.group(1) if dm else None)
    from lexiquery.dialects.spl_search import parse_search
    from lexiquery.errors import QueryError

    try:
        terms, _ = parse_search(search, 0, len(search))
    except QueryError:
        return None  # a binding the parser cannot read matches nothing
    return BoundPrefix(source, terms, None, dm.group(1) if dm else None)


def match_prefix(bp: BoundPrefix, terms: list[SNode]) -> SourceMatch | None:
    """Does every constraint of the prefix appear among the query's top-level AND terms?

    A missing `index=` is forgiven when the rest matches (analysts often write only the
    sourcetype); a query term that picks one branch of the prefix's OR group, or one value of
    its wildcard, matches too, as a narrowing the caller reports."""
    keys = [node_key(t) for t in terms]
    has_index = any(_is_field(t, "index") for t in terms)
    used: set[int] = set()
    narrowed: list[int] = []
    score = 0.0
    for c in bp.terms:
        k = node_key(c)
        hit = next((i for i, kk in enumerate(keys) if kk == k and i not in used), None)
        if hit is not None:
            used.add(hit)
            score += 1
            continue
        narrow = _narrowing(c, terms, used)
        if narrow is not None:
            used.add(narrow)
            narrowed.append(narrow)
            score += 0.5
            continue
        if _is_field(c, "index") and not has_index:
            continue
        return None
    if score == 0:
        return None
    return SourceMatch(bp.source, used, score, narrowed)


def _is_field(node: SNode, name: str) -> bool:
    return isinstance(node, STerm) and (node.field or "").lower() == name and node.op == "="


def _narrowing(c: SNode, terms: list[SNode], used: set[int]) -> int | None:
    if isinstance(c, SGroup) and c.kind == "or":
        members = {node_key(m) for m in c.items}
        return next((i for i, t in enumerate(terms) if i not in used
                     and node_key(t) in members), None)
    if isinstance(c, STerm) and c.op == "=" and isinstance(c.value, SValue) \
            and "*" in c.value.text:
        rx = re.compile("^" + ".*".join(re.escape(p) for p in c.value.text.split("*")) + "$",
                        re.IGNORECASE)
        for i, t in enumerate(terms):
            if i not in used and isinstance(t, STerm) and t.op == "=" and t.field \
                    and t.field.lower() == (c.field or "").lower() \
                    and isinstance(t.value, SValue) and rx.match(t.value.text):
                return i
    return None


def prefix_values(bp: BoundPrefix, field_name: str) -> list[str]:
    """Every value the prefix gives `field_name` (sourcetype, index…), for hints."""
    out: list[str] = []
    stack = list(bp.terms)
    while stack:
        n = stack.pop()
        if isinstance(n, SGroup):
            stack.extend(n.items)
        elif isinstance(n, SNot):
            stack.append(n.item)
        elif isinstance(n, STerm) and (n.field or "").lower() == field_name \
                and isinstance(n.value, SValue):
            out.append(n.value.text)
    return out
