"""KQL expressions over dynamic data and the v2 functions → IR expressions, and the computed
columns the binder adds where the IR needs a column (a `where` on an expression).

    dynamic_expr(b, e)     `parse_json(x).y`, `split(s, ".")[-1]`, `AdditionalFields.Foo` (a
                           path into a dynamic column that no field binds), `Arr[i]`
    new_function(b, e)     extract, replace_regex/replace/replace_string, split, parse_json/
                           todynamic, array_length, startof…, datetime_diff, now, trim, case,
                           isempty/isnotempty; None when `e` is none of them
    temp_field(b, e)       a computed column `_fN` the plan drops again before its output
    column_compare(b, e)   `where a != b`: a computed comparison, tested `== true`
    since_compare(b, t, s) `where t > ago(1d)` off the time range: whole seconds to now < 86400

KQL's `datetime_diff` counts unit boundaries crossed, the IR's `time_diff` whole units elapsed:
it is read as the exact sum of whole units that counts the boundaries (`boundaries`); the
renderer writes `time_diff` as `tolong((a - b) / 1h)`, read back exactly. `countof`,
`bag_keys` and `format_datetime` have no IR function and are refused.
"""

from __future__ import annotations

import re
from typing import Any

from lexiquery.catalog.model import Platform
from lexiquery.dialects.kql import ast as syn
from lexiquery.dialects.kql.functions import START_OF, TIME_UNITS, TRIM_SPACE
from lexiquery.dialects.kql.text import output_name
from lexiquery.dialects.scope import ScopedNames
from lexiquery.ir import (
    Call,
    Compare,
    ComputedField,
    Condition,
    Function,
    Literal_,
    Operator,
    QueryPlan,
)

# The binder (`kql.bind.Binder`, which imports this module): its state and expression mapping.
Binder = Any


class Unsupported(Exception):
    """Raised inside one stage item; the binder turns it into an issue and skips the item."""

    def __init__(self, offset: int, construct: str, why: str = "", changes: bool = True):
        super().__init__(construct)
        self.offset, self.construct, self.why, self.changes = offset, construct, why, changes

TEMP = "_f"  # the prefix of the columns `temp_field` adds
_SPANS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
_NO_IR = {"countof": "the IR has no count of occurrences",
          "bag_keys": "the IR has no list of a property bag's keys",
          "format_datetime": "the IR formats no dates; compare the datetime itself"}


def scope_names(plan: QueryPlan, b: Binder) -> ScopedNames:
    """`Names` over the outputs of the stages before the current one (`b.prev_scope`)."""
    return ScopedNames(plan, b.source, Platform.kql, output_name, b.prev_scope)


def member_head(b: Binder, e: syn.Name) -> int:
    """How many parts of a dotted name are a column in scope (0: none) when the whole is not:
    `AdditionalFields.Foo` → 1."""
    if e.text in b.ns or len(e.path) < 2:
        return 0
    for n in range(len(e.path) - 1, 0, -1):
        if ".".join(e.path[:n]) in b.ns:
            return n
    return 0


def _unsupported(e: syn.Node, what: str, why: str = "") -> Exception:
    return Unsupported(syn.node_offset(e), what, why)


def _part(b: Binder, obj: Any, part: str) -> Any:
    m = re.fullmatch(r"\[(-?\d+)\]", part)
    if m:
        return Call(fn=Function.index, args=[obj, Literal_(value=int(m.group(1)))])
    return Call(fn=Function.member, args=[obj, Literal_(value=part)])


def dynamic_expr(b: Binder, e: syn.Node) -> Any:
    """A member or index access as IR `member`/`index` calls."""
    if isinstance(e, syn.Name):
        n = member_head(b, e)
        if n == 0:
            return None
        out = b.expr(syn.Name(e.path[:n], e.offset))
        for part in e.path[n:]:
            out = _part(b, out, part)
        return out
    if isinstance(e, syn.Member):
        return Call(fn=Function.member, args=[b.expr(e.obj), Literal_(value=e.key)])
    assert isinstance(e, syn.Index)
    return Call(fn=Function.index, args=[b.expr(e.obj), b.expr(e.index)])


def _lit(e: syn.Node, kind: str, what: str) -> Any:
    if isinstance(e, syn.Lit) and e.kind == kind:
        return e.value
    raise _unsupported(e, what, f"a {kind} literal")


def _time_diff(b: Binder, e: syn.Call) -> Any:
    """`tolong((a - b) / 1h)` — the renderer's whole units elapsed — or None."""
    if e.name not in ("tolong", "toint") or len(e.args) != 1:
        return None
    div = e.args[0]
    if not (isinstance(div, syn.Bin) and div.op == "/" and isinstance(div.left, syn.Bin)
            and div.left.op == "-" and isinstance(div.right, syn.Lit)
            and div.right.kind == "timespan" and div.right.value in _SPANS):
        return None
    return Call(fn=Function.time_diff, args=[Literal_(value=_SPANS[div.right.value]),
                                             b.expr(div.left.left), b.expr(div.left.right)])


def new_function(b: Binder, e: syn.Call) -> Any:
    """The IR expression of one of the functions in the module docstring, or None."""
    name, a = e.name, e.args
    diff = _time_diff(b, e)
    if diff is not None:
        return diff
    if name in _NO_IR:
        raise _unsupported(e, f"the function {name}()", _NO_IR[name])
    if name == "extract" and len(a) in (3, 4):
        if len(a) == 4:
            raise _unsupported(a[3], "extract() with a type", "convert the text afterwards")
        return Call(fn=Function.extract, args=[b.expr(a[2]), Literal_(
            value=_lit(a[0], "string", "extract()'s regex")), Literal_(
            value=_lit(a[1], "number", "extract()'s group"))])
    if name in ("replace_regex", "replace") and len(a) == 3:
        text, rx, repl = (a[0], a[1], a[2]) if name == "replace_regex" else (a[2], a[0], a[1])
        return Call(fn=Function.replace, args=[b.expr(text), Literal_(
            value=_lit(rx, "string", f"{name}()'s regex")), Literal_(
            value=_lit(repl, "string", f"{name}()'s replacement"))])
    if name == "replace_string" and len(a) == 3:
        lookup = _lit(a[1], "string", "replace_string()'s text")
        repl = _lit(a[2], "string", "replace_string()'s replacement")
        if "\\" in repl or not lookup:
            raise _unsupported(a[2], "replace_string() with a backslash or an empty lookup")
        return Call(fn=Function.replace, args=[b.expr(a[0]), Literal_(value=re.escape(lookup)),
                                               Literal_(value=repl)])
    if name == "split" and len(a) == 2:
        return Call(fn=Function.split, args=[b.expr(a[0]), b.expr(a[1])])
    if name in ("parse_json", "todynamic", "parsejson") and len(a) == 1:
        return Call(fn=Function.parse_json, args=[b.expr(a[0])])
    if name == "array_length" and len(a) == 1:
        return Call(fn=Function.array_length, args=[b.expr(a[0])])
    units = {v: k for k, v in START_OF.items()}
    if name in units and len(a) == 1:
        return Call(fn=Function.start_of, args=[b.expr(a[0]), Literal_(value=units[name])])
    if name == "datetime_diff" and len(a) == 3:
        unit = str(_lit(a[0], "string", "datetime_diff()'s unit")).lower()
        if unit not in TIME_UNITS:
            raise _unsupported(a[0], f"datetime_diff('{unit}', …)", "second, minute, hour or "
                               "day")
        return boundaries(unit, b.expr(a[1]), b.expr(a[2]))
    if name == "now" and not a:
        return Call(fn=Function.now)
    if name == "trim" and len(a) == 2:
        if _lit(a[0], "string", "trim()'s pattern") != TRIM_SPACE:
            raise _unsupported(a[0], "trim() of anything but white space", r'trim(@"\s+", x)')
        return Call(fn=Function.trim, args=[b.expr(a[1])])
    if name == "case" and len(a) >= 3 and len(a) % 2 == 1:
        out = b.expr(a[-1])
        for i in range(len(a) - 3, -1, -2):
            out = Call(fn=Function.if_, args=[b.test(a[i]), b.expr(a[i + 1]), out])
        return out
    if name in ("isempty", "isnotempty", "isnull", "isnotnull") and len(a) == 1:
        op = Operator.exists if name in ("isnotempty", "isnotnull") else Operator.not_exists
        return Compare(left=b.expr(a[0]), op=op)
    return None


def boundaries(unit: str, end: Any, start: Any) -> Any:
    """KQL's `datetime_diff(unit, end, start)` — the unit boundaries crossed — in whole units
    elapsed: between the two days' starts, plus the units `end` is into its day, less those
    `start` is into its (a day's start is on every unit's boundary, so each part is exact)."""
    def diff(e: Any, s: Any) -> Any:
        return Call(fn=Function.time_diff, args=[Literal_(value=unit), e, s])

    def day(t: Any) -> Any:
        return Call(fn=Function.start_of, args=[t, Literal_(value="day")])
    days = diff(day(end), day(start))
    if unit == "day":
        return days
    return Call(fn=Function.sub, args=[Call(fn=Function.add, args=[days, diff(end, day(end))]),
                                       diff(start, day(start))])


def temp_field(b: Binder, e: syn.Node | None, expr: Any = None) -> str:
    """A computed column `_fN` holding `e` (or `expr`), for a filter the IR must test as a
    column; the plan drops it again before its output (`kql.stages_more.drop_temps`)."""
    if b.agg is not None or b.limit is not None:
        b.close()  # a column computed after an aggregation or a limit: a stage of its own
    value = expr if expr is not None else b.expr(e)
    b.temp_count += 1
    name = f"{TEMP}{b.temp_count}"
    while name in b.ns.values() or name in b.ns:
        b.temp_count += 1
        name = f"{TEMP}{b.temp_count}"
    b.computed.append(ComputedField(name=name, expr=value))
    b.temps.add(name)
    return name


def ago_seconds(e: syn.Node) -> int | None:
    """`ago(1d)` / `now() - 1d` → 86400; None for anything else (or a fraction of a second)."""
    span: syn.Node | None = None
    if isinstance(e, syn.Call) and e.name == "ago" and len(e.args) == 1:
        span = e.args[0]
    elif isinstance(e, syn.Bin) and e.op == "-" and isinstance(e.left, syn.Call) \
            and e.left.name == "now" and not e.left.args:
        span = e.right
    if isinstance(span, syn.Lit) and span.kind == "timespan" and span.value > 0 \
            and float(span.value).is_integer():
        return int(span.value)
    return None


def since_compare(b: Binder, left: syn.Node, seconds: int) -> Any:
    """`t > ago(1d)` on a column that is not the plan's time range: the whole seconds from `t`
    to now are fewer than 86400 — exact for `>` (truncating a fraction cannot reach the bound)."""
    elapsed = Call(fn=Function.time_diff, args=[Literal_(value="second"), Call(fn=Function.now),
                                                b.expr(left)])
    name = temp_field(b, None, Compare(left=elapsed, op=Operator.lt,
                                       right=Literal_(value=seconds)))
    return Condition(field=name, op=Operator.eq, value=True)


def column_compare(b: Binder, e: syn.Bin, ops: dict[str, Operator]) -> Any:
    """`where a != b` (two columns, or expressions): a computed boolean, tested `== true`."""
    op = e.op
    left, right = b.expr(e.left), b.expr(e.right)
    if op in ("=~", "!~"):
        left = Call(fn=Function.lower, args=[left])
        right = Call(fn=Function.lower, args=[right])
        op = "==" if op == "=~" else "!="
    if op not in ops:
        raise _unsupported(e.left, f"the {e.op} operator between two columns",
                           "==, !=, =~, !~, <, <=, >, >=, contains, startswith, endswith, has")
    name = temp_field(b, None, Compare(left=left, op=ops[op], right=right))
    return Condition(field=name, op=Operator.eq, value=True)
