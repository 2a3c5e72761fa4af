"""SPL's search language read into a small syntax tree (no catalog yet).

*Search* (base search, `| search`, the `where` of `| tstats`): terms joined by implicit AND,
`AND`, `OR` and `NOT`, with Splunk's precedence — `NOT` binds tightest, then `OR`, then AND
(`a b OR c` is `a AND (b OR c)`). A term is `field op value`, `field IN (…)`, or a bare word
or phrase (which searches the raw event). The eval language (`| where`, `| eval`) is
`spl.eval`'s.

Binding names onto the catalog is `spl.bind`'s job; these trees keep the SPL names and the
offsets of everything, so later errors point at the right place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from lexiquery.dialects.parsing import syntax_error
from lexiquery.dialects.spl.lex import SEARCH, Scanner, Tok

# ------------------------------------------------------------------ search trees


@dataclass
class SValue:
    text: str
    quoted: bool
    pos: int


@dataclass
class STerm:
    """`field op value`; `field IN (values)` has op ``in``; a bare word has field None and
    op ``bare``."""

    field: str | None
    op: str
    value: SValue | list[SValue]
    pos: int
    end: int


@dataclass
class SOpaque:
    """A subsearch, a macro or `TERM()`/`CASE()`: kept only to be reported."""

    what: str
    text: str
    pos: int


@dataclass
class SGroup:
    kind: str  # "and" | "or"
    items: list["SNode"]
    pos: int


@dataclass
class SNot:
    item: "SNode"
    pos: int


SNode = Union[STerm, SOpaque, SGroup, SNot]


def is_subsearch(node: SNode) -> bool:
    """A `[ … ]` (or `NOT [ … ]`) search term."""
    if isinstance(node, SNot):
        node = node.item
    return isinstance(node, SOpaque) and node.what == "subsearch"
_KEYWORDS = ("AND", "OR", "NOT")
# Deeper nesting than any real search is refused, well before Python's recursion limit (a
# search level costs about four frames of the descent; `spl.eval` has its own limit).
MAX_DEPTH = 100


def too_deep(text: str, pos: int, limit: int = MAX_DEPTH) -> Exception:
    """The error for nesting deeper than `limit`; `spl.eval` raises it too, with its own limit."""
    return syntax_error(text, pos, "the search nests parentheses, NOT or calls too deeply",
                        hint=f"at most {limit} levels")


class SearchParser:
    """Reads search terms from a scanner until its end or a word in `stop` (e.g. ``by``)."""

    def __init__(self, sc: Scanner, stop: tuple[str, ...] = ()) -> None:
        self.sc = sc
        self.stop = stop

    def _done(self, tok: Tok) -> bool:
        return tok.kind == "eof" or (tok.kind == "word" and tok.text.lower() in self.stop)

    def parse(self) -> list[SNode]:
        """The top-level AND terms (possibly none)."""
        items = self._and_items(depth=0)
        tok = self.sc.peek()
        if tok.is_op(")"):
            raise syntax_error(self.sc.text, tok.start, "this ')' closes no '('",
                               hint="remove it, or add the matching '('")
        return items

    def _and_items(self, depth: int) -> list[SNode]:
        items: list[SNode] = []
        while True:
            tok = self.sc.peek()
            if self._done(tok) or tok.is_op(")"):
                return items
            if tok.is_word("AND"):
                self.sc.next()
                if not items:
                    raise syntax_error(self.sc.text, tok.start, "AND needs a term before it",
                                       expected="a search term")
                nxt = self.sc.peek()
                if self._done(nxt) or nxt.is_op(")"):
                    raise syntax_error(self.sc.text, nxt.start, "AND needs a term after it",
                                       expected="a search term")
                continue
            items.append(self._or(depth))

    def _or(self, depth: int) -> SNode:
        first = self._not(depth)
        items = [first]
        while self.sc.peek().is_word("OR"):
            self.sc.next()
            nxt = self.sc.peek()
            if self._done(nxt) or nxt.is_op(")") or nxt.is_word("AND", "OR"):
                raise syntax_error(self.sc.text, nxt.start, "OR needs a term after it",
                                   expected="a search term")
            items.append(self._not(depth))
        return items[0] if len(items) == 1 else SGroup("or", items, _pos(first))

    def _not(self, depth: int) -> SNode:
        tok = self.sc.peek()
        if depth > MAX_DEPTH:
            raise too_deep(self.sc.text, tok.start)
        if tok.is_word("NOT"):
            self.sc.next()
            nxt = self.sc.peek()
            if self._done(nxt) or nxt.is_op(")"):
                raise syntax_error(self.sc.text, nxt.start, "NOT needs a term after it",
                                   expected="a search term")
            return SNot(self._not(depth + 1), tok.start)
        return self._primary(depth)

    def _primary(self, depth: int) -> SNode:
        sc = self.sc
        tok = sc.next()
        if tok.is_op("("):
            items = self._and_items(depth + 1)
            close = sc.peek()
            if not close.is_op(")"):
                raise syntax_error(sc.text, tok.start, "this '(' is never closed",
                                   expected="')'", hint="add the matching ')'")
            sc.next()
            if not items:
                raise syntax_error(sc.text, tok.start, "empty parentheses",
                                   expected="a search term inside ( )")
            return items[0] if len(items) == 1 else SGroup("and", items, tok.start)
        if tok.kind in {"subsearch", "macro"}:
            return SOpaque(tok.kind, tok.text, tok.start)
        if tok.kind == "op":
            if tok.text == ",":
                raise syntax_error(sc.text, tok.start, "unexpected ',' in the search",
                                   hint="search terms are separated by spaces; lists are "
                                        "written field IN (a, b)")
            raise syntax_error(sc.text, tok.start, f"'{tok.text}' needs a field name before it",
                               expected="field=value")
        if tok.kind == "word" and tok.text.upper() in {"TERM", "CASE"} and sc.adjacent(tok) \
                and sc.peek().is_op("("):
            self._skip_call(tok)
            return SOpaque(tok.text.upper() + "()", sc.text[tok.start:sc.pos], tok.start)
        nxt = sc.peek()
        if nxt.kind == "op" and nxt.text in {"=", "!=", "==", "<", "<=", ">", ">="}:
            return self._comparison(tok, sc.next())
        # `"process.name" IN (…)`: detections quote a dotted field name before IN too.
        if nxt.kind == "word" and nxt.text.upper() == "IN" and tok.kind in {"word", "str"}:
            save = sc.pos
            sc.next()
            if sc.peek().is_op("("):
                return self._in_list(tok)
            sc.pos = save
        return STerm(None, "bare", SValue(tok.value, tok.kind == "str", tok.start),
                     tok.start, tok.end)

    def _comparison(self, name: Tok, op: Tok) -> STerm:
        sc = self.sc
        if op.text == "==":
            raise syntax_error(sc.text, op.start, "'==' is not a search operator",
                               expected="=", hint=f"write {name.text}=… in the search "
                                                  "('==' belongs in | where and | eval)")
        val = sc.peek()
        if val.kind not in {"word", "str"} or val.is_word(*_KEYWORDS):
            raise syntax_error(sc.text, val.start, f"'{name.text}{op.text}' has no value",
                               expected="a value", hint=f'write {name.text}{op.text}"…", or '
                                                        f"{name.text}=* for any value")
        sc.next()
        return STerm(name.value, op.text, SValue(val.value, val.kind == "str", val.start),
                     name.start, val.end)

    def _in_list(self, name: Tok) -> STerm:
        sc = self.sc
        open_ = sc.next()
        values: list[SValue] = []
        while True:
            tok = sc.next()
            if tok.kind in {"word", "str"}:
                values.append(SValue(tok.value, tok.kind == "str", tok.start))
            elif tok.is_op(")") and not values:
                raise syntax_error(sc.text, tok.start, "IN () needs at least one value",
                                   expected="a value")
            else:
                raise syntax_error(sc.text, tok.start if tok.kind != "eof" else open_.start,
                                   "unfinished IN list", expected="a value and then ')'")
            sep = sc.next()
            if sep.is_op(")"):
                return STerm(name.value, "in", values, name.start, sep.end)
            if not sep.is_op(","):
                if sep.kind in {"word", "str"}:  # `IN (a b)`: Splunk takes spaces too
                    sc.pos = sep.start
                    continue
                raise syntax_error(sc.text, sep.start if sep.kind != "eof" else open_.start,
                                   "unfinished IN list", expected="',' or ')'",
                                   hint="close the list with ')'")

    def _skip_call(self, name: Tok) -> None:
        depth = 0
        while True:
            tok = self.sc.next()
            if tok.kind == "eof":
                raise syntax_error(self.sc.text, name.start, f"{name.text}( is never closed",
                                   expected="')'")
            if tok.is_op("("):
                depth += 1
            elif tok.is_op(")"):
                depth -= 1
                if depth == 0:
                    return


def _pos(n: SNode) -> int:
    return n.pos


def parse_search(text: str, start: int, end: int,
                 stop: tuple[str, ...] = ()) -> tuple[list[SNode], int]:
    """Top-level AND terms of `text[start:end]` and the offset where reading stopped."""
    sc = Scanner(text, start, end)
    items = SearchParser(sc, stop).parse()
    sc.skip_space()
    return items, sc.pos


__all__ = ["SEARCH", "SValue", "STerm", "SOpaque", "SGroup", "SNot", "SNode",
           "parse_search", "SearchParser", "MAX_DEPTH", "too_deep"]
