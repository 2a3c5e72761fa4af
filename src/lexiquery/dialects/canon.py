"""The round trip's canonical values (`dialects.roundtrip`): `Canon` puts conditions, filters
and expressions of one pipeline in the one form that `roundtrip.canonical` compares — typed
values, case folded where case cannot matter, complements of `not`, plain-text regexes,
flattened concats (the module docstring of `dialects.roundtrip` lists each normalisation);
`unit_amount` writes a duration in the largest unit that divides it.
"""

from __future__ import annotations

import json
from typing import Any

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.base import Names, coerce, has_letters, iso_seconds, parse_datetime
from lexiquery.ir import (
    COMPLEMENT,
    ORDER_COMPLEMENT,
    UNIT_SECONDS,
    And,
    Call,
    Compare,
    Condition,
    FieldRef,
    Function,
    Literal_,
    Not,
    Operator,
    Or,
    QueryPlan,
    TimeUnit,
)

_TEXT = {FieldType.string, FieldType.guid, None}
_NO_CASE = {Operator.gt, Operator.ge, Operator.lt, Operator.le, Operator.exists,
            Operator.not_exists}
_UNITS_DESC = [TimeUnit.week, TimeUnit.day, TimeUnit.hour, TimeUnit.minute, TimeUnit.second]


_REGEX_META = set("\\^$.|?*+()[]{}")
_CONTROL_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}  # how SPL writes line breaks in a regex


def literal_regex(pattern: str) -> tuple[Operator, str] | None:
    """(op, text) when a regex is a plain text test: no metacharacters but anchors at the ends
    and backslash-escaped metacharacters."""
    start = pattern.startswith("^")
    body = pattern[1:] if start else pattern
    end = body.endswith("$") and not body.endswith("\\$") or body.endswith("\\\\$")
    body = body[:-1] if end else body
    text, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt in _REGEX_META or nxt in _CONTROL_ESCAPES:
                text.append(_CONTROL_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            return None
        if ch in _REGEX_META:
            return None
        text.append(ch)
        i += 1
    if not text:
        return None
    op = {(False, False): Operator.contains, (True, False): Operator.startswith,
          (False, True): Operator.endswith, (True, True): Operator.eq}[(start, end)]
    return op, "".join(text)


def unit_amount(amount: int, unit: TimeUnit, *, allow_week: bool = True) -> tuple[int, TimeUnit]:
    seconds = amount * UNIT_SECONDS[unit]
    if seconds == 0:
        return 0, TimeUnit.day
    for u in _UNITS_DESC:
        if u is TimeUnit.week and not allow_week:
            continue
        if seconds % UNIT_SECONDS[u] == 0:
            return seconds // UNIT_SECONDS[u], u
    return amount, unit


class Canon:
    def __init__(self, plan: QueryPlan, source: Source, platform: Platform | None) -> None:
        self.names = Names(plan, source, Platform.sql)
        self.plan = plan
        self.has_is_contains = platform in {Platform.spl, Platform.sql}
        self.complement = ORDER_COMPLEMENT if platform is Platform.sql else COMPLEMENT
        self.any_type_not = platform is Platform.sql

    def ftype(self, name: str, after_agg: bool) -> FieldType | None:
        try:
            return self.names.output_type(name) if after_agg else self.names.field_type(name)
        except Exception:  # an unknown name: leave its values as they are
            return None

    def value(self, v: Any, ftype: FieldType | None) -> Any:
        if ftype is FieldType.datetime:
            at = parse_datetime(v)
            if at is not None:
                return iso_seconds(at)
        return coerce(v, ftype)

    def condition(self, c: Condition, after_agg: bool) -> Condition:
        ftype = self.ftype(c.field, after_agg)
        value = c.value
        if isinstance(value, list):
            value = [self.value(v, ftype) for v in value]
        elif value is not None:
            value = self.value(value, ftype)
        op = Operator.contains if c.op is Operator.has and self.has_is_contains else c.op
        if op is Operator.regex and isinstance(value, str):
            plain = literal_regex(value)
            if plain is not None:
                op, value = plain
        values = value if isinstance(value, list) else [value]
        # A GUID's letters are hex digits: its case never matters (T-SQL's uniqueidentifier
        # and postgres' uuid compare without it), so a GUID test is never case-sensitive.
        cs = (c.case_sensitive and ftype in _TEXT and ftype is not FieldType.guid
              and op not in _NO_CASE and any(has_letters(v) for v in values))
        if not cs and op is not Operator.regex and ftype is not FieldType.datetime:
            value = [v.lower() if isinstance(v, str) else v for v in value] \
                if isinstance(value, list) else value.lower() if isinstance(value, str) else value
        return Condition(field=c.field, op=op, value=value, case_sensitive=cs)

    def filter(self, f: Any, after_agg: bool) -> Any:
        if isinstance(f, Condition):
            return self.condition(f, after_agg)
        if isinstance(f, (And, Or)):
            items: list[Any] = []
            for i in f.items:
                c = self.filter(i, after_agg)
                items += c.items if type(c) is type(f) else [c]  # (a and (b and c)) = a and b and c
            if len(items) == 1:
                return items[0]
            return type(f)(items=items)
        if isinstance(f, Not):
            inner = self.filter(f.item, after_agg)
            if isinstance(inner, Not):
                return inner.item
            if isinstance(inner, Condition) and inner.op in self.complement and (
                    self.any_type_not or self.ftype(inner.field, after_agg) in _TEXT
                    or inner.op in {Operator.exists, Operator.not_exists}):
                return inner.model_copy(update={"op": self.complement[inner.op]})
            return Not(item=inner)
        raise TypeError(f"not a filter: {f!r}")

    def filters(self, fs: list[Any], after_agg: bool) -> list[Any]:
        out: list[Any] = []
        for f in fs:
            c = self.filter(f, after_agg)
            out += c.items if isinstance(c, And) else [c]
        return sorted(out, key=lambda x: json.dumps(x.model_dump(mode="json"), sort_keys=True))

    def expr(self, e: Any, *, numerator: bool = False) -> Any:
        if isinstance(e, Literal_):
            v = e.value
            if isinstance(v, float) and v.is_integer():
                return Literal_(value=int(v))
            return e
        if isinstance(e, FieldRef):
            return e
        if isinstance(e, Compare):
            return Compare(left=self.expr(e.left), op=e.op,
                           right=self.expr(e.right) if e.right is not None else None)
        if isinstance(e, Call):
            args = list(e.args)
            if e.fn is Function.div and args and isinstance(args[0], Call) \
                    and args[0].fn is Function.to_real and len(args[0].args) == 1:
                args[0] = args[0].args[0]
            out = [self.expr(a) for a in args]
            if e.fn is Function.concat:  # associative: (a . b) . c is a . b . c
                out = [x for a in out for x in (a.args if isinstance(a, Call) and
                                                a.fn is Function.concat else [a])]
            if e.fn in (Function.member, Function.index) and out and isinstance(out[0], Call) \
                    and out[0].fn is Function.parse_json and isinstance(out[0].args[0], FieldRef):
                out[0] = out[0].args[0]  # a path into a field reads it as JSON, parsed or not
            return Call(fn=e.fn, args=out)
        return e
