"""What a query language brings to LexiQuery: a renderer, a parser and a read-only guard.

Each language is one folder (`kql/`, `spl/`, `sql/`) whose `__init__` builds its `Language`;
`dialects.LANGUAGES` registers it under its `Platform`. That is the whole of adding a language:
a folder, a `Platform` value, and one line in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects.parsing import ParsedQuery
from lexiquery.ir import PlanIssue, QueryPlan


# Where a renderer finds the source of a join's right-hand plan (None: no joins can be written).
Sources = Callable[[str], "Source | None"] | None


@dataclass(frozen=True)
class Language:
    """One query language. `dialect` is the SQL dialect (other languages ignore it)."""

    platform: Platform
    # (plan, source, dialect, sources) → query text; `sources` resolves a join's other source
    render: Callable[[QueryPlan, Source, str, "Sources"], str]
    parse: Callable[[str, Catalog, str], ParsedQuery]  # (text, catalog, dialect) → the IR
    check: Callable[[str, str], list[PlanIssue]]  # (text, dialect) → read-only issues
