"""SPL's two expression languages read into small syntax trees (no catalog yet).

*Search* (base search, `| search`, the `where` of `| tstats`): terms joined by implicit AND,
`AND`, `OR` and `NOT`, with Splunk's precedence — `NOT` binds tightest, then `OR`, then AND
(`a b OR c` is `a AND (b OR c)`). A term is `field op value`, `field IN (…)`, or a bare word
or phrase (which searches the raw event).

*Eval* (`| where`, `| eval`): the usual precedence, lowest first — `OR`/`XOR`, `AND`, `NOT`,
comparisons (`= == != < <= > >= LIKE IN`), `+ - .`, `* / %`, unary minus, calls and atoms.

Binding names onto the catalog is `spl_bind`'s job; these trees keep the SPL names and the
offsets of everything, so later errors point at the right place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from lexiquery.dialects.parsing import syntax_error
from lexiquery.dialects.spl_lex import EVAL, SEARCH, Scanner, Tok

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
_KEYWORDS = ("AND", "OR", "NOT")
# Deeper nesting than any real search is refused, well before Python's recursion limit (an
# eval level costs about ten frames of the descent, a search level four).
MAX_DEPTH = 100
MAX_EVAL_DEPTH = 40


def _too_deep(text: str, pos: int, limit: int = MAX_DEPTH) -> Exception:
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
            raise _too_deep(self.sc.text, tok.start)
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
        if nxt.kind == "word" and nxt.text.upper() == "IN" and tok.kind == "word":
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


# ------------------------------------------------------------------ eval trees


@dataclass
class EField:
    name: str
    pos: int
    quoted: bool = False
    paren: bool = False


@dataclass
class ELit:
    value: str | int | float | bool | None
    pos: int
    paren: bool = False


@dataclass
class ECall:
    name: str
    args: list["ENode"]
    pos: int
    end: int = 0
    paren: bool = False


@dataclass
class EBin:
    op: str  # + - * / % . == != < <= > >= AND OR XOR LIKE
    left: "ENode"
    right: "ENode"
    pos: int
    paren: bool = False


@dataclass
class EUnary:
    op: str  # NOT | -
    operand: "ENode"
    pos: int
    paren: bool = False


@dataclass
class EIn:
    left: "ENode"
    values: list["ENode"]
    pos: int
    paren: bool = False


ENode = Union[EField, ELit, ECall, EBin, EUnary, EIn]
_CMP = {"=": "==", "==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class EvalParser:
    """Recursive descent over the eval grammar (precedence in the module docstring)."""

    sc: Scanner
    depth: int = 0

    def expected_end(self) -> None:
        tok = self.sc.peek(EVAL)
        if tok.kind != "eof":
            raise syntax_error(self.sc.text, tok.start, f"unexpected '{tok.text}'",
                               expected="an operator or the end of the expression",
                               hint="'==' compares, AND/OR combine; strings are "
                                    "double-quoted")

    def parse(self) -> ENode:
        return self._or()

    def _kw(self, *words: str) -> Tok | None:
        tok = self.sc.peek(EVAL)
        if tok.kind == "word" and tok.text.upper() in words:
            return self.sc.next(EVAL)
        return None

    def _or(self) -> ENode:
        left = self._and()
        while (op := self._kw("OR", "XOR")) is not None:
            left = EBin(op.text.upper(), left, self._and(), op.start)
        return left

    def _and(self) -> ENode:
        left = self._not()
        while (op := self._kw("AND")) is not None:
            left = EBin("AND", left, self._not(), op.start)
        return left

    def _not(self) -> ENode:
        op = self._kw("NOT")
        if op is not None:
            return EUnary("NOT", self._nested(self._not), op.start)
        return self._cmp()

    def _nested(self, parse: Any) -> ENode:
        """`parse()` one level deeper; deeper than `MAX_EVAL_DEPTH` is a syntax error."""
        self.depth += 1
        try:
            if self.depth > MAX_EVAL_DEPTH:
                raise _too_deep(self.sc.text, self.sc.pos, MAX_EVAL_DEPTH)
            return parse()
        finally:
            self.depth -= 1

    def _cmp(self) -> ENode:
        left = self._add()
        tok = self.sc.peek(EVAL)
        if tok.kind == "op" and tok.text in _CMP:
            self.sc.next(EVAL)
            return EBin(_CMP[tok.text], left, self._add(), tok.start)
        if (kw := self._kw("LIKE")) is not None:
            return EBin("LIKE", left, self._add(), kw.start)
        save = self.sc.pos
        if (kw := self._kw("IN")) is not None:
            if self.sc.peek(EVAL).is_op("("):
                self.sc.next(EVAL)
                return EIn(left, self._args(kw), kw.start)
            self.sc.pos = save
        return left

    def _add(self) -> ENode:
        left = self._mul()
        while True:
            tok = self.sc.peek(EVAL)
            if not tok.is_op("+", "-", "."):
                return left
            self.sc.next(EVAL)
            left = EBin(tok.text, left, self._mul(), tok.start)

    def _mul(self) -> ENode:
        left = self._unary()
        while True:
            tok = self.sc.peek(EVAL)
            if not tok.is_op("*", "/", "%"):
                return left
            self.sc.next(EVAL)
            left = EBin(tok.text, left, self._unary(), tok.start)

    def _unary(self) -> ENode:
        tok = self.sc.peek(EVAL)
        if tok.is_op("-"):
            self.sc.next(EVAL)
            inner = self._nested(self._unary)
            if isinstance(inner, ELit) and isinstance(inner.value, (int, float)) \
                    and not isinstance(inner.value, bool):
                return ELit(-inner.value, tok.start)
            return EUnary("-", inner, tok.start)
        if tok.is_op("+"):
            self.sc.next(EVAL)
            return self._unary()
        return self._atom()

    def _atom(self) -> ENode:
        sc = self.sc
        tok = sc.next(EVAL)
        if tok.kind == "num":
            return ELit(tok.value, tok.start)
        if tok.kind == "str":
            return ELit(tok.value, tok.start)
        if tok.kind == "qfield":
            return EField(tok.value, tok.start, quoted=True)
        if tok.kind == "word":
            if sc.peek(EVAL).is_op("("):  # `if (…)` with a space is a call too
                sc.next(EVAL)
                args = self._args(tok)
                return ECall(tok.text.lower(), args, tok.start, sc.pos)
            if tok.text.upper() in {"AND", "OR", "NOT", "XOR"}:
                raise syntax_error(sc.text, tok.start, f"{tok.text} needs a value before it",
                                   expected="a field, value or function")
            return EField(tok.text, tok.start)
        if tok.is_op("("):
            inner = self._nested(self._or)
            close = sc.next(EVAL)
            if not close.is_op(")"):
                raise syntax_error(sc.text, tok.start, "this '(' is never closed",
                                   expected="')'", hint="add the matching ')'")
            inner.paren = True
            return inner
        if tok.kind in {"subsearch", "macro"}:
            raise _OpaqueInEval(tok)
        if tok.kind == "eof":
            raise syntax_error(sc.text, tok.start, "the expression ends too early",
                               expected="a field, value or function")
        raise syntax_error(sc.text, tok.start, f"unexpected '{tok.text}'",
                           expected="a field, value or function",
                           hint="text values are double-quoted; field names with odd "
                                "characters are single-quoted ('odd name')")

    def _args(self, opener: Tok) -> list[ENode]:
        sc = self.sc
        args: list[ENode] = []
        if sc.peek(EVAL).is_op(")"):
            sc.next(EVAL)
            return args
        while True:
            args.append(self._nested(self._or))
            tok = sc.next(EVAL)
            if tok.is_op(")"):
                return args
            if not tok.is_op(","):
                raise syntax_error(sc.text, tok.start if tok.kind != "eof" else opener.start,
                                   f"unfinished argument list of {opener.text}",
                                   expected="',' or ')'", hint="add the missing ')'")


class _OpaqueInEval(Exception):
    """A subsearch or macro inside an eval expression: the caller reports it as unsupported."""

    def __init__(self, tok: Tok) -> None:
        super().__init__(tok.text)
        self.tok = tok


OpaqueInEval = _OpaqueInEval


def parse_eval(text: str, start: int, end: int) -> ENode:
    """One whole eval/where expression over `text[start:end]`."""
    sc = Scanner(text, start, end)
    if sc.at_end():
        raise syntax_error(text, start, "the expression is empty",
                           expected="a condition, e.g. count>5")
    node = EvalParser(sc).parse()
    EvalParser(sc).expected_end()
    return node


def parse_assignments(text: str, start: int, end: int) -> list[tuple[str, int, ENode]]:
    """`name=expr, name=expr …` of `| eval` (names as written, with their offsets)."""
    sc = Scanner(text, start, end)
    out: list[tuple[str, int, ENode]] = []
    if sc.at_end():
        raise syntax_error(text, start, "eval needs an assignment", expected="name=expression")
    while True:
        name = sc.next(EVAL)
        if name.kind not in {"word", "qfield", "str"}:
            raise syntax_error(text, name.start, "expected the name of the new field",
                               expected="name=expression")
        eq = sc.next(EVAL)
        if not eq.is_op("="):
            raise syntax_error(text, eq.start, f"'{name.text}' needs '=' and an expression",
                               expected="=", hint="eval assigns with a single '=': "
                                                  "eval x=a+1")
        out.append((str(name.value), name.start, EvalParser(sc).parse()))
        tok = sc.next(EVAL)
        if tok.kind == "eof":
            return out
        if not tok.is_op(","):
            raise syntax_error(text, tok.start, f"unexpected '{tok.text}'",
                               expected="',' before the next assignment, or the end")


__all__ = ["SEARCH", "EVAL", "SValue", "STerm", "SOpaque", "SGroup", "SNot", "SNode",
           "parse_search", "SearchParser", "EField", "ELit", "ECall", "EBin", "EUnary", "EIn",
           "ENode", "parse_eval", "parse_assignments", "EvalParser", "OpaqueInEval"]
