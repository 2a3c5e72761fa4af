"""Lookup tables detections read (`| lookup name key OUTPUT …`, `| inputlookup name`): declared in
the catalog so the SPL reader can turn them into joins against a known table, and refuse them
precisely when it cannot.

    LookupTable            name, typed fields, how Splunk matches, optional sample rows
    lookup.source()        the lookup as a catalog `Source` (a join's right side, `inputlookup`)
    builtin_lookups()      the lookups shipped with LexiQuery (`lookups/*.yaml`)
    catalog.lookup(name)   a declared lookup by the name SPL uses (`Catalog.lookups`)

A lookup is data, not events: it has no time field, and it is kept apart from the catalog's
sources (iterating a catalog, and so answering questions, never meets one), but `catalog.get`
finds its source by id so a plan that joins it renders on every platform.

Where it lives on each platform: on SPL it is the lookup definition (``| inputlookup name``);
on KQL and SQL a table of the same name (`kql_table` / `sql_table` say otherwise, e.g. a
Sentinel watchlist exported as a custom table); a lookup with `kql_table: ""` exists on SPL
only, and a plan reading it is a precise `not_bound` there.

How Splunk matches matters for exactness: `match` names the fields matched with a
``WILDCARD(field)`` or ``CIDR(field)`` match_type (an equality join is not the same), and
`case_sensitive` is Splunk's `case_sensitive_match` (true unless the definition says otherwise).
A reader that cannot express such a match refuses the lookup, naming the field.
"""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lexiquery.catalog.model import Bindings, FieldDef, KqlBinding, Source, SplBinding, SqlBinding
from lexiquery.catalog.tables import snake
from lexiquery.ir import Scalar

__all__ = ["LOOKUP_DIR", "LookupMatch", "LookupTable", "builtin_lookups"]

LOOKUP_DIR = Path(__file__).with_name("lookups")


class LookupMatch(str, Enum):
    wildcard = "wildcard"  # WILDCARD(field): the table's value is a pattern with *
    cidr = "cidr"  # CIDR(field): the table's value is a network range


class LookupTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    description: str = ""
    fields: list[FieldDef] = Field(min_length=1)
    keys: list[str] = Field(default_factory=list)  # fields detections usually match on
    match: dict[str, LookupMatch] = Field(default_factory=dict)  # non-exact match types
    case_sensitive: bool = True
    rows: list[dict[str, Scalar]] = Field(default_factory=list)  # sample rows
    kql_table: str | None = None  # None: a table of the lookup's name; "": not on KQL
    sql_table: str | None = None
    origin: str = "builtin"

    @model_validator(mode="after")
    def _consistent(self) -> "LookupTable":
        names = {f.name for f in self.fields}
        for what, used in (("keys", set(self.keys)), ("match", set(self.match)),
                           ("rows", {k for r in self.rows for k in r})):
            unknown = used - names
            if unknown:
                raise ValueError(f"lookup {self.name!r}: {what} name unknown fields "
                                 f"{sorted(unknown)}")
        return self

    @property
    def id(self) -> str:
        return snake(self.name)

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def exact(self, name: str) -> bool:
        """Whether `field` is matched by equality (no WILDCARD/CIDR match type)."""
        return name not in self.match

    def source(self) -> Source:
        """The lookup as a source: its fields keep their names on every platform."""
        return _source(self.model_dump_json())


@lru_cache(maxsize=256)
def _source(doc: str) -> Source:
    t = LookupTable.model_validate_json(doc)
    cols = {f.name: f.name for f in t.fields}
    kql = t.name if t.kql_table is None else t.kql_table
    sql = t.name if t.sql_table is None else t.sql_table
    return Source(
        id=t.id, name=f"lookup {t.name}", description=t.description or f"the lookup {t.name}",
        fields=t.fields, origin=f"lookup:{t.origin}", bindings=Bindings(
            spl=SplBinding(search=f"| inputlookup {t.name}", fields=cols),
            kql=KqlBinding(table=kql, columns=cols) if kql else None,
            sql=SqlBinding(table=sql, columns=cols) if sql else None))


@lru_cache(maxsize=1)
def builtin_lookups() -> tuple[LookupTable, ...]:
    """The lookups of `lookups/*.yaml` (each file a list of lookup tables)."""
    out: list[LookupTable] = []
    for path in sorted(LOOKUP_DIR.glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or []
        out += [LookupTable.model_validate(d) for d in data]
    return tuple(out)
