"""Catalog importers: the user's own sources from a YAML/JSON catalog, Kusto schema JSON, SQL DDL.

Each importer returns `list[Source]` with `origin` set to the file name, or raises
`CatalogError` naming the file and what is wrong. `import_file` picks the importer from the file's
extension and content.

* YAML/JSON catalog: one source mapping, or ``{sources: [...]}`` (the built-ins' format).
* Kusto: the output of ``.show database schema as json``
  (``{"Databases": {db: {"Tables": {t: {"OrderedColumns": [{Name, Type, CslType}]}}}}}``)
  or of ``.show table T schema as json`` (``{"Name": t, "OrderedColumns": [...]}``).
* SQL DDL: ``CREATE TABLE`` statements, parsed with sqlglot.

Imported Kusto/DDL sources get logical field names in snake_case (the original column name is
kept as a synonym and as the binding's column), and the time field is the first of
TimeGenerated / Timestamp / a datetime column.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import ValidationError

from lexiquery.catalog.model import Bindings, FieldDef, FieldType, KqlBinding, Source, SqlBinding
from lexiquery.errors import CatalogError

MAX_CATALOG_BYTES = 20 * 1024 * 1024

_CSL_TYPES = {"string": FieldType.string, "int": FieldType.int, "long": FieldType.long,
              "real": FieldType.real, "double": FieldType.real, "decimal": FieldType.real,
              "bool": FieldType.bool, "boolean": FieldType.bool, "datetime": FieldType.datetime,
              "date": FieldType.datetime, "timespan": FieldType.timespan,
              "time": FieldType.timespan, "guid": FieldType.guid, "uniqueid": FieldType.guid,
              "dynamic": FieldType.dynamic}
_TIME_NAMES = ("timegenerated", "timestamp", "time_generated", "event_time", "created_at",
               "time", "ts")


def snake(name: str) -> str:
    """`UserPrincipalName` → `user_principal_name`; `Site_Url` → `site_url`; `_ResourceId` →
    `resource_id`."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    if not s or not s[0].isalpha():
        s = "f_" + s
    return s


def _words(name: str) -> str:
    return snake(name).replace("_", " ")


def _source_from_columns(table: str, columns: list[tuple[str, FieldType]], *, platform: str,
                         origin: str, description: str = "") -> Source:
    fields: list[FieldDef] = []
    mapping: dict[str, str] = {}
    for col, ftype in columns:
        logical = snake(col)
        base, n = logical, 2
        while logical in mapping:  # two columns that snake to the same name
            logical, n = f"{base}_{n}", n + 1
        syn = [col] if col != logical else []
        if _words(col) != logical and _words(col) not in syn:
            syn.append(_words(col))
        fields.append(FieldDef(name=logical, type=ftype, synonyms=syn,
                               description=f"{col} column of {table}"))
        mapping[logical] = col
    time_field = None
    for candidate in _TIME_NAMES:
        time_field = next((f.name for f in fields if f.name == candidate
                           and f.type is FieldType.datetime), None)
        if time_field:
            break
    time_field = time_field or next((f.name for f in fields if f.type is FieldType.datetime),
                                    None)
    short = table.split(".")[-1]
    binding = (Bindings(kql=KqlBinding(table=table, columns=mapping)) if platform == "kql"
               else Bindings(sql=SqlBinding(table=table, columns=mapping)))
    return Source(id=snake(short), name=short, description=description or
                  f"{short} ({platform.upper()} table imported from {origin})",
                  synonyms=sorted({short, _words(short)} - {snake(short)}),
                  time_field=time_field, fields=fields, bindings=binding, origin=origin)


# ---------------------------------------------------------------------------------- YAML/JSON


def import_catalog_data(data: Any, origin: str, *, keep_origin: bool = False) -> list[Source]:
    """Sources from parsed YAML/JSON. `keep_origin` keeps an `origin` the data already names
    (persisted imports remember the file they first came from)."""
    if isinstance(data, dict) and "sources" in data:
        items = data["sources"]
        if not isinstance(items, list):
            raise CatalogError(f"{origin}: 'sources' must be a list of source mappings")
    elif isinstance(data, dict):
        items = [data]
    elif isinstance(data, list):
        items = data
    else:
        raise CatalogError(f"{origin}: expected a source mapping or {{sources: [...]}}, "
                           f"found {type(data).__name__}")
    sources = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise CatalogError(f"{origin}: source #{i + 1} is not a mapping")
        item = {"origin": origin, **item} if keep_origin else {**item, "origin": origin}
        try:
            sources.append(Source.model_validate(item))
        except ValidationError as e:
            where = item.get("id", f"#{i + 1}")
            problems = "; ".join(_problem(err) for err in e.errors()[:5])
            raise CatalogError(f"{origin}: source {where}: {problems}",
                               issues=[{"code": "catalog_error", "message": err["msg"],
                                        "location": ".".join(map(str, err["loc"]))}
                                       for err in e.errors()]) from e
    if not sources:
        raise CatalogError(f"{origin}: no sources in the file")
    return sources


def _problem(err: Any) -> str:
    """One pydantic error as "fields.0.type: Input should be …" (no empty location, no
    "Value error," prefix from our own validators)."""
    msg = str(err["msg"]).removeprefix("Value error, ")
    loc = ".".join(map(str, err["loc"]))
    return f"{loc}: {msg}" if loc else msg


# ---------------------------------------------------------------------------------- Kusto


def _kusto_columns(table: dict[str, Any], origin: str, name: str) -> list[tuple[str, FieldType]]:
    cols = table.get("OrderedColumns")
    if not isinstance(cols, list) or not cols:
        raise CatalogError(f"{origin}: table {name} has no OrderedColumns")
    out = []
    for c in cols:
        if not isinstance(c, dict) or "Name" not in c:
            raise CatalogError(f"{origin}: table {name}: a column has no Name")
        csl = str(c.get("CslType") or "").lower()
        if not csl and c.get("Type"):  # "System.String" → "string"
            csl = str(c["Type"]).split(".")[-1].lower().replace("int32", "int") \
                .replace("int64", "long").replace("sbyte", "bool").replace("object", "dynamic")
        out.append((str(c["Name"]), _CSL_TYPES.get(csl, FieldType.string)))
    return out


def import_kusto_schema(data: Any, origin: str) -> list[Source]:
    if isinstance(data, dict) and "Databases" in data:
        sources = []
        dbs = data["Databases"]
        if not isinstance(dbs, dict):
            raise CatalogError(f"{origin}: 'Databases' must be an object")
        for db in dbs.values():
            tables = (db or {}).get("Tables") or {}
            if not isinstance(tables, dict):
                raise CatalogError(f"{origin}: 'Tables' must be an object")
            for tname, t in tables.items():
                name = (t or {}).get("Name") or tname
                sources.append(_source_from_columns(
                    name, _kusto_columns(t or {}, origin, name), platform="kql",
                    origin=origin, description=(t or {}).get("DocString") or ""))
        if not sources:
            raise CatalogError(f"{origin}: the Kusto schema has no tables")
        return sources
    if isinstance(data, dict) and "OrderedColumns" in data and "Name" in data:
        return [_source_from_columns(data["Name"], _kusto_columns(data, origin, data["Name"]),
                                     platform="kql", origin=origin)]
    raise CatalogError(f"{origin}: not a Kusto `.show database schema as json` document")


# ---------------------------------------------------------------------------------- SQL DDL

_SQL_TYPES: list[tuple[tuple[str, ...], FieldType]] = [
    (("timestamp", "datetime", "date", "time"), FieldType.datetime),
    (("bigint", "int8", "long", "bigserial", "serial8"), FieldType.long),
    (("int", "smallint", "tinyint", "serial", "smallserial", "integer"), FieldType.int),
    (("decimal", "numeric", "real", "double", "float", "money", "number"), FieldType.real),
    (("bool", "bit"), FieldType.bool),
    (("uuid", "uniqueidentifier"), FieldType.guid),
    (("json", "jsonb", "variant", "array", "struct", "object"), FieldType.dynamic),
]


def _sql_type(type_sql: str) -> FieldType:
    t = type_sql.lower()
    if "interval" in t:
        return FieldType.timespan
    for names, ftype in _SQL_TYPES:
        if any(t.startswith(n) for n in names):
            return ftype
    return FieldType.string


def import_sql_ddl(text: str, origin: str, dialect: str | None = None) -> list[Source]:
    import sqlglot
    from sqlglot import exp

    errors = []
    for d in ([dialect] if dialect else ["postgres", "tsql", "mysql", "snowflake", "bigquery",
                                         "duckdb", "sqlite"]):
        try:
            statements = sqlglot.parse(text, read=d)
            break
        except sqlglot.errors.SqlglotError as e:
            errors.append(f"{d}: {str(e).splitlines()[0]}")
    else:
        raise CatalogError(f"{origin}: the SQL does not parse ({'; '.join(errors[:2])})")
    sources = []
    for stmt in statements:
        if not isinstance(stmt, exp.Create) or (stmt.args.get("kind") or "").upper() != "TABLE":
            continue
        schema = stmt.this
        if not isinstance(schema, exp.Schema):
            continue  # CREATE TABLE … AS SELECT: no column list to read
        tbl = schema.this
        name = ".".join(p for p in (tbl.catalog, tbl.db, tbl.name) if p)
        cols = [(c.name, _sql_type(c.args["kind"].sql() if c.args.get("kind") else ""))
                for c in schema.expressions if isinstance(c, exp.ColumnDef)]
        if cols:
            sources.append(_source_from_columns(name, cols, platform="sql", origin=origin))
    if not sources:
        raise CatalogError(f"{origin}: no CREATE TABLE statements with columns found")
    return sources


# ---------------------------------------------------------------------------------- dispatch


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CatalogError(f"cannot read {path}: {e.strerror or e}") from e
    if size == 0:
        raise CatalogError(f"{path.name} is empty")
    if size > MAX_CATALOG_BYTES:
        raise CatalogError(f"{path.name} is {size:,} bytes; catalog files are limited to "
                           f"{MAX_CATALOG_BYTES:,}")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise CatalogError(f"{path.name} is binary, not a catalog file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CatalogError(f"{path.name} is not UTF-8 text") from e
    if not text.strip():
        raise CatalogError(f"{path.name} is empty")
    return text


def _load_structured(text: str, path: Path) -> Any:
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else \
            (f" at line {e.lineno}, column {e.colno}" if isinstance(e, json.JSONDecodeError)
             else "")
        raise CatalogError(f"{path.name} does not parse{where}: "
                           f"{getattr(e, 'problem', None) or e}") from e


def import_file(path: Path | str) -> list[Source]:
    """Sources from one file, the format chosen by extension and content."""
    path = Path(path)
    ext = path.suffix.lower()
    importers: dict[str, Callable[[str, Path], list[Source]]] = {
        ".sql": lambda text, p: import_sql_ddl(text, p.name),
        ".ddl": lambda text, p: import_sql_ddl(text, p.name),
        ".json": _import_structured,
        ".yaml": _import_structured,
        ".yml": _import_structured,
    }
    if ext not in importers:
        raise CatalogError(f"{path.name}: unsupported file type {ext or '(none)'}; use .yaml/"
                           ".yml or .json (catalog or Kusto schema) or .sql (DDL)")
    return importers[ext](_read_text(path), path)


def _import_structured(text: str, path: Path) -> list[Source]:
    data = _load_structured(text, path)
    if isinstance(data, dict) and ("Databases" in data or "OrderedColumns" in data):
        return import_kusto_schema(data, path.name)
    return import_catalog_data(data, path.name)
