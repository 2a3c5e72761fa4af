"""The workspace is the truth: once a platform has an imported schema, no query names a table or
column outside it.

A *workspace* is a schema import — Kusto `.show database schema as json`, SQL DDL, or a Splunk
index/sourcetype inventory (`splunk_inventory`) — kept in the catalog directory under its file's
name. Several can be kept; one is active (`lexiquery catalog use NAME`, `--workspace`,
`LEXIQUERY_WORKSPACE`), or all when none is chosen. A YAML catalog of sources with concepts is
not a workspace: it adds sources, it does not say what exists.

For every platform the active workspace covers, `apply_workspace`:

* keeps a curated or YAML source's binding there only if its table (KQL/SQL) or its sourcetype or
  source (SPL, any spelling) exists in the workspace; keeps only the columns the workspace
  table has, and moves the time field to the table's own time column (`Timestamp` in Defender
  XDR advanced hunting) when the bound one is missing; a source left with no binding is dropped;
* for SPL, rewrites the prefix to the inventory's own index and sourcetype/source spelling,
  keeping its other constraints (`EventCode=1`);
* takes the reference shelves of that platform off the catalog (their tables may not exist
  there) and keeps the Splunk reference data sources the inventory names, in its index; the
  CIM data models stay for reading pasted searches but are never offered for a question (the
  inventory cannot say which models are accelerated).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lexiquery.catalog.model import (
    Bindings,
    Catalog,
    FieldType,
    KqlBinding,
    Platform,
    Source,
    SplBinding,
    SqlBinding,
)
from lexiquery.catalog.shelf import Shelf, ShelfTable
from lexiquery.catalog.splunk_names import spl_keys
from lexiquery.catalog.tables import TIME_NAMES, snake

_INDEX = re.compile(r'\bindex\s*=\s*("[^"]*"|[^\s()]+)', re.IGNORECASE)
# Terms that say which data a prefix reads (the deployment's own spelling replaces them).
_SELECTORS = re.compile(r'\b(?:index|sourcetype|source|eventtype)\s*=\s*("[^"]*"|[^\s()]+)'
                        r'|\bOR\b(?=\s*(?:\)|\b(?:sourcetype|source|eventtype)\s*=))',
                        re.IGNORECASE)


def spl_index(search: str) -> str | None:
    """The index a search prefix names, or None."""
    m = _INDEX.search(search)
    return m.group(1).strip('"') if m else None


class Workspace:
    """What exists, per platform: KQL/SQL tables (by lower-case name) with their columns, and
    Splunk data (sourcetype/source key → the inventory row's own search)."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self.tables: dict[Platform, dict[str, Source]] = {}
        self.spl: dict[tuple[str, str], str] = {}  # sourcetype/source key → the row's search
        for s in sources:
            for p in s.bindings.platforms():
                if p is Platform.spl:
                    search = s.bindings.spl.search  # type: ignore[union-attr]
                    for key in spl_keys(search):
                        self.spl.setdefault(key, search)
                    self.tables.setdefault(p, {})[s.id] = s
                else:
                    table = s.target(p)
                    self.tables.setdefault(p, {})[table.lower()] = s

    @property
    def platforms(self) -> list[Platform]:
        return list(self.tables)

    def table(self, platform: Platform, name: str) -> Source | None:
        got = self.tables.get(platform, {})
        return got.get(name.lower()) or got.get(name.rsplit(".", 1)[-1].strip('"`[]').lower())

    def spl_search(self, search: str) -> str | None:
        """`search` as this deployment spells it: its index, sourcetype and source replaced by
        the inventory rows' (several rows in one index become an OR of sourcetypes), its other
        constraints kept (`EventCode=1`); None when the inventory has none of its data."""
        rows = list(dict.fromkeys(self.spl[k] for k in sorted(spl_keys(search))
                                  if k in self.spl))
        if not rows:
            return None
        rest = _SELECTORS.sub(" ", search)
        rest = re.sub(r"\(\s*(?:OR\s*)*\)", " ", rest)  # an emptied OR group
        rest = " ".join(rest.split())
        indexes = {spl_index(r) for r in rows}
        if len(rows) > 1 and len(indexes) == 1:
            types = [spl_keys(_INDEX.sub("", r)) for r in rows]
            alts = " OR ".join(_INDEX.sub("", r).strip() for r in rows)
            head = f"index={indexes.pop()} ({alts})" if all(types) else rows[0]
        else:
            head = rows[0]
        return f"{head} {rest}".strip()


def _restrict_table_binding(src: Source, p: Platform, ws: Workspace) -> Source | None:
    binding = getattr(src.bindings, p.value)
    table = ws.table(p, binding.table)
    if table is None:
        return None
    have = {c: c for c in table.bindings.columns(p).values()}
    if p is not Platform.kql:  # SQL names are case-insensitive
        have = {c.lower(): c for c in have.values()}
    cols = {f: have[c if p is Platform.kql else c.lower()] for f, c in binding.columns.items()
            if (c if p is Platform.kql else c.lower()) in have}
    # A field whose bound column the table lacks may be there under another name: the
    # field's own name or a synonym, as the table's column (`status` → `status_code`).
    by_words = {re.sub(r"_[sdbtg]$", "", snake(c)): c for c in have.values()}
    for f in src.fields:
        if f.name in cols or f.name not in binding.columns:
            continue
        for name in (f.name, *f.synonyms):
            hit = by_words.get(snake(name))
            if hit is not None and hit not in cols.values():
                cols[f.name] = hit
                break
    if src.time_field and src.time_field not in cols:
        own = table.time_field and table.bindings.columns(p).get(table.time_field)
        own = own or next((have[n] for n in have if snake(n) in TIME_NAMES), None)
        if own:
            cols[src.time_field] = own
    if p is Platform.kql:
        types = {f: t for f, t in binding.column_types.items() if f in cols}
        return src.model_copy(update={"bindings": src.bindings.model_copy(update={
            "kql": KqlBinding(table=table.target(p), columns=cols, column_types=types)})})
    return src.model_copy(update={"bindings": src.bindings.model_copy(update={
        "sql": SqlBinding(table=table.target(p), columns=cols)})})


def _restrict(src: Source, ws: Workspace) -> Source | None:
    """`src` with its bindings limited to what the workspace has; None when nothing is left."""
    for p in ws.platforms:
        binding = getattr(src.bindings, p.value)
        if binding is None or src.schema_import:  # the workspace's own tables
            continue
        if p is Platform.spl:
            search = ws.spl_search(binding.search)
            new = None if search is None else binding.model_copy(update={"search": search})
            src = src.model_copy(update={"bindings": src.bindings.model_copy(update={"spl": new})})
        else:
            restricted = _restrict_table_binding(src, p, ws)
            src = restricted or src.model_copy(update={"bindings": src.bindings.model_copy(
                update={p.value: None})})
    if not src.bindings.platforms():
        return None
    return src


def _spl_shelf(shelf: Shelf, ws: Workspace) -> Shelf:
    """A Splunk reference shelf limited to the data sources the inventory names, each searched
    in its index there — a workspace shelf now. A shelf of CIM data models stays a reference
    shelf: the inventory cannot say which models a deployment accelerates, so they are read in
    pasted searches but never offered for a question (`nl.source_select`)."""
    if all(t.search.lstrip().startswith("|") for t in shelf.tables):
        return shelf
    kept = [ShelfTable(**{**t.__dict__, "search": search}) for t in shelf.tables
            if not t.search.lstrip().startswith("|")
            and (search := ws.spl_search(t.search)) is not None]
    return Shelf(name=shelf.name, kind="workspace", platform=shelf.platform, tables=kept,
                 reserved=shelf.reserved)


def apply_workspace(catalog: Catalog, schema: Iterable[Source]) -> Catalog:
    """A new catalog: `catalog` limited to the workspace the `schema` sources describe (see
    the module docstring). With no schema sources, `catalog` itself."""
    ws = Workspace(schema)
    if not ws.platforms:
        return catalog
    sources = [r for s in catalog if (r := _restrict(s, ws)) is not None]
    shelves = []
    for shelf in catalog.shelves:
        if shelf.platform not in ws.platforms:
            shelves.append(shelf)
        elif shelf.platform is Platform.spl and isinstance(shelf, Shelf):
            if len(kept := _spl_shelf(shelf, ws)):
                shelves.append(kept)
    # An inventory row whose data a curated or reference source reads is that source (with
    # its fields) in the row's index; only the rows nothing else knows stay as bare sources.
    known = {k for s in sources if s.bindings.spl is not None and not s.schema_import
             for k in spl_keys(s.bindings.spl.search)}
    known |= {k for shelf in shelves if shelf.platform is Platform.spl
              for t in shelf.tables for k in spl_keys(t.search)}
    sources = [s for s in sources if not (s.schema_import and s.bindings.spl is not None
                                          and spl_keys(s.bindings.spl.search) <= known)]
    out = Catalog(sources, shelves)
    out.workspace_platforms = ws.platforms
    out.lookups = dict(catalog.lookups)  # declared by the site: the schema does not list them
    return out


def inventory_source(index: str, sourcetype: str, source: str, origin: str) -> Source:
    """One row of a Splunk inventory (`| tstats count where index=* by index sourcetype
    source`) as a source: what exists and where; its fields come from the reference data
    source or curated source of the same sourcetype."""
    search = f"index={index} sourcetype={_q(sourcetype)}" + (f" source={_q(source)}"
                                                             if source else "")
    name = f"{sourcetype} in {index}"
    return Source(id=snake(f"{index}_{sourcetype}"), name=name, schema_import=True,
                  description=f"{name} (Splunk inventory)",
                  time_field="time",
                  fields=[{"name": "time", "type": FieldType.datetime},  # type: ignore[list-item]
                          {"name": "host", "type": FieldType.string}],
                  bindings=Bindings(spl=SplBinding(search=search, fields={"time": "_time",
                                                                          "host": "host"})),
                  origin=origin)


def _q(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9_:.*/-]+", value) else '"' + value + '"'
