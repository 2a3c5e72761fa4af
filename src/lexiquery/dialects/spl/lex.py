"""SPL lexical layer: the pipeline split into commands, and tokens with offsets.

SPL has two token languages that share one text:

* the *search* language (the base search, `| search`, tstats `where`, and the arguments of
  commands such as `stats`, `sort`, `table`): terms are separated by white space, a bare word
  may hold `*`, `.`, `:`, `-`, `/`, `\\` (`file_path=C:\\*`, `earliest=-7d@d`), and only `(`,
  `)`, `,`, the comparison signs and double quotes end a word;
* the *eval* language (`| where`, `| eval`, `| fieldformat`): identifiers, numbers, `"strings"`,
  `'field names'` and arithmetic/concatenation operators.

So the scanner is lazy: the parser asks for the next token *in a mode* at the current offset.
Every token carries its start and end offsets into the whole query text, so every error and
issue can point at a line and column.

`split_commands` cuts the text at the pipes that are outside quotes, subsearch brackets and
macros; Splunk's comments (```` ```…``` ````) are blanked first, keeping offsets.

`check_depth` refuses parentheses and subsearch brackets nested deeper than
`limits.MAX_NESTING` (the cap SQL and KQL share) before any recursive parser runs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterator

from lexiquery.dialects.parsing import check_nesting, syntax_error

SEARCH = "search"
EVAL = "eval"

_CMP_OPS = ("==", "!=", "<=", ">=", "=", "<", ">")
_EVAL_OPS = ("==", "!=", "<=", ">=", "=", "<", ">", "(", ")", ",", "+", "-", "*", "/", "%", ".")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_COMMENT = re.compile(r"```.*?```", re.DOTALL)


@dataclass(frozen=True)
class Tok:
    """One token. `value` is the unescaped string for ``str``/``qfield``, the number for
    ``num``, the text otherwise. ``subsearch`` and ``macro`` tokens span the whole construct."""

    kind: str  # word | str | qfield | num | op | subsearch | macro | eof
    text: str
    value: Any
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        """A bare keyword, compared case-sensitively (SPL's AND/OR/NOT must be upper case)."""
        return self.kind == "word" and self.text in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.text in ops


@dataclass(frozen=True)
class Segment:
    """One command of the pipeline: `text[start:end]`; `pipe` is the offset of its `|`
    (-1 for the base search)."""

    start: int
    end: int
    pipe: int


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*(?:"|$)', re.DOTALL)


def blank_comments(text: str) -> str:
    """The text with ```comments``` replaced by spaces (offsets are kept)."""
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def blank_quoted(text: str) -> str:
    """The text with the inside of every "quoted string" replaced by spaces (offsets are kept;
    an unclosed string runs to the end). Splunk does not expand `macros` inside quoted values,
    so macro finders look at this text."""
    return _QUOTED.sub(lambda m: '"' + " " * (len(m.group(0)) - 2) + '"'
                       if m.group(0).endswith('"') and len(m.group(0)) > 1
                       else " " * len(m.group(0)), text)


def _skip_quoted(text: str, i: int, quote: str, full: str) -> int:
    """Offset just past the string starting at `i`; an unclosed string is a syntax error
    pointing at its opening quote."""
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == quote:
            return j + 1
        j += 1
    raise syntax_error(full, i, "this quoted string is never closed",
                       expected=f"a closing {quote}",
                       hint=f"add the missing {quote} (a \\{quote} inside the string does not "
                            "close it)")


def _unquoted(text: str) -> Iterator[tuple[int, str]]:
    """(offset, character) of every character outside "strings" and `macros`; an unclosed
    string or macro is a syntax error where it opens."""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = _skip_quoted(text, i, '"', text)
        elif ch == "`":
            close = text.find("`", i + 1)
            if close < 0:
                raise syntax_error(text, i, "this macro is never closed", expected="a closing `",
                                   hint="macros are written `name` or `name(args)`")
            i = close + 1
        else:
            yield i, ch
            i += 1


def check_depth(text: str) -> None:
    """Parentheses and subsearch brackets nested deeper than `limits.MAX_NESTING` are a
    ``syntax`` error at the bracket that went too deep. `text` has its comments blanked."""
    check_nesting(text, ((i, 1 if ch in "([" else -1) for i, ch in _unquoted(text)
                         if ch in "()[]"))


def split_commands(text: str) -> list[Segment]:
    """The pipeline's commands. Pipes inside "strings", [subsearches] and `macros` do not
    split; an unclosed string or bracket is reported where it opens."""
    segments: list[Segment] = []
    start, pipe, depth = 0, -1, 0
    opened: list[int] = []
    for i, ch in _unquoted(text):
        if ch == "[":
            depth += 1
            opened.append(i)
        elif ch == "]":
            if depth == 0:
                raise syntax_error(text, i, "this ']' closes no subsearch",
                                   hint="remove it, or open the subsearch with '['")
            depth -= 1
            opened.pop()
        elif ch == "|" and depth == 0:
            segments.append(Segment(start, i, pipe))
            start, pipe = i + 1, i
    if depth:
        raise syntax_error(text, opened[-1], "this subsearch '[' is never closed",
                           expected="a closing ]", hint="add the missing ']'")
    segments.append(Segment(start, len(text), pipe))
    return segments


def unescape(body: str) -> str:
    """The value of a double-quoted SPL string: `\\\\` is a backslash and `\\"` a quote; any
    other backslash is kept as written (Splunk does the same: `"C:\\Windows"` is literal)."""
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in '\\"':
            out.append(body[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class Scanner:
    """Tokens of `text[start:end]` on demand, in the mode the parser is in."""

    def __init__(self, text: str, start: int = 0, end: int | None = None) -> None:
        self.text = text
        self.pos = start
        self.end = len(text) if end is None else end
        self._cache: dict[tuple[int, str], Tok] = {}

    def skip_space(self) -> None:
        while self.pos < self.end and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= self.end

    def peek(self, mode: str = SEARCH) -> Tok:
        self.skip_space()
        key = (self.pos, mode)
        if key not in self._cache:
            self._cache[key] = self._lex(mode)
        return self._cache[key]

    def next(self, mode: str = SEARCH) -> Tok:
        tok = self.peek(mode)
        assert tok.kind == "eof" or tok.end > self.pos, "the scanner must move forward"
        self.pos = tok.end
        return tok

    def adjacent(self, tok: Tok) -> bool:
        """Does the next character follow `tok` with no white space between?"""
        return tok.end < self.end and not self.text[tok.end].isspace()

    # ------------------------------------------------------------------ lexing

    def _lex(self, mode: str) -> Tok:
        text, i = self.text, self.pos
        if i >= self.end:
            return Tok("eof", "", None, self.end, self.end)
        ch = text[i]
        if ch == '"':
            j = _skip_quoted(text[:self.end], i, '"', text)
            return Tok("str", text[i:j], unescape(text[i + 1:j - 1]), i, j)
        if ch == "`":
            j = text.find("`", i + 1, self.end) + 1
            if j == 0:
                raise syntax_error(text, i, "this macro is never closed",
                                   expected="a closing `",
                                   hint="macros are written `name` or `name(args)`")
            return Tok("macro", text[i:j], text[i + 1:j - 1], i, j)
        if ch == "[":
            j = self._close_bracket(i)
            return Tok("subsearch", text[i:j], text[i + 1:j - 1], i, j)
        if mode == EVAL:
            return self._lex_eval(i)
        for op in ("(", ")", ","):
            if ch == op:
                return Tok("op", op, op, i, i + 1)
        for op in _CMP_OPS:
            if text.startswith(op, i):
                return Tok("op", op, op, i, i + len(op))
        j = i
        while j < self.end:
            c = text[j]
            if c.isspace() or c in '()",=<>`' or (c == "!" and text.startswith("!=", j)):
                break
            j += 1
        if j == i:  # a lone '!' or a stray character
            j = i + 1
        return Tok("word", text[i:j], text[i:j], i, j)

    def _lex_eval(self, i: int) -> Tok:
        text = self.text
        ch = text[i]
        if ch == "'":
            j = _skip_quoted(text[:self.end], i, "'", text)
            return Tok("qfield", text[i:j], text[i + 1:j - 1].replace("\\'", "'"), i, j)
        m = _NUMBER.match(text, i, self.end)
        if m and (ch != "." or m.end() > i + 1):
            raw = m.group(0)
            num: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            if not math.isfinite(num):
                raise syntax_error(text, i, f"the number '{raw}' is too large",
                                   expected="a number")
            return Tok("num", raw, num, i, m.end())
        m = _IDENT.match(text, i, self.end)
        if m:
            # A dotted name written without spaces (`status.errorCode`) is kept whole: the
            # binder decides whether it is a field or a concatenation of fields.
            j = m.end()
            while j + 1 < self.end and text[j] == "." and _IDENT.match(text, j + 1, self.end):
                j = _IDENT.match(text, j + 1, self.end).end()  # type: ignore[union-attr]
            return Tok("word", text[i:j], text[i:j], i, j)
        for op in _EVAL_OPS:
            if text.startswith(op, i):
                return Tok("op", op, op, i, i + len(op))
        return Tok("op", ch, ch, i, i + 1)  # unknown character: the parser reports it

    def _close_bracket(self, i: int) -> int:
        depth, j = 0, i
        while j < self.end:
            c = self.text[j]
            if c == '"':
                j = _skip_quoted(self.text[:self.end], j, '"', self.text)
                continue
            if c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        raise syntax_error(self.text, i, "this subsearch '[' is never closed",
                           expected="a closing ]", hint="add the missing ']'")
