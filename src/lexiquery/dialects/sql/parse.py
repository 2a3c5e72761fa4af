"""SQL → `ParsedQuery`: one read-only SELECT (its CTEs, subqueries and joins included) over catalog
tables, read into a `QueryPlan`.

    parse_sql(text, catalog, dialect="postgres") → ParsedQuery

sqlglot parses the text in the given dialect; this module maps its tree onto the IR the SQL
renderer (`sql.py`) writes from, so the rendered form of any plan reads back as the same plan
(`roundtrip.canonical`). The passes:

1. tokens (`sql.parse_lex`): anything but one SELECT is ``read_only``; slips sqlglot forgives
   (`==`, a trailing comma, no FROM, an unclosed quote) are ``syntax`` errors with positions;
2. the tree: a chain of SELECTs — CTEs, subqueries in FROM, joins, window functions,
   IN/EXISTS subqueries — is read into a staged plan (`sql.parse_stages`: one stage per SELECT
   over the outputs of what it reads); a shape that reader does not know falls back to reading
   one SELECT: the FROM table is a catalog source (``unknown_source`` otherwise); a join, CTE,
   subquery, UNION, window function, DISTINCT ON, OFFSET… is an ``unsupported`` issue at its
   keyword, and the rest of the query is still read (names of other tables are then skipped);
3. clauses: WHERE (time conditions on the source's time column become `time_range`, see
   `sql.parse_time`; the rest `sql.parse_where`), the SELECT list (columns, computed fields,
   metrics, `sql.parse_expr`), GROUP BY (fields, computed fields, the time bucket), HAVING,
   ORDER BY (alias, expression or ordinal), LIMIT / TOP / FETCH FIRST.

The SELECT list maps onto `project` the way the renderer writes it: `SELECT *` (with computed
fields after the star) is no projection; with an aggregation, exactly the group-by keys, the
bucket and the metrics in that order is no projection; anything else is projected as listed.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlglot import exp

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.dialects.parsing import (
    ParsedQuery,
    source_for_table,
    syntax_error,
    unknown_table_error,
    unsupported_issue,
)
from lexiquery.dialects.refusals import raise_first
from lexiquery.dialects.sql.guard import check_comments, check_statements
from lexiquery.dialects.sql.parse_expr import Untranslatable, number, unparen
from lexiquery.dialects.sql.parse_lex import Lexed, check_slips, lex, read_statements, refuse_writes
from lexiquery.dialects.sql.parse_select import SelectReader
from lexiquery.dialects.sql.parse_stages import NotStaged, StagedReader
from lexiquery.dialects.sql.render import idiom_for
from lexiquery.ir import PlanIssue, QueryPlan

__all__ = ["parse_sql"]



def parse_sql(text: str, catalog: Catalog, dialect: str = "postgres") -> ParsedQuery:
    """Read one SQL SELECT in `dialect` into a plan over the catalog source its table is bound
    to. Raises `QueryError`: ``syntax``, ``read_only``, ``unknown_source``, ``unknown_field``,
    each with line and column (see `dialects.parsing` for the contract)."""
    idiom_for(dialect)
    lexed = lex(text, dialect)
    raise_first(check_comments(lexed))  # the shared guard, on tokens and then on the tree
    refuse_writes(lexed)
    check_slips(lexed)
    trees = read_statements(text, dialect, lexed)
    if len(trees) != 1:
        raise syntax_error(text, 0, "expected exactly one SELECT statement", code="read_only")
    raise_first(check_statements(lexed, trees))
    tree = trees[0]
    if _staged_shape(tree):
        staged = _read_staged(tree, lexed, catalog, dialect)
        if staged is not None:
            return staged
    issues: list[PlanIssue] = []
    select = _main_select(tree, lexed, issues)
    table, lenient, names = _main_table(select, lexed, issues)
    source = _resolve_table(table, lexed, catalog)
    names |= {table.name.lower(), str(table.alias_or_name).lower()}
    if table.db:
        names.add(f"{table.db}.{table.name}".lower())
    reader = SelectReader(lexed, source, lenient=lenient or bool(issues), table_names=names)
    _check_clauses(select, lexed, reader)
    try:
        plan_data = reader.read(select)
    except Untranslatable as e:  # a clause with no readable part at all: say so, never crash
        reader.skip(e)
        plan_data = {}
    try:
        plan = QueryPlan.model_validate({"source": source.id, **plan_data})
    except ValidationError as e:  # a combination the IR rejects: say so, never a traceback
        first = e.errors()[0]
        raise syntax_error(text, 0, f"the query cannot be held as a plan: {first['msg']}",
                           code="unsupported") from None
    plan.issues = issues + reader.issues + plan.issues  # the plan's own: clamped limits, spans
    return ParsedQuery(platform=Platform.sql, dialect=dialect, text=text, plan=plan,
                       source=source, notes=reader.notes)


def _staged_shape(tree: exp.Expression) -> bool:
    """Does the query chain SELECTs (CTEs, subqueries, joins, windows, IN/EXISTS subqueries)?"""
    return isinstance(tree, exp.Select) and (
        bool(tree.args.get("with_") or tree.args.get("with") or tree.args.get("joins") or
             tree.args.get("laterals")) or tree.find(exp.Window, exp.Subquery, exp.Exists)
        is not None)


def _read_staged(tree: exp.Expression, lexed: Lexed, catalog: Catalog,
                 dialect: str) -> ParsedQuery | None:
    """The query as a staged plan (`sql.parse_stages`), or None when its shape is not one of
    the chains that reader knows (the single-SELECT reader then reports what it cannot hold)."""
    reader = StagedReader(lexed, catalog, lambda s, r: _check_clauses(s, lexed, r))
    try:
        source, data = reader.read(tree)
    except NotStaged:
        return None
    try:
        plan = QueryPlan.model_validate({"source": source.id, **data})
    except ValidationError:
        return None
    plan.issues = reader.issues + plan.issues
    return ParsedQuery(platform=Platform.sql, dialect=dialect, text=lexed.text, plan=plan,
                       source=source, notes=reader.notes)


def _issue(lexed: Lexed, offset: int, construct: str, why: str = "",
           changes_results: bool = True) -> PlanIssue:
    return unsupported_issue(lexed.text, offset, construct, why, changes_results=changes_results)


def _main_select(tree: exp.Expression, lexed: Lexed, issues: list[PlanIssue]) -> exp.Select:
    """The SELECT a plan can be read from; UNION & co. are reported at their keyword."""
    node = tree
    n_set = 0
    while isinstance(node, exp.SetOperation):
        kw = {exp.Union: "UNION", exp.Intersect: "INTERSECT", exp.Except: "EXCEPT"}.get(
            type(node), "UNION")
        tok = lexed.word(kw, n_set) or lexed.word("MINUS", 0)
        issues.append(_issue(lexed, tok.start if tok else 0, kw,
                             "only the first SELECT is read"))
        n_set += 1
        node = node.this
    while isinstance(node, exp.Subquery):
        node = node.this
    if not isinstance(node, exp.Select):
        raise syntax_error(lexed.text, 0, f"expected a SELECT, found {node.key.upper()}",
                           code="read_only")
    if node.args.get("with_") or node.args.get("with"):
        tok = lexed.word("WITH")
        issues.append(_issue(lexed, tok.start if tok else 0, "a common table expression "
                             "(WITH …)", "the query is read from its final SELECT"))
    return node


def _cte_bodies(select: exp.Select) -> dict[str, exp.Expression]:
    w = select.args.get("with_") or select.args.get("with")
    if not w:
        return {}
    return {cte.alias_or_name.lower(): cte.this for cte in w.expressions}


def _main_table(select: exp.Select, lexed: Lexed,
                issues: list[PlanIssue]) -> tuple[exp.Table, bool, set[str]]:
    """The catalog table the plan reads, following a FROM subquery or CTE down to its table;
    with the names (CTE, subquery alias) the outer query calls it by."""
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None:
        raise syntax_error(lexed.text, len(lexed.text.rstrip()), "the query has no FROM clause",
                           expected="FROM <table>", hint="name the table to read")
    lenient = False
    for i, _join in enumerate(select.args.get("joins") or []):
        issues.append(_issue(lexed, lexed.join_start(i), "a join",
                             "only the first table is read"))
        lenient = True
    ctes = _cte_bodies(select)
    src: exp.Expression = from_.this
    names: set[str] = set()
    depth = 0
    while depth < 10:  # bounded: CTEs naming CTEs
        depth += 1
        if isinstance(src, exp.Table) and src.name.lower() in ctes and not src.db:
            names |= {src.name.lower(), str(src.alias_or_name).lower()}
            body = ctes.pop(src.name.lower())
            lenient = True
            src = _first_from(body) or src
            continue
        if isinstance(src, exp.Subquery):
            issues.append(_issue(lexed, _select_token(lexed, src), "a subquery in FROM",
                                 "the plan reads its table directly"))
            lenient = True
            if src.alias:
                names.add(src.alias.lower())
            src = _first_from(src.this) or src
            continue
        break
    if not isinstance(src, exp.Table) or not src.name or src.this is None or \
            not isinstance(src.this, exp.Identifier):
        at = min((n.meta["start"] for n in src.walk() if n.meta and "start" in n.meta),
                 default=0)
        raise syntax_error(lexed.text, at, f"FROM reads {src.sql(lexed.dialect)}, not a table "
                           f"of the catalog", expected="FROM <table>",
                           hint="`lexiquery catalog list` shows the sources",
                           code="unknown_source")
    return src, lenient, names


def _first_from(node: exp.Expression) -> exp.Expression | None:
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    if isinstance(node, exp.Select):
        from_ = node.args.get("from_") or node.args.get("from")
        return from_.this if from_ is not None else None
    return None


def _select_token(lexed: Lexed, node: exp.Expression) -> int:
    """The SELECT keyword of a subquery: the last SELECT before its first name."""
    first = min((n.meta["start"] for n in node.walk() if n.meta and "start" in n.meta),
                default=0)
    best = 0
    for t in lexed.tokens:
        if t.start >= first:
            break
        if t.token_type.name == "SELECT":
            best = t.start
    return best


def _resolve_table(table: exp.Table, lexed: Lexed, catalog: Catalog) -> Any:
    parts = [p for p in (table.catalog, table.db, table.name) if p]
    name = ".".join(parts)
    source = source_for_table(catalog, Platform.sql, name)
    if source is None:
        at = min((n.meta["start"] for n in table.walk() if n.meta and "start" in n.meta),
                 default=0)
        if at > 0 and lexed.text[at - 1] in "\"`[":
            at -= 1
        raise unknown_table_error(lexed.text, at, catalog, Platform.sql, name)
    return source


_KNOWN = {"expressions", "from_", "from", "where", "group", "having", "order", "limit",
          "distinct", "with_", "with", "joins", "kind", "hint"}


def _check_clauses(select: exp.Select, lexed: Lexed, reader: SelectReader) -> None:
    """Every other clause of the SELECT is reported at its keyword, never dropped silently."""
    words = {"offset": ("OFFSET", "OFFSET", True), "qualify": ("QUALIFY", "QUALIFY", True),
             "laterals": ("LATERAL", "LATERAL", True), "windows": ("WINDOW", "a WINDOW clause",
                                                                   False),
             "locks": ("FOR", "a locking clause (FOR UPDATE …)", False),
             "sample": ("SAMPLE", "TABLESAMPLE", True), "prewhere": ("PREWHERE",
                                                                          "PREWHERE", True),
             "settings": ("SETTINGS", "SETTINGS", False), "format": ("FORMAT", "FORMAT",
                                                                     False),
             "connect": ("CONNECT", "CONNECT BY", True), "match": ("MATCH_RECOGNIZE",
                                                                   "MATCH_RECOGNIZE", True),
             "pivots": ("PIVOT", "PIVOT", True)}
    for key, value in select.args.items():
        if key in _KNOWN or value in (None, [], False):
            continue
        word, construct, changes = words.get(key, (key.upper(), key.upper(), True))
        tok = lexed.word(word) or (lexed.word("TABLESAMPLE") if key == "sample" else None)
        reader.issues.append(_issue(lexed, tok.start if tok else reader.offset(value),
                                    construct, changes_results=changes))
    distinct = select.args.get("distinct")
    if isinstance(distinct, exp.Distinct) and distinct.args.get("on") is not None:
        tok = lexed.word("DISTINCT")
        reader.issues.append(_issue(lexed, tok.start if tok else 0, "DISTINCT ON"))
    table_sample = select.find(exp.TableSample)
    if table_sample is not None and "sample" not in select.args:
        tok = lexed.word("TABLESAMPLE")
        reader.issues.append(_issue(lexed, tok.start if tok else 0, "TABLESAMPLE"))
    limit = select.args.get("limit")
    if isinstance(limit, (exp.Limit, exp.Fetch)):
        opts = limit.args.get("limit_options")
        if opts is not None and (opts.args.get("percent") or opts.args.get("with_ties")):
            tok = lexed.word("PERCENT") or lexed.word("TIES")
            reader.issues.append(_issue(lexed, tok.start if tok else 0,
                                        "TOP/FETCH … PERCENT or WITH TIES"))
        if isinstance(limit, exp.Limit) and limit.args.get("offset") is not None:
            reader.issues.append(_issue(lexed, reader.offset(limit.args["offset"]),
                                        "LIMIT with an offset"))
        count = limit.args.get("count") if isinstance(limit, exp.Fetch) else limit.expression
        if count is not None and not isinstance(number(unparen(count)), int):
            tok = lexed.word("LIMIT") or lexed.word("TOP") or lexed.word("FETCH")
            reader.issues.append(_issue(lexed, tok.start if tok else reader.offset(count),
                                        "a LIMIT that is not a whole number"))
