"""What the three query parsers share: the result type, positions, catalog look-ups, issues.

    parse_kql(text, catalog)                  → ParsedQuery   (dialects/kql_parse.py)
    parse_spl(text, catalog)                  → ParsedQuery   (dialects/spl_parse.py)
    parse_sql(text, catalog, dialect=…)       → ParsedQuery   (dialects/sql_parse.py)

Contract of every parser:

* the text is read in the platform's own names (table/column, search prefix/field) and mapped
  back through the catalog's bindings onto a logical source and logical field names, so the
  `QueryPlan` it returns is the same plan the renderers take;
* a syntax error raises `QueryError` (code ``syntax``) with the 1-based line and column of the
  offending token, what was expected, and a hint for common slips;
* a table/search prefix no catalog source is bound to raises `QueryError` (code
  ``unknown_source``); a column that is neither bound on that source nor computed earlier in
  the query raises `QueryError` (code ``unknown_field``) — both with the position and the
  closest known names;
* a construct the IR cannot hold (join, union, mv-expand, rex, lookup, …) never crashes and is
  never dropped silently: it becomes a `PlanIssue` with code ``unsupported``, the line and
  column where it starts, and severity ``error`` when skipping it changes the results
  (``warning`` when it only changes the display, e.g. KQL `render`, SPL `fieldformat`);
* the rendered form of any plan parses back to an equivalent plan: see
  `lexiquery.dialects.roundtrip.canonical`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable

from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.errors import QueryError
from lexiquery.ir import (
    Aggregation,
    ComputedField,
    PlanIssue,
    QueryPlan,
    Severity,
    SortKey,
    TimeRange,
)
from lexiquery.limits import MAX_NESTING


@dataclass
class ParsedQuery:
    """A query read into the IR. `plan.issues` holds the unsupported constructs found."""

    platform: Platform
    dialect: str  # "kql", "spl", or the SQL dialect
    text: str
    plan: QueryPlan
    source: Source
    notes: list[str] = field(default_factory=list)  # things worth telling the reader

    @property
    def unsupported(self) -> list[PlanIssue]:
        return [i for i in self.plan.issues if i.code == "unsupported"]

    @property
    def faithful(self) -> bool:
        """True when the plan means what the text means (no result-changing construct lost)."""
        return not any(i.severity is Severity.error for i in self.plan.issues)


class PlanDraft:
    """The parts of a plan that a pipeline reader (the KQL binder, the SPL stages) gathers stage
    by stage, and the plan they make."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.filters: list[Any] = []
        self.computed: list[ComputedField] = []
        self.agg: Aggregation | None = None
        self.having: list[Any] = []
        self.project: list[str] = []
        self.sort: list[SortKey] = []
        self.limit: int | None = None
        self.issues: list[PlanIssue] = []
        self.notes: list[str] = []

    def draft(self, time_range: TimeRange | None) -> QueryPlan:
        """The plan of the parts gathered (a having filter only follows an aggregation)."""
        return QueryPlan(source=self.source.id, time_range=time_range, filters=self.filters,
                         computed=self.computed, aggregation=self.agg,
                         having=self.having if self.agg else [], project=self.project,
                         sort=self.sort, limit=self.limit, issues=self.issues)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character `offset` in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


def syntax_error(text: str, offset: int, message: str, *, expected: str | None = None,
                 hint: str | None = None, code: str = "syntax") -> QueryError:
    """A `QueryError` pointing at `offset` in `text`."""
    line, col = line_col(text, offset)
    return QueryError(message, line=line, column=col, expected=expected, hint=hint, code=code)


def check_nesting(text: str, brackets: Iterable[tuple[int, int]],
                  max_depth: int = MAX_NESTING) -> None:
    """Refuse a query that nests brackets deeper than `max_depth` (see `lexiquery.limits`):
    `brackets` are (offset, +1 for an opening / -1 for a closing bracket) from the dialect's own
    lexer, so brackets inside strings and comments never count."""
    depth = 0
    for offset, delta in brackets:
        depth += delta
        if depth > max_depth:
            raise syntax_error(text, offset, f"brackets nest deeper than {max_depth} levels",
                               hint="a query this deep is not supported; flatten the "
                                    "expression or split the query")


def unsupported_issue(text: str, offset: int, construct: str, why: str = "", *,
                      changes_results: bool = True) -> PlanIssue:
    """The ``unsupported`` issue for a construct the IR cannot hold, at its position."""
    line, col = line_col(text, offset)
    message = f"line {line}, column {col}: {construct} is not supported"
    if why:
        message += f" ({why})"
    return PlanIssue(code="unsupported", message=message, line=line, column=col,
                     severity=Severity.error if changes_results else Severity.warning)


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Known names that look like `name` (case-insensitive), best first."""
    pool = list(dict.fromkeys(candidates))
    lowered = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def reverse_columns(source: Source, platform: Platform) -> dict[str, str]:
    """Platform column/field name → logical field name for one source's binding."""
    return {col: logical for logical, col in source.bindings.columns(platform).items()}


def logical_field(source: Source, platform: Platform, column: str) -> str | None:
    """The logical field a platform column names: exact first, then case-insensitive (SQL and
    SPL field names are case-insensitive in practice; KQL is not, but a near miss is reported
    by the caller, not guessed)."""
    rev = reverse_columns(source, platform)
    if column in rev:
        return rev[column]
    if platform is not Platform.kql:
        folded = {c.lower(): f for c, f in rev.items()}
        return folded.get(column.lower())
    return None


def sources_on(catalog: Catalog, platform: Platform) -> list[Source]:
    return [s for s in catalog if getattr(s.bindings, platform.value) is not None]


def source_for_table(catalog: Catalog, platform: Platform, table: str) -> Source | None:
    """The source bound to KQL/SQL `table`. SQL matches case-insensitively and accepts the
    bare table name for a schema-qualified binding (``test_events`` for ``sec.test_events``).
    When several sources share a table, the built-in one wins — it also answers for the
    table's reference columns it does not curate, bound on that platform only
    (`catalog.curated_columns`); a table only the shelves hold (reference packs) is found
    there."""
    hits: list[Source] = []
    for s in sources_on(catalog, platform):
        bound = getattr(s.bindings, platform.value).table
        if platform is Platform.kql:
            if bound == table:
                hits.append(s)
        else:
            b, t = bound.lower().strip('"`[]'), table.lower().strip('"`[]')
            if b == t or b.rsplit(".", 1)[-1] == t or t.rsplit(".", 1)[-1] == b:
                hits.append(s)
    hits.sort(key=lambda s: s.origin != "builtin")
    if hits:
        return hits[0]
    # A reference or big-workspace table: built into a source only now that a query names it.
    found = catalog.find_table(platform, table.strip('"`[]'))
    if found is not None and (platform is not Platform.kql or found.target(platform) == table):
        return found
    return None


def unknown_table_error(text: str, offset: int, catalog: Catalog, platform: Platform,
                        table: str) -> QueryError:
    known = [getattr(s.bindings, platform.value).table for s in sources_on(catalog, platform)]
    near = closest(table, known)
    hint = (f"did you mean {', '.join(near)}?" if near else
            "`lexiquery catalog list` shows the sources; `lexiquery catalog import` adds yours")
    return syntax_error(text, offset, f"no catalog source is bound to the table '{table}'",
                        hint=hint, code="unknown_source")


def unknown_field_error(text: str, offset: int, source: Source, platform: Platform,
                        column: str, extra: Iterable[str] = ()) -> QueryError:
    """`column` is not a column of `source` on `platform`, nor one of `extra` (names defined
    earlier in the query: extend/eval outputs, aggregation outputs)."""
    known = list(source.bindings.columns(platform).values()) + list(extra)
    near = closest(column, known)
    hint = (f"did you mean {', '.join(near)}?" if near else
            f"`lexiquery catalog show {source.id}` lists its fields")
    return syntax_error(text, offset, f"'{column}' is not a column of {source.name} on "
                        f"{platform.value.upper()}", hint=hint, code="unknown_field")
