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
"""

from __future__ import annotations

from typing import Any, Protocol

MAX_BATCH = 1024


class Fetcher(Protocol):
    def fetchmany(self, size: int = ...) -> list[Any]: ...


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
    reading stopped early: ``"rows"``, ``"bytes"``, or None when every row was read."""
    rows: list[tuple[Any, ...]] = []
    used = 0
    batch = 1
    while True:
        chunk = cur.fetchmany(batch)
        if not chunk:
            return rows, None
        for row in chunk:
            if len(rows) >= row_cap:
                return rows, "rows"
            size = cell_bytes(row)
            if used + size > max_bytes:
                return rows, "bytes"
            used += size
            rows.append(tuple(row))
        average = max(used // max(len(rows), 1), 1)
        batch = max(1, min(MAX_BATCH, (max_bytes - used) // (4 * average)))
