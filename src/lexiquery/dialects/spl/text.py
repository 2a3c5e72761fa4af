"""SPL lexical pieces: field names as search/stats/table and as eval/where want them, quoted
values, PCRE escaping, time modifiers and bin spans."""

from __future__ import annotations

import re

from lexiquery.dialects.base import as_utc, format_number
from lexiquery.ir import AbsoluteTime, RelativeTime, TimeUnit

_SEARCH_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")
_EVAL_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNIT = {TimeUnit.second: "s", TimeUnit.minute: "m", TimeUnit.hour: "h", TimeUnit.day: "d"}
_REGEX_SPECIAL = set("\\^$.|?*+()[]{}")
_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def plain_search_field(col: str) -> bool:
    """A name the base search takes bare (dots, colons and dashes included)."""
    return bool(_SEARCH_FIELD.match(col))


def quote(s: str) -> str:
    """A double-quoted string, for the base search and for eval/where alike."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_field(col: str) -> str:
    """Field name in search, stats, sort and table: bare when plain, else double-quoted."""
    return col if _SEARCH_FIELD.match(col) else quote(col)


def eval_field(col: str) -> str:
    """Field name inside eval/where: dots, dashes and spaces need single quotes there."""
    return col if _EVAL_FIELD.match(col) else "'" + col.replace("'", "\\'") + "'"


def value(v: object) -> str:
    if isinstance(v, bool):
        return '"true"' if v else '"false"'
    if isinstance(v, (int, float)):
        return format_number(v)
    return quote(str(v))


def regex_escape(s: str) -> str:
    """Escape PCRE metacharacters only, so the pattern stays readable; control characters
    become `\\n`, `\\r`, `\\t`, so the query stays on one line."""
    return "".join("\\" + ch if ch in _REGEX_SPECIAL else _CONTROL.get(ch, ch) for ch in s)


def has_control(v: object) -> bool:
    return isinstance(v, str) and any(ch in _CONTROL for ch in v)


def span(amount: int, unit: TimeUnit) -> str:
    return f"{amount * 7}d" if unit is TimeUnit.week else f"{amount}{_UNIT[unit]}"


def time_modifier(p: RelativeTime | AbsoluteTime) -> str:
    """`earliest`/`latest` value: epoch seconds for an instant, else a relative modifier."""
    if isinstance(p, AbsoluteTime):
        return format_number(as_utc(p.at).timestamp())
    unit = "w" if p.unit is TimeUnit.week else _UNIT[p.unit]
    rel = "" if p.amount == 0 else f"-{p.amount}{unit}"
    if p.snap == "day":
        return f"{rel}@d"
    return rel or "now"


def single_term(text: str) -> bool:
    """No whitespace outside double quotes: `NOT` can precede it without parentheses."""
    inside, i = False, 0
    while i < len(text):
        ch = text[i]
        if inside and ch == "\\":
            i += 2
            continue
        if ch == '"':
            inside = not inside
        elif ch.isspace() and not inside:
            return False
        i += 1
    return not text.startswith("(")


def epoch(modifier: str) -> str:
    """A time modifier as an eval expression (for `| where _time>=…`)."""
    if modifier == "now":
        return "now()"
    return modifier if modifier[0].isdigit() else f'relative_time(now(), "{modifier}")'
