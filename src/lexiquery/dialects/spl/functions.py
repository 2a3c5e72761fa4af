"""The text, time and JSON functions of schema version 2 in SPL's eval language, both ways.

    replace(t, re, s)        ↔ replace(t, re, s)           (PCRE, every match, \\1 … groups)
    split(t, d)              ↔ split(t, d)                  (a multivalue)
    index(a, i)              ↔ mvindex(a, i)                (from 0; negative from the end)
    array_length(a)          ↔ mvcount(a)
    member(parse_json(x), k) ↔ spath(x, "k")                (a chain is one path: "a.b{0}.c")
    index(member(…), i)      ↔ mvindex(spath(x, "a{}"), i)  (`{}`: the array's elements)
    parse_json(x)            ↔ json(x)
    start_of(t, day|week|month|year) ↔ relative_time(t, "@d" | "@w0" | "@mon" | "@y")
    time_diff(u, e, s)       ↔ floor(e / N) - floor(s / N)  (N seconds per unit: boundaries
                                                              crossed, as KQL datetime_diff)
    now()                    ↔ now()
    trim(t)                  ↔ trim(t)
    extract(f, re, n)        ↔ rex field=f "…(?<name>…)…"  (a computed field only: rex)

SPL has no JSON type: a JSON value is its text and `spath` reads a path out of it, so
`member(parse_json(x), k)` and `member(x, k)` on a dynamic field are both `spath(x, "k")`; the
parser wraps the root in `parse_json` unless the field is typed dynamic. spath indexes JSON arrays
from 0 (`a{0}`, XML from 1); a negative index goes through `mvindex`.

`extract` has no eval function: `rex field=f "(?<name>…)"` sets `name` to the first match's
group (unset — empty — without a match, as extract). It is written only for a computed field
that is exactly `extract(field, regex, n)`; group `n` becomes the named group, every other
named group a plain one (rex would set a field for each name).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from lexiquery.catalog.model import FieldType
from lexiquery.dialects.base import plan_error
from lexiquery.dialects.spl.bind import Unsupported
from lexiquery.dialects.spl.eval import EBin, ECall, EField, ELit, ENode
from lexiquery.dialects.spl.text import quote
from lexiquery.ir import Call, FieldRef, Function, Literal_

NEW_FUNCTIONS = frozenset({Function.extract, Function.replace, Function.split, Function.index,
                           Function.member, Function.parse_json, Function.array_length,
                           Function.start_of, Function.time_diff, Function.now, Function.trim})
SNAP = {"day": "@d", "week": "@w0", "month": "@mon", "year": "@y"}
SNAP_READ = {"@d": "day", "@day": "day", "@w0": "week", "@w": "week", "@mon": "month",
             "@month": "month", "@y": "year", "@year": "year"}
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_KEY = re.compile(r"^[A-Za-z0-9_@$:-]+$")
GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _unsupported(what: str) -> Exception:
    return plan_error("unsupported", f"{what} cannot be written in SPL")


def _text_literal(e: Any) -> str | None:
    return e.value if isinstance(e, Literal_) and isinstance(e.value, str) else None


def _int_literal(e: Any) -> int | None:
    ok = isinstance(e, Literal_) and isinstance(e.value, int) and not isinstance(e.value, bool)
    return e.value if ok else None  # type: ignore[union-attr,return-value]


def is_json_path(e: Any) -> bool:
    return isinstance(e, Call) and e.fn is Function.member


def json_path(e: Call, expr: Callable[[Any], str]) -> tuple[str, str]:
    """(the root's SPL text, the spath path) of a member chain (`member(index(member(…))))`)."""
    key = _text_literal(e.args[1]) if len(e.args) == 2 else None
    if key is None or not _KEY.match(key):
        raise _unsupported("a member access whose key is not a plain name "
                           f"({e.args[1] if len(e.args) > 1 else 'none'})")
    root, path = _json_target(e.args[0], expr)
    return root, f"{path}.{key}" if path else key


def _json_target(e: Any, expr: Callable[[Any], str]) -> tuple[str, str]:
    if is_json_path(e):
        return json_path(e, expr)
    if isinstance(e, Call) and e.fn is Function.parse_json and len(e.args) == 1:
        return expr(e.args[0]), ""
    i = _int_literal(e.args[1]) if isinstance(e, Call) and e.fn is Function.index \
        and len(e.args) == 2 else None
    if i is not None and i >= 0 and is_json_path(e.args[0]):  # type: ignore[union-attr]
        root, path = json_path(e.args[0], expr)  # type: ignore[union-attr]
        return root, f"{path}{{{i}}}"
    return expr(e), ""


def multivalue(e: Any, expr: Callable[[Any], str]) -> str:
    """An array argument: a member chain reads its elements (`spath(x, "a{}")`)."""
    if is_json_path(e):
        root, path = json_path(e, expr)
        return f"spath({root}, {quote(path + '{}')})"
    return expr(e)


def array_fields(plan: Any) -> set[str]:
    """The names a plan uses as arrays: expanded fields and the first argument of index() and
    array_length() (a computed JSON member among them is written with `{}`)."""
    out = {s.field for s in getattr(plan, "stages", []) if getattr(s, "kind", "") == "expand"}
    parts = [plan, *(s for s in getattr(plan, "stages", []) if getattr(s, "kind", "") == "step")]
    stack = [c.expr for part in parts for c in part.computed]
    while stack:
        e = stack.pop()
        if isinstance(e, Call):
            if e.fn in (Function.index, Function.array_length) and e.args \
                    and isinstance(e.args[0], FieldRef):
                out.add(e.args[0].name)
            stack += e.args
    return out


def render_call(e: Call, expr: Callable[[Any], str]) -> str:
    """One of `NEW_FUNCTIONS` as an eval expression (`expr` writes the arguments)."""
    fn, args = e.fn, e.args
    if fn is Function.extract:
        raise _unsupported("extract() inside an expression (SPL has no eval function for it; "
                           "a computed field that is exactly extract(field, regex, group) is "
                           "written as rex)")
    if fn is Function.now:
        return "now()"
    if fn is Function.member:
        root, path = json_path(e, expr)
        return f"spath({root}, {quote(path)})"
    if fn is Function.index:
        return f"mvindex({multivalue(args[0], expr)}, {expr(args[1])})"
    if fn is Function.array_length:
        return f"mvcount({multivalue(args[0], expr)})"
    if fn is Function.parse_json:
        return f"json({expr(args[0])})"
    if fn is Function.start_of:
        unit = _text_literal(args[1]) if len(args) == 2 else None
        if unit not in SNAP:
            raise _unsupported(f"start_of() with the unit {args[1] if len(args) > 1 else None}")
        return f"relative_time({expr(args[0])}, {quote(SNAP[unit])})"  # type: ignore[index]
    if fn is Function.time_diff:
        unit = _text_literal(args[0]) if len(args) == 3 else None
        if unit not in UNIT_SECONDS:
            raise _unsupported(f"time_diff() in the unit {args[0] if args else None}")
        n = UNIT_SECONDS[unit]  # type: ignore[index]
        return f"floor({expr(args[1])} / {n}) - floor({expr(args[2])} / {n})"
    name = {Function.replace: "replace", Function.split: "split", Function.trim: "trim"}[fn]
    return f"{name}({', '.join(expr(a) for a in args)})"


# ------------------------------------------------------------------ rex


def rex_target(e: Any) -> tuple[str, str, int] | None:
    """(field, regex, group) when `e` is exactly extract(field, regex, group)."""
    if not (isinstance(e, Call) and e.fn is Function.extract and len(e.args) == 3
            and isinstance(e.args[0], FieldRef)):
        return None
    regex, group = _text_literal(e.args[1]), _int_literal(e.args[2])
    if regex is None or group is None or group < 0:
        return None
    return e.args[0].name, regex, group


def _groups(regex: str) -> list[tuple[int, int, str | None]]:
    """Each capturing group's (start of its opener, end of its opener, name), in number
    order (PCRE numbers named groups too, by their opening parenthesis)."""
    out: list[tuple[int, int, str | None]] = []
    i, in_class = 0, False
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if regex[i + 1:i + 2] == "]":
                i += 1  # `[]…]`: a leading ] is a member
        elif ch == "(":
            m = re.match(r"\(\?(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')",
                         regex[i:])
            if m:
                out.append((i, i + m.end(), m.group(1) or m.group(2)))
            elif not regex.startswith("(?", i) and not regex.startswith("(*", i):
                out.append((i, i + 1, None))
        i += 1
    return out


def plain_groups(regex: str) -> str:
    """The regex with every named group made a plain numbered one (numbers unchanged)."""
    out, last = [], 0
    for start, end, name in _groups(regex):
        if name is not None:
            out += [regex[last:start], "("]
            last = end
    return "".join(out) + regex[last:]


def named_groups(regex: str) -> list[tuple[int, str]]:
    """(group number, name) of each named group."""
    return [(n, name) for n, (_, _, name) in enumerate(_groups(regex), start=1) if name]


def rex_pattern(regex: str, group: int, name: str) -> str | None:
    """`regex` with group `group` named `name` and no other name; None when there is no such
    group."""
    plain = plain_groups(regex)
    if group == 0:
        return f"(?<{name}>{plain})"
    groups = _groups(plain)
    if group > len(groups):
        return None
    start, end, _ = groups[group - 1]
    return f"{plain[:start]}(?<{name}>{plain[end:]}"


# ------------------------------------------------------------------ reading


def json_chain(root: object, path: str, pos: int) -> object:
    """An spath path (`a.b{0}.c`, a final `{}` for the array itself) as member/index calls on
    `root`."""
    expr = root
    steps = path.split(".")
    for n, step in enumerate(steps):
        key, _, rest = step.partition("{")
        if not key:
            raise Unsupported(pos, f"the spath path {path!r}", "a step needs a name")
        expr = Call(fn=Function.member, args=[expr, Literal_(value=key)])
        while rest:
            index, _, after = rest.partition("}")
            if index == "":
                if n < len(steps) - 1 or after:
                    raise Unsupported(pos, f"the spath path {path!r}", "{} before the end "
                                      "reads every element of an array; the IR reads one")
            elif index.isdigit():
                expr = Call(fn=Function.index, args=[expr, Literal_(value=int(index))])
            else:
                raise Unsupported(pos, f"the spath path {path!r}", "only {N} and {} are read")
            rest = after[1:] if after.startswith("{") else after
            if after and not after.startswith("{"):
                raise Unsupported(pos, f"the spath path {path!r}")
    return expr


def read_call(binder: Any, node: ECall) -> Any:
    """An eval call of the table above as an IR expression; None when it is none of them.
    `binder` is the `spl.expr.ExprBinder` (its `expr` binds the arguments)."""
    name, args, expr = node.name, node.args, binder.expr
    if name == "now" and not args:
        return Call(fn=Function.now)
    simple = {"replace": (Function.replace, 3), "split": (Function.split, 2),
              "trim": (Function.trim, 1), "json": (Function.parse_json, 1)}
    if name in simple and len(args) == simple[name][1]:
        return Call(fn=simple[name][0], args=[expr(a) for a in args])
    if name == "mvindex" and len(args) == 2:
        return Call(fn=Function.index, args=[_read_multivalue(binder, args[0]), expr(args[1])])
    if name == "mvcount" and len(args) == 1:
        return Call(fn=Function.array_length, args=[_read_multivalue(binder, args[0])])
    if name in {"spath", "json_extract"} and len(args) == 2 and isinstance(args[1], ELit) \
            and isinstance(args[1].value, str):
        return json_chain(_json_root(binder, args[0]), args[1].value, node.pos)
    if name == "relative_time" and len(args) == 2 and isinstance(args[1], ELit) \
            and isinstance(args[1].value, str):
        unit = SNAP_READ.get(args[1].value.lower())
        if unit is None:
            raise Unsupported(node.pos, f"relative_time(…, {args[1].value!r}) in eval",
                              "the IR snaps a time to the start of a day, week (Sunday), "
                              "month or year")
        return Call(fn=Function.start_of, args=[expr(args[0]), Literal_(value=unit)])
    return None


def _json_root(binder: Any, node: ENode) -> Any:
    root = binder.expr(node)
    ref = binder.scope.lookup(node.name) if isinstance(node, EField) else None
    if ref is not None and ref.ftype is FieldType.dynamic:
        return root
    return Call(fn=Function.parse_json, args=[root])


def _read_multivalue(binder: Any, node: ENode) -> Any:
    """`spath(x, "a{}")` (every element of the array a) as the array itself."""
    if isinstance(node, ECall) and node.name in {"spath", "json_extract"} \
            and len(node.args) == 2 and isinstance(node.args[1], ELit) \
            and isinstance(node.args[1].value, str) and node.args[1].value.endswith("{}"):
        return json_chain(_json_root(binder, node.args[0]), node.args[1].value[:-2], node.pos)
    return binder.expr(node)


def read_time_diff(binder: Any, node: ENode) -> Any:
    """`floor(e / N) - floor(s / N)` (N seconds a unit) as time_diff; else None."""
    if not (isinstance(node, EBin) and node.op == "-"):
        return None
    parts = [_floor_div(node.left), _floor_div(node.right)]
    if parts[0] is None or parts[1] is None or parts[0][1] != parts[1][1]:
        return None
    unit = next(u for u, n in UNIT_SECONDS.items() if n == parts[0][1])
    return Call(fn=Function.time_diff, args=[Literal_(value=unit), binder.expr(parts[0][0]),
                                             binder.expr(parts[1][0])])


def _floor_div(node: ENode) -> tuple[ENode, int] | None:
    if isinstance(node, ECall) and node.name == "floor" and len(node.args) == 1:
        inner = node.args[0]
        if isinstance(inner, EBin) and inner.op == "/" and isinstance(inner.right, ELit) \
                and inner.right.value in UNIT_SECONDS.values() and not inner.paren:
            return inner.left, inner.right.value  # type: ignore[return-value]
    return None


# ------------------------------------------------------------------ cidrmatch

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"


def cidr_regex(cidr: str) -> str | None:
    """`cidrmatch("a.b.c.d/n", f)` as the regex matching exactly the dotted-quad IPv4 texts
    in that range (each octet a number 0–255 without leading zeros; the partial octet as the
    alternatives of its values); None for anything but an IPv4 CIDR."""
    m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:/(\d{1,2}))?", cidr.strip())
    if m is None or any(int(o) > 255 for o in m.groups()[:4]):
        return None
    bits = int(m.group(5)) if m.group(5) is not None else 32
    if bits > 32:
        return None
    octets = [int(o) for o in m.groups()[:4]]
    parts = []
    for i, value in enumerate(octets):
        fixed = max(0, min(8, bits - 8 * i))  # leading bits of this octet the range fixes
        if fixed == 8:
            parts.append(str(value))
        elif fixed == 0:
            parts.append(_OCTET)
        else:
            size = 1 << (8 - fixed)
            low = value & ~(size - 1) & 0xFF
            parts.append("(?:" + "|".join(str(v) for v in range(low, low + size)) + ")")
    return "^" + "\\.".join(parts) + "$"
