"""KQL string literals, read exactly as Kusto reads them.

The read-only checks run on tokens, so a string must end where Kusto ends it: a lexer that reads
`\\"` as an escape inside a verbatim string would swallow the pipe after it, and a query such as
``@"x\\" | evaluate http_request("…") //"`` would look like one harmless string. The forms (see
Kusto's `string` data type and its lexical grammar):

* ``"…"`` and ``'…'``: backslash escapes ``\\\\ \\' \\" \\a \\b \\f \\n \\r \\t \\v``,
  ``\\xHH``, ``\\uHHHH``, ``\\UHHHHHHHH`` and octal ``\\O``, ``\\OO``, ``\\OOO``; any other
  backslash is an error; no line break inside;
* ``@"…"`` and ``@'…'`` (verbatim): a backslash stands for itself; a doubled quote is the only
  escape; no line break inside;
* ````` ```…``` ````` and ``~~~…~~~`` (multi-line): anything up to the next fence, line breaks
  included, no escapes at all;
* an ``h``/``H`` in front of any of these marks it obfuscated (hidden from logs): same value.

Adjacent literals separated only by white space or comments are one string (`"a" 'b'` is
``"ab"``); `kql_lex.tokenize` joins them. An unclosed literal is reported at its opening, where
the reader must look.
"""

from __future__ import annotations

from lexiquery.dialects.parsing import syntax_error

FENCES = ("```", "~~~")
_LINE_BREAKS = "\r\n"
_SIMPLE_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f",
                   "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_HEX = frozenset("0123456789abcdefABCDEF")
_OCTAL = frozenset("01234567")


def string_at(text: str, i: int) -> tuple[str, int] | None:
    """The string literal starting at offset `i` as (value, offset just past it), or None when
    no literal starts there (a lone ``h`` or ``@`` is a name or an operator). Raises a
    ``syntax`` `QueryError` for an unclosed literal or an unknown escape."""
    start, n = i, len(text)
    if text[i] in "hH":
        i += 1
    verbatim = i < n and text[i] == "@"
    if verbatim:
        i += 1
    if i >= n:
        return None
    for fence in FENCES:  # Kusto also accepts the prefixes on multi-line strings
        if text.startswith(fence, i):
            return _fenced(text, i, fence, start)
    if text[i] not in "\"'":
        return None
    if verbatim:
        return _verbatim(text, i, start)
    return _escaped(text, i, start)


def _fenced(text: str, i: int, fence: str, start: int) -> tuple[str, int]:
    close = text.find(fence, i + len(fence))
    if close < 0:
        raise syntax_error(text, start, "this multi-line string is never closed",
                           expected=f"a closing {fence}",
                           hint=f"end the string with {fence} (nothing inside it is an escape)")
    return text[i + len(fence):close], close + len(fence)


def _verbatim(text: str, i: int, start: int) -> tuple[str, int]:
    quote, i, parts = text[i], i + 1, []
    while i < len(text):
        ch = text[i]
        if ch == quote:
            if text.startswith(quote * 2, i):
                parts.append(quote)
                i += 2
                continue
            return "".join(parts), i + 1
        if ch in _LINE_BREAKS:
            break
        parts.append(ch)
        i += 1
    raise syntax_error(text, start, "this verbatim string is never closed",
                       expected=f"a closing {quote}",
                       hint=f"close the quote on the same line; inside @{quote}…{quote} a "
                            f"backslash is literal and a {quote} is written {quote}{quote}")


def _escaped(text: str, i: int, start: int) -> tuple[str, int]:
    quote, i, parts = text[i], i + 1, []
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(parts), i + 1
        if ch in _LINE_BREAKS:
            break
        if ch == "\\":
            value, i = _escape(text, i)
            parts.append(value)
            continue
        parts.append(ch)
        i += 1
    raise syntax_error(text, start, "this string is never closed", expected=f"a closing {quote}",
                       hint="close the quote on the same line (for text over several lines "
                            "use a ``` multi-line string)")


def _escape(text: str, i: int) -> tuple[str, int]:
    """The character the escape at `i` (a backslash) stands for, and the offset after it."""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if nxt in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[nxt], i + 2
    if nxt in _HEX_ESCAPES:
        size = _HEX_ESCAPES[nxt]
        digits = text[i + 2:i + 2 + size]
        if len(digits) == size and all(c in _HEX for c in digits) and int(digits, 16) <= 0x10FFFF:
            return chr(int(digits, 16)), i + 2 + size
        raise syntax_error(text, i, f"'\\{nxt}' needs {size} hexadecimal digits",
                           expected=f"\\{nxt}" + "H" * size)
    if nxt in _OCTAL:  # up to three digits, the third only when the value stays below 256
        size = 1
        while size < 3 and text[i + 1 + size:i + 2 + size] in _OCTAL and \
                (size < 2 or nxt <= "3"):
            size += 1
        return chr(int(text[i + 1:i + 1 + size], 8)), i + 1 + size
    shown = nxt or "the end of the text"
    raise syntax_error(text, i, f"unknown escape '\\{shown}' in a string",
                       hint='write \\\\ for a backslash, or use a verbatim string @"…" where '
                            "backslashes are literal")
