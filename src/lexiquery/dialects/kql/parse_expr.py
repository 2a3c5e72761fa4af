"""The KQL expression grammar: a token cursor with error helpers, and recursive descent over
scalar expressions (`or` → `and` → comparison, string and `in`/`between` operators → `+ -` →
`* / %` → unary → `.`/`[…]` paths → literals, names and calls).

`ExprParser` is the base of `kql.parse.Parser`, which adds the query and its pipeline stages.
Syntax is checked here with the position of the offending token and a hint for the common
slips (`=` for `==`, `&&`, `||`, a missing comma between arguments). A use of a `let` the
parser cannot substitute reads as `Opaque`, for the binder to report.
"""

from __future__ import annotations

from lexiquery.dialects.kql.ast import (
    Between,
    Bin,
    Call,
    Index,
    InList,
    Lit,
    Member,
    Name,
    Node,
    Opaque,
    Query,
)
from lexiquery.dialects.kql.lex import Token
from lexiquery.dialects.parsing import syntax_error
from lexiquery.errors import QueryError

_STRING_OPS = frozenset({"has", "has_cs", "contains", "contains_cs", "startswith",
                         "startswith_cs", "endswith", "endswith_cs", "hasprefix", "hasprefix_cs",
                         "hassuffix", "hassuffix_cs", "matches", "like", "notlike"})
_COMPARE = frozenset({"==", "!=", "<>", "=~", "!~", "<", "<=", ">", ">="})
_IN_OPS = frozenset({"in", "!in", "in~", "!in~", "has_any", "has_all"})


def _is_neg_op(t: Token) -> bool:
    return t.kind == "op" and isinstance(t.value, str) and t.value.startswith("!") \
        and len(t.value) > 2 and t.value[1].isalpha()


# ---------------------------------------------------------------------- parser


class ExprParser:
    """Recursive descent over one statement's tokens (the last token is ``eof``): the token
    cursor, its errors, and the expression grammar; `kql.parse.Parser` adds the query."""

    def __init__(self, text: str, tokens: list[Token], opaque: dict[str, int]) -> None:
        self.text = text
        self.toks = tokens
        self.i = 0
        self.opaque = opaque

    # ------------------------------------------------------------------ helpers

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Token:
        t = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return t

    def error(self, message: str, tok: Token | None = None, *, expected: str | None = None,
              hint: str | None = None) -> QueryError:
        t = tok or self.tok
        return syntax_error(self.text, t.offset, message, expected=expected, hint=hint)

    def describe(self, t: Token) -> str:
        return "the end of the query" if t.kind == "eof" else f"'{t.text}'"

    def expect_op(self, op: str, what: str | None = None) -> Token:
        if not self.tok.is_op(op):
            hint = None
            if op == "==" or self.tok.is_op("="):
                hint = "use == to compare; = assigns in extend"
            raise self.error(f"expected '{op}' but found {self.describe(self.tok)}",
                             expected=what or f"'{op}'", hint=hint)
        return self.next()

    def expect_word(self, word: str, hint: str | None = None) -> Token:
        if not self.tok.is_word(word):
            raise self.error(f"found {self.describe(self.tok)} where '{word}' belongs",
                             expected=f"'{word}'", hint=hint)
        return self.next()

    def int_literal(self, what: str) -> int:
        t = self.tok
        if t.kind != "number" or not isinstance(t.value, int):
            raise self.error(f"{what} needs a whole number, found {self.describe(t)}",
                             expected="a number such as 10")
        self.next()
        if t.value < 1:
            raise self.error(f"{what} needs a number of at least 1", t, expected="1 or more")
        return t.value

    def expr_list(self) -> list[Node]:
        out = [self.expr()]
        while self.tok.is_op(","):
            self.next()
            out.append(self.expr())
        return out

    # ------------------------------------------------------------------ expressions

    def expr(self) -> Node:
        left = self.and_expr()
        while self.tok.is_word("or") or self.tok.is_op("||"):
            if self.tok.is_op("||"):
                raise self.error("'||' is not KQL", expected="'or'", hint="use or instead of ||")
            op = self.next()
            left = Bin("or", left, self.and_expr(), op.offset)
        return left

    def and_expr(self) -> Node:
        left = self.comparison()
        while self.tok.is_word("and") or self.tok.is_op("&&"):
            if self.tok.is_op("&&"):
                raise self.error("'&&' is not KQL", expected="'and'",
                                 hint="use and instead of &&")
            op = self.next()
            left = Bin("and", left, self.comparison(), op.offset)
        return left

    def comparison(self) -> Node:
        left = self.additive()
        t = self.tok
        if t.is_op(*_COMPARE):
            self.next()
            return Bin(str(t.value), left, self.additive(), t.offset)
        if t.is_op("="):
            raise self.error("'=' does not compare", expected="'=='",
                             hint="use == to compare; = assigns in extend")
        word = str(t.value).lower() if t.kind == "ident" or _is_neg_op(t) or t.is_op("in~") \
            else ""
        if word in _IN_OPS:
            self.next()
            return self.in_list(word, left, t)
        if word in ("between", "!between"):
            self.next()
            self.expect_op("(", "'(' and a range such as (1 .. 10)")
            low = self.additive()
            self.expect_op("..", "'..' between the two ends of the range")
            high = self.additive()
            self.expect_op(")")
            return Between(word == "!between", left, low, high, t.offset)
        if word in _STRING_OPS or (word.startswith("!") and word[1:] in _STRING_OPS):
            self.next()
            if word == "matches":
                self.expect_word("regex")
                word = "matches regex"
            return Bin(word, left, self.additive(), t.offset)
        return left

    def in_list(self, op: str, left: Node, t: Token) -> Node:
        self.expect_op("(", "'(' and a list of values")
        # `in (T | project x)`, `in ((T | …))`: a subquery when a pipe comes before the close.
        depth, j = 0, self.i
        while self.toks[j].kind != "eof":
            tj = self.toks[j]
            if tj.is_op("(", "["):
                depth += 1
            elif tj.is_op(")", "]"):
                if depth == 0:
                    break
                depth -= 1
            elif tj.is_op("|"):
                return InList(op, left, [], t.offset, subquery=self.subquery())
            j += 1
        items = [] if self.tok.is_op(")") else self.expr_list()
        self.expect_op(")", "')' to close the list")
        return InList(op, left, items, t.offset)

    def subquery(self) -> Query:
        """A parenthesised query up to and with its closing `)` (the query grammar's)."""
        raise self.error("a subquery is not read here")

    def skip_to_close(self, open_: Token) -> None:
        depth = 1
        while self.tok.kind != "eof":
            t = self.next()
            if t.is_op("(", "["):
                depth += 1
            elif t.is_op(")", "]"):
                depth -= 1
                if depth == 0:
                    return

    def additive(self) -> Node:
        left = self.multiplicative()
        while self.tok.is_op("+", "-"):
            op = self.next()
            left = Bin(str(op.value), left, self.multiplicative(), op.offset)
        return left

    def multiplicative(self) -> Node:
        left = self.unary()
        while self.tok.is_op("*", "/", "%"):
            op = self.next()
            left = Bin(str(op.value), left, self.unary(), op.offset)
        return left

    def unary(self) -> Node:
        if self.tok.is_op("-"):
            op = self.next()
            inner = self.unary()
            if isinstance(inner, Lit) and inner.kind in ("number", "timespan"):
                return Lit(inner.kind, -inner.value, op.offset, inner.unit)
            return Bin("-", Lit("number", 0, op.offset), inner, op.offset)
        if self.tok.is_op("+"):
            self.next()
        return self.postfix()

    def postfix(self) -> Node:
        """Member and index access: on a column they extend its path (`A.b`, `A["b"]`,
        `A[0]`); on any other expression, or with a computed index, they are `Member`/`Index`."""
        node = self.primary()
        while isinstance(node, (Name, Call, Member, Index)):
            if self.tok.is_op(".") and self.peek().kind == "ident":
                self.next()
                key = self.next()
                node = Name(node.path + (str(key.value),), node.offset) \
                    if isinstance(node, Name) else Member(node, str(key.value), key.offset)
            elif self.tok.is_op("["):
                open_ = self.next()
                inner = self.expr()
                self.expect_op("]", "']' to close the index")
                simple = isinstance(inner, Lit) and inner.kind in ("string", "number")
                if isinstance(node, Name) and simple:
                    assert isinstance(inner, Lit)
                    node = Name(node.path + (str(inner.value) if inner.kind == "string"
                                             else f"[{inner.value}]",), node.offset)
                elif isinstance(inner, Lit) and inner.kind == "string":
                    node = Member(node, str(inner.value), open_.offset)
                else:
                    node = Index(node, inner, open_.offset)
            else:
                break
        return node

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "number":
            self.next()
            return Lit("number", t.value, t.offset)
        if t.kind == "timespan":
            self.next()
            return Lit("timespan", t.value, t.offset, t.text)
        if t.kind == "string":
            self.next()
            value = str(t.value)
            while self.tok.kind == "string":  # "a" "b" is one string in KQL
                value += str(self.next().value)
            return Lit("string", value, t.offset)
        if t.is_op("("):
            self.next()
            inner = self.expr()
            self.expect_op(")", "')' to close the parenthesis")
            if isinstance(inner, Bin):
                inner.paren = True
            return inner
        if t.is_op("[") and self.peek().kind == "string" and self.peek(2).is_op("]"):
            self.i += 3
            return Name((str(self.peek(-2).value),), t.offset)
        if t.kind == "ident":
            word = str(t.value)
            low = word.lower()
            self.next()
            if low in ("true", "false") and not self.tok.is_op("("):
                return Lit("bool", low == "true", t.offset)
            if word in self.opaque:
                if self.tok.is_op("("):
                    self.skip_to_close(self.next())
                return Opaque(word, t.offset)
            if self.tok.is_op("("):
                return self.call(low, t)
            return Name((word,), t.offset)
        if t.kind == "eof":
            raise self.error("the query ends in the middle of an expression",
                             expected="a column, a value or a function call")
        hint = "use == to compare; = assigns in extend" if t.is_op("=") else None
        raise self.error(f"unexpected {self.describe(t)}",
                         expected="a column, a value or a function call", hint=hint)

    def call(self, name: str, t: Token) -> Node:
        open_ = self.next()
        if name in ("datetime", "todatetime") and self.tok.kind == "string" \
                and self.peek().is_op(")"):
            raw = self.next()
            self.next()
            if str(raw.value).strip().lower() == "null":
                return Lit("null", None, t.offset)
            return Lit("datetime", str(raw.value), t.offset)
        if name == "dynamic":
            if self.tok.is_op("["):
                lst = self.list_literal()
                self.expect_op(")")
                return lst
            if self.tok.is_word("null"):
                self.next()
                self.expect_op(")")
                return Lit("null", None, t.offset)
            if self.tok.is_op("{"):
                self.skip_to_close(self.next())
                self.expect_op(")")
                return Call("dynamic", [], t.offset)
        if name == "typeof":
            self.skip_to_close(open_)
            return Call(name, [], t.offset)
        args: list[Node] = []
        while not self.tok.is_op(")"):
            if self.tok.is_op("*"):  # arg_max(t, *), count(*)
                args.append(Lit("star", "*", self.next().offset))
            else:
                args.append(self.expr())
            if not self.tok.is_op(","):
                break
            self.next()
        if name == "count" and len(args) == 1 and isinstance(args[0], Lit) \
                and args[0].kind == "star":
            args = []
        if not self.tok.is_op(")"):
            hint = "use == to compare; = assigns in extend" if self.tok.is_op("=") else \
                "separate the arguments with a comma" \
                if self.tok.kind in ("ident", "number", "timespan", "string") else None
            raise self.error(f"expected ',' or ')' in the arguments of {name}(), found "
                             f"{self.describe(self.tok)}", expected="',' or ')'", hint=hint)
        self.next()
        return Call(name, args, t.offset)

    def list_literal(self) -> Lit:
        open_ = self.next()
        items: list[Node] = []
        while not self.tok.is_op("]"):
            if self.tok.is_op("["):
                items.append(self.list_literal())
            else:
                items.append(self.additive())
            if self.tok.is_op(","):
                self.next()
            elif not self.tok.is_op("]"):
                raise self.error(f"expected ',' or ']' in the list, found "
                                 f"{self.describe(self.tok)}", expected="']'")
        self.next()
        return Lit("list", items, open_.offset)
