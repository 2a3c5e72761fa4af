"""What a sandboxed query may call and read, checked on its whole sqlglot tree.

DuckDB's own settings (`duckdb_lockdown`) already keep files, the network and extensions out of
reach; this check keeps out everything else that is not a pure read of the sandbox's views:
DuckDB table functions that read the catalog, the settings or run SQL text (`duckdb_settings()`,
`query('…')`, `glob`), other dialects' file and admin functions (`pg_read_file`, `LOAD_FILE`),
and statements that are not a query (COPY, EXPORT, ATTACH, INSTALL, LOAD, SET, PRAGMA, CALL),
wherever they sit: select list, FROM, a CTE, a scalar or IN subquery, a lateral join, ORDER BY.

`check_tree(tree)` walks every node and refuses, as a `QueryError` with code ``read_only``:
* a statement node of any kind other than a query;
* a function in table position (FROM, JOIN, LATERAL) other than UNNEST;
* a function sqlglot does not recognise (`exp.Anonymous`) unless its name is in
  `sql_pure_functions.DUCKDB_PURE_FUNCTIONS` or is one of the sandbox's macros;
* a function class sqlglot does recognise unless it is a pure computation: every class of
  sqlglot's math, string, temporal, aggregate, array and JSON families except the few that reach
  outside (`_IMPURE`), and the conditionals and casts named in `_PURE_CORE`. Session, catalog,
  file, ML and random-table classes are refused;
* a table of DuckDB's catalogs (`information_schema`, `pg_catalog`, `duckdb_*`, `pragma_*`,
  `sqlite_*`), and, given `tables`, any table that is neither one of them nor a CTE of the query.

It runs on the DuckDB-bound tree after `sql_compat.compat`, right before execution, so plans and
pasted SQL of every dialect pass through it; `duckdb_lockdown.check_duckdb_parse` then checks the
final text once more with DuckDB's own parser, so a parser difference cannot slip through.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlglot import exp

from lexiquery.engine.sql_pure_functions import DUCKDB_PURE_FUNCTIONS, MACRO_NAMES
from lexiquery.errors import QueryError

HINT = ("the sandbox runs one query on the source's own table with pure functions: no files, "
        "settings, catalog tables or SQL text")
# sqlglot's function families (modules of sqlglot.expressions) that compute on their arguments.
_PURE_FAMILIES = {"aggregate", "array", "math", "string", "temporal", "json"}
_IMPURE = {"AIAgg", "AISummarizeAgg", "ToFile", "Secret", "CurrentTimezone", "Localtime",
           "Systimestamp", "Shuffle", "Generator", "GapFill", "Minhash", "MinhashCombine"}
_PURE_CORE = {
    "And", "Or", "Xor", "Pow", "RegexpLike", "Typeof", "ApproxDistinct", "Hll",
    "Case", "Cast", "CastToStrType", "TryCast", "Try", "Coalesce", "Collate", "Convert",
    "EqualNull", "Exists", "Greatest", "Least", "If", "Nullif", "Nvl2", "DecodeCase",
    "IsArray", "IsNullValue", "JSONCast", "ToBoolean", "Float64", "Int64", "LaxBool",
    "LaxFloat64", "LaxInt64", "LaxString", "WidthBucket", "RangeBucket", "Columns",
    "JSONValueArray",
}
TABLE_FUNCTIONS = (exp.Unnest, exp.Explode)
_STATEMENTS = tuple(getattr(exp, n) for n in (
    "Command", "Copy", "Attach", "Detach", "Install", "Pragma", "Set", "Use", "Describe",
    "Show", "Summarize", "Into", "Insert", "Update", "Delete", "Merge", "Create", "Drop",
    "Alter", "TruncateTable", "Transaction", "Commit", "Rollback", "Export", "Load", "Call",
    "Kill", "Analyze", "Grant", "Revoke", "Cache", "Uncache", "Refresh", "LoadData",
) if isinstance(getattr(exp, n, None), type))
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "system", "temp"})
SYSTEM_PREFIXES = ("duckdb_", "pragma_", "sqlite_", "pg_")


def check_tree(tree: exp.Expression, *, tables: Collection[tuple[str, ...]] | None = None) -> None:
    """Refuse anything in `tree` that is not a pure read (see the module docstring). `tables`:
    the lower-case name parts of the tables the query may read (None: check only that no
    system table is named — the caller binds the others)."""
    if not isinstance(tree, exp.Query):
        raise _refuse(tree, f"{tree.key.upper()} is not a query")
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    for node in tree.walk():
        if isinstance(node, _STATEMENTS):
            raise _refuse(node, f"{node.key.upper()} inside a query is not allowed")
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            _check_table(node, ctes, tables)
        elif isinstance(node, exp.Func):
            _check_function(node)


def function_name(node: exp.Func) -> str:
    """The name the user wrote (or DuckDB will see) for a function node."""
    if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
        return str(node.name)
    return node.sql_name().lower()


def _check_function(node: exp.Func) -> None:
    name = function_name(node)
    if _in_table_position(node) and not isinstance(node, TABLE_FUNCTIONS):
        raise _refuse(node, f"the table function {name}() is not allowed: a query reads only "
                            f"its source's table")
    if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
        if name.lower() not in DUCKDB_PURE_FUNCTIONS | MACRO_NAMES:
            raise _refuse(node, f"the function {name}() is not allowed in the sandbox")
        return
    cls = type(node)
    family = cls.__module__.rsplit(".", 1)[-1] if cls.__module__.startswith(
        "sqlglot.expressions.") else ""
    pure = (family in _PURE_FAMILIES and cls.__name__ not in _IMPURE) or \
        cls.__name__ in _PURE_CORE or isinstance(node, TABLE_FUNCTIONS)
    if not pure:
        raise _refuse(node, f"the function {name}() is not allowed in the sandbox")


def _in_table_position(node: exp.Expression) -> bool:
    parent = node.parent
    return isinstance(parent, (exp.Table, exp.From, exp.Join, exp.Lateral)) and \
        node.arg_key == "this"


def _check_table(node: exp.Table, ctes: set[str],
                 tables: Collection[tuple[str, ...]] | None) -> None:
    parts = tuple(p.lower() for p in (node.catalog, node.db, node.name) if p)
    written = ".".join(parts)
    if len(parts) == 1 and parts[0] in ctes:
        return
    if any(p in SYSTEM_SCHEMAS for p in parts[:-1]) or parts[-1].startswith(SYSTEM_PREFIXES):
        raise _refuse(node, f"the system table {written} is not readable in the sandbox")
    if tables is not None and parts not in tables:
        raise _refuse(node, f"the table {written} is not one the sandbox holds for this query")


def _refuse(node: exp.Expression, message: str) -> QueryError:
    meta = node.meta if isinstance(node.meta, dict) else {}
    if "line" not in meta and isinstance(node.this, exp.Expression):
        meta = node.this.meta  # a table's position is its name's
    column = meta.get("col")
    if isinstance(column, int) and isinstance(meta.get("start"), int) and \
            isinstance(meta.get("end"), int):
        column -= meta["end"] - meta["start"]  # sqlglot's column is the token's last character
    return QueryError(message, code="read_only", line=meta.get("line"), column=column,
                      hint=HINT)
