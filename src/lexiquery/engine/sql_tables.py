"""Table references of hand-written SQL bound to the sandbox's view of the source.

The SQL parser (`lexiquery.dialects.parsing.source_for_table`) accepts a table however the user
qualifies it — `dbo.security_events`, `"public"."process_events"`, BigQuery's
`` `my-project.sec.process_events` ``, `db.schema.table` — as long as the bare table name is the
one the catalog's SQL binding names. The sandbox must run what the parser accepts, so every
table reference of the statement is resolved the same way and rewritten to the view named
exactly as the binding (`Sandbox._binding_view`). A table of another catalog source with a SQL
binding (a join, an `IN (SELECT …)`) is bound the same way to that source's view, and returned
so the sandbox creates it; an unknown table or the sandbox's own schemas are an error at its
position, never a query of whatever DuckDB happens to hold under that name.
"""

from __future__ import annotations

from sqlglot import exp

from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects.parsing import closest, source_for_table, sources_on, syntax_error
from lexiquery.errors import QueryError


def binding_parts(table: str) -> list[str]:
    """The parts of a binding's table name, without quotes (`[dbo].[x]` → ["dbo", "x"])."""
    return [p.strip('"`[]') for p in table.split(".")]


def bind_tables(tree: exp.Expression, text: str, catalog: Catalog,
                source: Source) -> list[Source]:
    """Point every table reference of `tree` that resolves to `source` — or to another catalog
    source with a SQL binding — at that binding's view (in place), and return the other
    sources read; raise a `QueryError` with line and column for any other table. CTE names are
    left alone: they are the query's own tables."""
    assert source.bindings.sql is not None  # the caller checked: a source without SQL has no view
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    # bare name → (the qualifiers the user wrote, the view's name parts)
    renamed: dict[str, tuple[tuple[str, ...], list[str]]] = {}
    others: dict[str, Source] = {}
    first_other: tuple[exp.Table, str, Source] | None = None
    reads_source = False
    for node in list(tree.find_all(exp.Table)):
        if not isinstance(node.this, exp.Identifier):
            continue  # a table function (UNNEST, VALUES…): not a stored table
        written = [p for p in (node.catalog, node.db, node.name) if p]
        bare = node.name.split(".")[-1]  # a quoted `a.b.c` kept whole by some dialects
        if len(written) == 1 and "." not in node.name and bare.lower() in ctes:
            continue
        hit = source_for_table(catalog, Platform.sql, bare)
        if hit is None or hit.bindings.sql is None:
            raise _not_the_source(text, node, ".".join(written), hit, catalog, source)
        if hit.id != source.id:
            others[hit.id] = hit
            first_other = first_other or (node.copy(), ".".join(written), hit)
        else:
            reads_source = True
        parts = binding_parts(hit.bindings.sql.table)
        renamed[bare.lower()] = (tuple(p.lower() for p in written[:-1]), parts)
        _set_name(node, parts)
    if first_other is not None and not reads_source:  # it must read its own source too
        node, written_name, hit = first_other
        raise _not_the_source(text, node, written_name, hit, catalog, source)
    if renamed:
        _requalify_columns(tree, renamed)
    return list(others.values())


def _set_name(node: exp.Table, parts: list[str]) -> None:
    node.set("this", exp.to_identifier(parts[-1], quoted=True))
    node.set("db", exp.to_identifier(parts[-2], quoted=True) if len(parts) >= 2 else None)
    node.set("catalog", exp.to_identifier(parts[-3], quoted=True) if len(parts) >= 3 else None)


def _requalify_columns(tree: exp.Expression,
                       renamed: dict[str, tuple[tuple[str, ...], list[str]]]) -> None:
    """`dbo.security_events.Account` names the table as the user wrote it: name it as the
    view. A column qualified by the bare table name (or an alias) already resolves."""
    for col in tree.find_all(exp.Column):
        table = col.table.lower()
        if table not in renamed or not (col.args.get("db") or col.args.get("catalog")):
            continue
        written = tuple(p.lower() for p in (col.catalog, col.db) if p)
        qualifiers, parts = renamed[table]
        if written != qualifiers[-len(written):]:
            continue
        col.set("table", exp.to_identifier(parts[-1], quoted=True))
        col.set("db", exp.to_identifier(parts[-2], quoted=True) if len(parts) >= 2 else None)
        col.set("catalog", exp.to_identifier(parts[-3], quoted=True) if len(parts) >= 3
                else None)


def _offset(node: exp.Table) -> int:
    """Where the reference starts in the text: its first written part, else its name."""
    for key in ("catalog", "db", "this"):
        part = node.args.get(key)
        if isinstance(part, exp.Identifier) and "start" in part.meta:
            return int(part.meta["start"])
    return 0


def _not_the_source(text: str, node: exp.Table, written: str, hit: Source | None,
                    catalog: Catalog, source: Source) -> QueryError:
    binding = source.bindings.sql
    assert binding is not None
    if hit is not None:
        return syntax_error(
            text, _offset(node), f"the table '{written}' is {hit.name}'s; this query runs on "
            f"{source.name}'s sample rows, so it must read its table '{binding.table}' (other "
            f"sources' tables can be joined to it)",
            hint=f"query {hit.name} on its own, or name the table {binding.table}",
            code="unknown_source")
    known = [s.bindings.sql.table for s in sources_on(catalog, Platform.sql)
             if s.bindings.sql is not None]
    near = closest(written.split(".")[-1], [binding.table, *known])
    hint = (f"did you mean {', '.join(near)}?" if near else
            f"this query runs on {source.name}'s sample rows: its table is {binding.table}")
    return syntax_error(text, _offset(node),
                        f"no catalog source is bound to the table '{written}'", hint=hint,
                        code="unknown_source")
