"""Reading known-error files: the shipped YAML under `knowledge/known_errors/` and the user's own
YAML or CSV files, checked entry by entry with messages that name the file, the entry or line,
and the fault (and, for a misspelt key or column, the closest allowed one).

`load_known_errors` builds the base (`known_errors.base`) of the built-in entries with the user's
files on top.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import ValidationError

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Catalog, FieldType
from lexiquery.errors import InputError
from lexiquery.ir import LIST_OPERATORS, UNARY_OPERATORS, Operator, Scalar
from lexiquery.knowledge.known_errors.base import KnownErrorBase
from lexiquery.knowledge.known_errors.model import KnownError
from lexiquery.limits import load_yaml_bounded

BUILTIN_DIR = Path(__file__).parent  # the YAML files sit next to this module
# Reading order of the built-in files: a later file's entry would replace an earlier one's.
BUILTIN_FILES = ("entra.yaml", "windows.yaml", "http.yaml", "splunk.yaml", "kusto.yaml")
CSV_COLUMNS = ("code", "system", "title", "meaning", "action", "aliases", "source", "field", "op",
               "value")
ENTRY_KEYS = ("code", "system", "title", "meaning", "action", "aliases", "filter", "source",
              "field", "op", "value")
FILTER_KEYS = ("source", "field", "op", "value")


@lru_cache(maxsize=1)
def _builtin() -> tuple[KnownError, ...]:
    errors: list[KnownError] = []
    for name in BUILTIN_FILES:
        errors += _read(BUILTIN_DIR / name, None, origin="builtin")
    return tuple(errors)


def builtin_errors() -> list[KnownError]:
    """The shipped entries (parsed once per process; each call gets its own copies)."""
    return [e.model_copy(deep=True) for e in _builtin()]


def read_known_errors_file(path: Path, catalog: Catalog | None = None) -> list[KnownError]:
    """The entries of a user file: YAML (a list of entries, or ``{errors: [...]}``) or CSV (header
    ``code,system,title,meaning,action,aliases,source,field,op,value``; aliases separated by
    ``;``, as are the values of an ``in`` filter). With `catalog`, every filter must name one of
    its sources and fields. Raises InputError naming the file, the entry or line, and the fault."""
    return _read(Path(path), catalog, origin=str(path))


def _fail(path: Path, where: str | None, message: str, hint: str | None = None) -> InputError:
    full = f"{path}: {where + ': ' if where else ''}{message}"
    return InputError(full, hint=hint, issues=[{"code": "known_errors", "message": full,
                                                "file": str(path), "where": where}])


def _read(path: Path, catalog: Catalog | None, *, origin: str) -> list[KnownError]:
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        raise _fail(path, None, f"unsupported file type {path.suffix or '(none)'!r}",
                    hint="Known errors are read from YAML (.yaml, .yml) or CSV (.csv) files.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _fail(path, None, "no such file") from None
    except UnicodeDecodeError:
        raise _fail(path, None, "is not UTF-8 text", hint="Save the file as UTF-8.") from None
    except OSError as exc:
        raise _fail(path, None, f"cannot be read ({exc.strerror or exc})") from None
    rows = _csv_rows(path, text) if suffix == ".csv" else _yaml_rows(path, text)
    builtin = None if origin == "builtin" else KnownErrorBase(_builtin())
    if catalog is not None:
        typing = catalog
    else:
        typing = builtin_catalog()
    errors: list[KnownError] = []
    first_seen: dict[str, str] = {}
    for where, row in rows:
        error = _entry(path, where, row, catalog, typing, builtin, origin)
        earlier = first_seen.get(error.code.casefold())
        if earlier is not None:
            raise _fail(path, where, f"code {error.code} is already defined at {earlier}",
                        hint="Keep one entry per code in a file.")
        first_seen[error.code.casefold()] = where
        errors.append(error)
    return errors


def _yaml_rows(path: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        # The C loader when libyaml is there (the built-in files are read at every start),
        # bounded in depth and size: an uploaded file may be a nesting or alias bomb.
        data = load_yaml_bounded(text, what=path.name)
    except InputError as exc:
        raise _fail(path, None, exc.message) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise _fail(path, where, f"is not valid YAML ({getattr(exc, 'problem', None) or exc})") \
            from None
    if data is None:
        return []
    if isinstance(data, dict):
        if set(data) != {"errors"}:
            raise _fail(path, None, "a YAML file holds a list of entries or {errors: [...]}, "
                                    f"not a mapping with {', '.join(map(str, data))}")
        data = data["errors"] or []
    if not isinstance(data, list):
        raise _fail(path, None, "a YAML file holds a list of entries or {errors: [...]}")
    rows = []
    for i, item in enumerate(data, 1):
        label = f"entry {i}"
        if isinstance(item, dict) and item.get("code") is not None:
            label += f" (code {item['code']})"
        if not isinstance(item, dict):
            raise _fail(path, label, "an entry is a mapping with code, meaning, …")
        rows.append((label, item))
    return rows


def _csv_rows(path: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))  # a quoted cell may span lines
    header = next(reader, None)
    if header is None:
        return []
    names = [h.strip().lower() for h in header]
    for name in names:
        if name not in CSV_COLUMNS:
            raise _fail(path, "line 1", f"unknown column {name!r}", hint=_suggest(name, CSV_COLUMNS))
    for required in ("code", "meaning"):
        if required not in names:
            raise _fail(path, "line 1", f"the header has no {required!r} column",
                        hint="Header: " + ",".join(CSV_COLUMNS))
    rows = []
    while True:
        first_line = reader.line_num + 1  # where the row starts, if a quoted cell spans lines
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            raise _fail(path, f"line {first_line}", f"is not valid CSV ({exc})") from None
        if cells is None:
            break
        if not any(c.strip() for c in cells):
            continue
        where = f"line {first_line}"
        if len(cells) > len(names):
            raise _fail(path, where, f"{len(cells)} cells for {len(names)} columns",
                        hint="Quote a cell that contains a comma.")
        row: dict[str, Any] = {}
        for name, cell in zip(names, cells):
            cell = cell.strip()
            if cell:
                row[name] = [a.strip() for a in cell.split(";") if a.strip()] \
                    if name == "aliases" else cell
        rows.append((where, row))
    return rows


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return (f"Did you mean {close[0]!r}? " if close else "") + "Allowed: " + ", ".join(choices)


def _entry(path: Path, where: str, row: dict[str, Any], catalog: Catalog | None,
           typing: Catalog, builtin: KnownErrorBase | None, origin: str) -> KnownError:
    for key in row:
        if key not in ENTRY_KEYS:
            raise _fail(path, where, f"unknown key {key!r}", hint=_suggest(str(key), ENTRY_KEYS))
    for required in ("code", "meaning"):
        if row.get(required) in (None, ""):
            raise _fail(path, where, f"missing {required!r}")
    code = str(row["code"])
    system = row.get("system")
    if system in (None, ""):
        # An entry without a system overrides a built-in code when there is one.
        known = builtin.get(code) if builtin is not None else None
        system = known.system if known is not None else "custom"
    filt = _filter_of(path, where, row)
    if filt is not None:
        filt = _check_filter(path, where, filt, catalog, typing)
    aliases = row.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [a.strip() for a in aliases.split(";")]
    data = {"code": code, "system": str(system), "title": str(row.get("title") or code),
            "meaning": str(row["meaning"]), "action": str(row.get("action") or ""),
            "aliases": [str(a) for a in aliases], "filter": filt, "origin": origin}
    try:
        return KnownError.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        raise _fail(path, where, f"{loc}: {msg}" if loc else msg) from None


def _filter_of(path: Path, where: str, row: dict[str, Any]) -> dict[str, Any] | None:
    flat = {k: row[k] for k in FILTER_KEYS if row.get(k) not in (None, "")}
    nested = row.get("filter")
    if nested is not None and flat:
        raise _fail(path, where, "give the filter either as 'filter: {source, field, op, value}' "
                                 "or as source/field/op/value keys, not both")
    if nested is None and not flat:
        return None
    if nested is not None and not isinstance(nested, dict):
        raise _fail(path, where, "filter is a mapping {source, field, op, value}")
    filt = dict(nested) if nested is not None else flat
    for key in filt:
        if key not in FILTER_KEYS:
            raise _fail(path, where, f"unknown filter key {key!r}", hint=_suggest(str(key),
                                                                                 FILTER_KEYS))
    for required in ("source", "field", "value"):
        if filt.get(required) in (None, ""):
            raise _fail(path, where, f"the filter has no {required!r}",
                        hint="A filter needs source, field and value (op defaults to eq).")
    op = str(filt.get("op") or "eq").strip().lower()
    ops = [o.value for o in Operator if o not in UNARY_OPERATORS]
    if op not in ops:
        raise _fail(path, where, f"unknown filter op {op!r}", hint=_suggest(op, ops))
    filt["op"] = op
    value = filt["value"]
    if Operator(op) in LIST_OPERATORS and isinstance(value, str):
        value = [v.strip() for v in value.split(";") if v.strip()]
    filt["value"] = value
    return filt


def _check_filter(path: Path, where: str, filt: dict[str, Any], catalog: Catalog | None,
                  typing: Catalog) -> dict[str, Any]:
    """Coerce the value to the field's type and, with a catalog, check source and field exist.
    Without one, `typing` (the built-in catalog) still types the values of built-in sources: CSV
    cells are text, and event_id is a number."""
    source = typing.get(str(filt["source"]))
    if source is None:
        if catalog is None:
            return filt
        raise _fail(path, where, f"filter source {filt['source']!r} is not in the catalog",
                    hint=_suggest(str(filt["source"]), catalog.ids()))
    field = source.field(str(filt["field"]))
    if field is None:
        if catalog is None:
            return filt
        raise _fail(path, where, f"filter field {filt['field']!r} is not a field of "
                                 f"{source.id}", hint=_suggest(str(filt["field"]),
                                                               [f.name for f in source.fields]))
    values = filt["value"] if isinstance(filt["value"], list) else [filt["value"]]
    try:
        typed = [_typed(v, field.type) for v in values]
    except ValueError as exc:
        raise _fail(path, where, f"filter value for {source.id}.{field.name} ({field.type.value}): "
                                 f"{exc}") from None
    filt["value"] = typed if isinstance(filt["value"], list) else typed[0]
    return filt


def _typed(value: Any, ftype: FieldType) -> Scalar:
    if isinstance(value, (list, dict)) or value is None:
        raise ValueError(f"{value!r} is not a single value")
    text = str(value).strip()
    if ftype in (FieldType.int, FieldType.long):
        if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"{value!r} is not a whole number")
        return int(text)
    if ftype is FieldType.real:
        if isinstance(value, bool) or not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", text,
                                                       re.I):
            raise ValueError(f"{value!r} is not a number")
        return float(text)
    if ftype is FieldType.bool:
        if isinstance(value, bool) or text.lower() in ("true", "false"):
            return value if isinstance(value, bool) else text.lower() == "true"
        raise ValueError(f"{value!r} is not true or false")
    # Text fields: an unquoted YAML number (result_code: 50126) means the text "50126".
    return str(value)


__all__ = ["BUILTIN_DIR", "BUILTIN_FILES", "CSV_COLUMNS", "ENTRY_KEYS", "FILTER_KEYS",
           "builtin_errors", "read_known_errors_file"]


# --------------------------------------------------------------------------- loading


def load_known_errors(files: Sequence[Path] = (), catalog: Catalog | None = None) -> KnownErrorBase:
    """The built-in base with the user's files on top, in the order given. Without files the
    base is built once per process (it and its compiled finder cost ~10 ms, paid by every
    `ask`); treat it as read-only. User files are read each time: they may have changed."""
    if not files:
        return _builtin_base()
    errors = builtin_errors()
    for path in files:
        errors += read_known_errors_file(Path(path), catalog)
    return KnownErrorBase(errors)


@lru_cache(maxsize=1)
def _builtin_base() -> KnownErrorBase:
    return KnownErrorBase(builtin_errors())
