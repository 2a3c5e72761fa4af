"""What a runbook's example query may change in a plan: the meaning of the words the question
uses, and nothing the question decides (the precedence rule of `knowledge.precedence`).

An example query ("SigninLogs | where ResultType in ("50126", "50053") | summarize … | where
Failures > 7") mixes three things: the runbook's meaning of its subject (which result codes are
failures), the procedure's scope (leave service accounts out) and its own measure and threshold.
Only the first answers the question. Filter by filter, for a procedure the question is clearly
about (coverage ≥ `STRONG`) whose query reads the plan's source:

* a field the question filters on by its own words (a value, a code, a negation) keeps the
  question's condition; where the example's differs, a note says so;
* a field the plan filters on only through a catalog concept ("failed" → result_code != 0) takes
  the example's condition: the runbook's meaning of that word (a cited change);
* a field the plan does not filter ("NOT user=svc_*", or "ResultType in (…)" under "users who
  signed in from 3 countries") is named in a note and not applied: the question did not ask
  for it, and the example's scope or subject may not be the question's;
* an example whose values on a field the plan also pins are disjoint from the plan's (4625
  where the question asks for logons, 4624) counts other events: it is not used, and its
  procedure supplies no look-back or threshold either (`Guided.unrelated`).

The example's aggregation, order, threshold and limit never replace the question's; a threshold
comes only from `fills.apply_threshold`, when the question asks for one.
"""

from __future__ import annotations

from typing import Any, Sequence

from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects import parse
from lexiquery.engine.explain import describe_filter
from lexiquery.ir import Condition, Filter, Not, Operator, QueryPlan, Severity
from lexiquery.knowledge.gathering import Context, Relevant
from lexiquery.knowledge.guided import Guided
from lexiquery.knowledge.model import EmbeddedQuery
from lexiquery.knowledge.precedence import fields_of, value_texts
from lexiquery.knowledge.relevance import STRONG

_POSITIVE = (Operator.eq, Operator.in_)
_NEGATIVE = (Operator.ne, Operator.not_in)


def example_plan(q: EmbeddedQuery, catalog: Catalog) -> QueryPlan | None:
    """The example read into the IR, or None when it does not read cleanly."""
    try:
        parsed = parse(q.text, Platform(q.language), catalog)
    except Exception:  # noqa: BLE001 — an example that does not read is simply not used
        return None
    if any(i.severity is Severity.error for i in parsed.plan.issues):
        return None
    return parsed.plan


def use_example(g: Guided, ctx: Context, catalog: Catalog, stated: set[str]) -> None:
    """Apply the first example query of a strongly relevant procedure on the plan's source."""
    src = catalog.get(g.plan.source)
    if src is None:
        return
    for rel in ctx.relevant:
        if rel.score < STRONG:
            continue
        for q in rel.procedure.queries:
            if not q.parses or q.source != g.plan.source:
                continue
            example = example_plan(q, catalog)
            if example is not None and _use(g, rel, q, example, src, stated):
                return


def _by_field(filters: Sequence[Filter]) -> dict[str, list[Filter]]:
    """Top-level filters on one field each, by field; a filter over several fields is left
    out (it is the example's own logic, not a word's meaning)."""
    out: dict[str, list[Filter]] = {}
    for f in filters:
        names = fields_of([f])
        if len(names) == 1:
            out.setdefault(next(iter(names)), []).append(f)
    return out


def _values(filters: Sequence[Filter], ops: tuple[Operator, ...]) -> set[str]:
    """The values the top-level conditions with one of `ops` name, as text."""
    return {v for f in filters if isinstance(f, Condition) and f.op in ops
            for v in value_texts(f.value)}


def _exclusive(ours: Sequence[Filter], theirs: Sequence[Filter]) -> bool:
    """No event can meet both: disjoint value sets, or one is the other negated."""
    mine, other = _values(ours, _POSITIVE), _values(theirs, _POSITIVE)
    if mine and other and not mine & other:
        return True
    # what one allows, the other excludes ("in (200, 304)" against "!in (200, 304)")
    if mine and mine <= _values(theirs, _NEGATIVE) or other and other <= _values(ours, _NEGATIVE):
        return True
    dumped = [f.model_dump() for f in ours]
    flipped = [f.item.model_dump() for f in theirs if isinstance(f, Not)]
    back = [f.model_dump() for f in theirs]
    return any(d in dumped for d in flipped) or any(
        isinstance(f, Not) and f.item.model_dump() in back for f in ours)


def _same(a: Sequence[Filter], b: Sequence[Filter]) -> bool:
    return [f.model_dump() for f in a] == [f.model_dump() for f in b]


def _use(g: Guided, rel: Relevant, q: EmbeddedQuery, example: QueryPlan, src: Source,
         stated: set[str]) -> bool:
    """True when the example was considered (used, or its differences noted)."""
    theirs, ours = _by_field(example.filters), _by_field(g.plan.filters)
    for name in set(ours) & set(theirs):
        if _exclusive(ours[name], theirs[name]):
            # The example counts other events (4625 where the question asks for 4720 or for
            # logons, 4624): the procedure is about something else.
            g.unrelated.add(rel.hit.chunk.id)
            return False
    lang = q.language.upper()
    desc = lambda fs: " and ".join(describe_filter(f, src) for f in fs)  # noqa: E731
    filters: list[Any] = list(g.plan.filters)
    for name, fs in theirs.items():
        if name in g.defined:
            continue  # a runbook's own definition of the word already decided this field
        if name in stated:
            if not _same(ours.get(name, []), fs):
                ref = g.cite(rel, f"example {lang} query (not applied)")
                g.conflict(f"the {lang} query in {ref} filters {desc(fs)}; your question says "
                       f"{desc(ours.get(name, []))}, so it was kept")
            continue
        if name in ours:
            if _same(ours[name], fs):
                continue
            filters = [f for f in filters if not any(f is o for o in ours[name])] + list(fs)
            ref = g.cite(rel, f"example {lang} query")
            g.changes.append(f"per the {lang} query in {ref}, {desc(fs)} (instead of "
                             f"{desc(ours[name])})")
        else:
            ref = g.cite(rel, f"example {lang} query (not applied)")
            g.note(f"the {lang} query in {ref} also filters {desc(fs)}; not applied — your "
                   "question does not ask for it")
    g.plan = g.plan.model_copy(update={"filters": filters})
    return True


__all__ = ["example_plan", "use_example"]
