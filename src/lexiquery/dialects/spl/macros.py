"""SPL search macros expanded from the catalog's declarations, before the guard and the parser.

    expand_search(text, catalog.spl_macros()) → Expansion (the text, what was expanded, notes)
    expand_macros(text, macros)               → the expanded text alone

A macro (`` `name` `` or `` `name(a, b)` ``) is text Splunk pastes into the search before it
reads it; its definition lives on the Splunk server, so a query that calls one is unknown code:
`` `evil_macro` `` may well be `| delete`. The read-only guard refuses any macro
(`dialects.guard.check_spl`); the catalog may declare a macro's definition
(`catalog.model.SplBinding.macros`, the built-in ESCU pack `catalog.escu_macros` with its
``*_filter`` pattern), and then it is expanded here, textually and the way Splunk does it, so
the guard and the parser see what Splunk would run:

* `` `name(a, b)` `` calls the macro declared as ``name(2)``; its definition's ``$arg$`` are
  replaced by the values, in the order of the declaration's `args` (commas inside double quotes
  or parentheses do not split values; values are pasted as written);
* a macro's definition may call other macros: they are expanded in turn, at most
  `MAX_MACRO_DEPTH` levels deep (a macro that calls itself is refused as ``read_only``, never
  expanded forever), and the text may not grow past `MAX_EXPANDED_CHARS`;
* an undeclared macro (or one called with another number of values) is left as written, for
  the guard to refuse; ```comments``` and "quoted values" are never expanded (Splunk's
  manual: "Macros inside of quoted values are not expanded").

What was expanded is never silent: `Expansion.notes()` says which call became which text (and
the macro's own note, e.g. that a `_filter` was read as ESCU's empty default), a macro only a
name pattern stood for is an ``info`` issue on the plan (`Expansion.caveats`), and
`Expansion.place` maps a position in the expanded text back onto the text the user wrote, so an
error inside an expansion points at the macro call and names it (`Expansion.relocate`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from lexiquery.catalog.macro_table import MacroTable, SplMacro
from lexiquery.dialects.parsing import line_col, syntax_error
from lexiquery.dialects.spl.lex import blank_comments, blank_quoted
from lexiquery.errors import QueryError
from lexiquery.ir import PlanIssue, Severity

__all__ = ["MAX_EXPANDED_CHARS", "MAX_MACRO_DEPTH", "Expanded", "Expansion", "expand_macros",
           "expand_search"]

MAX_MACRO_DEPTH = 5
MAX_EXPANDED_CHARS = 200_000
MAX_NOTE_CHARS = 160  # a long expansion is shown cut, with its length
_CALL = re.compile(r"`([^`]*)`")
_BODY = re.compile(r"\s*([A-Za-z0-9_.:-]+)\s*(?:\((.*)\))?\s*", re.DOTALL)
_WHERE = re.compile(r"^line \d+, column \d+: ")


@dataclass(frozen=True)
class Expanded:
    """One macro call of the user's text and what it became (nested macros expanded)."""

    call: str  # as written, with its backticks
    key: str  # the declaration it used: `name` or `name(N)`
    text: str  # the expansion
    note: str  # the macro's note ("" when it has none)
    start: int  # span of the call in the user's text
    end: int
    out_start: int  # span of the expansion in the expanded text
    out_end: int
    nested: tuple[tuple[str, str], ...] = ()  # (key, note) of macros its definition called
    by_pattern: bool = False  # no one declared it: a name pattern (`*_filter`) stood for it


@dataclass
class Expansion:
    """The user's search with its declared macros expanded, and the record of each call."""

    original: str
    text: str
    calls: list[Expanded] = field(default_factory=list)

    def notes(self) -> list[str]:
        """One line per distinct call: what it was expanded to, and the macro's note."""
        out: list[str] = []
        for c in self.calls:
            shown = c.text if len(c.text) <= MAX_NOTE_CHARS else (
                f"{c.text[:MAX_NOTE_CHARS]}… ({len(c.text):,} characters)")
            line = f"macro {c.call} expanded to `{shown}`"
            notes = [n for n in (c.note, *(n for _k, n in c.nested)) if n]
            if notes:
                line += " — " + "; ".join(dict.fromkeys(notes))
            if line not in out:
                out.append(line)
        return out

    def caveats(self) -> list[PlanIssue]:
        """An ``info`` issue per call that no one declared by name and a pattern stood for
        (ESCU's `*_filter` hooks): the reading assumed the default, which a site may have
        changed, and a translation should say so where it is shown."""
        out: list[PlanIssue] = []
        for c in self.calls:
            if c.by_pattern:
                line, col = line_col(self.original, c.start)
                out.append(PlanIssue(
                    code="macro_default", severity=Severity.info, line=line, column=col,
                    message=f"line {line}, column {col}: the macro {c.call} was read as "
                            f"`{_short(c.text)}`" + (f": {c.note}" if c.note else "")))
        return out

    def place(self, offset: int) -> tuple[int, Expanded | None]:
        """The offset in the user's text of `offset` in the expanded text, and the call whose
        expansion holds it (then the offset is the call's start)."""
        shift = 0
        for c in self.calls:
            if offset < c.out_start:
                break
            if offset < c.out_end:
                return c.start, c
            shift = c.out_end - c.end
        return max(0, offset - shift), None

    def relocate(self, line: int | None, column: int | None,
                 message: str) -> tuple[int | None, int | None, str]:
        """A (line, column, message) about the expanded text, told about the user's text: the
        position moved back, and an error inside an expansion names the call."""
        if line is None or column is None or not self.calls:
            return line, column, message
        offset = _offset(self.text, line, column)
        at, call = self.place(offset)
        new_line, new_col = line_col(self.original, at)
        body = _WHERE.sub("", message)
        if call is not None:
            body = f"in the expansion of the macro {call.call} (`{_short(call.text)}`): {body}"
        prefix = f"line {new_line}, column {new_col}: " if _WHERE.match(message) else ""
        return new_line, new_col, prefix + body

    def relocate_error(self, e: QueryError) -> QueryError:
        if e.line is None or not self.calls:
            return e
        line, col, message = self.relocate(e.line, e.column, e.message)
        out = QueryError(_WHERE.sub("", message), line=line, column=col, hint=e.hint,
                         code=e.code)
        out.expected = e.expected
        return out

    def relocate_issue(self, issue: PlanIssue) -> PlanIssue:
        if issue.line is None or not self.calls:
            return issue
        line, col, message = self.relocate(issue.line, issue.column, issue.message)
        return issue.model_copy(update={"line": line, "column": col, "message": message})


def expand_macros(text: str, macros: Mapping[str, SplMacro]) -> str:
    """`text` with every declared macro call replaced by its expansion (see the module
    docstring). Raises a ``read_only`` `QueryError` for macros nested deeper than
    `MAX_MACRO_DEPTH` or an expansion longer than `MAX_EXPANDED_CHARS`."""
    return expand_search(text, macros).text


def expand_search(text: str, macros: Mapping[str, SplMacro]) -> Expansion:
    """`text` expanded, with the record of every call it made (see `Expansion`)."""
    if "`" not in text:
        return Expansion(text, text)
    calls: list[Expanded] = []
    out = _expand(text, macros, 0, text, calls)
    return Expansion(text, out, calls)


def _expand(text: str, macros: Mapping[str, SplMacro], depth: int, original: str,
            calls: list[Expanded] | None, nested: list[tuple[str, str]] | None = None) -> str:
    """`text` with its calls expanded; `calls` collects the top-level ones (depth 0), `nested`
    the keys and notes of the macros deeper definitions called."""
    if "`" not in text:
        return text
    clean = blank_quoted(blank_comments(text))  # no expansion inside quoted values
    parts: list[str] = []
    size, last = 0, 0
    for m in _CALL.finditer(clean):
        hit = _lookup(text[m.start(1):m.end(1)], macros)  # args as written
        if hit is None:
            continue
        key, macro, body = hit
        if depth >= MAX_MACRO_DEPTH:
            raise syntax_error(original, original.find("`"), f"macros call macros more than "
                               f"{MAX_MACRO_DEPTH} levels deep (does one call itself?)",
                               code="read_only", hint="expand the macros by hand")
        inner: list[tuple[str, str]] = []
        body = _expand(body, macros, depth + 1, original, None, inner)
        if nested is not None:
            nested += [(key, macro.note), *inner]
        head = text[last:m.start()]
        parts += [head, body]
        size += len(head)
        if calls is not None:
            calls.append(Expanded(call=text[m.start():m.end()], key=key, text=body,
                                  note=macro.note, start=m.start(), end=m.end(),
                                  out_start=size, out_end=size + len(body),
                                  nested=tuple(inner),
                                  by_pattern=isinstance(macros, MacroTable)
                                  and not macros.declares(key)))
        size += len(body)
        last = m.end()
        if size > MAX_EXPANDED_CHARS:
            break
    out = "".join(parts) + text[last:]
    if len(out) > MAX_EXPANDED_CHARS:
        raise syntax_error(original, original.find("`"), f"the macros expand to more than "
                           f"{MAX_EXPANDED_CHARS:,} characters", code="read_only",
                           hint="check the macro definitions in the catalog")
    return out


def _lookup(body: str, macros: Mapping[str, SplMacro]) -> tuple[str, SplMacro, str] | None:
    """(declaration key, macro, definition with its arguments pasted) for one call (`body` is
    the text between the backticks), or None when no macro of that name and number of values
    is declared."""
    m = _BODY.fullmatch(body)
    if m is None:
        return None
    name, raw_args = m.group(1), m.group(2)
    values = _split_args(raw_args) if raw_args is not None and raw_args.strip() else []
    key = f"{name}({len(values)})" if values else name
    macro = macros.get(key)
    if macro is None:
        return None
    expansion = macro.definition
    for arg, value in zip(macro.args, values):
        expansion = expansion.replace(f"${arg}$", value)
    return key, macro, expansion


def _split_args(raw: str) -> list[str]:
    """Values of a call, split at the commas outside double quotes and parentheses."""
    values: list[str] = []
    depth, start, i, quoted = 0, 0, 0, False
    while i < len(raw):
        ch = raw[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            values.append(raw[start:i].strip())
            start = i + 1
        i += 1
    values.append(raw[start:].strip())
    return values


def _offset(text: str, line: int, column: int) -> int:
    """The offset of 1-based (line, column) in `text`."""
    start = 0
    for _ in range(max(0, line - 1)):
        nl = text.find("\n", start)
        if nl < 0:
            break
        start = nl + 1
    return min(len(text), start + max(0, column - 1))


def _short(text: str) -> str:
    return text if len(text) <= MAX_NOTE_CHARS else text[:MAX_NOTE_CHARS] + "…"
