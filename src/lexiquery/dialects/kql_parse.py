"""KQL text → `ParsedQuery`: statements, `let` constants, the tabular pipeline, expressions.

    parse_kql(text, catalog) → ParsedQuery

This module reads the syntax into small nodes (`Name`, `Lit`, `Call`, `Bin`, `InList`,
`Between`; one `Stage` per `| operator`); `kql_bind` maps them onto the catalog and the IR.
Syntax is checked here, with the position of the offending token and a hint for the common
slips (`=` for `==`, a missing `|`, `&&`, a misspelt operator). Operators the IR cannot hold
are kept as `Stage("skip")` with their position, so the binder reports them instead of
dropping them.

`let name = value;` is substituted where the name is used, token for token (a multi-token
value in parentheses, so `let a = 1 + 2; … x * a` keeps its meaning); a `let` of a function
(`let f = (x:string) {…}`) is kept opaque and reported where it is used. Statements starting
with `.` (control commands), `externaldata` and `evaluate http_request` are refused as
``read_only`` before anything else is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from lexiquery.catalog.model import Catalog
from lexiquery.dialects.kql_lex import Token, main_statement, tokenize
from lexiquery.dialects.parsing import ParsedQuery, closest, syntax_error
from lexiquery.errors import QueryError

# ---------------------------------------------------------------------- syntax nodes


@dataclass
class Name:
    """A column reference; `path` has one part, or several for a dynamic path."""

    path: tuple[str, ...]
    offset: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass
class Lit:
    """`kind`: string, number, bool, timespan (value in seconds, `unit` as written),
    datetime (value is the raw text), list (value is a list of nodes), null."""

    kind: str
    value: Any
    offset: int
    unit: str = ""


@dataclass
class Call:
    name: str  # lower-cased
    args: list["Node"]
    offset: int


@dataclass
class Bin:
    op: str  # and, or, comparison/string operator (lower-cased), + - * / %
    left: "Node"
    right: "Node"
    offset: int  # of the operator
    paren: bool = False  # written in parentheses (a group of its own)


@dataclass
class InList:
    op: str  # in, !in, in~, !in~, has_any, has_all
    left: "Node"
    items: list["Node"]
    offset: int
    subquery: bool = False


@dataclass
class Between:
    negated: bool
    left: "Node"
    low: "Node"
    high: "Node"
    offset: int


@dataclass
class Opaque:
    """A use of a `let` the parser cannot substitute (a function, a materialized table)."""

    name: str
    offset: int


Node = Union[Name, Lit, Call, Bin, InList, Between, Opaque]


@dataclass
class Assign:
    alias: str | None
    expr: Node
    offset: int


@dataclass
class SortKey:
    expr: Node
    descending: bool
    offset: int
    nulls: str | None = None  # "first"/"last" when written


@dataclass
class Stage:
    """One `| operator`. `kind` is the operator (`where`, `project`, `summarize`, `sort`,
    `top`, `take`, `distinct`, `count`, `extend`, `project-away`, `project-rename`) or
    ``skip`` for one the IR cannot hold (`name` says which)."""

    kind: str
    offset: int
    name: str = ""
    expr: Node | None = None
    items: list[Assign] = field(default_factory=list)
    by: list[Assign] = field(default_factory=list)
    keys: list[SortKey] = field(default_factory=list)
    count: int | None = None
    display_only: bool = False


@dataclass
class Query:
    table: str
    table_offset: int
    stages: list[Stage]
    # Found while reading: (offset, construct, why, changes the results).
    issues: list[tuple[int, str, str, bool]] = field(default_factory=list)


# ---------------------------------------------------------------------- operator tables

SUPPORTED = ("where", "filter", "project", "project-away", "project-rename", "extend",
             "summarize", "top", "sort", "order", "take", "limit", "distinct", "count", "render")
# Operators the IR cannot hold: skipped and reported with their position.
UNSUPPORTED = {
    "join": "joins combine two tables; run the queries separately",
    "lookup": "joins combine two tables; run the queries separately",
    "union": "the IR reads one table",
    "mv-expand": "the IR has no array expansion", "mv-apply": "the IR has no array expansion",
    "parse": "the IR has no text extraction", "parse-where": "the IR has no text extraction",
    "parse-kv": "the IR has no text extraction",
    "make-series": "use summarize … by bin(TimeGenerated, …) instead",
    "evaluate": "plugins cannot be expressed in the IR",
    "invoke": "stored functions are not expanded",
    "render": "it only changes how the results are drawn",
    "as": "it only names the result",
    "project-reorder": "it only changes the column order",
    "serialize": "row-order functions are not in the IR",
    "scan": "sequence matching is not in the IR",
    "fork": "the IR has one result", "facet": "the IR has one result",
    "partition": "the IR has one result",
    "sample": "random samples are not in the IR",
    "sample-distinct": "random samples are not in the IR",
    "top-nested": "use summarize and top", "top-hitters": "use summarize and top",
    "project-keep": "use project", "getschema": "the IR returns rows",
    "reduce": "the IR has no clustering", "consume": "the IR returns rows",
    "search": "use where … has …", "find": "use where … has …",
    "datatable": "the IR reads a catalog table", "print": "the IR reads a catalog table",
    "range": "the IR reads a catalog table",
}
DISPLAY_ONLY = frozenset({"render", "as", "project-reorder"})
_KNOWN_OPERATORS = tuple(SUPPORTED) + tuple(UNSUPPORTED)
_STRING_OPS = frozenset({"has", "has_cs", "contains", "contains_cs", "startswith",
                         "startswith_cs", "endswith", "endswith_cs", "hasprefix", "hasprefix_cs",
                         "hassuffix", "hassuffix_cs", "matches", "like", "notlike"})
_COMPARE = frozenset({"==", "!=", "<>", "=~", "!~", "<", "<=", ">", ">="})
_IN_OPS = frozenset({"in", "!in", "in~", "!in~", "has_any", "has_all"})


def _is_neg_op(t: Token) -> bool:
    return t.kind == "op" and isinstance(t.value, str) and t.value.startswith("!") \
        and len(t.value) > 2 and t.value[1].isalpha()


# ---------------------------------------------------------------------- parser


class Parser:
    """Recursive descent over one statement's tokens (the last token is ``eof``)."""

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

    # ------------------------------------------------------------------ query

    def query(self) -> Query:
        t = self.tok
        if t.kind == "eof":
            raise self.error("the query is empty", expected="a table name, e.g. SigninLogs")
        issues: list[tuple[int, str, str, bool]] = []
        union = t.is_word("union")
        if union:
            # The first table of the union is read; the union itself is reported.
            issues.append((t.offset, "union", UNSUPPORTED["union"], True))
            self.next()
            while self.tok.kind == "ident" and self.peek().is_op("="):  # kind=outer, …
                self.i += 3
            t = self.tok
        if t.kind == "ident" and str(t.value) in self.opaque:
            raise syntax_error(self.text, t.offset, f"'{t.value}' is a function or "
                               "materialized let, which is not supported as the query's table",
                               code="unsupported")
        if t.kind == "ident" and (str(t.value).lower() in UNSUPPORTED or self.peek().is_op("(")):
            raise syntax_error(self.text, t.offset, f"a query starting with '{t.text}' is not "
                               "supported", expected="a table name, e.g. SigninLogs",
                               code="unsupported")
        table = self.table_name()
        while union and self.tok.is_op(","):  # the other tables of the union
            self.next()
            self.table_name()
        stages: list[Stage] = []
        while self.tok.kind != "eof":
            t = self.tok
            if not t.is_op("|"):
                if t.kind == "ident" and str(t.value).lower() in _KNOWN_OPERATORS:
                    raise self.error(f"'{t.text}' must follow a pipe", expected="'|'",
                                     hint=f"put | before {t.text}")
                raise self.error(f"unexpected {self.describe(t)}", expected="'|' and an operator")
            self.next()
            stages.append(self.stage())
        return Query(table[0], table[1], stages, issues)

    def table_name(self) -> tuple[str, int]:
        t = self.tok
        if t.is_op("[") and self.peek().kind == "string" and self.peek(2).is_op("]"):
            self.i += 3
            return str(self.peek(-2).value), t.offset
        if t.kind == "ident":
            self.next()
            return str(t.value), t.offset
        raise self.error(f"a query starts with a table name, not {self.describe(t)}",
                         expected="a table name, e.g. SigninLogs")

    def stage(self) -> Stage:
        t = self.tok
        if t.kind != "ident":
            raise self.error(f"expected an operator after '|', found {self.describe(t)}",
                             expected="an operator such as where, project, summarize")
        word = str(t.value).lower()
        self.next()
        off = t.offset
        if word in ("where", "filter"):
            return Stage("where", off, word, expr=self.expr())
        if word in ("project", "extend"):
            return Stage(word, off, word, items=self.assigns())
        if word == "project-away":
            return Stage(word, off, word, items=[Assign(None, n, n.offset)
                                                 for n in self.names()])
        if word == "project-rename":
            items = self.assigns()
            for a in items:
                if a.alias is None or not isinstance(a.expr, Name):
                    raise syntax_error(self.text, a.offset, "project-rename takes "
                                       "new_name = old_name", expected="NewName = OldName")
            return Stage(word, off, word, items=items)
        if word == "summarize":
            while self.tok.kind == "ident" and str(self.tok.value).lower().startswith("hint") \
                    and self.peek().is_op("."):
                while not self.tok.is_op("="):
                    self.next()
                self.next()
                self.next()
            if self.tok.kind == "eof" or self.tok.is_op("|"):
                raise self.error("summarize needs an aggregation or a 'by' clause",
                                 expected="e.g. count() by UserPrincipalName")
            items = [] if self.tok.is_word("by") else self.assigns()
            by = []
            if self.tok.is_word("by"):
                self.next()
                by = self.assigns()
            if not items and not by:
                raise self.error("summarize needs an aggregation or a 'by' clause",
                                 expected="e.g. count() by UserPrincipalName")
            return Stage(word, off, word, items=items, by=by)
        if word in ("sort", "order"):
            self.expect_word("by", hint=f"write {word} by Column [asc|desc]")
            return Stage("sort", off, word, keys=self.sort_keys())
        if word == "top":
            n = self.int_literal("top")
            self.expect_word("by", hint="write top N by Column [asc|desc]")
            return Stage("top", off, word, count=n, keys=self.sort_keys())
        if word in ("take", "limit"):
            return Stage("take", off, word, count=self.int_literal(word))
        if word == "distinct":
            if self.tok.is_op("*"):
                star = self.next()
                return Stage("skip", star.offset, "distinct *",
                             display_only=False)
            return Stage(word, off, word, items=[Assign(None, e, self._off(e))
                                                 for e in self.expr_list()])
        if word == "count":
            return Stage("count", off, word)
        if word in UNSUPPORTED:
            self.skip_stage()
            return Stage("skip", off, word, display_only=word in DISPLAY_ONLY)
        near = closest(word, _KNOWN_OPERATORS, n=1)
        raise syntax_error(self.text, off, f"'{t.text}' is not a KQL operator",
                           expected="an operator such as where, project, summarize",
                           hint=f"did you mean {near[0]}?" if near else None)

    def skip_stage(self) -> None:
        depth = 0
        while self.tok.kind != "eof":
            if self.tok.is_op("(", "[", "{"):
                depth += 1
            elif self.tok.is_op(")", "]", "}"):
                depth -= 1
            elif self.tok.is_op("|") and depth <= 0:
                return
            self.next()

    # ------------------------------------------------------------------ lists

    def names(self) -> list[Name]:
        out = []
        while True:
            e = self.postfix()
            if not isinstance(e, Name):
                raise syntax_error(self.text, self._off(e), "expected a column name",
                                   expected="a column name")
            out.append(e)
            if not self.tok.is_op(","):
                return out
            self.next()

    def expr_list(self) -> list[Node]:
        out = [self.expr()]
        while self.tok.is_op(","):
            self.next()
            out.append(self.expr())
        return out

    def assigns(self) -> list[Assign]:
        out = []
        while True:
            t = self.tok
            alias = None
            if t.kind == "ident" and self.peek().is_op("="):
                alias = str(t.value)
                self.i += 2
            elif t.is_op("[") and self.peek().kind == "string" and self.peek(2).is_op("]") \
                    and self.peek(3).is_op("="):
                alias = str(self.peek().value)
                self.i += 4
            elif t.is_op("("):
                # `(a, b) = arg_max(...)`: a tuple of names for a multi-column aggregate.
                j = self.i + 1
                while self.toks[j].kind == "ident" or self.toks[j].is_op(","):
                    j += 1
                if j > self.i + 1 and self.toks[j].is_op(")") and self.toks[j + 1].is_op("="):
                    alias = "(" + "".join(x.text for x in self.toks[self.i + 1:j]) + ")"
                    self.i = j + 2
            out.append(Assign(alias, self.expr(), t.offset))
            if not self.tok.is_op(","):
                return out
            self.next()

    def sort_keys(self) -> list[SortKey]:
        keys = []
        while True:
            off = self.tok.offset
            e = self.expr()
            desc = True  # KQL sorts descending unless told otherwise
            if self.tok.is_word("asc", "desc"):
                desc = self.next().value.lower() == "desc"
            nulls = None
            if self.tok.is_word("nulls"):
                self.next()
                if not self.tok.is_word("first", "last"):
                    raise self.error("expected first or last after nulls",
                                     expected="'first' or 'last'")
                nulls = str(self.next().value).lower()
            keys.append(SortKey(e, desc, off, nulls))
            if not self.tok.is_op(","):
                return keys
            self.next()

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
        open_ = self.expect_op("(", "'(' and a list of values")
        # `in (T | project x)`: a subquery, which the IR cannot hold.
        depth, j = 0, self.i
        while self.toks[j].kind != "eof":
            tj = self.toks[j]
            if tj.is_op("(", "["):
                depth += 1
            elif tj.is_op(")", "]"):
                if depth == 0:
                    break
                depth -= 1
            elif tj.is_op("|") and depth == 0:
                self.i = j
                self.skip_to_close(open_)
                return InList(op, left, [], t.offset, subquery=True)
            j += 1
        items = [] if self.tok.is_op(")") else self.expr_list()
        self.expect_op(")", "')' to close the list")
        return InList(op, left, items, t.offset)

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
        node = self.primary()
        while isinstance(node, Name):
            if self.tok.is_op(".") and self.peek().kind == "ident":
                self.next()
                node = Name(node.path + (str(self.next().value),), node.offset)
            elif self.tok.is_op("[") and self.peek().kind in ("string", "number") \
                    and self.peek(2).is_op("]"):
                self.next()
                part = self.next()
                self.next()
                node = Name(node.path + (str(part.value) if part.kind == "string"
                                         else f"[{part.value}]",), node.offset)
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

    @staticmethod
    def _off(e: Node) -> int:
        return e.offset if not isinstance(e, (Bin, InList, Between)) else Parser._off(e.left)


def node_offset(e: Node) -> int:
    """Where an expression starts (its leftmost token)."""
    return Parser._off(e)


# ---------------------------------------------------------------------- statements


def parse_kql(text: str, catalog: Catalog) -> ParsedQuery:
    """Read a KQL query into the IR through `catalog`'s KQL bindings (see module docstring).

    Raises `QueryError` with the line and column: ``syntax``, ``unknown_source``,
    ``unknown_field``, ``read_only``."""
    from lexiquery.dialects.kql_bind import bind
    
    stmt = main_statement(text, tokenize(text))
    query = Parser(text, stmt.tokens, stmt.opaque).query()
    query.issues += [(off, "a second query statement", "only the first is read", True)
                     for off in stmt.extra]
    return bind(text, query, catalog)
