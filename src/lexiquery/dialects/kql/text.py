"""KQL lexical pieces: column references (bare, dynamic paths, `['quoted']`), string literals
(escaped, or `@"verbatim"` for regexes), datetimes, timespans and time points."""

from __future__ import annotations

import re
from datetime import datetime

from lexiquery.catalog.model import FieldType
from lexiquery.dialects.base import format_number, iso_seconds, plan_error
from lexiquery.ir import AbsoluteTime, RelativeTime, TimeUnit

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Words that cannot stand bare as column names (quoting one needlessly is harmless).
_KEYWORDS = frozenset({"and", "or", "not", "by", "on", "in", "has", "contains", "where", "let",
                       "project", "summarize", "extend", "count", "take", "limit", "top", "sort",
                       "order", "asc", "desc", "true", "false", "between", "with", "of", "as",
                       "to", "range", "print", "set", "title", "kind", "null", "dynamic"})
_SPAN = {TimeUnit.second: "s", TimeUnit.minute: "m", TimeUnit.hour: "h", TimeUnit.day: "d"}
# How a dynamic path becomes a scalar of the field's type.
TO_SCALAR = {FieldType.int: "toint", FieldType.long: "tolong", FieldType.real: "toreal",
              FieldType.bool: "tobool", FieldType.datetime: "todatetime",
              FieldType.timespan: "totimespan", FieldType.guid: "tostring",
              FieldType.string: "tostring"}


def _quote_name(name: str) -> str:
    return "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _plain(name: str) -> bool:
    return bool(_IDENT.match(name)) and name.lower() not in _KEYWORDS


def is_path(col: str) -> bool:
    """A dotted binding is a path into a dynamic column."""
    return "." in col and not col.startswith(".") and not col.endswith(".")


def ident(col: str) -> str:
    """A column reference: bare, a dotted dynamic path, or `['quoted name']`."""
    if not is_path(col):
        return col if _plain(col) else _quote_name(col)
    head, *rest = col.split(".")
    out = head if _plain(head) else _quote_name(head)
    return out + "".join(f".{p}" if _IDENT.match(p) else f"[{string(p)}]" for p in rest)


def scalar_ref(col: str, ftype: FieldType | None) -> str:
    """A column usable where KQL needs a scalar: a dynamic path is converted to its type."""
    if is_path(col):
        return f"{TO_SCALAR.get(ftype or FieldType.string, 'tostring')}({ident(col)})"
    return ident(col)


def output_name(logical: str, col: str) -> str:
    """A group key's output column: the column itself, or the logical name for a path."""
    return logical if is_path(col) else col


def string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\r", "\\r").replace("\t", "\\t") + '"'


def re2_lacks(pattern: str) -> str | None:
    """What of `pattern` RE2 — Kusto's regex engine — cannot run (lookaround, a
    backreference), or None. Kusto accepts such a query and fails when it runs."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            if pattern[i + 1] in "123456789":
                return f"the backreference \\{pattern[i + 1]}"
            i += 2
            continue
        for opener, what in (("(?=", "lookahead"), ("(?!", "negative lookahead"),
                             ("(?<=", "lookbehind"), ("(?<!", "negative lookbehind")):
            if pattern.startswith(opener, i):
                return f"the {what} {opener}…)"
        i += 1
    return None


def re2_pattern(pattern: str) -> str:
    """`pattern`, or `PlanError` (``unsupported``) naming what RE2 cannot run."""
    lacks = re2_lacks(pattern)
    if lacks is not None:
        raise plan_error("unsupported", f"{lacks} in the regular expression {pattern!r} "
                         f"(Kusto's RE2 engine has no lookaround or backreferences)")
    return pattern


def verbatim(s: str) -> str:
    """`@"..."`: backslashes are literal, which keeps regexes readable; `"` doubles."""
    if "\n" in s or "\r" in s:
        return string(s)  # a verbatim string cannot span lines
    return '@"' + s.replace('"', '""') + '"'


def datetime_literal(at: datetime) -> str:
    return f"datetime({iso_seconds(at)}Z)"


def literal(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return format_number(v)
    if v is None:
        return "dynamic(null)"
    return string(str(v))


def expr_literal(v: object) -> str:
    """A literal inside an expression: an integral real keeps its point (`5.0`), because KQL
    types a literal by how it is written and `5 / StatusCode` would divide as integers.
    (Filter values keep `literal`: a comparison does not depend on the literal's type.)"""
    if isinstance(v, float) and v.is_integer():
        return f"{int(v)}.0"
    return literal(v)


def timespan(amount: int, unit: TimeUnit) -> str:
    if unit is TimeUnit.week:  # KQL has no week timespan unit
        return f"{amount * 7}d"
    return f"{amount}{_SPAN[unit]}"


def time_point(p: RelativeTime | AbsoluteTime) -> str:
    if isinstance(p, AbsoluteTime):
        return datetime_literal(p.at)
    inner = "now()" if p.amount == 0 else f"ago({timespan(p.amount, p.unit)})"
    return f"startofday({inner})" if p.snap == "day" else inner
