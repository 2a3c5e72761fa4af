"""Catalog importers: the user's own sources from a YAML/JSON catalog, Kusto schema JSON, SQL DDL.

Each importer returns `list[Source]` with `origin` set to the file name, or raises
`CatalogError` naming the file and what is wrong (with the line, table or source where known).
`import_file` picks the importer from the file's extension and content.

* YAML/JSON catalog: one source mapping, or ``{sources: [...]}`` (the built-ins' format) —
  `import_catalog_data`, here.
* Kusto ``.show database schema as json`` / ``.show table T schema as json`` output, also saved
  as a query result — `import_kusto_schema` (`lexiquery.catalog.kusto_schema`).
* SQL DDL: the CREATE TABLE statements of hand-written DDL or a dump — `import_sql_ddl`
  (`lexiquery.catalog.sql_ddl`).

Kusto and DDL tables become sources named by the rules in `lexiquery.catalog.tables`: snake_case
logical fields with the original column kept as synonym and binding, one binding (KQL or SQL).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lexiquery.catalog.kusto_schema import import_kusto_schema, is_kusto_schema
from lexiquery.catalog.model import Source
from lexiquery.catalog.sql_ddl import import_sql_ddl
from lexiquery.catalog.tables import problem as _problem
from lexiquery.catalog.tables import snake
from lexiquery.catalog.workspace import inventory_source
from lexiquery.errors import CatalogError, InputError
from lexiquery.limits import check_document, load_yaml_bounded

__all__ = [
    "MAX_CATALOG_BYTES",
    "import_catalog_data",
    "import_file",
    "import_kusto_schema",
    "import_sql_ddl",
    "is_kusto_schema",
    "snake",
]

MAX_CATALOG_BYTES = 20 * 1024 * 1024


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


# ---------------------------------------------------------------------------------- dispatch

_STRUCTURED = (".json", ".yaml", ".yml")
_INVENTORY = (".csv",)
_DDL = (".sql", ".ddl")
_SNIFFED = ("", ".txt")  # no telling extension: judged by content
_DDL_HINT = re.compile(r"\bCREATE\s+(?:\w+\s+)*?TABLE\b", re.IGNORECASE)


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
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CatalogError(f"cannot read {path}: {e.strerror or e}") from e
    if b"\x00" in raw:
        raise CatalogError(f"{path.name} is binary, not a catalog file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CatalogError(f"{path.name} is not UTF-8 text (byte {e.start}); catalog files are "
                           "UTF-8 YAML, JSON or SQL") from e
    if not text.strip():
        raise CatalogError(f"{path.name} is empty")
    return text


def _load_structured(text: str, name: str, *, as_json: bool) -> Any:
    """The file's data, bounded in depth and size (`limits`): a catalog file may come from
    anywhere, and a nesting or alias bomb must be a CatalogError, not a traceback or a hang."""
    try:
        if as_json:
            return check_document(json.loads(text), what=name)
        return load_yaml_bounded(text, what=name)
    except RecursionError as e:  # json.loads on brackets nested past the interpreter's limit
        raise CatalogError(f"{name} nests too deeply to read") from e
    except InputError as e:
        raise CatalogError(e.message, hint=e.hint) from e
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else \
            (f" at line {e.lineno}, column {e.colno}" if isinstance(e, json.JSONDecodeError)
             else "")
        raise CatalogError(f"{name} does not parse{where}: "
                           f"{getattr(e, 'problem', None) or e}") from e


def import_file(path: Path | str) -> list[Source]:
    """Sources from one file; every source's `origin` is the file's name.

    .yaml/.yml/.json: a catalog (one source or ``{sources: [...]}``) or Kusto schema JSON,
    told apart by content; .sql/.ddl: CREATE TABLE statements; no extension or .txt: JSON or
    DDL judged by content. Raises CatalogError for a missing, empty, binary, oversized or
    malformed file and for any other extension."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _STRUCTURED + _DDL + _SNIFFED + _INVENTORY:
        raise CatalogError(f"{path.name}: unsupported file type {ext}; use .yaml/.yml or .json "
                           "(catalog or Kusto schema), .sql (DDL) or .csv (Splunk inventory)")
    text = _read_text(path)
    if ext in _INVENTORY:
        return import_splunk_inventory(text, path.name)
    if ext in _DDL:
        return import_sql_ddl(text, path.name)
    if ext in _STRUCTURED:
        return _import_structured(text, path.name, as_json=ext == ".json")
    if text.lstrip()[:1] in ("{", "["):
        return _import_structured(text, path.name, as_json=True)
    if _DDL_HINT.search(text):
        return import_sql_ddl(text, path.name)
    raise CatalogError(f"{path.name}: cannot tell the format (neither JSON nor SQL DDL); name "
                       "the file .yaml, .json or .sql")


def _import_structured(text: str, origin: str, *, as_json: bool) -> list[Source]:
    data = _load_structured(text, origin, as_json=as_json)
    if is_kusto_schema(data):
        return import_kusto_schema(data, origin)
    return import_catalog_data(data, origin)


# ---------------------------------------------------------------------------------- Splunk


def import_splunk_inventory(text: str, origin: str) -> list[Source]:
    """A Splunk deployment's inventory: CSV with `index` and `sourcetype` columns (and
    optionally `source`), as `| tstats count where index=* by index sourcetype source` exports
    it. Each distinct row is a source saying that data exists, and in which index."""
    reader = csv.DictReader(io.StringIO(text))
    header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    if "index" not in header or "sourcetype" not in header:
        raise CatalogError(f"{origin}: a Splunk inventory needs the columns index and "
                           f"sourcetype; found {', '.join(header) or 'none'}",
                           hint="export `| tstats count where index=* by index sourcetype "
                           "source` as CSV")
    rows: list[tuple[str, str, str]] = []
    for n, row in enumerate(reader, start=2):
        index = (row.get(header["index"]) or "").strip()
        st = (row.get(header["sourcetype"]) or "").strip()
        src = (row.get(header["source"]) or "").strip() if "source" in header else ""
        if not index or not st:
            raise CatalogError(f"{origin}: line {n} has no index or sourcetype")
        rows.append((index, st, src))
    if not rows:
        raise CatalogError(f"{origin}: the inventory has no rows")
    # The source names a row only where one sourcetype carries several sources, or the
    # sourcetype is Windows' generic one (`XmlWinEventLog` 6.0+: the channel is the source);
    # elsewhere it is noise (udp:514, a file path).
    per_type: dict[str, set[str]] = {}
    for _index, st, src in rows:
        per_type.setdefault(st.lower(), set()).add(src)
    seen: dict[str, Source] = {}
    for index, st, src in rows:
        generic = st.lower() in {"xmlwineventlog", "wineventlog"}
        src = src if generic or len(per_type[st.lower()]) > 1 else ""
        s = inventory_source(index, st, src, origin)
        sid = s.id if not src else f"{s.id}_{snake(src)}"
        seen.setdefault(sid, s.model_copy(update={"id": sid}))
    return list(seen.values())
