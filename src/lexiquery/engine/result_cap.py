"""Reading a sandbox result within a row cap and a byte cap.

A row cap alone does not bound memory: 200 rows of a 1 MB value each are 200 MB in Python, and
several times that once rendered or serialised (the hostile-input probe reached 1.09 GB). So the
sandbox reads a result in batches and stops at whichever comes first:
* ``rows``: the result has more than `row_cap` rows (the query asks DuckDB for one more than
  the cap, so the extra row says the result was cut);
* ``bytes``: the next row would take the estimated size of the rows read past `max_bytes`.

The size is an estimate of the values' own bytes (text and blob lengths, 8 bytes for a number or
a time, the sum of a list's or a struct's items), not of Python's overhead, so that the cap
means the same for a result of many narrow rows as for one of a few wide ones. Batches grow only
while rows are small: a batch never holds more than about a quarter of the remaining budget, so
a result of huge values is read one row at a time. (DuckDB itself is bounded by its
`memory_limit`, see `duckdb_lockdown`.)

The estimate is computed per column kind, read once from the cursor's description: fixed-width
columns cost a constant per row, text and blob columns their length, and only nested ones (lists,
structs, maps, unknown types) are walked — the sample check reads every journey's results, so
this runs on every query.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Protocol

MAX_BATCH = 1024


class Fetcher(Protocol):
    def fetchmany(self, size: int = ...) -> list[Any]: ...

    @property
    def description(self) -> Any: ...


_TEXT_TYPES = ("VARCHAR", "BLOB", "JSON", "BIT")
_NESTED_MARKS = ("[", "STRUCT", "MAP", "UNION", "LIST")


def column_kinds(description: Any) -> tuple[int, list[int], list[int]] | None:
    """(bytes of the fixed-width columns, indexes of text columns, indexes of nested ones) for
    a DB-API description whose type names DuckDB gives; None when there is none to read."""
    if not description:
        return None
    fixed, text, nested = 0, [], []
    for i, column in enumerate(description):
        name = str(column[1]).upper()
        if any(mark in name for mark in _NESTED_MARKS):
            nested.append(i)
        elif name.startswith(_TEXT_TYPES) or name.startswith("ENUM"):
            text.append(i)
        else:
            fixed += 8
    return fixed, text, nested


def cell_bytes(value: Any) -> int:
    """Estimated bytes of one value (see the module docstring)."""
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return sum(cell_bytes(v) for v in value) + 8
    if isinstance(value, dict):
        return sum(cell_bytes(k) + cell_bytes(v) for k, v in value.items()) + 8
    return 8


def fetch_capped(cur: Fetcher, row_cap: int, max_bytes: int,
                 ) -> tuple[list[tuple[Any, ...]], str | None]:
    """At most `row_cap` rows of `cur` whose estimated size is at most `max_bytes`, and why the
    reading stopped early: ``"rows"``, ``"bytes"``, or None when every row was read.

    A batch that fits whole is measured column by column and kept at once; only the batch that
    crosses a cap is read row by row, to stop at the exact row."""
    rows: list[tuple[Any, ...]] = []
    used = 0
    batch = 1
    kinds = column_kinds(getattr(cur, "description", None))
    while True:
        chunk = [tuple(r) for r in cur.fetchmany(batch)]
        if not chunk:
            return rows, None
        size = _batch_bytes(chunk, kinds)
        if used + size <= max_bytes and len(rows) + len(chunk) <= row_cap:
            rows += chunk
            used += size
        else:
            for row in chunk:
                if len(rows) >= row_cap:
                    return rows, "rows"
                size = _batch_bytes([row], kinds)
                if used + size > max_bytes:
                    return rows, "bytes"
                used += size
                rows.append(row)
        average = max(used // max(len(rows), 1), 1)
        batch = max(1, min(MAX_BATCH, (max_bytes - used) // (4 * average)))


def _batch_bytes(chunk: list[tuple[Any, ...]],
                 kinds: tuple[int, list[int], list[int]] | None) -> int:
    """Estimated bytes of `chunk` (see the module docstring), by column where kinds are known."""
    if kinds is None:
        return sum(cell_bytes(r) for r in chunk)
    fixed, text, nested = kinds
    total = fixed * len(chunk)
    for i in text:
        total += sum(map(len, filter(None, map(itemgetter(i), chunk))))
    for i in nested:
        total += sum(cell_bytes(r[i]) for r in chunk)
    return total
