"""SPL search macros expanded from the catalog's declarations, before the guard and the parser.

    expand_macros(text, catalog.spl_macros()) → the search with every declared macro expanded

A macro (`` `name` `` or `` `name(a, b)` ``) is text Splunk pastes into the search before it
reads it; its definition lives on the Splunk server, so a query that calls one is unknown code:
`` `evil_macro` `` may well be `| delete`. The read-only guard refuses any macro
(`dialects.guard.check_spl`); the catalog may declare a macro's definition
(`catalog.model.SplBinding.macros`), and then it is expanded here, textually and the way Splunk
does it, so the guard and the parser see what Splunk would run:

* `` `name(a, b)` `` calls the macro declared as ``name(2)``; its definition's ``$arg$`` are
  replaced by the values, in the order of the declaration's `args` (commas inside double quotes
  or parentheses do not split values; values are pasted as written);
* a macro's definition may call other macros: expansion repeats, at most `MAX_MACRO_DEPTH`
  rounds (a macro that calls itself is refused as ``read_only``, never expanded forever), and
  the text may not grow past `MAX_EXPANDED_CHARS`;
* an undeclared macro (or one called with another number of values) is left as written, for
  the guard to refuse; ```comments``` and "quoted values" are never expanded (Splunk's
  manual: "Macros inside of quoted values are not expanded").
"""

from __future__ import annotations

import re
from typing import Mapping

from lexiquery.catalog.model import SplMacro
from lexiquery.dialects.parsing import syntax_error
from lexiquery.dialects.spl.lex import blank_comments, blank_quoted

__all__ = ["MAX_EXPANDED_CHARS", "MAX_MACRO_DEPTH", "expand_macros"]

MAX_MACRO_DEPTH = 5
MAX_EXPANDED_CHARS = 200_000
_CALL = re.compile(r"`([^`]*)`")
_BODY = re.compile(r"\s*([A-Za-z0-9_.:-]+)\s*(?:\((.*)\))?\s*", re.DOTALL)


def expand_macros(text: str, macros: Mapping[str, SplMacro]) -> str:
    """`text` with every declared macro call replaced by its expansion (see the module
    docstring). Raises a ``read_only`` `QueryError` for macros nested deeper than
    `MAX_MACRO_DEPTH` or an expansion longer than `MAX_EXPANDED_CHARS`."""
    if not macros or "`" not in text:
        return text
    original = text
    for _round in range(MAX_MACRO_DEPTH + 1):
        clean = blank_quoted(blank_comments(text))  # no expansion inside quoted values
        parts: list[str] = []
        last = 0
        for m in _CALL.finditer(clean):
            expansion = _expand(text[m.start(1):m.end(1)], macros)  # args as written
            if expansion is None:
                continue
            parts += [text[last:m.start()], expansion]
            last = m.end()
        if not parts:
            return text
        if _round == MAX_MACRO_DEPTH:
            raise syntax_error(original, original.find("`"), f"macros call macros more than "
                               f"{MAX_MACRO_DEPTH} levels deep (does one call itself?)",
                               code="read_only", hint="expand the macros by hand")
        text = "".join(parts) + text[last:]
        if len(text) > MAX_EXPANDED_CHARS:
            raise syntax_error(original, original.find("`"), f"the macros expand to more than "
                               f"{MAX_EXPANDED_CHARS:,} characters", code="read_only",
                               hint="check the macro definitions in the catalog")
    return text  # not reached: the last round returns or raises


def _expand(body: str, macros: Mapping[str, SplMacro]) -> str | None:
    """The expansion of one call (`body` is the text between the backticks), or None when no
    macro of that name and number of values is declared."""
    m = _BODY.fullmatch(body)
    if m is None:
        return None
    name, raw_args = m.group(1), m.group(2)
    values = _split_args(raw_args) if raw_args is not None and raw_args.strip() else []
    macro = macros.get(f"{name}({len(values)})" if values else name)
    if macro is None:
        return None
    expansion = macro.definition
    for arg, value in zip(macro.args, values):
        expansion = expansion.replace(f"${arg}$", value)
    return expansion


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
