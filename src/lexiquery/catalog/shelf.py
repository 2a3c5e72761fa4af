"""Shelves: many tables kept compact, turned into catalog sources only when a question needs one.

A real workspace has hundreds of tables and the reference packs about 1,100; building a full
`Source` (pydantic, snake_case fields, synonyms) costs ~1.3 ms per table, so a catalog holding
them all as sources would cost seconds at every start. A `Shelf` keeps each table as a
`ShelfTable` — its name, platform target and (column, type) pairs — and materialises the
`Source` on first use (cached per shelf).

Two kinds of shelf, told apart by `kind`:

* ``reference`` — shipped with LexiQuery (`catalog.reference`): breadth, no concepts;
* ``workspace`` — the user's imported or pulled schema for one platform: the truth about which
  tables and columns exist there (`catalog.workspace`).

Naming contract (the same as the importers', `catalog.tables`): a table's source id is the
snake_case of its name; ids that collide inside one shelf are made distinct with a numeric
suffix, and a shelf never hands out an id listed in `reserved` (ids the curated sources use).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from lexiquery.catalog.cim_bindings import cim_bindings
from lexiquery.catalog.kusto_schema import CSL_TYPES
from lexiquery.catalog.model import (
    Bindings,
    Concept,
    FieldDef,
    FieldType,
    KnownValue,
    Platform,
    Source,
    SplBinding,
    SqlBinding,
)
from lexiquery.catalog.tables import snake, source_from_columns
from lexiquery.ir import Condition, Operator


@dataclass(frozen=True)
class ShelfTable:
    """One table (KQL/SQL) or Splunk data source, as compact facts.

    `columns` are (name, type) with Kusto type names (string, long, datetime…). For SPL,
    `search` is the prefix that selects the data (``sourcetype="aws:cloudtrail"``),
    `separator` the field whose values split it into event kinds, and `kinds` those values with
    their names (EventCode 4698 → "Windows Event Log Security 4698"). `concepts` holds CIM child
    datasets as (name, synonyms, field, value). `words` are extra phrases an analyst may use."""

    name: str
    platform: Platform
    columns: Sequence[Sequence[str]]  # (name, type) pairs
    id: str = ""
    description: str = ""
    search: str = ""
    separator: str = ""
    kinds: tuple[tuple[str, str], ...] = ()
    concepts: tuple[tuple[str, tuple[str, ...], str, str], ...] = ()
    words: tuple[str, ...] = ()
    fields: tuple[tuple[str, str, str, str], ...] = ()  # CIM: (name, type, entity, description)

    @property
    def target(self) -> str:
        """The table name (KQL/SQL) or search prefix (SPL) a query uses."""
        return self.search if self.platform is Platform.spl else self.name

    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]


def _type(name: str) -> FieldType:
    return CSL_TYPES.get(name.lower(), FieldType.string)


def _spl_source(t: ShelfTable, origin: str) -> Source:
    """A Splunk data source or CIM dataset as a source: fields keep their Splunk names (SPL
    field names are what analysts type), the separator's event kinds become known values."""
    fields: list[FieldDef] = []
    mapping: dict[str, str] = {}
    described = {f[0]: f for f in t.fields}
    for col, typ in t.columns:
        logical = snake(col)
        if logical in mapping:
            continue
        extra = described.get(col)
        syn = [w for w in {col, logical.replace("_", " ")} if w != logical]
        known = [KnownValue(value=v, meaning=m) for v, m in t.kinds] if col == t.separator else []
        entity = extra[2] if extra and extra[2] else None
        fields.append(FieldDef(name=logical, type=_type(typ), synonyms=sorted(syn),
                               entity=entity, known_values=known,  # type: ignore[arg-type]
                               description=(extra[3] if extra and extra[3] else
                                            f"{col} field of {t.name}")))
        mapping[logical] = col
    concepts = [Concept(name=name, synonyms=list(syn),
                        filters=[Condition(field=snake(fld), op=Operator.eq, value=val)])
                for name, syn, fld, val in t.concepts if snake(fld) in mapping]
    time_field = "time" if "time" in mapping else None
    # A CIM dataset another platform holds field for field is bound there too
    # (`catalog.cim_bindings`); only the fields the facts name.
    cross = {p: b for p, b in cim_bindings().get(t.id, {}).items()
             if set(b.columns) <= set(mapping)}
    return Source(id=t.id, name=t.name, description=t.description or f"{t.name} (Splunk)",
                  synonyms=sorted(set(t.words)), time_field=time_field, fields=fields,
                  concepts=concepts, bindings=Bindings(spl=SplBinding(search=t.search,
                                                                      fields=mapping), **cross),
                  origin=origin)


@dataclass
class Shelf:
    """Tables of one reference pack or one workspace (see the module docstring).

    Contract: `source(id)` returns the same `Source` object for the same id (so per-source
    caches keyed by identity stay valid); `tables` is fixed after construction."""

    name: str
    kind: str  # reference | workspace
    platform: Platform
    tables: list[ShelfTable]
    reserved: frozenset[str] = frozenset()
    digest: str = ""  # the content hash when the maker knows it (a pack file's digest)
    by_id: dict[str, ShelfTable] = field(init=False)
    _by_target: dict[str, ShelfTable] = field(init=False)
    _built: dict[str, Source] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _hash: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.by_id = {}
        named: list[ShelfTable] = []
        for t in self.tables:
            base = t.id or snake(t.name)
            sid, n = base, 2
            while sid in self.by_id or sid in self.reserved:
                sid, n = f"{base}_{n}", n + 1
            t = t if t.id == sid else ShelfTable(**{**t.__dict__, "id": sid})
            self.by_id[sid] = t
            named.append(t)
        self.tables = named
        self._by_target = {t.name.lower(): t for t in named}

    def __len__(self) -> int:
        return len(self.tables)

    @property
    def origin(self) -> str:
        return f"{self.kind}:{self.name}"

    def content_hash(self) -> str:
        """A digest of every fact on the shelf: the key of caches built from it."""
        if not self._hash and self.digest:
            self._hash = self.digest
        if not self._hash:
            doc = json.dumps([[t.id, t.name, t.platform.value, t.columns, t.search, t.kinds,
                               t.concepts, t.words, t.description] for t in self.tables],
                             separators=(",", ":"), default=str)
            self._hash = hashlib.sha256(doc.encode()).hexdigest()[:24]
        return self._hash

    def table(self, name: str) -> ShelfTable | None:
        """The table named `name` (case-insensitive; a schema or database prefix is ignored)."""
        return self._by_target.get(name.lower()) or \
            self._by_target.get(name.rsplit(".", 1)[-1].strip('"`[]').lower())

    def source(self, source_id: str) -> Source | None:
        t = self.by_id.get(source_id)
        if t is None:
            return None
        with self._lock:
            hit = self._built.get(source_id)
        if hit is not None:
            return hit
        built = self._materialise(t)
        with self._lock:
            return self._built.setdefault(source_id, built)

    def _materialise(self, t: ShelfTable) -> Source:
        if t.platform is Platform.spl:
            return _spl_source(t, self.origin)
        src = source_from_columns(t.name, [(c, _type(ty), "") for c, ty in t.columns],
                                  platform=t.platform.value, origin=self.origin,
                                  description=t.description or
                                  f"{t.name} ({t.platform.value.upper()} table of the "
                                  f"{self.name} {self.kind})")
        words = sorted(set(src.synonyms) | set(t.words) | {table_words(t.name)})
        update = {"id": t.id, "synonyms": words, "schema_import": False}
        if self.kind == "reference" and t.platform is Platform.kql and src.bindings.kql:
            # A Log Analytics table read by SQL keeps its names: Azure Data Explorer's T-SQL
            # endpoint, the Sentinel data lake's Spark SQL and the exports (storage, Event Hubs
            # into a warehouse) all name it and its columns as Log Analytics does.
            update["bindings"] = src.bindings.model_copy(update={"sql": SqlBinding(
                table=t.name, columns=dict(src.bindings.kql.columns), note=(
                    f"the SQL table is assumed to keep the Log Analytics names ({t.name} and "
                    f"its columns), as Azure Data Explorer's T-SQL endpoint, the Sentinel "
                    f"data lake and exports name it; import your SQL schema to bind your "
                    f"own table"))})
        return src.model_copy(update=update)

    def sources(self, ids: Iterable[str]) -> list[Source]:
        return [s for i in ids if (s := self.source(i)) is not None]


def table_words(name: str) -> str:
    """A table name in words: `DeviceRegistryEvents` → "device registry events", `VpnLogs_CL`
    → "vpn logs" (the custom-log suffix says nothing about the data)."""
    words = snake(name).split("_")
    if len(words) > 1 and words[-1] == "cl":
        words = words[:-1]
    return " ".join(words)


def shelf_of_sources(name: str, platform: Platform, sources: Iterable[Source]) -> Shelf:
    """Sources already built (a big workspace's imported tables) as a shelf, so the linker can
    retrieve among them; `source(id)` returns the given objects themselves."""
    srcs = [s for s in sources if getattr(s.bindings, platform.value) is not None]
    tables = []
    for s in srcs:
        types = {f.name: f.type.value for f in s.fields}
        tables.append(ShelfTable(name=s.target(platform).rsplit(".", 1)[-1], platform=platform,
                                 id=s.id, words=tuple(s.synonyms),
                                 columns=tuple((c, types.get(f, "string")) for f, c in
                                               s.bindings.columns(platform).items())))
    shelf = Shelf(name=name, kind="workspace", platform=platform, tables=tables)
    shelf._built.update({s.id: s for s in srcs})
    return shelf
