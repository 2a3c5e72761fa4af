"""The SQL read-only guard, on tokens and on the sqlglot tree.

    check_sql(text, dialect) → [PlanIssue]      every check below, never raises
    read_guarded(text, dialect) → trees          the same checks, the first refusal raised
    check_statements(lexed, trees) → [PlanIssue] the tree checks, for a reader that parsed already

The passes, each on what the database itself would see (never a regular expression on text):

1. comments (tokens): MySQL and MariaDB execute the text of `/*! … */`, `/*!50000 … */` and
   `/*M! … */`; such a comment is refused in every dialect, since the same text may be pasted
   into a MySQL client. Optimizer hints (`/*+ … */`) only steer the plan and are allowed, except
   the ones that change server settings: MySQL `SET_VAR` and `RESOURCE_GROUP`, pg_hint_plan's
   `Set(…)`.
2. statements (tokens, `sql.parse_lex.refuse_writes`): one statement, a SELECT, no write keyword
   anywhere, no `INTO` (`SELECT … INTO t`, MySQL `INTO OUTFILE`).
3. the tree (`read_statements`, so an unclosed quote or a deep nesting is a syntax issue with a
   position): no DML/DDL node at any depth, no `SELECT … INTO`, no locking clause (`FOR UPDATE`,
   `LOCK IN SHARE MODE`), no Hive `TRANSFORM … USING 'script'`, no Snowflake stage (`@stage`),
   no Spark file table (csv.`/path`), no ClickHouse `SETTINGS`, no function of the dialect's
   dangerous list (`sql.guard_functions`) in any subquery, CTE, IN list or table function, and
   no `seq.nextval`.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.tokens import TokenType

from lexiquery.dialects.parsing import line_col
from lexiquery.dialects.refusals import from_error, issue, raise_first
from lexiquery.dialects.sql.guard_functions import SPARK_DIALECTS, SPARK_FILE_FORMATS, dangerous
from lexiquery.dialects.sql.parse_lex import Lexed, lex, read_statements, refuse_writes
from lexiquery.errors import QueryError
from lexiquery.ir import PlanIssue

# Tree nodes that never belong in a read, wherever they appear.
_WRITES: tuple[type[exp.Expression], ...] = (
    exp.DML, exp.DDL, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop,
    exp.Alter, exp.TruncateTable, exp.Copy, exp.Command, exp.Pragma, exp.Set, exp.Use,
    exp.Grant, exp.Revoke, exp.Kill, exp.Transaction, exp.Commit, exp.Rollback, exp.Attach,
    exp.Detach, exp.LoadData, exp.Export, exp.Install, exp.Cache, exp.Uncache, exp.Declare,
    exp.Execute, exp.Put, exp.Get, exp.Refresh, exp.Analyze)
_READS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
# The keyword that opens a refused construct whose tree node has no name of its own.
_KEYWORD: dict[type[exp.Expression], tuple[str, ...]] = {
    exp.QueryTransform: ("TRANSFORM",), exp.NextValueFor: ("NEXT",), exp.Select: ("SETTINGS",),
    exp.Into: ("INTO",), exp.Lock: ("FOR", "LOCK")}
# Hints that change server settings for the statement (see the module docstring).
_SETTING_HINT = re.compile(r"\b(?:SET_VAR|RESOURCE_GROUP)\s*\(|\bSet\s*\(", re.IGNORECASE)
# `/*!`, `/*!50000`, `/*M!`, `/*M!100000`: comment text starting with ! or M! (any case).
_EXECUTABLE = re.compile(r"\s*M?!", re.IGNORECASE)


def check_sql(text: str, dialect: str) -> list[PlanIssue]:
    """Issues (``read_only``; ``syntax`` when the text cannot be read) for anything in `text`
    that is not a pure read in `dialect` (a sqlglot dialect name, or ``mariadb``, read as
    MySQL); [] for a plain SELECT."""
    return _guarded(text, dialect)[0]


def read_guarded(text: str, dialect: str) -> list[exp.Expression]:
    """The statements of `text`, read once and guarded; the first refusal is raised as a
    `QueryError` (see `raise_first`)."""
    issues, trees = _guarded(text, dialect)
    raise_first(issues)
    return trees


def _guarded(text: str, dialect: str) -> tuple[list[PlanIssue], list[exp.Expression]]:
    dialect = "mysql" if dialect == "mariadb" else dialect
    try:
        lexed = lex(text, dialect)
    except QueryError as e:
        return [from_error(e)], []
    found = check_comments(lexed)
    if found:
        return found, []
    try:
        refuse_writes(lexed)
        trees = read_statements(text, dialect, lexed)
    except QueryError as e:
        return [from_error(e)], []
    return check_statements(lexed, trees), trees


def check_comments(lexed: Lexed) -> list[PlanIssue]:
    """Comments a database executes (MySQL `/*! … */`) and hints that change settings."""
    for t in lexed.tokens:
        line, col = line_col(lexed.text, t.start)
        if t.token_type is TokenType.HINT and _SETTING_HINT.search(t.text):
            return [issue(f"line {line}, column {col}: the optimizer hint {t.text!r} changes "
                          "server settings; remove it", line, col)]
        for comment in t.comments:
            at = lexed.text.find("/*" + comment)
            if at >= 0:
                line, col = line_col(lexed.text, at)
            if _EXECUTABLE.match(comment):
                return [issue(f"line {line}, column {col}: MySQL and MariaDB execute the "
                              "text of a /*! … */ comment as SQL; such comments are not "
                              "allowed", line, col)]
            if comment.lstrip().startswith("+") and _SETTING_HINT.search(comment):
                return [issue(f"line {line}, column {col}: an optimizer hint that "
                              "changes server settings is not allowed", line, col)]
    return []


def check_statements(lexed: Lexed, trees: list[exp.Expression]) -> list[PlanIssue]:
    """The tree checks (see the module docstring) on the statements `read_statements` gave."""
    if len(trees) != 1:
        return [issue(f"exactly one SQL statement is allowed, found {len(trees)}")]
    tree = trees[0]
    if not isinstance(tree, _READS):
        return [issue(f"only SELECT is allowed, found {tree.key.upper()}")]
    for node in tree.walk():
        why = _refusal(node, lexed.dialect)
        if why:
            line, col = _node_position(lexed, node)
            where = f"line {line}, column {col}: " if line else ""
            return [issue(where + why, line, col)]
    return []


def _refusal(node: exp.Expression, dialect: str) -> str | None:
    """Why `node` makes the query more than a read, or None."""
    if isinstance(node, _WRITES):
        return f"{node.key.upper()} inside a query is not allowed: only a plain SELECT reads"
    if isinstance(node, exp.Into):
        return "SELECT … INTO writes a table or a file; only a plain SELECT is allowed"
    if isinstance(node, exp.Lock):
        return "a locking clause (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE) takes locks; " \
               "remove it"
    if isinstance(node, exp.QueryTransform):
        return "TRANSFORM … USING runs an external script"
    if isinstance(node, exp.Select) and node.args.get("settings"):
        return "SETTINGS changes server settings for the query; remove it"
    if isinstance(node, exp.Table):
        return _table_refusal(node, dialect)
    if isinstance(node, exp.Column) and node.table and node.name.lower() == "nextval":
        return f"{node.sql()} advances a sequence (changes database state)"
    if isinstance(node, exp.Func):
        names = _function_names(node)
        why = dangerous(names, dialect)
        if why:
            return f"the function {names[0]}() {why}; it is not allowed in a read-only query"
    return None


def _table_refusal(table: exp.Table, dialect: str) -> str | None:
    name = table.name
    if name.startswith("@"):
        return f"{name} reads files from a stage; only tables can be queried"
    if dialect in SPARK_DIALECTS and table.db.lower() in SPARK_FILE_FORMATS:
        return f"{table.db}.`{name}` reads a file, not a table"
    return None


def _function_names(func: exp.Func) -> list[str]:
    """Every name `func` answers to, lower-case: its name, its dotted name with the schema or
    package (`pg_catalog.pg_read_file`), each qualifier, and sqlglot's names for a function it
    knows (`READ_CSV` for DuckDB's read_csv), since a known function's tree drops the name."""
    if isinstance(func, exp.Anonymous):
        names = [func.name.lower()]
    else:
        names = [n.lower() for n in type(func).sql_names()] + [func.key]
    qualifiers: list[str] = []
    node: exp.Expression = func
    while isinstance(node.parent, exp.Dot) and node.arg_key == "expression":
        qualifiers = _parts(node.parent.this) + qualifiers
        node = node.parent
    if qualifiers:
        names += [".".join(qualifiers + [names[0]]), *(q.lower() for q in qualifiers)]
    return names


def _parts(node: exp.Expression) -> list[str]:
    if isinstance(node, exp.Dot):
        return _parts(node.this) + _parts(node.expression)
    if isinstance(node, (exp.Column, exp.Table)):
        return [p.name for p in node.parts]
    return [node.name or node.sql()]


def _node_position(lexed: Lexed, node: exp.Expression) -> tuple[int | None, int | None]:
    """Line and column of `node`: sqlglot's own for a named node, else the first token of the
    node's name; (None, None) when neither is known."""
    for candidate in (node, node.args.get("this")):
        meta = getattr(candidate, "meta", None) or {}
        if isinstance(meta.get("start"), int):
            return line_col(lexed.text, meta["start"])
    for word in _KEYWORD.get(type(node), ()):
        tok = lexed.word(word)
        if tok is not None:
            return line_col(lexed.text, tok.start)
    word = node.name
    tok = lexed.word(word) if word else None
    if tok is not None:
        return line_col(lexed.text, tok.start)
    at = lexed.text.lower().find(word.lower()) if word else -1  # e.g. a stage, @s/file.csv
    return line_col(lexed.text, at) if at >= 0 else (None, None)
