"""The catalog's data model: logical sources, their typed fields, and one binding per platform.

A `Source` is what an analyst thinks of ("sign-in events"); its `fields` have logical snake_case
names (`user`, `src_ip`, `result_code`). Each platform that holds the data has a binding that maps
those logical names onto the platform's own names:

* KQL: a table (``SigninLogs``) and columns (``user`` → ``UserPrincipalName``);
* SPL: a search prefix (``index=azure sourcetype="azure:aad:signin"`` or a CIM data model) and
  field names (``user`` → ``user``);
* SQL: a table (``signin_logs``, optionally schema-qualified) and columns.

A field missing from a binding's `columns` is *not available* on that platform — the validator
reports it; nothing invents a column name.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any, Iterable, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lexiquery.catalog.escu_macros import MacroTable, escu_macros
from lexiquery.catalog.macro_table import SplMacro
from lexiquery.ir import Filter, Scalar, iter_conditions


class Platform(str, Enum):
    kql = "kql"
    spl = "spl"
    sql = "sql"


class FieldType(str, Enum):
    string = "string"
    int = "int"
    long = "long"
    real = "real"
    bool = "bool"
    datetime = "datetime"
    timespan = "timespan"
    guid = "guid"
    dynamic = "dynamic"  # JSON / bag / array

    @property
    def numeric(self) -> bool:
        return self in {FieldType.int, FieldType.long, FieldType.real}


class EntityKind(str, Enum):
    user = "user"
    host = "host"
    ip = "ip"
    process = "process"
    file = "file"
    url = "url"
    domain = "domain"
    email = "email"
    app = "app"
    resource = "resource"
    hash = "hash"
    port = "port"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KnownValue(_Model):
    value: Scalar
    meaning: str


class FieldDef(_Model):
    name: str
    type: FieldType = FieldType.string
    description: str = ""
    synonyms: list[str] = Field(default_factory=list)
    entity: EntityKind | None = None
    known_values: list[KnownValue] = Field(default_factory=list)


class Concept(_Model):
    """A named idea in the analyst's words ("failed sign-in") and the filters that mean it."""

    name: str
    synonyms: list[str] = Field(default_factory=list)
    description: str = ""
    filters: list[Filter] = Field(min_length=1)


class KqlBinding(_Model):
    """`column_types` names columns whose Kusto type differs from the logical field's type
    (W3CIISLog.scStatus is a string holding a number): the renderer converts them where a
    number is needed (`toint(scStatus) >= 500`)."""

    table: str
    columns: dict[str, str] = Field(default_factory=dict)
    column_types: dict[str, FieldType] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _typed_columns_are_bound(self) -> "KqlBinding":
        unbound = set(self.column_types) - set(self.columns)
        if unbound:
            raise ValueError(f"column_types names fields with no column: {sorted(unbound)}")
        return self


class SplBinding(_Model):
    """`search` is the prefix that selects exactly this source's events, e.g.
    ``index=azure sourcetype="azure:aad:signin"``. It may pin a constraint that defines the source
    (Sysmon ``EventCode=1`` for process creation); question-specific filters belong to the plan.

    `macros` declares the search macros queries may use, by name as Splunk writes it (``name``,
    or ``name(2)`` for one with two `args`), each a definition string or ``{definition, args}``.
    A macro not declared anywhere in the catalog is unknown code and refused
    (`dialects.spl.macros`, `dialects.guard`)."""

    search: str
    fields: dict[str, str] = Field(default_factory=dict)
    macros: dict[str, SplMacro] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _macro_arity(self) -> "SplBinding":
        for name, macro in self.macros.items():
            m = re.fullmatch(r"[A-Za-z0-9_.:-]+(?:\((\d+)\))?", name)
            if m is None:
                raise ValueError(f"macro name {name!r}: write name or name(N)")
            if int(m.group(1) or 0) != len(macro.args):
                raise ValueError(f"macro {name!r} takes {m.group(1) or 0} arguments but names "
                                 f"{len(macro.args)} in args")
        return self


class SqlBinding(_Model):
    """`note`: set when the binding is assumed rather than known (a reference table read by
    SQL under its Log Analytics names); every query written through it carries the note as a
    warning, so the user knows to check the table exists as named."""

    table: str
    columns: dict[str, str] = Field(default_factory=dict)
    note: str | None = None


class Bindings(_Model):
    kql: KqlBinding | None = None
    spl: SplBinding | None = None
    sql: SqlBinding | None = None

    def platforms(self) -> list[Platform]:
        return [p for p in Platform if getattr(self, p.value) is not None]

    def columns(self, platform: Platform) -> dict[str, str]:
        b = getattr(self, platform.value)
        if b is None:
            return {}
        return b.fields if isinstance(b, SplBinding) else b.columns


class Source(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    description: str = ""
    synonyms: list[str] = Field(default_factory=list)
    time_field: str | None = None
    fields: list[FieldDef] = Field(min_length=1)
    concepts: list[Concept] = Field(default_factory=list)
    default_fields: list[str] = Field(default_factory=list)
    bindings: Bindings
    origin: str = "builtin"
    # Made from a schema (Kusto schema JSON, SQL DDL, a Splunk inventory): it says what exists
    # on its platform, so it defines the workspace there (`catalog.workspace`).
    schema_import: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> "Source":
        names = [f.name for f in self.fields]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"source {self.id!r}: duplicate fields {sorted(dupes)}")
        known = set(names)
        if self.time_field and self.time_field not in known:
            raise ValueError(f"source {self.id!r}: time_field {self.time_field!r} is not a field")
        for p in self.bindings.platforms():
            extra = set(self.bindings.columns(p)) - known
            if extra:
                raise ValueError(
                    f"source {self.id!r}: {p.value} binding maps unknown fields {sorted(extra)}"
                )
        for concept in self.concepts:
            unknown = {c.field for c in iter_conditions(concept.filters)} - known
            if unknown:
                raise ValueError(f"source {self.id!r}: concept {concept.name!r} filters on "
                                 f"unknown fields {sorted(unknown)}")
        for name in self.default_fields:
            if name not in known:
                raise ValueError(f"source {self.id!r}: default field {name!r} is not a field")
        if not self.bindings.platforms():
            raise ValueError(f"source {self.id!r}: needs a binding for at least one platform")
        return self

    def field(self, name: str) -> FieldDef | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def column(self, platform: Platform, name: str) -> str | None:
        """The platform's name for logical field `name`, or None when it is not bound there."""
        return self.bindings.columns(platform).get(name)

    def target(self, platform: Platform) -> str:
        """The platform's table or search prefix; "" when the source is not bound there."""
        b = getattr(self.bindings, platform.value)
        if b is None:
            return ""
        return b.search if isinstance(b, SplBinding) else b.table

    def concept(self, name: str) -> Concept | None:
        for c in self.concepts:
            if c.name == name:
                return c
        return None


class SourceShelf(Protocol):
    """Many tables kept compact and built into sources on demand (`catalog.shelf.Shelf`)."""

    name: str
    kind: str  # reference | workspace
    platform: Platform
    tables: list[Any]  # `catalog.shelf.ShelfTable`s

    @property
    def origin(self) -> str: ...

    def __len__(self) -> int: ...

    def source(self, source_id: str) -> "Source | None": ...

    def table(self, name: str) -> object | None: ...

    @property
    def by_id(self) -> dict[str, object]: ...


class LookupShape(Protocol):
    """A lookup table the catalog declares (`catalog.lookups.LookupTable`)."""

    name: str

    @property
    def id(self) -> str: ...

    def source(self) -> "Source": ...


class Catalog:
    """Sources by id. Later additions (imports, --catalog files) replace same-id sources.

    Besides its sources, a catalog holds `shelves`: reference packs and workspace schemas
    whose tables become sources only when asked for. `get`, `in` and `find_table` see them;
    iterating, `ids()` and `len()` cover the catalog's own sources only (curated, imported
    YAML, and the sources built so far are not listed), so code that walks every source stays
    as fast with 1,000 reference tables as with 13."""

    def __init__(self, sources: Iterable[Source] = (),
                 shelves: Iterable[SourceShelf] = ()) -> None:
        self._sources: dict[str, Source] = {}
        self.shelves: list[SourceShelf] = list(shelves)
        # Platforms whose workspace (schema import) limits this catalog (`catalog.workspace`).
        self.workspace_platforms: list[Platform] = []
        # Lookup tables by the name SPL uses (`catalog.lookups`): not sources of events, so
        # not iterated; `get` finds their sources by id (a join's right side).
        self.lookups: dict[str, LookupShape] = {}
        for s in sources:
            self.add(s)

    def add(self, source: Source) -> None:
        self._sources[source.id] = source

    def get(self, source_id: str) -> Source | None:
        hit = self._sources.get(source_id)
        if hit is not None:
            return hit
        for shelf in self.shelves:
            if source_id in shelf.by_id:
                return shelf.source(source_id)
        table = self._lookup_by_id(source_id)
        return table.source() if table is not None else None

    def add_lookup(self, table: LookupShape) -> None:
        self.lookups[table.name] = table

    def lookup(self, name: str) -> LookupShape | None:
        """The lookup SPL calls `name` (its definition name), or None."""
        return self.lookups.get(name)

    def _lookup_by_id(self, source_id: object) -> LookupShape | None:
        return next((t for t in self.lookups.values() if t.id == source_id), None)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._sources.values())

    def __len__(self) -> int:
        return len(self._sources)

    def __contains__(self, source_id: object) -> bool:
        return source_id in self._sources or any(
            source_id in shelf.by_id for shelf in self.shelves) or \
            self._lookup_by_id(source_id) is not None

    def ids(self) -> list[str]:
        return list(self._sources)

    def shelved(self, platform: Platform | None = None) -> int:
        """How many tables the shelves hold (on `platform`, or on all)."""
        return sum(len(s) for s in self.shelves if platform in (None, s.platform))

    def find_table(self, platform: Platform, name: str) -> Source | None:
        """The shelf source whose table (KQL/SQL) or data source name is `name`; for SQL also a
        KQL shelf's table its source binds on SQL under the same name (a reference table read
        by SQL under its Log Analytics names)."""
        for shelf in self.shelves:
            if shelf.platform is platform:
                t = shelf.table(name)
                if t is not None:
                    return shelf.source(t.id)  # type: ignore[attr-defined]
        if platform is Platform.sql:
            for shelf in self.shelves:
                t = shelf.table(name) if shelf.platform is Platform.kql else None
                src = shelf.source(t.id) if t is not None else None  # type: ignore[attr-defined]
                sql = src.bindings.sql if src is not None else None
                if sql is not None and sql.table.lower() == \
                        name.rsplit(".", 1)[-1].strip('"`[]').lower():
                    return src
        return None

    def spl_macros(self) -> MacroTable:
        """Every SPL macro the sources declare, over the built-in ESCU pack and its
        `*_filter` pattern (`catalog.escu_macros`); a later source's definition of a name
        wins over an earlier one and over the pack."""
        declared: dict[str, SplMacro] = {}
        for s in self._sources.values():
            if s.bindings.spl is not None:
                declared.update(s.bindings.spl.macros)
        return escu_macros().over(declared)
