"""Kusto schema import: `.show database schema as json` / `.show table T schema as json` output.

The real shape is ``{"Databases": {db: {"Name", "Tables": {t: {"Name", "DocString",
"OrderedColumns": [{"Name", "Type": "System.String", "CslType": "string", "DocString"}]}},
"MaterializedViews": {...}, "Functions": {...}}}}``; the single-table command answers with
``{"Name", "OrderedColumns"}``. Either may arrive wrapped in a saved query result. Every table
becomes a source with a KQL binding only (see `lexiquery.catalog.tables` for naming).
"""

from __future__ import annotations

import json
from typing import Any

from lexiquery.catalog.model import FieldType, Source
from lexiquery.catalog.tables import distinct_ids, source_from_columns
from lexiquery.errors import CatalogError, InputError
from lexiquery.limits import check_document

CSL_TYPES = {"string": FieldType.string, "int": FieldType.int, "long": FieldType.long,
             "real": FieldType.real, "double": FieldType.real, "decimal": FieldType.real,
             "bool": FieldType.bool, "boolean": FieldType.bool, "datetime": FieldType.datetime,
             "date": FieldType.datetime, "timespan": FieldType.timespan,
             "time": FieldType.timespan, "guid": FieldType.guid, "uniqueid": FieldType.guid,
             "dynamic": FieldType.dynamic}
_CLR_TYPES = {"string": "string", "int32": "int", "int64": "long", "double": "real",
              "single": "real", "sbyte": "bool", "boolean": "bool", "datetime": "datetime",
              "timespan": "timespan", "guid": "guid", "object": "dynamic",
              "sqldecimal": "decimal"}


def _kusto_columns(table: dict[str, Any], origin: str,
                   name: str) -> list[tuple[str, FieldType, str]]:
    """(name, type, docstring) per column. `CslType` wins; the CLR `Type` ("System.Int64") is
    the fallback; an unknown type is kept as string rather than failing the import."""
    cols = table.get("OrderedColumns")
    if not isinstance(cols, list) or not cols:
        raise CatalogError(f"{origin}: table {name} has no OrderedColumns")
    out = []
    for i, c in enumerate(cols):
        if not isinstance(c, dict) or not c.get("Name"):
            raise CatalogError(f"{origin}: table {name}: column #{i + 1} has no Name")
        csl = str(c.get("CslType") or "").lower()
        if not csl and c.get("Type"):
            csl = _CLR_TYPES.get(str(c["Type"]).split(".")[-1].lower(), "")
        out.append((str(c["Name"]), CSL_TYPES.get(csl, FieldType.string),
                    str(c.get("DocString") or "")))
    return out


def _unwrap_kusto_result(data: Any) -> Any:
    """The schema document inside a saved query result, or `data` unchanged.

    `.show database schema as json` answers with one row whose cell is the JSON text; saved from
    Kusto Explorer or the REST API (v1 ``{"Tables": [{"Rows": ...}]}``, v2 frames) the document
    is a string inside ``Rows``. The first cell that parses to a schema wins."""
    if isinstance(data, dict) and isinstance(data.get("Tables"), list):
        tables = data["Tables"]
    elif isinstance(data, list) and data and all(isinstance(f, dict) for f in data):
        tables = [f for f in data if f.get("FrameType") == "DataTable"]
    else:
        return data
    rows = [r for t in tables if isinstance(t, dict) for r in (t.get("Rows") or [])]
    for cell in (c for r in rows if isinstance(r, list) for c in r):
        if isinstance(cell, str) and cell.lstrip().startswith("{"):
            try:
                doc = check_document(json.loads(cell), what="a schema cell")
            except (json.JSONDecodeError, RecursionError, InputError):
                continue
            if isinstance(doc, dict) and ("Databases" in doc or "OrderedColumns" in doc):
                return doc
    return data


def is_kusto_schema(data: Any) -> bool:
    """True when parsed JSON `data` is Kusto schema output in a form `import_kusto_schema`
    reads."""
    data = _unwrap_kusto_result(data)
    return isinstance(data, dict) and ("Databases" in data or "OrderedColumns" in data)


def import_kusto_schema(data: Any, origin: str) -> list[Source]:
    """Sources (KQL binding only) from parsed `.show database schema as json` output, from
    `.show table T schema as json` output, or from either saved as a query result.

    Tables and materialized views become sources; functions and external tables are skipped
    (they are not queried by a bare table name)."""
    data = _unwrap_kusto_result(data)
    if isinstance(data, dict) and "Databases" in data:
        dbs = data["Databases"]
        if not isinstance(dbs, dict):
            raise CatalogError(f"{origin}: 'Databases' must be an object")
        found: list[tuple[str, Source]] = []
        for db_key, db in dbs.items():
            if not isinstance(db, dict):
                raise CatalogError(f"{origin}: database {db_key} is not an object")
            for section in ("Tables", "MaterializedViews"):
                tables = db.get(section) or {}
                if not isinstance(tables, dict):
                    raise CatalogError(f"{origin}: database {db_key}: '{section}' must be an "
                                       "object")
                for key, t in tables.items():
                    if not isinstance(t, dict):
                        raise CatalogError(f"{origin}: table {key} is not an object")
                    name = str(t.get("Name") or key)
                    found.append((f"{db.get('Name') or db_key}.{name}", source_from_columns(
                        name, _kusto_columns(t, origin, name), platform="kql", origin=origin,
                        description=str(t.get("DocString") or ""))))
        if not found:
            raise CatalogError(f"{origin}: the Kusto schema has no tables")
        return distinct_ids(found)
    if isinstance(data, dict) and "OrderedColumns" in data and data.get("Name"):
        name = str(data["Name"])
        return [source_from_columns(name, _kusto_columns(data, origin, name), platform="kql",
                                     origin=origin, description=str(data.get("DocString") or ""))]
    raise CatalogError(f"{origin}: not a Kusto `.show database schema as json` document")
