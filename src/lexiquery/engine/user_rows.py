"""The user's own rows for a source, from a CSV, JSON Lines or Parquet file.

    read_user_rows(path, source) → UserRows(columns={logical field: [typed values]}, count)

The file is read by DuckDB (`read_csv`, `read_json`, `read_parquet`, chosen by the extension) on
a connection of its own: the sandbox's connection has file access switched off, so that a query
run in the sandbox can never read the machine's files. Everything is read and checked before
anything is returned, so a bad file never leaves a source half-loaded.

Column names may be the logical field names or the column names of any of the source's bindings
(KQL ``UserPrincipalName``, SPL ``status.errorCode``, SQL ``user_principal_name``); exact names win,
then names that differ only in case. An unknown column is an `InputError` that names it and the
names expected; a field without a column is NULL. Values are cast to the field's type: a value
that does not convert is an `InputError` naming the column, the value and its line (CSV) or row.
Times may be ISO 8601 text (naive = UTC) or epoch seconds (what Splunk exports).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.errors import InputError

DUCKDB_TYPES: dict[FieldType, str] = {
    FieldType.string: "VARCHAR", FieldType.int: "INTEGER", FieldType.long: "BIGINT",
    FieldType.real: "DOUBLE", FieldType.bool: "BOOLEAN", FieldType.datetime: "TIMESTAMPTZ",
    FieldType.timespan: "INTERVAL", FieldType.guid: "UUID", FieldType.dynamic: "JSON",
}
READERS = {".csv": "read_csv", ".tsv": "read_csv", ".jsonl": "read_json",
           ".ndjson": "read_json", ".json": "read_json", ".parquet": "read_parquet",
           ".pq": "read_parquet"}
_FORMAT = {"read_csv": "CSV", "read_json": "JSON Lines", "read_parquet": "Parquet"}


@dataclass
class UserRows:
    columns: dict[str, list[Any]]  # every field of the source, in field order
    count: int
    mapped: dict[str, str]  # file column → logical field


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _names(source: Source) -> dict[str, str]:
    """Accepted column name → logical field: logical names, then each binding's names."""
    out = {f.name: f.name for f in source.fields}
    for platform in (Platform.kql, Platform.spl, Platform.sql):
        for logical, column in source.bindings.columns(platform).items():
            out.setdefault(column, logical)
    return out


def map_columns(file_columns: list[str], source: Source) -> dict[str, str]:
    """File column → logical field; `InputError` for unknown or doubly mapped columns."""
    names = _names(source)
    folded: dict[str, str] = {}
    for name, logical in names.items():
        folded.setdefault(name.lower(), logical)
    mapped: dict[str, str] = {}
    unknown: list[str] = []
    for col in file_columns:
        logical = names.get(col) or folded.get(col.lower())
        if logical is None:
            unknown.append(col)
        else:
            mapped[col] = logical
    if unknown:
        expected = ", ".join(f.name for f in source.fields)
        raise InputError(
            f"{source.id}: unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}; expected the field names ({expected}) or "
            f"the KQL, SPL or SQL column names of {source.name}",
            hint=f"`lexiquery catalog show {source.id}` lists every name per platform")
    by_field: dict[str, list[str]] = {}
    for col, logical in mapped.items():
        by_field.setdefault(logical, []).append(col)
    doubles = {k: v for k, v in by_field.items() if len(v) > 1}
    if doubles:
        k, cols = next(iter(doubles.items()))
        raise InputError(f"{source.id}: columns {', '.join(repr(c) for c in cols)} all mean the "
                         f"field {k!r}; keep one of them")
    return mapped


def _reader_sql(reader: str, path: Path) -> str:
    lit = "'" + str(path).replace("'", "''") + "'"
    if reader == "read_csv":
        delim = ", delim='\\t'" if path.suffix.lower() == ".tsv" else ""
        return f"read_csv({lit}, header=true, all_varchar=true{delim})"
    if reader == "read_json":
        return f"read_json({lit}, format='auto')"
    return f"read_parquet({lit})"


def _cast(col: str, raw_type: str, ftype: FieldType) -> str:
    """`col` as the field's type; NULL when it does not convert (checked separately)."""
    target = DUCKDB_TYPES[ftype]
    ref = _q(col)
    if ftype is FieldType.datetime:
        if raw_type in {"DOUBLE", "BIGINT", "INTEGER", "FLOAT", "DECIMAL", "HUGEINT"}:
            return f"to_timestamp(CAST({ref} AS DOUBLE))"
        text = f"CAST({ref} AS VARCHAR)"
        return (f"COALESCE(TRY_CAST({text} AS TIMESTAMPTZ), "
                f"to_timestamp(TRY_CAST({text} AS DOUBLE)))")
    if ftype is FieldType.dynamic:
        return f"TRY_CAST({ref} AS JSON)" if raw_type in {"VARCHAR", "JSON"} \
            else f"CAST(to_json({ref}) AS JSON)"
    if ftype is FieldType.string and raw_type not in {"VARCHAR", "JSON"}:
        return f"CAST({ref} AS VARCHAR)"
    return f"TRY_CAST({ref} AS {target})"


def read_user_rows(path: str | Path, source: Source) -> UserRows:
    p = Path(path)
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise InputError(f"{p.name}: unsupported file type {p.suffix or '(none)'!r}; use CSV "
                         f"(.csv, .tsv), JSON Lines (.jsonl, .ndjson, .json) or Parquet "
                         f"(.parquet)")
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise InputError(f"{p.name}: the file is empty")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone='UTC'")
        try:
            con.execute(f"CREATE TABLE raw AS SELECT * FROM {_reader_sql(reader, p)}")
        except duckdb.Error as e:
            first = str(e).strip().splitlines()[0]
            raise InputError(f"{p.name}: not a readable {_FORMAT[reader]} file ({first})") from e
        described = con.execute("DESCRIBE raw").fetchall()
        raw_types = {row[0]: str(row[1]).split("(")[0] for row in described}
        count = con.execute("SELECT count(*) FROM raw").fetchone()[0]  # type: ignore[index]
        if count == 0:
            raise InputError(f"{p.name}: the file has no rows")
        mapped = map_columns(list(raw_types), source)
        by_field = {logical: col for col, logical in mapped.items()}
        selects = []
        for f in source.fields:
            col = by_field.get(f.name)
            if col is None:
                selects.append(f"CAST(NULL AS {DUCKDB_TYPES[f.type]}) AS {_q(f.name)}")
                continue
            cast = _cast(col, raw_types[col], f.type)
            bad = con.execute(f"SELECT rowid, CAST({_q(col)} AS VARCHAR) FROM raw "
                              f"WHERE {_q(col)} IS NOT NULL AND ({cast}) IS NULL "
                              f"ORDER BY rowid LIMIT 1").fetchone()
            if bad is not None:
                where = f"line {bad[0] + 2}" if reader == "read_csv" else f"row {bad[0] + 1}"
                raise InputError(f"{p.name}, {where}: column {col!r} (field {f.name!r}, "
                                 f"{f.type.value}) has the value {bad[1]!r}, which is not a valid "
                                 f"{f.type.value}")
            selects.append(f"{cast} AS {_q(f.name)}")
        rows = con.execute(f"SELECT {', '.join(selects)} FROM raw ORDER BY rowid").fetchall()
    finally:
        con.close()
    columns = {f.name: [r[i] for r in rows] for i, f in enumerate(source.fields)}
    return UserRows(columns, count, mapped)
