"""KQL text → tokens, each with its character offset, so every later error can point at it.

What the lexer settles so the parser need not: comments (`//` to the end of the line), the
string forms exactly as Kusto reads them (`kql.lex_strings`: escaped, verbatim `@"…"`,
multi-line ```` ```…``` ```` / `~~~…~~~`, obfuscated `h"…"`; adjacent literals joined),
timespans (`30s`, `5m`, `1.5h`, `7d`, `1ms`, `2days`), hyphenated operator names
(`project-away`, `mv-expand`…) and the negated and case-folding operator words (`!in~`,
`!has`, `!startswith_cs`…), which are one token each.

Bounded work: brackets (`(`, `[`, `{`) may nest at most `limits.MAX_NESTING` levels, checked on
the tokens (so brackets inside strings never count) before the recursive-descent parser sees
them, and again after `let` values are substituted; the substitution itself may not grow the
statement past `MAX_EXPANDED_TOKENS` (`let a1 = a0 + a0; let a2 = a1 + a1; …` doubles it per
line).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from lexiquery.dialects.kql.lex_strings import string_at
from lexiquery.dialects.parsing import check_nesting, syntax_error

TokenKind = Literal["ident", "string", "number", "timespan", "op", "eof"]

# Operator words that take a `!` in front (`!has`, `!in~`): one token, so the parser sees the
# operator, not a negation of a name.
NEGATABLE = frozenset({"in", "has", "has_cs", "contains", "contains_cs", "startswith",
                       "startswith_cs", "endswith", "endswith_cs", "between", "hasprefix",
                       "hasprefix_cs", "hassuffix", "hassuffix_cs", "has_any", "has_all"})
# Tabular operators whose name contains a hyphen (otherwise `a-b` is a subtraction).
HYPHENATED = frozenset({"project-away", "project-rename", "project-keep", "project-reorder",
                        "mv-expand", "mv-apply", "make-series", "parse-where", "parse-kv",
                        "top-nested", "top-hitters", "sample-distinct", "set-or-append",
                        "set-or-replace"})
# Timespan suffixes → seconds (KQL also accepts the long spellings).
SPAN_UNITS: dict[str, float] = {
    "d": 86400, "day": 86400, "days": 86400, "h": 3600, "hr": 3600, "hrs": 3600,
    "hour": 3600, "hours": 3600, "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "s": 1, "sec": 1, "second": 1, "seconds": 1, "ms": 0.001, "milli": 0.001,
    "millis": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "microsecond": 1e-6, "microseconds": 1e-6, "tick": 1e-7, "ticks": 1e-7,
}
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_]*")  # $left/$right in join conditions
_HEX = re.compile(r"0[xX][0-9A-Fa-f]+")
# Longest first, so `<=` is not read as `<` then `=`.
_PUNCT = ("!in~", "..", "==", "!=", "=~", "!~", "<=", ">=", "<>", "&&", "||", "|", "(", ")",
          "[", "]", "{", "}", ",", ";", ".", "=", "<", ">", "+", "-", "*", "/", "%", ":", "!",
          "~", "@", "?")
# Literal calls whose argument is raw text up to the closing parenthesis.
_RAW_CALLS = frozenset({"datetime", "guid"})
_RAW_ARG = re.compile(r"\s*(\()([^()\n]*)\)")
# Substituting `let` values may add at most this many tokens to the query, all uses together.
MAX_EXPANDED_TOKENS = 50_000


@dataclass(frozen=True)
class Token:
    """`value` is the decoded value: text for idents/ops/strings, a number, or seconds for a
    timespan. `end` is the offset just past the token (for spans in messages)."""

    kind: TokenKind
    value: object
    offset: int
    end: int
    text: str

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and str(self.value).lower() in words


def tokenize(text: str) -> list[Token]:
    """Every token of `text`, ending with an ``eof`` token at the end of the text."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if text.startswith("//", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        start = i
        if ch in "hH@\"'`~":
            lit = string_at(text, i)
            if lit is not None:
                value, i = lit
                if out and out[-1].kind == "string":
                    prev = out.pop()  # "a" 'b': adjacent literals are one string
                    start, value = prev.offset, str(prev.value) + value
                out.append(Token("string", value, start, i, text[start:i]))
                continue
        if ch.isdigit():
            out.append(_number(text, i))
            i = out[-1].end
            continue
        m = _WORD.match(text, i)
        if m:
            word, i = m.group(), m.end()
            raw = _RAW_ARG.match(text, i)
            if word.lower() in _RAW_CALLS and raw:
                # `datetime(2024-03-01T10:00:00Z)`: the argument is not made of KQL tokens.
                out.append(Token("ident", word, start, i, word))
                out.append(Token("op", "(", raw.start(1), raw.start(1) + 1, "("))
                inner = raw.group(2).strip()
                if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "\"'":
                    inner = inner[1:-1]
                out.append(Token("string", inner, raw.start(2), raw.end(2), raw.group(2)))
                out.append(Token("op", ")", raw.end(2), raw.end(), ")"))
                i = raw.end()
                continue
            # Hyphenated operator names: `project-away` but not `x-y`.
            m2 = re.match(r"-[A-Za-z]+(?:-[A-Za-z]+)?", text[i:])
            if m2 and (word + m2.group()).lower() in HYPHENATED:
                word, i = word + m2.group(), i + m2.end()
            elif word.lower() == "in" and text.startswith("~", i):
                out.append(Token("op", "in~", start, i + 1, "in~"))
                i += 1
                continue
            out.append(Token("ident", word, start, i, word))
            continue
        if ch == "!":
            m = _WORD.match(text, i + 1)
            if m and m.group().lower() in NEGATABLE:
                end = m.end() + (1 if m.group().lower() == "in" and text.startswith("~", m.end())
                                 else 0)
                word = text[i:end].lower()
                out.append(Token("op", word, start, end, text[start:end]))
                i = end
                continue
        for p in _PUNCT:
            if text.startswith(p, i):
                out.append(Token("op", p, start, i + len(p), p))
                i += len(p)
                break
        else:
            raise syntax_error(text, i, f"unexpected character {ch!r}")
    out.append(Token("eof", "", n, n, ""))
    return out


def _number(text: str, i: int) -> Token:
    m = _HEX.match(text, i)
    if m:
        return Token("number", int(m.group(), 16), i, m.end(), m.group())
    m = _NUMBER.match(text, i)
    assert m is not None
    raw, end = m.group(), m.end()
    w = _WORD.match(text, end)
    if w:
        unit = w.group().lower()
        if unit not in SPAN_UNITS:
            raise syntax_error(text, i, f"'{raw}{w.group()}' is not a number or a timespan",
                               expected="a number, or a timespan such as 30s, 5m, 1h, 7d, 1ms")
        seconds = float(raw) * SPAN_UNITS[unit]
        if not math.isfinite(seconds):
            raise syntax_error(text, i, f"the timespan '{raw}{w.group()}' is too large",
                               expected="a timespan such as 30d")
        return Token("timespan", seconds, i, w.end(), text[i:w.end()])
    value: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
    if not math.isfinite(value):
        raise syntax_error(text, i, f"the number '{raw}' is too large", expected="a number")
    return Token("number", value, i, end, raw)


# ---------------------------------------------------------------------- statements


@dataclass
class MainStatement:
    """The tabular statement to read, with `let` values substituted. `opaque` names the lets
    that could not be substituted (functions, materialized tables) → where defined; `extra`
    holds the offsets of further tabular statements (only the first is read)."""

    tokens: list[Token]
    opaque: dict[str, int]
    extra: list[int]


_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


def check_depth(text: str, tokens: list[Token]) -> None:
    """Brackets nested deeper than `limits.MAX_NESTING` are a ``syntax`` error at the bracket
    that went too deep: the parser is recursive descent, and this keeps it far from Python's
    recursion limit whatever the input."""
    check_nesting(text, ((t.offset, 1 if t.value in _OPEN else -1) for t in tokens
                         if t.kind == "op" and (t.value in _OPEN or t.value in _CLOSE)))


def check_balance(text: str, tokens: list[Token]) -> None:
    """Unbalanced brackets are reported where they are, before parsing makes a guess."""
    stack: list[Token] = []
    for t in tokens:
        if t.kind != "op":
            continue
        if t.value in _OPEN:
            stack.append(t)
        elif t.value in _CLOSE:
            if not stack:
                raise syntax_error(text, t.offset, f"'{t.value}' closes nothing",
                                   hint="remove it, or add the matching "
                                        f"'{_CLOSE[str(t.value)]}' before it")
            top = stack.pop()
            if _OPEN[str(top.value)] != t.value:
                raise syntax_error(text, top.offset, f"'{top.value}' is closed by '{t.value}'",
                                   expected=f"'{_OPEN[str(top.value)]}'")
    if stack:
        top = stack[-1]
        raise syntax_error(text, top.offset, f"this '{top.value}' is never closed",
                           expected=f"'{_OPEN[str(top.value)]}'",
                           hint="parentheses must be balanced")


def _statements(tokens: list[Token]) -> list[list[Token]]:
    out: list[list[Token]] = [[]]
    depth = 0
    for t in tokens[:-1]:
        if t.is_op("(", "[", "{"):
            depth += 1
        elif t.is_op(")", "]", "}"):
            depth -= 1
        if t.is_op(";") and depth == 0:
            out.append([])
        else:
            out[-1].append(t)
    return [s for s in out if s]


def _has_top_pipe(body: list[Token]) -> bool:
    depth = 0
    for t in body:
        depth += t.is_op("(", "[", "{") - t.is_op(")", "]", "}")
        if t.is_op("|") and depth == 0:
            return True
    return False


def _substitute(text: str, tokens: list[Token], lets: dict[str, list[Token]],
                room: int) -> list[Token]:
    """`tokens` with the `lets` substituted; growing by more than `room` tokens is a
    ``syntax`` error."""
    out: list[Token] = []
    for k, t in enumerate(tokens):
        body = lets.get(str(t.value)) if t.kind == "ident" else None
        if body is None or (k and tokens[k - 1].is_op(".")):
            out.append(t)
            continue
        if len(out) + len(body) + 1 - k > room:
            raise syntax_error(text, t.offset, f"the let statements grow the query by more than "
                               f"{MAX_EXPANDED_TOKENS:,} tokens where they are used",
                               hint="a let used many times in other lets multiplies its size; "
                                    "simplify the lets")
        inside = k > 0 and not tokens[k - 1].is_word("union") and not tokens[k - 1].is_op(",")
        if len(body) == 1 or _has_top_pipe(body) and not inside:
            out.extend(body)  # a table, a leading pipeline or a single value stands as it is
        else:  # an expression keeps its meaning inside any other: `x * (1 + 2)`; a pipeline
            # used inside a query (`join kind=inner T on …`) is a parenthesised subquery
            out.append(Token("op", "(", t.offset, t.offset, "("))
            out.extend(body)
            out.append(Token("op", ")", t.end, t.end, ")"))
    return out


def main_statement(text: str, tokens: list[Token]) -> MainStatement:
    """Check the whole text, then return the tabular statement to read (see `MainStatement`).
    The read-only guard runs before this (`kql.parse.parse_kql`)."""
    check_depth(text, tokens)
    check_balance(text, tokens)
    lets: dict[str, list[Token]] = {}
    opaque: dict[str, int] = {}
    main: list[Token] | None = None
    extra: list[int] = []
    room = MAX_EXPANDED_TOKENS  # tokens the substitutions may add, all statements together
    for stmt in _statements(tokens):
        head = stmt[0]
        if head.is_word("let"):
            if len(stmt) < 4 or stmt[1].kind != "ident" or not stmt[2].is_op("="):
                bad = stmt[min(len(stmt) - 1, 2 if len(stmt) > 2 and stmt[1].kind == "ident"
                              else 1)]
                raise syntax_error(text, bad.offset if len(stmt) > 1 else head.end,
                                   "a let statement is let name = value;",
                                   expected="let name = value;")
            name, body = str(stmt[1].value), _substitute(text, stmt[3:], lets, room)
            room -= len(body) - len(stmt) + 3
            if any(b.is_op("{") for b in body) or body[0].is_word("materialize", "view"):
                opaque[name] = stmt[1].offset
                lets.pop(name, None)
            else:
                lets[name] = body
                opaque.pop(name, None)
            continue
        if head.is_word("set", "declare", "alias", "restrict"):
            continue  # request options and parameter declarations do not change the query
        if main is None:
            main = _substitute(text, stmt, lets, room)
            check_depth(text, main)  # a let's value is wrapped in brackets where it is used
        else:
            extra.append(head.offset)
    if main is None:
        raise syntax_error(text, len(text), "there is no query after the let statements"
                           if lets or opaque else "the query is empty",
                           expected="a table name, e.g. SigninLogs")
    return MainStatement(main + [tokens[-1]], opaque, extra)


_SPAN_TO_UNIT = {"d": "day", "day": "day", "days": "day", "h": "hour", "hr": "hour",
                 "hrs": "hour", "hour": "hour", "hours": "hour", "m": "minute", "min": "minute",
                 "minute": "minute", "minutes": "minute", "s": "second", "sec": "second",
                 "second": "second", "seconds": "second"}
_UNIT_SECONDS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def to_amount_unit(seconds: float, written: str) -> tuple[int, str] | None:
    """A timespan as (amount, IR unit name): in the unit it was written in when that is exact
    (`24h` stays 24 hours), else the largest unit that divides it; None below a second."""
    m = re.match(r"(\d+(?:\.\d+)?)([A-Za-z]+)$", written.lstrip("-"))
    if m and m.group(2).lower() in _SPAN_TO_UNIT and float(m.group(1)).is_integer():
        whole_amount = m.group(1).split(".")[0]  # exact, however many digits
        return int(whole_amount), _SPAN_TO_UNIT[m.group(2).lower()]
    whole = round(seconds)
    if abs(seconds - whole) > 1e-9 or whole <= 0:
        return None
    for unit, size in _UNIT_SECONDS:
        if whole % size == 0:
            return whole // size, unit
    return None
