"""The grammar of the KQL operators that make stages of their own: `join` and `lookup`,
`mv-expand` (and the old `mvexpand`) and `parse`, and subqueries (`join (…)`, `x in (T | …)`).

A mixin of `kql.parse.Parser`, which supplies `query(nested=True)` (a query that ends at the
`)` closing it) and the expression grammar (`kql.parse_expr`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lexiquery.dialects.kql.ast import Assign, Bin, Lit, Name, Node, Query, Stage, node_offset
from lexiquery.dialects.parsing import syntax_error

if TYPE_CHECKING:
    from lexiquery.dialects.kql.parse_expr import ExprParser

    _Base = ExprParser
else:
    _Base = object

JOIN_KINDS = ("innerunique", "inner", "leftouter", "rightouter", "fullouter", "leftanti",
              "rightanti", "leftsemi", "rightsemi", "anti", "semi", "leftantisemi",
              "rightantisemi")


class MoreStages(_Base):
    def query(self, nested: bool = False) -> Query:  # supplied by kql.parse.Parser
        raise NotImplementedError

    def subquery(self) -> Query:
        """A subquery after its `(`, up to and with its `)`; `((T | …) | …)` is read too."""
        q = self.query(nested=True)
        self.expect_op(")", "')' to close the subquery")
        return q

    def more_stage(self, word: str, off: int) -> Stage:
        if word in ("join", "lookup"):
            return self.join_stage(off, word)
        if word == "parse":
            return self.parse_stage(off)
        # mv-expand [kind=…] [with_itemindex=…] [Name =] Expr [to typeof(T)], … [limit N]
        options: list[str] = []
        while self.tok.kind == "ident" and self.peek().is_op("=") \
                and self.tok.is_word("kind", "bagexpansion", "with_itemindex"):
            options.append(f"{self.tok.text}={self.peek(2).text}")
            self.i += 3
        items = self.assigns()
        if self.tok.is_word("to", "limit"):
            options.append(self.tok.text)
            self.skip_stage()
        st = Stage("mv-expand", off, word, items=items)
        st.join_kind = " ".join(options)  # options the IR does not hold, reported by the binder
        return st

    def join_stage(self, off: int, word: str = "join") -> Stage:
        kind = ""
        while self.tok.kind == "ident" and self.peek().is_op("="):
            name = self.next()
            self.next()
            value = self.next()
            if name.is_word("kind"):
                kind = str(value.value).lower()
            # hint.strategy=…, hint.remote=…: execution hints, no effect on the rows
        while self.tok.kind == "ident" and str(self.tok.value).lower().startswith("hint") \
                and self.peek().is_op("."):
            while not self.tok.is_op("=") and self.tok.kind != "eof":
                self.next()
            self.i += 2
        if self.tok.is_op("("):
            self.next()
            right = self.subquery()
        elif self.tok.kind == "ident":
            t = self.next()
            right = Query(str(t.value), t.offset, [])
        else:
            raise self.error(f"expected the right-hand table of the join, found "
                             f"{self.describe(self.tok)}", expected="'(' and a query")
        self.expect_word("on", hint=f"write {word} kind=inner (Table | …) on Column")
        on: list[tuple[Node, Node]] = []
        while True:
            e = self.expr()
            for part in self._conjuncts(e):
                on.append(self._join_key(part))
            if not self.tok.is_op(","):
                break
            self.next()
        st = Stage(word, off, word, query=right, on=on)
        st.join_kind = kind
        return st

    def _conjuncts(self, e: Node) -> list[Node]:
        if isinstance(e, Bin) and e.op == "and":
            return self._conjuncts(e.left) + self._conjuncts(e.right)
        return [e]

    def _join_key(self, e: Node) -> tuple[Node, Node]:
        if isinstance(e, Name) and not e.text.startswith("$"):
            return e, e
        if isinstance(e, Bin) and e.op == "==" and isinstance(e.left, Name) \
                and isinstance(e.right, Name):
            sides = {e.left.path[0].lower(): e.left, e.right.path[0].lower(): e.right}
            left, right = sides.get("$left"), sides.get("$right")
            if left is not None and right is not None and len(left.path) > 1 \
                    and len(right.path) > 1:
                return Name(left.path[1:], left.offset), Name(right.path[1:], right.offset)
        raise syntax_error(self.text, node_offset(e), "a join condition is a column, or "
                           "$left.Column == $right.Column",
                           expected="Column or $left.A == $right.B")

    def parse_stage(self, off: int) -> Stage:
        """`parse [kind=simple] Expr with * "lit" Name "lit" *`: the pattern as `items`
        (a `Lit` string, a `Name` with an optional `:type`, or `*`)."""
        kind = ""
        while self.tok.kind == "ident" and self.peek().is_op("=") and not self.tok.is_word("with"):
            if self.tok.is_word("kind"):
                kind = str(self.peek(2).value).lower()
            self.i += 3
        source = self.additive()
        self.expect_word("with", hint='write parse Column with * "text" Name "text" *')
        items: list[Assign] = []
        while self.tok.kind != "eof" and not self.tok.is_op("|", ")"):
            t = self.tok
            if t.is_op("*"):
                self.next()
                items.append(Assign(None, Lit("star", "*", t.offset), t.offset))
            elif t.kind == "string":
                self.next()
                items.append(Assign(None, Lit("string", str(t.value), t.offset), t.offset))
            elif t.kind == "ident":
                self.next()
                ftype = ""
                if self.tok.is_op(":") and self.peek().kind == "ident":
                    self.next()
                    ftype = str(self.next().value).lower()
                items.append(Assign(ftype or None, Name((str(t.value),), t.offset), t.offset))
            else:
                raise self.error(f"unexpected {self.describe(t)} in the parse pattern",
                                 expected='"text", a column name or *')
        st = Stage("parse", off, "parse", expr=source, items=items)
        st.join_kind = kind
        return st
