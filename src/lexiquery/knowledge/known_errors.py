"""The known-errors base: error and event codes analysts meet, what they mean, what to do, and a
filter that finds them in a built-in catalog source.

    builtin_errors()                      the shipped entries (knowledge/known_errors/*.yaml)
    read_known_errors_file(path, catalog) the user's own entries, YAML or CSV
    load_known_errors(files, catalog)     built-in first, then each user file on top
    base.get("aadsts50126")               one entry, whatever way the code is written
    base.find(text)                       the codes a question or an SOP mentions (see
                                          `known_errors_find` for the rules that keep ordinary
                                          numbers — "top 10", "port 443" — from matching)

Codes are stored in one canonical spelling per system so that a user's entry replaces the
built-in one however it is written: Entra ``AADSTS50126``, Windows event ``4625``, NTSTATUS
``0xC000006A``, HTTP ``503``; Splunk, Kusto and custom codes as written (looked up without regard
to case). Each system's usual spellings ("50126", "error 50126", "EventID 4625", "HTTP 503") are
added to the aliases automatically.

A suggested filter must name a source and field of the catalog with a value of the field's type:
a filter that names nothing real would give an analyst an empty result and a false "all clear".
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lexiquery.catalog.model import Catalog, FieldType
from lexiquery.errors import InputError
from lexiquery.ir import LIST_OPERATORS, UNARY_OPERATORS, Condition, Operator, Scalar

BUILTIN_DIR = Path(__file__).with_name("known_errors")
# Reading order of the built-in files: a later file's entry would replace an earlier one's.
BUILTIN_FILES = ("entra.yaml", "windows.yaml", "http.yaml", "splunk.yaml", "kusto.yaml")
SYSTEMS = ("entra", "windows", "ntstatus", "http", "splunk", "kusto", "custom")
CSV_COLUMNS = ("code", "system", "title", "meaning", "action", "aliases", "source", "field", "op",
               "value")
ENTRY_KEYS = ("code", "system", "title", "meaning", "action", "aliases", "filter", "source",
              "field", "op", "value")
FILTER_KEYS = ("source", "field", "op", "value")


class SuggestedFilter(BaseModel):
    """`field op value` on catalog source `source`: how to find the error in the logs."""

    model_config = ConfigDict(extra="forbid")

    source: str
    field: str
    op: Operator = Operator.eq
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _value_fits_operator(self) -> "SuggestedFilter":
        if self.op in UNARY_OPERATORS:
            raise ValueError(f"operator {self.op.value!r} takes no value; a known error's filter "
                             "compares the field with the code")
        if self.op in LIST_OPERATORS:
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"operator {self.op.value!r} needs a non-empty list of values")
        elif isinstance(self.value, list):
            raise ValueError(f"operator {self.op.value!r} needs a single value, not a list")
        return self

    def condition(self) -> Condition:
        """The filter as an IR condition on `source` (case-insensitive like every IR string)."""
        return Condition(field=self.field, op=self.op, value=self.value)


class KnownError(BaseModel):
    """One known error. `origin` is "builtin", the path of the user file it came from, or
    "inferred" for a code `find` recognised by its form but the base does not describe."""

    model_config = ConfigDict(extra="forbid")

    code: str
    system: str
    title: str
    meaning: str
    action: str = ""
    aliases: list[str] = Field(default_factory=list)
    filter: SuggestedFilter | None = None
    origin: str = "builtin"

    @field_validator("system")
    @classmethod
    def _known_system(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in SYSTEMS:
            raise ValueError(f"system {v!r} is not one of {', '.join(SYSTEMS)} "
                             "(use 'custom' for your own applications)")
        return v

    @field_validator("meaning", "title")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _canonical(self) -> "KnownError":
        self.code = canonical_code(self.code, self.system)
        spellings = [a.strip() for a in self.aliases if a and a.strip()]
        spellings += standard_spellings(self.code, self.system)
        seen: set[str] = {self.code.casefold()}
        aliases: list[str] = []
        for alias in spellings:
            if alias.casefold() not in seen:
                seen.add(alias.casefold())
                aliases.append(alias)
        self.aliases = aliases
        return self


# --------------------------------------------------------------------------- code spellings

_PREFIX = re.compile(r"^(?:aadsts|error\s*code|error|err|code|result\s*code|result|"
                     r"event\s*id|eventid|eventcode|event\s*code|event|windows\s*event|"
                     r"http\s*status|http|status\s*code|status|sub\s*status|substatus)"
                     r"[\s:#=-]*", re.I)
_HEX = re.compile(r"^(?:0x)?([0-9a-f]{8})$", re.I)


def canonical_code(code: str, system: str) -> str:
    """The one spelling `code` is stored under for `system`; ValueError when it cannot be one."""
    raw = " ".join(str(code).split())
    if not raw:
        raise ValueError("code must not be empty")
    bare = _PREFIX.sub("", raw, count=1) if system in ("entra", "windows", "http") else raw
    if system == "entra":
        if not bare.isdigit():
            raise ValueError(f"an Entra code is AADSTS followed by digits, not {raw!r}")
        return f"AADSTS{bare}"
    if system == "windows":
        if not bare.isdigit():
            raise ValueError(f"a Windows event ID is a number, not {raw!r}")
        return str(int(bare))
    if system == "http":
        if not (bare.isdigit() and len(bare) == 3 and 100 <= int(bare) <= 599):
            raise ValueError(f"an HTTP status is a number from 100 to 599, not {raw!r}")
        return bare
    if system == "ntstatus":
        m = _HEX.match(raw)
        if not m:
            raise ValueError(f"an NTSTATUS code is 0x and 8 hex digits (0xC000006A), not {raw!r}")
        return "0x" + m.group(1).upper()
    return raw


def standard_spellings(code: str, system: str) -> list[str]:
    """How people usually write a canonical `code` of `system` (besides the code itself)."""
    if system == "entra":
        digits = code[len("AADSTS"):]
        return [digits, f"error {digits}"]
    if system == "windows":
        return [f"EventID {code}", f"Event ID {code}", f"event {code}"]
    if system == "http":
        return [f"HTTP {code}", f"status {code}"]
    return []


def _key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


# --------------------------------------------------------------------------- the base


class ErrorMention(BaseModel):
    """A code found in text: `written` is the text at `start`:`end` (as it appears)."""

    code: str
    written: str
    start: int
    end: int
    error: KnownError


class KnownErrorBase:
    """The entries by code. Later entries replace earlier ones with the same code, so user files
    loaded after the built-in base override it."""

    def __init__(self, errors: Iterable[KnownError]) -> None:
        self._errors: dict[str, KnownError] = {}
        for error in errors:
            self._errors.pop(error.code.casefold(), None)  # the newer one takes the later place
            self._errors[error.code.casefold()] = error
        self._index: dict[str, str] = {}
        # Aliases first, codes last: a code always wins over another entry's alias.
        for error in self._errors.values():
            for alias in error.aliases:
                self._index.setdefault(_key(alias), error.code.casefold())
        for error in self._errors.values():
            self._index[_key(error.code)] = error.code.casefold()
        self._finder: Any = None

    def get(self, code: str) -> KnownError | None:
        """The entry for `code` written any usual way: "aadsts50126", "50126", "error 50126",
        "0xc000006a", "C000006A", "4625", "EventID 4625", "HTTP 503", "sem0100"."""
        key = _key(code)
        if not key:
            return None
        candidates = [key, _PREFIX.sub("", key, count=1)]
        hexed = _HEX.match(candidates[-1])
        if hexed:
            candidates.append("0x" + hexed.group(1).lower())
        if candidates[-1].isdigit():
            candidates += [f"aadsts{candidates[-1]}", str(int(candidates[-1]))]
        for candidate in candidates:
            found = self._index.get(candidate)
            if found is not None:
                return self._errors[found]
        return None

    def find(self, text: str) -> list[ErrorMention]:
        """The known codes `text` mentions, in order of appearance, each code once. Ordinary
        numbers ("last 24 hours", "port 443", "more than 500 requests") are not codes."""
        from lexiquery.knowledge.known_errors_find import ErrorFinder

        if self._finder is None:
            self._finder = ErrorFinder(self)
        return self._finder.find(text)

    def systems(self) -> list[str]:
        """The systems with at least one entry, in the order of SYSTEMS."""
        present = {e.system for e in self._errors.values()}
        return [s for s in SYSTEMS if s in present]

    def __iter__(self) -> Iterator[KnownError]:
        return iter(list(self._errors.values()))

    def __len__(self) -> int:
        return len(self._errors)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.get(code) is not None


# --------------------------------------------------------------------------- reading files


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


def load_known_errors(files: Sequence[Path] = (), catalog: Catalog | None = None) -> KnownErrorBase:
    """The built-in base with the user's files on top, in the order given."""
    errors = builtin_errors()
    for path in files:
        errors += read_known_errors_file(Path(path), catalog)
    return KnownErrorBase(errors)


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
        from lexiquery.catalog.builtin import builtin_catalog

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
        # The C loader when libyaml is there: the built-in files are read at every start.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
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


__all__ = ["BUILTIN_DIR", "CSV_COLUMNS", "SYSTEMS", "ErrorMention", "KnownError",
           "KnownErrorBase", "SuggestedFilter", "builtin_errors", "canonical_code",
           "load_known_errors", "read_known_errors_file", "standard_spellings"]
