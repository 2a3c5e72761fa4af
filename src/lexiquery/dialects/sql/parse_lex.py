"""The SQL reader's first pass, on tokens: read-only refusal, syntax errors with positions and
hints, and keyword positions for the constructs the IR cannot hold.

sqlglot is a forgiving parser: it accepts `SELECT a, FROM t`, `x == 1`, `SELECT a t WHERE …` (no
FROM: `t` becomes an alias) and `SELECT FROM t`, because some dialect somewhere allows each. A
pasted query with one of those slips is almost always a mistake, so they are checked here on the
token stream, where the exact line and column are known, before sqlglot builds a tree. sqlglot's
own `ParseError` already carries line and column; `TokenError` (an unclosed quote) does not, so
the opening quote is found here.

Writes are refused on tokens too, before parsing, so `DELETE FROM t WHERE` (which may not even
parse) is a ``read_only`` error rather than a syntax error: what matters to the user is that it
would never run here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import sqlglot
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from lexiquery.dialects.parsing import check_nesting, syntax_error
from lexiquery.errors import QueryError

# Statements that are not a read. Anything else that does not start with SELECT / WITH / `(`
# is refused too; these get a precise message.
_WRITE_KEYWORDS = {
    "DROP", "DELETE", "UPDATE", "INSERT", "MERGE", "CREATE", "ALTER", "GRANT", "REVOKE",
    "COPY", "TRUNCATE", "REPLACE", "UPSERT", "CALL", "EXEC", "EXECUTE", "SET", "USE",
    "ATTACH", "DETACH", "VACUUM", "PRAGMA", "LOAD", "INSTALL", "UNLOAD", "PUT", "REMOVE",
    "RENAME", "COMMENT", "DECLARE", "BEGIN", "COMMIT", "ROLLBACK", "LOCK", "ANALYZE", "OPTIMIZE",
    "REFRESH", "CACHE", "UNCACHE", "MSCK", "EXPORT", "IMPORT", "KILL", "SYSTEM", "DESCRIBE",
    "SHOW", "EXPLAIN",
}
# Write keywords anywhere in a statement (a data-modifying CTE, SELECT … FOR UPDATE).
_WRITE_TOKENS = {TokenType.INSERT, TokenType.UPDATE, TokenType.DELETE, TokenType.MERGE,
                 TokenType.DROP, TokenType.CREATE, TokenType.ALTER, TokenType.TRUNCATE,
                 TokenType.GRANT, TokenType.REVOKE, TokenType.COPY}
_READ_STARTS = {TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN}
# Dialects where `==` is a valid equality operator.
_DOUBLE_EQ_OK = {"sqlite", "clickhouse", "spark", "databricks"}
# Dialects where "…" is an identifier, so a double-quoted string is a column name.
DOUBLE_QUOTE_IDENTIFIERS = {"postgres", "redshift", "sqlite", "duckdb", "snowflake", "trino",
                            "clickhouse", "tsql"}


@dataclass
class Lexed:
    """The tokens of one query, for positions and the slips sqlglot forgives."""

    text: str
    dialect: str
    tokens: list[Token]

    def nth(self, types: set[TokenType], n: int = 0, after: int = -1) -> Token | None:
        """The `n`-th (0-based) token of one of `types` starting after offset `after`."""
        seen = 0
        for t in self.tokens:
            if t.start > after and t.token_type in types:
                if seen == n:
                    return t
                seen += 1
        return None

    def word(self, word: str, n: int = 0, after: int = -1) -> Token | None:
        """The `n`-th token spelled `word` (any case), whatever type the dialect gave it."""
        seen = 0
        for t in self.tokens:
            if t.start > after and t.text.upper() == word.upper() and \
                    t.token_type not in {TokenType.STRING, TokenType.IDENTIFIER}:
                if seen == n:
                    return t
                seen += 1
        return None

    def join_start(self, n: int) -> int:
        """Offset where the `n`-th join begins: its kind (LEFT, CROSS…) or the comma before it."""
        tok = self.nth({TokenType.JOIN}, n)
        if tok is None:
            return 0
        i = self.tokens.index(tok)
        kinds = {TokenType.LEFT, TokenType.RIGHT, TokenType.INNER, TokenType.OUTER,
                 TokenType.FULL, TokenType.CROSS, TokenType.NATURAL, TokenType.SEMI,
                 TokenType.ANTI, TokenType.ASOF, TokenType.STRAIGHT_JOIN}
        while i > 0 and self.tokens[i - 1].token_type in kinds:
            i -= 1
        return self.tokens[i].start


def lex(text: str, dialect: str) -> Lexed:
    """Tokens of `text`; an unclosed quote or comment is a ``syntax`` error at its opening."""
    if not text.strip():
        raise QueryError("the query is empty", line=1, column=1, expected="SELECT …",
                         code="syntax")
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(text)
    except TokenError as e:
        raise _token_error(text, dialect, str(e)) from None
    return Lexed(text, dialect, tokens)


def read_statements(text: str, dialect: str,
                    lexed: Lexed | None = None) -> list[sqlglot.exp.Expression]:
    """Every statement of `text` as sqlglot trees, read within bounds: an unclosed quote or
    comment, brackets nested deeper than `limits.MAX_NESTING`, or a parse error is a ``syntax``
    `QueryError` with line and column — never a sqlglot exception or a RecursionError. Every
    reader of pasted SQL (parser, guard, sandbox, validator) goes through here. A caller that
    has `lex`ed the text already passes `lexed`: the tokens are parsed, not the text again."""
    lexed = lexed if lexed is not None else lex(text, dialect)
    check_nesting(text, ((t.start, 1 if t.token_type is TokenType.L_PAREN else -1)
                         for t in lexed.tokens
                         if t.token_type in (TokenType.L_PAREN, TokenType.R_PAREN)))
    try:
        parser = sqlglot.Dialect.get_or_raise(dialect).parser()
        return [s for s in parser.parse(list(lexed.tokens), text) if s is not None]
    except ParseError as e:
        raise parse_error(text, dialect, e) from None
    except RecursionError:  # a backstop: check_nesting keeps real queries far from this
        raise syntax_error(text, 0, "the query is too deeply nested to read") from None


def _token_error(text: str, dialect: str, detail: str) -> QueryError:
    """Find the quote (or comment) that never closes: sqlglot's TokenError has no position."""
    backslash = dialect in {"mysql", "bigquery", "spark", "databricks", "clickhouse",
                            "redshift", "snowflake"}
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return syntax_error(text, i, "this comment is never closed", expected="*/",
                                    hint="close the comment with */")
            i = end + 2
            continue
        closer = {"'": "'", '"': '"', "`": "`", "[": "]"}.get(ch)
        if closer is None or (ch == "[" and dialect != "tsql"):
            i += 1
            continue
        j = i + 1
        while j < n:
            if backslash and text[j] == "\\" and closer in "'\"":
                j += 2
                continue
            if text[j] == closer:
                if j + 1 < n and text[j + 1] == closer and closer != "]":  # '' is a quote
                    j += 2
                    continue
                break
            j += 1
        if j >= n:
            what = "string" if ch == "'" else "quoted name"
            return syntax_error(text, i, f"this {what} is never closed", expected=closer,
                                hint=f"add the closing {closer}; a quote inside a string is "
                                     f"written twice ('O''Brien')" if ch == "'" else
                                     f"add the closing {closer}")
        i = j + 1
    return syntax_error(text, 0, f"the query cannot be read ({detail})")


def refuse_writes(lexed: Lexed) -> None:
    """`read_only` for anything but one SELECT: a write statement, or a second statement."""
    statements: list[list[Token]] = [[]]
    for t in lexed.tokens:
        if t.token_type is TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(t)
    statements = [s for s in statements if s]
    text = lexed.text
    for s in statements:
        first = s[0]
        if first.token_type not in _READ_STARTS:
            word = first.text.upper()
            if word not in _WRITE_KEYWORDS:
                near = difflib.get_close_matches(word, ["SELECT", "WITH"], n=1, cutoff=0.6)
                raise syntax_error(text, first.start, f"a query starts with SELECT, not "
                                   f"{first.text!r}", expected="SELECT",
                                   hint=f"did you mean {near[0]}?" if near else None)
            raise syntax_error(text, first.start, f"{word} changes data or the database; only "
                               f"a single SELECT is allowed",
                               hint="LexiQuery only reads: write a SELECT", code="read_only")
        nested = next((t for t in s if t.token_type in _WRITE_TOKENS), None)
        if nested is not None:
            raise syntax_error(text, nested.start, f"{nested.text.upper()} inside a query "
                               f"changes data; only a plain SELECT is allowed",
                               hint="LexiQuery only reads", code="read_only")
        into = next((t for t in s if t.token_type is TokenType.INTO), None)
        if into is not None:
            raise syntax_error(text, into.start, "SELECT … INTO creates a table; only a plain "
                               "SELECT is allowed", hint="remove INTO …", code="read_only")
    if len(statements) > 1:
        second = statements[1][0]
        raise syntax_error(text, second.start, f"only one statement is allowed, found "
                           f"{len(statements)}", hint="remove everything after the first ';'",
                           code="read_only")


def check_slips(lexed: Lexed) -> None:
    """The mistakes sqlglot forgives but no analyst means (see the module docstring)."""
    text, toks = lexed.text, lexed.tokens
    depth = 0
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t.token_type is TokenType.L_PAREN:
            depth += 1
        elif t.token_type is TokenType.R_PAREN:
            depth -= 1
        if t.token_type is TokenType.EQ and t.text == "==" and lexed.dialect not in _DOUBLE_EQ_OK:
            raise syntax_error(text, t.start, "'==' is not an SQL operator", expected="=",
                               hint="SQL compares with a single '=' (KQL writes ==)")
        if t.token_type is TokenType.COMMA and nxt is not None and nxt.token_type in {
                TokenType.FROM, TokenType.WHERE, TokenType.GROUP_BY, TokenType.ORDER_BY,
                TokenType.HAVING, TokenType.LIMIT, TokenType.R_PAREN}:
            raise syntax_error(text, t.start, f"a comma just before {nxt.text.upper()}",
                               expected="another expression after ','",
                               hint="remove the trailing comma")
        if t.token_type is TokenType.SELECT and nxt is not None and \
                nxt.token_type is TokenType.FROM:
            raise syntax_error(text, nxt.start, "SELECT has no columns",
                               expected="a column list or *", hint="write SELECT * or name "
                               "the columns")
    top = [t for t in toks if t.token_type in {TokenType.SELECT, TokenType.FROM}]
    if toks and toks[0].token_type is TokenType.SELECT and not any(
            t.token_type is TokenType.FROM for t in top):
        later = next((t for t in toks if t.token_type in {
            TokenType.WHERE, TokenType.GROUP_BY, TokenType.ORDER_BY, TokenType.LIMIT,
            TokenType.HAVING}), None)
        at = later.start if later is not None else len(text.rstrip())
        raise syntax_error(text, at, "the query has no FROM clause", expected="FROM <table>",
                           hint="name the table to read: SELECT … FROM table …")


def parse_error(text: str, dialect: str, e: ParseError) -> QueryError:
    """sqlglot's ParseError as a ``syntax`` QueryError at its line and column, with a hint."""
    err = e.errors[0] if e.errors else {}
    line, col = err.get("line"), err.get("col")
    desc = str(err.get("description") or e).strip()
    highlight = str(err.get("highlight") or "")
    # sqlglot's column is that of the last character of the offending token.
    if isinstance(line, int) and isinstance(col, int):
        start = _offset(text, line, col) - max(len(highlight) - 1, 0)
    else:
        start = 0
    expected = desc[len("Expecting "):] if desc.startswith("Expecting ") else None
    before = str(err.get("start_context") or "").rstrip().upper()
    hint = None
    where = f" near {highlight!r}" if highlight else ""
    if desc.startswith("Required keyword"):  # a clause with nothing after it
        message = f"{highlight or 'the query'} is incomplete"
        expected = f"an expression after {highlight}" if highlight else None
        hint = "finish the clause or remove it"
        start = _offset(text, line, col) - max(len(highlight) - 1, 0) \
            if isinstance(line, int) and isinstance(col, int) else start
    elif "Unexpected" in desc or "Invalid" in desc:
        message = "unexpected token" + where
    else:
        message = desc + where
    if expected == ")":
        hint = "a parenthesis is never closed"
    elif before.endswith(("GROUP", "ORDER")):
        hint = f"write {before.split()[-1]} BY"
    elif highlight.upper() in {"FROM", "WHERE"} and "Unexpected" in desc:
        hint = "check the SELECT keyword and the column list before it"
    return syntax_error(text, start, message, expected=expected, hint=hint)


def _offset(text: str, line: int, col: int) -> int:
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[:line - 1]) + col - 1
