"""What the question decides, which no runbook or known error may change (issue 15).

The precedence rule: what the question states outright — its source, the values and codes it
names, its negations, metric, grouping, time range, thresholds and limit — wins over everything
else. Knowledge only fills what the question leaves open: the definition of a term it uses, a
threshold for a vague word ("too many"), a look-back when it gives none.

    stated_fields(question, catalog, source) → {"event_id", "user"}   fields the words decide
    wants_threshold(question)                → True for "too many", "escalate", "unusual number"

A field the question filters on only through a catalog concept ("failed" → result_code != 0) is
*not* stated: a runbook's definition of that term may replace the concept. A field it filters on
by a value it names ("result code 50057", "4625", "excluding 200 and 304") is stated.
"""

from __future__ import annotations

import re
from typing import Sequence

from lexiquery.catalog.model import Catalog, Source
from lexiquery.errors import LexiQueryError
from lexiquery.ir import Filter, QueryPlan, iter_conditions
from lexiquery.nl.rules import parse_question


def fields_of(filters: Sequence[Filter]) -> set[str]:
    return {c.field for c in iter_conditions(list(filters))}


def value_texts(value: object) -> set[str]:
    """A condition's value (one or a list) as lower-case text, for comparing values of any
    type ("4625" and 4625 alike)."""
    return {str(v).lower() for v in (value if isinstance(value, list) else [value])}


def with_source(catalog: Catalog, source: Source) -> Catalog:
    """`catalog` with `source` in place of the source of the same id (a shelf table, not among
    the catalog's own sources, joins them)."""
    own = [source if s.id == source.id else s for s in catalog]
    return Catalog(own if source.id in catalog.ids() else [*own, source], catalog.shelves)


def stated_fields(question: str, catalog: Catalog, plan: QueryPlan) -> set[str]:
    """The fields of the plan the question filters on by its own words, for a plan whose reading
    did not record them (`ParsedQuestion.stated_fields` is None: the LLM wrote it): the question read
    again on the plan's source with the source's concepts taken away, so only values, codes
    and comparisons it names are left, and of those the fields the plan itself filters on (a
    concept word read bare may pose as a value: "failed" → conditional_access_status). Empty
    when the source is unknown or the reading fails."""
    source_id = plan.source
    src = catalog.get(source_id)
    if src is None:
        return set()
    if not src.concepts:
        bare_catalog = catalog
    else:
        bare_catalog = with_source(catalog, src.model_copy(update={"concepts": []}))
    try:
        bare = parse_question(question, bare_catalog, source_hint=source_id)
    except LexiQueryError:
        return set()
    return fields_of(bare.plan.filters) & fields_of(plan.filters)


# A threshold hides the groups below it, so a runbook's threshold applies only when the question
# asks for what the procedure escalates on: a vague amount ("too many", "an unusual number of",
# "excessive") or escalation itself. "failed sign-ins per user" wants every user's count.
_WANTS_THRESHOLD = re.compile(
    r"\b(escalat\w*|threshold\w*|exceed\w*|breach\w*|too\s+many|too\s+much|excessive\w*|"
    r"(?:unusual|abnormal|suspicious|high|large|anomalous|unexpected)(?:ly\s+high)?\s+"
    r"(?:number|amount|count|volume|rate)s?|lots\s+of|a\s+lot\s+of|"
    r"per\s+(?:the\s+)?(?:sop|runbook|procedure|playbook)|according\s+to|"
    r"as\s+the\s+(?:sop|runbook)\s+says|(?:sop|rb|kb|pb|ir)[- ]?\d+)\b", re.IGNORECASE)


def wants_threshold(question: str) -> bool:
    """The question leaves its threshold to the organisation ("too many", "escalate")."""
    return bool(_WANTS_THRESHOLD.search(question))


__all__ = ["fields_of", "value_texts", "stated_fields", "wants_threshold", "with_source"]
