"""KQL text → `ParsedQuery`: statements, `let` constants, the tabular pipeline, expressions.

    parse_kql(text, catalog) → ParsedQuery

This module reads the query and its pipeline into `kql.ast` nodes (one `Stage` per
`| operator`; the expressions inside are `kql.parse_expr`'s), then `kql.stages.bind` maps them
onto the catalog and the IR. Brackets deeper than `limits.MAX_NESTING` are refused on the
tokens before this recursive-descent parser runs (`kql.lex.check_depth`). Syntax is checked
here, with the position of the offending token and a hint for the common slips (`=` for `==`,
a missing `|`, `&&`, a misspelt operator).
Operators the IR cannot hold are kept as `Stage("skip")` with their position, so the binder
reports them instead of dropping them.

`let name = value;` is substituted where the name is used, token for token (a multi-token
value in parentheses, so `let a = 1 + 2; … x * a` keeps its meaning); a `let` of a function
(`let f = (x:string) {…}`) is kept opaque and reported where it is used. Statements starting
with `.` (control commands), `externaldata` and `evaluate http_request` are refused as
``read_only`` before anything else is read.
"""

from __future__ import annotations

from lexiquery.catalog.model import Catalog
from lexiquery.dialects.kql.ast import (
    DISPLAY_ONLY,
    SUPPORTED,
    UNSUPPORTED,
    Assign,
    Name,
    Query,
    SortKey,
    Stage,
    node_offset,
)
from lexiquery.dialects.kql.guard import kql_token_issues
from lexiquery.dialects.kql.lex import main_statement, tokenize
from lexiquery.dialects.kql.parse_expr import ExprParser
from lexiquery.dialects.kql.parse_more import MoreStages
from lexiquery.dialects.kql.stages import bind
from lexiquery.dialects.parsing import ParsedQuery, closest, syntax_error
from lexiquery.dialects.refusals import raise_first

_KNOWN_OPERATORS = tuple(SUPPORTED) + tuple(UNSUPPORTED)


# ---------------------------------------------------------------------- parser


class Parser(MoreStages, ExprParser):
    """The query grammar over `ExprParser`'s expressions: the table, then one `Stage` per
    `| operator`, with the lists the operators take (assignments, names, sort keys)."""

    # ------------------------------------------------------------------ query

    def query(self, nested: bool = False) -> Query:
        """The query; `nested`, a subquery that ends at the `)` closing it (not consumed)."""
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
        stages: list[Stage] = []
        if self.tok.is_op("("):  # `(T | a) | b` is `T | a | b`
            self.next()
            inner = self.subquery()
            table = (inner.table, inner.table_offset)
            stages, issues = inner.stages, issues + inner.issues
        else:
            table = self.table_name()
        while union and self.tok.is_op(","):  # the other tables of the union
            self.next()
            if self.tok.is_op("("):
                self.skip_to_close(self.next())
            else:
                self.table_name()
        while self.tok.kind != "eof" and not (nested and self.tok.is_op(")")):
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
            return Stage(word, off, word, items=[Assign(None, e, node_offset(e))
                                                 for e in self.expr_list()])
        if word == "count":
            return Stage("count", off, word)
        if word in ("mv-expand", "mvexpand", "join", "lookup", "parse"):
            return self.more_stage(word, off)
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
                raise syntax_error(self.text, node_offset(e), "expected a column name",
                                   expected="a column name")
            out.append(e)
            if not self.tok.is_op(","):
                return out
            self.next()

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


# ---------------------------------------------------------------------- statements


def parse_kql(text: str, catalog: Catalog) -> ParsedQuery:
    """Read a KQL query into the IR through `catalog`'s KQL bindings (see module docstring).

    Raises `QueryError` with the line and column: ``syntax``, ``unknown_source``,
    ``unknown_field``, ``read_only``."""
    tokens = tokenize(text)
    raise_first(kql_token_issues(text, tokens))  # first: a write is refused as such
    stmt = main_statement(text, tokens)
    try:
        query = Parser(text, stmt.tokens, stmt.opaque).query()
        query.issues += [(off, "a second query statement", "only the first is read", True)
                         for off in stmt.extra]
        return bind(text, query, catalog)
    except RecursionError:  # a backstop: check_depth keeps bracketed input far from this
        raise syntax_error(text, 0, "the query is nested too deeply to read",
                           hint="long chains of unary operators or of one binary operator "
                                "nest too; split the expression into several extend steps") \
            from None
