"""How runbooks and known errors change a plan — the SOP engine's effect on generation.

    gather(question, store, errors, …) ──► Context    (`knowledge.gathering`)
    apply_knowledge(question, parsed, context, catalog) ──► Guided (plan, changes, citations)

The rules engine (or, later, the LLM) makes a plan from the question alone; the organisation's
procedures then refine it, in this order, each step recorded in plain English with a citation:

1. **source** — a relevant procedure that names one source the question could mean (one of the
   rules engine's alternatives, or any source when the question alone named none) chooses it;
2. **definitions** — "failed sign-ins are result codes 50126 and 50053" replaces the catalog's
   concept of the same name (or adds a new one) and the question is read again, so the SOP's
   meaning is used wherever the question says the term;
3. **example query** — a procedure the question is clearly about (coverage ≥ `STRONG`) whose
   embedded query reads the same source is *adapted*: its filters, aggregation and threshold
   are kept; the question's own time range, extra filters, grouping and limit win;
4. **known errors** — a code the question names (AADSTS50105, event 4740, HTTP 503) becomes
   the filter the known-errors base suggests when the plan has none on that field;
5. **time window** — the procedure's look-back when the question gave no time range;
6. **threshold** — "more than 10 … within 5 minutes" becomes `having count > 10` per
   5-minute bucket when the plan counts per entity and sets no threshold of its own.

SOP text is data: only these structured extractions ever reach a plan, and a passage flagged
as prompt injection contributes nothing but its citation-free presence in search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from lexiquery.answer import Citation, KnownErrorNote
from lexiquery.catalog.model import Catalog, Concept, Platform
from lexiquery.dialects import parse
from lexiquery.engine.explain import describe_filter
from lexiquery.ir import (
    Aggregation,
    And,
    Condition,
    Filter,
    MetricFn,
    Not,
    Operator,
    Or,
    QueryPlan,
    RelativeTime,
    Severity,
    TimeBucket,
    TimeRange,
    TimeUnit,
)
from lexiquery.knowledge.gathering import Context, Relevant, excerpt
from lexiquery.knowledge.model import EmbeddedQuery, Threshold, TimeWindow
from lexiquery.knowledge.relevance import STRONG, coverage
from lexiquery.nl.rules import parse_question

if TYPE_CHECKING:
    from lexiquery.nl.rules import ParsedQuestion

_OP_WORDS = {Operator.gt: "more than", Operator.ge: "at least", Operator.lt: "fewer than",
             Operator.le: "at most"}


@dataclass
class Guided:
    plan: QueryPlan
    parsed: "ParsedQuestion"
    changes: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    known_errors: list[KnownErrorNote] = field(default_factory=list)

    def note(self, text: str) -> None:
        """A conflict between the question and the knowledge, kept as the question says."""
        self.parsed = self.parsed.model_copy(update={"notes": [*self.parsed.notes, text]})

    def cite(self, rel: Relevant, used_for: str) -> str:
        """Record that `rel` was used for `used_for`; returns its reference ("SOP-017 §3")."""
        chunk = rel.hit.chunk
        for c in self.citations:
            if c.chunk_id == chunk.id:
                if used_for not in c.used_for:
                    c.used_for.append(used_for)
                return c.ref()
        c = Citation(document_id=rel.document.id, label=rel.document.label,
                     title=rel.document.title, section=rel.procedure.section,
                     heading_path=list(chunk.heading_path), chunk_id=chunk.id,
                     chunk_index=chunk.index, excerpt=excerpt(chunk.text), used_for=[used_for])
        self.citations.append(c)
        return c.ref()


# ---- applying ---------------------------------------------------------------------------------


def apply_knowledge(question: str, parsed: "ParsedQuestion", ctx: Context, catalog: Catalog,
                    *, source_hint: str | None = None) -> Guided:
    """The plan refined by the runbooks and known errors of `ctx` (see the module doc)."""
    g = Guided(plan=parsed.plan, parsed=parsed)
    _choose_source(question, g, ctx, catalog, source_hint)
    _apply_definitions(question, g, ctx, catalog)
    _adapt_example(question, g, ctx, catalog)
    _apply_known_errors(g, ctx, catalog)
    _apply_window(g, ctx)
    _apply_threshold(question, g, ctx)
    return g


def _reparse(question: str, catalog: Catalog, source: str,
             prior: "ParsedQuestion | None" = None) -> "ParsedQuestion":
    """The question read again on `source`. When the source is the one the first reading chose,
    that reading's note on why it was chosen is kept (it was not "given as source_hint")."""
    again = parse_question(question, catalog, source_hint=source)
    if prior is not None and prior.plan.source == source and prior.notes and again.notes:
        again = again.model_copy(update={"notes": [prior.notes[0], *again.notes[1:]],
                                         "alternatives": prior.alternatives})
    return again


def sources_named(rel: Relevant) -> list[str]:
    return list(dict.fromkeys([*(q.source for q in rel.procedure.queries if q.source),
                               *rel.procedure.sources]))


def _choose_source(question: str, g: Guided, ctx: Context, catalog: Catalog,
                   hint: str | None) -> None:
    if hint is not None or not ctx.relevant:
        return
    current = g.plan.source
    for rel in ctx.relevant:
        named = [s for s in sources_named(rel) if s in catalog]
        if current in named or len(named) != 1:
            continue
        chosen = named[0]
        if chosen not in g.parsed.alternatives:
            continue
        if g.parsed.source_named:
            # What the question states outright wins; the disagreement is shown, not resolved.
            ref = g.cite(rel, "source (not applied)")
            src, other = catalog.get(current), catalog.get(chosen)
            g.note(f"{ref} investigates this in {other.name if other else chosen}; your "
                   f"question names {src.name if src else current}, so it was kept")
            return
        g.parsed = _reparse(question, catalog, chosen)
        g.plan = g.parsed.plan
        ref = g.cite(rel, "source")
        src = catalog.get(chosen)
        g.changes.append(f"per {ref}, this is investigated in {src.name if src else chosen}")
        return


def rescue_source(question: str, ctx: Context, catalog: Catalog) -> "tuple[ParsedQuestion, str] | None":
    """When the question alone names no source, a relevant procedure (or a known error the
    question names) that points at exactly one source supplies it. Returns the parse and the
    sentence saying why, or None."""
    for rel in ctx.relevant:
        named = [s for s in sources_named(rel) if s in catalog]
        if len(named) == 1:
            return _reparse(question, catalog, named[0]), rel.document.label
    for m in ctx.mentions:
        f = m.error.filter
        if f is not None and f.source in catalog:
            return _reparse(question, catalog, f.source), f"known error {m.error.code}"
    return None


def _describe_values(values: Sequence[Any], conj: str = "and") -> str:
    vals = [str(v) for v in values]
    return vals[0] if len(vals) == 1 else ", ".join(vals[:-1]) + f" {conj} " + vals[-1]


def _apply_definitions(question: str, g: Guided, ctx: Context, catalog: Catalog) -> None:
    src = catalog.get(g.plan.source)
    if src is None:
        return
    concepts = {c.name: c for c in src.concepts}
    used: list[tuple[Relevant, Any]] = []
    for rel in ctx.relevant:
        for d in rel.procedure.definitions:
            if d.source != src.id or src.field(d.field) is None:
                continue
            value: Any = d.values if d.op in (Operator.in_, Operator.not_in) else d.values[0]
            cond = Condition(field=d.field, op=d.op, value=value)
            name = d.concept if d.concept in concepts else d.term
            old = concepts.get(name)
            concepts[name] = Concept(
                name=name, synonyms=list(dict.fromkeys([*(old.synonyms if old else []), d.term])),
                description=f"per {rel.document.label}: {d.text}", filters=[cond])
            used.append((rel, d))
    if not used:
        return
    patched = src.model_copy(update={"concepts": list(concepts.values())})
    # The source may be a shelf table (not among the catalog's own sources): it joins them.
    own = [patched if s.id == src.id else s for s in catalog]
    cat = Catalog(own if src.id in catalog.ids() else [*own, patched], catalog.shelves)
    reparsed = _reparse(question, cat, src.id, g.parsed)
    new_filters = list(_conditions(reparsed.plan.filters))
    applied = False
    for rel, d in used:
        value = d.values if d.op in (Operator.in_, Operator.not_in) else d.values[0]
        if any(c.field == d.field and c.op == d.op and c.value == value for c in new_filters):
            applied = True
            ref = g.cite(rel, f"definition of {d.term}")
            term = d.term[:1].lower() + d.term[1:] if not d.term[:2].isupper() else d.term
            verb = "are" if term.endswith("s") else "is"
            vals = _describe_values(d.values, "or")
            if d.op in (Operator.ne, Operator.not_in):
                vals = "other than " + _describe_values(d.values)
            g.changes.append(f"per {ref}, {term} {verb} {d.field} {vals}")
    if applied:
        g.parsed, g.plan = reparsed, reparsed.plan


def _conditions(filters: Sequence[Filter]):  # type: ignore[no-untyped-def]
    for f in filters:
        if isinstance(f, Condition):
            yield f
        elif isinstance(f, (And, Or)):
            yield from _conditions(f.items)
        elif isinstance(f, Not):
            yield from _conditions([f.item])


def _fields(filters: Sequence[Filter]) -> set[str]:
    return {c.field for c in _conditions(filters)}


def _example_plan(q: EmbeddedQuery, catalog: Catalog) -> QueryPlan | None:
    try:
        parsed = parse(q.text, Platform(q.language), catalog)
    except Exception:  # noqa: BLE001 — an example that does not read is simply not used
        return None
    if any(i.severity is Severity.error for i in parsed.plan.issues):
        return None
    return parsed.plan


def _adapt_example(question: str, g: Guided, ctx: Context, catalog: Catalog) -> None:
    for rel in ctx.relevant:
        if rel.score < STRONG:
            continue
        for q in rel.procedure.queries:
            if not q.parses or q.source != g.plan.source:
                continue
            example = _example_plan(q, catalog)
            if example is None:
                continue
            asked = _own_metrics(g.plan, example)
            if asked:
                # The question's measure wins over the runbook's ("distinct countries" is not
                # the runbook's count of failures): shown, not silently resolved.
                ref = g.cite(rel, f"example {q.language.upper()} query (not applied)")
                g.note(f"the {q.language.upper()} query in {ref} measures something else; your "
                       f"question asks for {asked}, so it was kept")
                return
            plan, took = _merge(example, g.plan)
            g.plan = plan
            ref = g.cite(rel, f"example {q.language.upper()} query")
            kept = "its filters" + (" and aggregation" if example.aggregation else "")
            g.changes.append(f"adapted the {q.language.upper()} query in {ref}: kept {kept}"
                             + (f"; {_describe_values(took)} from your question" if took else ""))
            return


def _own_metrics(asked: QueryPlan, example: QueryPlan) -> str:
    """The question's own measures the example lacks, in words ("count_distinct of location");
    "" when the question measures nothing of its own (a plain count, or no aggregation)."""
    if asked.aggregation is None:
        return ""
    theirs = {(m.fn, m.field) for m in (example.aggregation.metrics
                                       if example.aggregation else [])}
    own = [m for m in asked.aggregation.metrics if m.field and (m.fn, m.field) not in theirs]
    return ", ".join(f"{m.fn.value} of {m.field}" for m in own)


def _merge(example: QueryPlan, asked: QueryPlan) -> tuple[QueryPlan, list[str]]:
    """The example's structure with the question's specifics on top."""
    plan = example.model_copy(deep=True)
    plan.issues = []
    took: list[str] = []
    if asked.time_range is not None:
        plan.time_range = asked.time_range
        took.append("the time range")
    have = _fields(example.filters)
    extra = [f for f in asked.filters if not (_fields([f]) & have)]
    if extra:
        plan.filters = [*plan.filters, *extra]
        took.append("the filter on " + ", ".join(sorted(_fields(extra))))
    if asked.aggregation is not None:
        if example.aggregation is None:
            plan.aggregation, plan.having = asked.aggregation, list(asked.having)
            plan.sort, plan.project = list(asked.sort), []
            took.append("the aggregation")
        elif asked.aggregation.group_by and \
                asked.aggregation.group_by != example.aggregation.group_by:
            plan.aggregation = example.aggregation.model_copy(
                update={"group_by": list(asked.aggregation.group_by)})
            plan.sort = [s for s in plan.sort
                         if s.field in plan.aggregation.output_names()]
            took.append("grouping by " + ", ".join(asked.aggregation.group_by))
    if asked.aggregation is not None and plan.aggregation is not None:
        # "top 5 users", "more than 5 per user": the question's order and threshold, named as
        # the example's metrics are (its count() is `count_`, the rules engine's `event_count`).
        sort = [k.model_copy(update={"field": f}) for k in asked.sort
                if (f := _output_in(k.field, asked.aggregation, plan.aggregation)) is not None]
        if sort:
            plan.sort = sort
            took.append("the order")
        having = [h.model_copy(update={"field": f}) for h in asked.having
                  if isinstance(h, Condition)
                  and (f := _output_in(h.field, asked.aggregation, plan.aggregation)) is not None]
        if having:
            plan.having = having
            took.append("the threshold")
    if asked.limit is not None:
        plan.limit = asked.limit
        took.append("the limit")
    return QueryPlan.model_validate(plan.model_dump()), took


def _output_in(name: str, asked: Aggregation, plan: Aggregation) -> str | None:
    """The merged plan's output column for the question's output `name`, or None."""
    if name in plan.group_by:
        return name
    metric = next((m for m in asked.metrics if m.name == name), None)
    if metric is None:
        return None
    same = next((m for m in plan.metrics if (m.fn, m.field, m.percentile) ==
                 (metric.fn, metric.field, metric.percentile)), None)
    return same.name if same is not None else None


def _apply_known_errors(g: Guided, ctx: Context, catalog: Catalog) -> None:
    """Codes in the question: explained, and used as filters (see `_code_filter`)."""
    src = catalog.get(g.plan.source)
    written = {m.written.lower() for m in ctx.mentions}
    by_field: dict[str, list[Any]] = {}
    notes: list[tuple[KnownErrorNote, Condition]] = []
    for m in ctx.mentions:
        e, f = m.error, m.error.filter
        note = KnownErrorNote(code=e.code, system=e.system, title=e.title, meaning=e.meaning,
                              action=e.action, found_in="question")
        if f is not None and src is not None and f.source == src.id and src.field(f.field):
            cond = f.condition()
            note.filter = describe_filter(cond, src, lambda n: n)
            values = cond.value if isinstance(cond.value, list) else [cond.value]
            by_field.setdefault(f.field, []).extend(v for v in values
                                                    if v not in by_field.get(f.field, []))
            notes.append((note, cond))
        g.known_errors.append(note)
    for field_name, values in by_field.items():
        _code_filter(g, field_name, values, [n for n, c in notes if c.field == field_name])
    for note, cond in notes:
        note.applied = any(c.field == cond.field and (c.value == cond.value or isinstance(
            c.value, list) and cond.value in c.value) for c in _conditions(g.plan.filters))
    if ctx.mentions:
        # The rules engine could not place a code the known-errors base explains.
        g.plan = g.plan.model_copy(update={"issues": [
            i for i in g.plan.issues
            if not (i.code == "ambiguous" and any(w in i.message.lower() for w in written))]})
        g.parsed.notes[:] = [n for n in g.parsed.notes if not (
            n.startswith("could not tell which field") and any(w in n.lower() for w in written))]
    for rel in ctx.relevant:
        for code in rel.procedure.codes:
            if any(n.code == code for n in g.known_errors) or ctx.errors is None:
                continue
            e = ctx.errors.get(code)
            if e is not None:
                g.known_errors.append(KnownErrorNote(
                    code=e.code, system=e.system, title=e.title, meaning=e.meaning,
                    action=e.action, found_in=rel.document.label))


def _code_filter(g: Guided, field_name: str, values: list[Any],
                 notes: list[KnownErrorNote]) -> None:
    """The codes the question names become `field in (codes)`. A plan that already pins the
    field to values (`==`, `in`, or anything nested) is left as the question's reading made it;
    a broad condition the codes imply ("failed" = result_code != 0) gives way to them."""
    top = [f for f in g.plan.filters if isinstance(f, Condition) and f.field == field_name]
    nested = _fields([f for f in g.plan.filters if not isinstance(f, Condition)])
    if field_name in nested or any(c.op in (Operator.eq, Operator.in_) for c in top):
        return
    implied = [c for c in top if c.op in (Operator.ne, Operator.not_in) and not any(
        v in (c.value if isinstance(c.value, list) else [c.value]) for v in values)]
    cond = Condition(field=field_name, op=Operator.eq if len(values) == 1 else Operator.in_,
                     value=values[0] if len(values) == 1 else values)
    kept = [f for f in g.plan.filters if not any(f is c for c in implied)]
    g.plan = g.plan.model_copy(update={"filters": [*kept, cond]})
    codes = ", ".join(n.code for n in notes)
    titles = "; ".join(n.title for n in notes)
    g.changes.append(f"{codes} ({titles}): filtered on {field_name} "
                     f"{'= ' + str(values[0]) if len(values) == 1 else 'in ' + ', '.join(map(str, values))}"
                     + (" (it replaces the broader condition on that field)" if implied else ""))


def _window_range(w: TimeWindow) -> TimeRange:
    return TimeRange(start=RelativeTime(amount=w.amount, unit=TimeUnit(w.unit)))


def _apply_window(g: Guided, ctx: Context) -> None:
    if g.plan.time_range is not None:
        return
    for rel in ctx.relevant:
        for w in rel.procedure.windows:
            if w.purpose == "lookback":
                g.plan = g.plan.model_copy(update={"time_range": _window_range(w)})
                ref = g.cite(rel, "time window")
                g.changes.append(f"per {ref}, looked back {w.amount} {w.unit}"
                                 f"{'s' if w.amount != 1 else ''} (your question gave no time "
                                 "range)")
                return


# A threshold hides the groups below it, so it applies only when the question asks for what the
# procedure escalates or alerts on — "failed sign-ins per user" wants every user's count.
_WANTS_THRESHOLD = re.compile(
    r"\b(escalat\w*|threshold\w*|alert\w*|suspicious|exceed\w*|breach\w*|too many|"
    r"per (the )?(sop|runbook|procedure|playbook)|according to|as the (sop|runbook)|"
    r"(sop|rb|kb|pb|ir)[- ]?\d+)\b", re.IGNORECASE)


def _apply_threshold(question: str, g: Guided, ctx: Context) -> None:
    agg = g.plan.aggregation
    for rel in ctx.relevant:
        for t in rel.procedure.thresholds:
            if coverage(t.what, question) < 0.5 and rel.score < STRONG:
                continue
            counts = [m for m in agg.metrics if m.fn is MetricFn.count] if agg else []
            if agg is None or g.plan.having or not agg.group_by or not counts:
                return
            if not _WANTS_THRESHOLD.search(question):
                ref = g.cite(rel, "threshold (mentioned, not applied)")
                g.changes.append(f"{ref} escalates at {_OP_WORDS.get(t.op, t.op.value)} "
                                 f"{_num(t.value)} {t.what}{_per(t.window)}; not applied — ask "
                                 "for escalations or alerts to apply it")
                return
            _set_threshold(g, rel, t, counts[0].name, agg)
            return


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def _per(w: TimeWindow | None) -> str:
    return f" within {w.amount} {w.unit}{'s' if w.amount != 1 else ''}" if w else ""


def _set_threshold(g: Guided, rel: Relevant, t: Threshold, metric: str,
                   agg: Aggregation) -> None:
    value = _num(t.value)
    update: dict[str, Any] = {"having": [Condition(field=metric, op=t.op, value=value)]}
    per = ""
    if t.window is not None and agg.time_bucket is None:
        update["aggregation"] = agg.model_copy(update={"time_bucket": TimeBucket(
            amount=t.window.amount, unit=TimeUnit(t.window.unit))})
        per = f" per {t.window.amount}-{t.window.unit} window"
    g.plan = g.plan.model_copy(update=update)
    ref = g.cite(rel, "threshold")
    g.changes.append(f"per {ref}, kept only groups with {_OP_WORDS.get(t.op, t.op.value)} "
                     f"{value} {t.what}{per}")


__all__ = ["Guided", "apply_knowledge", "rescue_source"]
