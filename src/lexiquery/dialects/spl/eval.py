"""SPL's eval language (`| where`, `| eval`) read into a small syntax tree (no catalog yet).

The usual precedence, lowest first — `OR`/`XOR`, `AND`, `NOT`, comparisons
(`= == != < <= > >= LIKE IN`), `+ - .`, `* / %`, unary minus, calls and atoms.

Binding these trees onto the catalog and the IR is `spl.expr`'s job; they keep the SPL names
and the offsets of everything, so later errors point at the right place. The search language
(base search, `| search`) is `spl.search`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from lexiquery.dialects.parsing import syntax_error
from lexiquery.dialects.spl.lex import EVAL, Scanner, Tok
from lexiquery.dialects.spl.search import too_deep

# Deeper nesting than any real expression is refused, well before Python's recursion limit (an
# eval level costs about ten frames of the descent).
MAX_EVAL_DEPTH = 40


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
                raise too_deep(self.sc.text, self.sc.pos, MAX_EVAL_DEPTH)
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


__all__ = ["EVAL", "EField", "ELit", "ECall", "EBin", "EUnary", "EIn", "ENode",
           "parse_eval", "parse_assignments", "EvalParser", "OpaqueInEval",
           "MAX_EVAL_DEPTH"]
