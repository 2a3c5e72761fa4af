"""The IR's text, time and dynamic-data functions (schema version 2) as KQL writes them, and
the names `kql.bind` reads back onto them.

    extract(text, re, g)     → extract(@"re", g, text)        ("" when nothing matches)
    replace(text, re, repl)  → replace_regex(text, @"re", @"repl")   (\\1 … are the groups)
    split(text, d)           → split(text, "d")               (a dynamic array)
    index(arr, i)            → arr[i]                         (negative i counts from the end)
    member(obj, "k")         → obj.k  /  obj["k"]
    parse_json(text)         → parse_json(text)
    array_length(arr)        → array_length(arr)
    start_of(t, unit)        → startofday/startofweek/startofmonth/startofyear(t)  (Sunday weeks)
    time_diff(unit, e, s)    → tolong((e - s) / 1d)           (whole units elapsed, truncated)
    now()                    → now()
    trim(text)               → trim(@"\\s+", text)

KQL's own `datetime_diff` counts the unit *boundaries* crossed (23:59 → 00:01 is one day), not
whole units elapsed, so the renderer never writes it; `kql.bind` reads it with an issue saying so.
"""

from __future__ import annotations

from typing import Protocol

from lexiquery.dialects.base import Names, plan_error
from lexiquery.dialects.kql.text import ident, is_path, re2_pattern, string, timespan, verbatim
from lexiquery.ir import Call, FieldRef, Function, Literal_, TimeUnit


class Writer(Protocol):
    """What these functions need of `kql.render.KqlRenderer` (which imports this module)."""

    names: Names

    def expr(self, e: object, *, nested: bool = False) -> str: ...

NEW_FUNCTIONS = frozenset({
    Function.extract, Function.replace, Function.split, Function.index, Function.member,
    Function.parse_json, Function.array_length, Function.start_of, Function.time_diff,
    Function.now, Function.trim})
START_OF = {"day": "startofday", "week": "startofweek", "month": "startofmonth",
            "year": "startofyear"}
TIME_UNITS = ("second", "minute", "hour", "day")
TRIM_SPACE = r"\s+"


def _text(e: Call, i: int) -> str:
    arg = e.args[i] if i < len(e.args) else None
    if not (isinstance(arg, Literal_) and isinstance(arg.value, str)):
        raise plan_error("unsupported", f"{e.fn.value}(): argument {i + 1} must be a text "
                         f"literal on KQL")
    return arg.value


def _arity(e: Call, n: int) -> None:
    if len(e.args) != n:
        raise plan_error("unsupported", f"{e.fn.value}() takes {n} arguments, not "
                         f"{len(e.args)}")


def dynamic_ref(r: Writer, e: object) -> str:
    """An expression as the dynamic value it is (a field read whole, not converted to a
    scalar): the object of a member access, an array to index."""
    if isinstance(e, FieldRef):
        col = r.names.column(e.name)
        return ident(col)
    text = r.expr(e, nested=True)
    return text


def member_key(key: str) -> str:
    """`.key` where the key is a plain name, else `["key"]`."""
    plain = ident(key)
    return f".{key}" if plain == key and not is_path(key) else f"[{string(key)}]"


def render_call(r: Writer, e: Call) -> str:
    """One of `NEW_FUNCTIONS` as KQL (see the module docstring)."""
    fn, a = e.fn, e.args
    if fn is Function.extract:
        _arity(e, 3)
        return f"extract({verbatim(re2_pattern(_text(e, 1)))}, {r.expr(a[2])}, " \
            f"{r.expr(a[0])})"
    if fn is Function.replace:
        _arity(e, 3)
        return f"replace_regex({r.expr(a[0])}, {verbatim(re2_pattern(_text(e, 1)))}, " \
            f"{verbatim(_text(e, 2))})"
    if fn is Function.split:
        _arity(e, 2)
        return f"split({r.expr(a[0])}, {r.expr(a[1])})"
    if fn is Function.index:
        _arity(e, 2)
        return f"{dynamic_ref(r, a[0])}[{r.expr(a[1])}]"
    if fn is Function.member:
        _arity(e, 2)
        return dynamic_ref(r, a[0]) + member_key(_text(e, 1))
    if fn is Function.parse_json:
        _arity(e, 1)
        return f"parse_json({r.expr(a[0])})"
    if fn is Function.array_length:
        _arity(e, 1)
        return f"array_length({dynamic_ref(r, a[0])})"
    if fn is Function.start_of:
        _arity(e, 2)
        unit = _text(e, 1)
        if unit not in START_OF:
            raise plan_error("unsupported", f"start_of(…, '{unit}'): the unit must be day, "
                             f"week, month or year")
        return f"{START_OF[unit]}({r.expr(a[0])})"
    if fn is Function.time_diff:
        _arity(e, 3)
        unit = _text(e, 0)
        if unit not in TIME_UNITS:
            raise plan_error("unsupported", f"time_diff('{unit}', …): the unit must be second, "
                             f"minute, hour or day")
        span = timespan(1, TimeUnit(unit))
        return f"tolong(({r.expr(a[1], nested=True)} - {r.expr(a[2], nested=True)}) / {span})"
    if fn is Function.now:
        _arity(e, 0)
        return "now()"
    assert fn is Function.trim
    _arity(e, 1)
    return f"trim({verbatim(TRIM_SPACE)}, {r.expr(a[0])})"
