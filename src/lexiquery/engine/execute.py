"""Running a parsed query in the sandbox the settings describe.

    make_sandbox(catalog, settings, data={"signin_logs": "rows.csv"})  → Sandbox (close it)
    sandbox_for(given, catalog, settings)      → the given sandbox, or a new one closed after
    execute(parsed, box)                       → (ResultSet, how it ran)

SQL runs as written (transpiled to DuckDB); KQL and SPL run through their plan with the
platform's semantics, and their result columns get the platform's own names.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.config import Settings
from lexiquery.dialects.kql.text import output_name
from lexiquery.dialects.parsing import ParsedQuery, closest
from lexiquery.engine.results import ResultSet
from lexiquery.engine.sandbox import Sandbox, SandboxError
from lexiquery.errors import InputError


def make_sandbox(catalog: Catalog, settings: Settings, *,
                 data: Mapping[str, Path | str] | None = None) -> Sandbox:
    """A sandbox on the settings' sample data, with the user's rows for the sources in `data`
    (keys: source ids, or a KQL/SQL table name bound to one)."""
    box = Sandbox(catalog, rows_per_source=settings.sample_rows, seed=settings.sample_seed,
                  row_cap=settings.row_cap, timeout_s=settings.query_timeout_s,
                  result_max_bytes=settings.result_max_bytes)
    try:
        for key, path in (data or {}).items():
            box.use_rows(source_id(catalog, key), Path(path))
    except BaseException:
        box.close()
        raise
    return box


@contextmanager
def sandbox_for(given: Sandbox | None, catalog: Catalog, settings: Settings, *,
                data: Mapping[str, Path | str] | None = None) -> Iterator[Sandbox]:
    """`given`, or a new sandbox closed on the way out (DuckDB connections are released
    deterministically, not by the garbage collector at interpreter exit)."""
    if given is not None:
        yield given
        return
    box = make_sandbox(catalog, settings, data=data)
    try:
        yield box
    finally:
        box.close()


def source_id(catalog: Catalog, key: str) -> str:
    if key in catalog:
        return key
    for s in catalog:
        for p in (Platform.kql, Platform.sql):
            b = getattr(s.bindings, p.value)
            if b is not None and b.table.lower() == key.lower():
                return s.id
    near = closest(key, catalog.ids())
    raise InputError(f"--data names {key!r}, which is no catalog source",
                     hint=f"did you mean {', '.join(near)}?" if near else
                     "`lexiquery catalog list` shows the source ids")


def execute(parsed: ParsedQuery, box: Sandbox) -> tuple[ResultSet, str]:
    """Run a parsed query: SQL as written, KQL/SPL through their plan. Returns the result and
    how it ran: ``query``, ``plan``, or ``plan (…)`` with the reason when SQL text that DuckDB
    cannot run after transpiling (a dialect function with no DuckDB equivalent) was checked
    through the plan it parses to instead.

    A plan's result columns carry logical names; they are renamed to what the platform itself
    would call them (`UserPrincipalName`, not `user`), so the table reads like the real one."""
    if parsed.platform is Platform.sql:
        try:
            return box.execute_sql(parsed.text, parsed.dialect, parsed.source), "query"
        except SandboxError as e:
            if e.code == "timeout" or not parsed.faithful:
                raise
            why = f"plan (the {parsed.dialect} text does not run in DuckDB: {e.message})"
            return box.execute_plan(parsed.plan, parsed.source), why
    result = box.execute_plan(parsed.plan, parsed.source, semantics=parsed.platform)
    return replace(result, columns=platform_columns(parsed, result.columns)), "plan"


def platform_columns(parsed: ParsedQuery, columns: Sequence[str]) -> list[str]:
    """Logical output names → the platform's names for the source fields among them."""
    plan, src = parsed.plan, parsed.source
    own = {c.name for c in plan.computed}
    if plan.aggregation is not None:
        own |= {m.name for m in plan.aggregation.metrics}
    out = []
    for c in columns:
        col = src.column(parsed.platform, c) if c not in own else None
        if col is None:
            out.append(c)
        elif parsed.platform is Platform.kql:
            out.append(output_name(c, col))  # a dynamic path keeps the logical name
        else:
            out.append(col)
    return out


def data_label(settings: Settings, data: Mapping[str, Any] | None, source: str) -> str:
    if data and source in data:
        return f"your rows from {data[source]}"
    return (f"sample data ({settings.sample_rows:,} generated rows per source, "
            f"seed {settings.sample_seed})")
