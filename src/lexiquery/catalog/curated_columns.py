"""A curated source answers for every column of its own table: the reference columns it does not
curate are added to it, bound on the platform the reference says has them, and nowhere else.

    widen_curated(catalog)   (called by `catalog.store.attach_reference`)

A curated source (`windows_security_events` over SecurityEvent) takes the place of the reference
table of the same name (`catalog.reference`: curated sources win), and it curates a few
columns out of hundreds. A detection that names another real column of the table
(`TicketEncryptionType`, `AuthenticationRequirement`) must still be read, so each built-in source
gains, per platform:

* KQL: every column of the Log Analytics table it binds (`log_analytics` pack, same table name),
  typed from the pack;
* SQL, for the sources in `SQL_SNAKE`: every added KQL column, as its snake_case name (the rule
  their SQL tables follow);
* SPL: every field of the Splunk data source(s) its search selects (`splunk` pack: a data source
  whose sourcetype/source keys are among the source's own, the generic Windows sourcetypes
  `WinEventLog`/`XmlWinEventLog` aside since the channel says which data it is; of several
  data sources with the same keys, the one with most fields), as strings.

A column already bound on that platform, or one of the field aliases of a bound name
(`catalog.splunk_names.field_aliases`: on SPL `TargetUserName` resolves to the curated `user`),
is not added again: the curated field keeps answering for it (for a `SAME_NAMES` source, a
column the other platform binds too).

An added field is bound on its own platform only, so a query naming it translates to another
platform as a precise `not_bound` — unless the source is in `SAME_NAMES`: there both platforms
read the same named fields of the same records (Windows Security events: SecurityEvent's
columns and the XmlWinEventLog:Security fields are the event XML's own names), and a column of
that exact name on both becomes one field bound on both. Added fields carry no synonyms and no
entity: they widen what queries may name, not what questions match.
"""

from __future__ import annotations

from functools import lru_cache

from lexiquery.catalog.kusto_schema import CSL_TYPES
from lexiquery.catalog.model import Catalog, FieldDef, FieldType, Source
from lexiquery.catalog.reference import pack_tables
from lexiquery.catalog.splunk_names import field_aliases, spl_keys
from lexiquery.catalog.tables import snake

__all__ = ["SAME_NAMES", "SQL_SNAKE", "widen_curated"]

# Curated sources whose KQL table and Splunk data source hold the same records under the same
# field names (see the module docstring).
SAME_NAMES = frozenset({"windows_security_events"})
# Built-in sources whose SQL table (LexiQuery's own sample schema) names every column as the
# snake_case of its Log Analytics column (`UserPrincipalName` → `user_principal_name`): an added
# KQL column is a column of that table under the same rule, as the curated ones are.
SQL_SNAKE = frozenset({"signin_logs", "windows_security_events", "security_alerts"})
_GENERIC = {("sourcetype", "wineventlog"), ("sourcetype", "xmlwineventlog")}
# Splunk's own metadata fields: the reader knows them on every source, or they describe the
# index rather than the event.
_SPL_META = frozenset({"_time", "_raw", "host", "index", "source", "sourcetype", "eventtype",
                       "linecount", "punct", "splunk_server", "tag", "tag::eventtype",
                       "timeendpos", "timestartpos", "date_hour", "date_mday", "date_minute",
                       "date_month", "date_second", "date_wday", "date_year", "date_zone"})

_Extra = tuple[tuple[FieldDef, ...], tuple[tuple[str, tuple[tuple[str, str], ...]], ...]]


def widen_curated(catalog: Catalog) -> None:
    """Give every built-in source of `catalog` the reference columns of its own table (see the
    module docstring); other sources are left as they are."""
    for source in list(catalog):
        if source.origin != "builtin":
            continue
        fields, bound = _extra(source.id, _bound_key(source))
        if not fields:
            continue
        bindings = source.bindings
        updates = {}
        for platform, pairs in bound:
            b = getattr(bindings, platform)
            cols = {**(b.fields if platform == "spl" else b.columns), **dict(pairs)}
            updates[platform] = b.model_copy(update={"fields" if platform == "spl" else
                                                     "columns": cols})
        catalog.add(source.model_copy(update={
            "fields": [*source.fields, *fields],
            "bindings": bindings.model_copy(update=updates)}))


def _bound_key(source: Source) -> tuple:
    """What `_extra` depends on: the source's fields and bindings (hashable)."""
    b = source.bindings
    return (tuple(f.name for f in source.fields),
            tuple((p.value, source.target(p), tuple(sorted(b.columns(p).items())))
                  for p in b.platforms()))


@lru_cache(maxsize=64)
def _extra(source_id: str, key: tuple) -> _Extra:
    names = set(key[0])
    targets = {p: (target, dict(cols)) for p, target, cols in key[1]}
    taken: dict[str, set[str]] = {}  # platform → lower-case names the curated fields answer to
    for p, (_t, cols) in targets.items():
        own = {c.lower() for c in cols.values()}
        taken[p] = own | {a for c in own for a in field_aliases(c)}
    if source_id in SAME_NAMES:  # a column another platform binds means that field here too
        for p in ("kql", "spl"):
            for q in ("kql", "spl"):
                if p in taken and q in targets:
                    taken[p] |= {c.lower() for c in targets[q][1].values()}
    found: dict[str, list[tuple[str, FieldType]]] = {}  # platform → (column, type)
    if "kql" in targets:
        found["kql"] = _kql_columns(targets["kql"][0])
    if "spl" in targets:
        found["spl"] = _spl_columns(targets["spl"][0])
    by_name: dict[str, dict[str, FieldType]] = {}  # column → platform → type
    for platform, cols in found.items():
        bound_here = set(targets[platform][1].values())
        for col, typ in cols:
            if col in bound_here or col.lower() in taken[platform]:
                continue
            by_name.setdefault(col, {})[platform] = typ
    fields: list[FieldDef] = []
    bound: dict[str, list[tuple[str, str]]] = {}
    for col, platforms in sorted(by_name.items()):
        together = source_id in SAME_NAMES and len(platforms) > 1
        groups = [tuple(platforms)] if together else [(p,) for p in platforms]
        for group in groups:
            name = _free_name(snake(col), group, names)
            if name is None:
                continue
            names.add(name)
            where = " and ".join(p.upper() for p in group)
            fields.append(FieldDef(name=name, type=platforms.get("kql", platforms[group[0]]),
                                   description=f"the reference column {col} of this table "
                                               f"(bound on {where} only)"))
            for p in group:
                bound.setdefault(p, []).append((name, col))
    if source_id in SQL_SNAKE and "sql" in targets:
        fields, bound = _on_sql(fields, bound, set(targets["sql"][1].values()))
    return tuple(fields), tuple((p, tuple(pairs)) for p, pairs in bound.items())


def _on_sql(fields: list[FieldDef], bound: dict[str, list[tuple[str, str]]],
            sql_columns: set[str]) -> tuple[list[FieldDef], dict[str, list[tuple[str, str]]]]:
    """Each added KQL column bound on SQL too, as the snake_case column the source's SQL table
    names it by (`SQL_SNAKE`)."""
    on_sql = {}
    for name, col in bound.get("kql", []):
        column = snake(col)
        if column not in sql_columns:
            on_sql[name] = column
            sql_columns.add(column)
    bound["sql"] = [*bound.get("sql", []), *on_sql.items()]
    def also_sql(text: str) -> str:  # "(bound on KQL and SPL only)" → "(… KQL, SPL and SQL only)"
        head, _, where = text.rpartition("(bound on ")
        platforms = where.removesuffix(" only)").split(" and ")
        return f"{head}(bound on {', '.join(platforms)} and SQL only)"

    fields = [f.model_copy(update={"description": also_sql(f.description or "")})
              if f.name in on_sql else f for f in fields]
    return fields, bound


def _free_name(base: str, group: tuple[str, ...], names: set[str]) -> str | None:
    """`base`, or `base_<platform>` when a field already has that name (None if both are)."""
    for name in (base, f"{base}_{'_'.join(group)}"):
        if name not in names:
            return name
    return None


def _kql_columns(table: str) -> list[tuple[str, FieldType]]:
    _platform, tables = pack_tables("log_analytics")
    for t in tables:
        if t.name.lower() == table.lower():
            return [(c, CSL_TYPES.get(ty.lower(), FieldType.string)) for c, ty in t.columns]
    return []


def _spl_columns(search: str) -> list[tuple[str, FieldType]]:
    own = spl_keys(search) - _GENERIC
    if not own:
        return []
    _platform, tables = pack_tables("splunk")
    best: dict[frozenset, object] = {}
    for t in tables:
        keys = frozenset(spl_keys(t.search) - _GENERIC)
        if keys and keys <= own and (keys not in best or
                                     len(t.columns) > len(best[keys].columns)):  # type: ignore
            best[keys] = t
    out: list[tuple[str, FieldType]] = []
    for t in best.values():
        for c, _ty in t.columns:  # type: ignore[attr-defined]
            if c not in _SPL_META and all(c != o for o, _ in out):
                out.append((c, FieldType.string))
    return out
