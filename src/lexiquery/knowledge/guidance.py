"""How runbooks and known errors change a plan — the SOP engine's effect on generation.

    gather(question, store, errors, …) ──► Context    (`knowledge.gathering`)
    apply_knowledge(question, parsed, context, catalog) ──► Guided (plan, changes, citations)

The rules engine (or the LLM) makes a plan from the question alone. The organisation's
procedures then fill what the question leaves open, and only that (the precedence rule,
`knowledge.precedence`): what the question states outright — its source, the values and codes
it names, its negations, metric, grouping, time range, threshold and limit — is never changed.
Where a runbook disagrees with it, a note says so and the question's words are kept. In order,
each step recorded in plain English with a citation:

1. **source** — when the question named no source, a relevant procedure that points at one the
   question could mean (one of the rules engine's alternatives), or that defines a term the
   question uses on a source of its own ("bad-password logons" are 4625 events), chooses it;
2. **definitions** — "a failed sign-in is a sign-in whose result code is 50126 or 50053"
   replaces the catalog's concept of the same name (or adds a new one) and the question is read
   again, so the runbook's meaning is used wherever the question says the term — except on a
   field the question decides itself ("with result code 50057"): there a note says so;
3. **example query** — gives the runbook's meaning of the words the question uses, never its
   scope, measure or threshold (`knowledge.example_use`);
4. **known errors** — a code the question names (AADSTS50105, event 4740, HTTP 503) becomes
   the filter the known-errors base suggests when the plan has none on that field, and never
   one the question excluded;
5. **time window** — the procedure's look-back when the question gave no time range
   (`knowledge.fills`);
6. **threshold** — "more than 10 … within 5 minutes" becomes `having count > 10` when the
   question asks for one in vague words ("too many", "escalate") (`knowledge.fills`).

SOP text is data: only these structured extractions ever reach a plan, and a passage flagged
as prompt injection contributes nothing but its citation-free presence in search.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Sequence

from lexiquery.answer import KnownErrorNote
from lexiquery.catalog.model import Catalog, Concept, Source
from lexiquery.engine.explain import describe_filter
from lexiquery.errors import LexiQueryError
from lexiquery.ir import Condition, Operator, iter_conditions
from lexiquery.knowledge.example_use import use_example
from lexiquery.knowledge.fills import apply_threshold, apply_window
from lexiquery.knowledge.gathering import Context, Relevant
from lexiquery.knowledge.guided import Guided
from lexiquery.knowledge.model import Definition
from lexiquery.knowledge.precedence import (
    fields_of,
    stated_fields,
    value_texts,
    with_source,
)
from lexiquery.knowledge.relevance import content_terms
from lexiquery.nl.rules import parse_question

if TYPE_CHECKING:
    from lexiquery.nl.rules import ParsedQuestion


# ---- applying ---------------------------------------------------------------------------------


def apply_knowledge(question: str, parsed: "ParsedQuestion", ctx: Context, catalog: Catalog,
                    *, source_hint: str | None = None) -> Guided:
    """The plan refined by the runbooks and known errors of `ctx` (see the module doc)."""
    g = Guided(plan=parsed.plan, parsed=parsed)
    _choose_source(question, g, ctx, catalog, source_hint)
    stated = (set(g.parsed.stated_fields) & fields_of(g.plan.filters)
              if g.parsed.stated_fields is not None else stated_fields(question, catalog, g.plan))
    _apply_definitions(question, g, ctx, catalog, stated)
    use_example(g, ctx, catalog, stated)
    _apply_known_errors(g, ctx, catalog)
    apply_window(g, ctx)
    apply_threshold(question, g, ctx, catalog)
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


def uses_term(question: str, term: str) -> bool:
    """The question says the term ("bad-password logons" for "a bad-password logon")."""
    words = content_terms(term.replace("-", " "))
    return bool(words) and words <= content_terms(question.replace("-", " "))


def _choose_source(question: str, g: Guided, ctx: Context, catalog: Catalog,
                   hint: str | None) -> None:
    if hint is not None or not ctx.relevant:
        return
    current = g.plan.source
    # A term a runbook defines on its own source ("bad-password logons" are 4625 events) says
    # where the question's words are logged: it outranks a source the question only implied
    # through a word the catalog knows, never one it names outright. A term defined on several
    # sources ("service account") says nothing about which.
    defined = [(rel, d) for rel in ctx.relevant for d in rel.procedure.definitions
               if d.source in catalog and uses_term(question, d.term)]
    where = {d.source for _, d in defined}
    if len(where) == 1 and current not in where and not _names_source(
            question, catalog.get(current)):
        usable = [(rel, d) for rel, d in defined
                  if not g.parsed.source_named or " " in d.term.strip()]
        if usable and _move_source(question, g, usable[0][0], catalog, usable[0][1].source,
                                   f"definition of {usable[0][1].term}"):
            return
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
            g.conflict(f"{ref} investigates this in {other.name if other else chosen}; your "
                   f"question names {src.name if src else current}, so it was kept")
            return
        if _move_source(question, g, rel, catalog, chosen, "source"):
            return


def _names_source(question: str, src: Source | None) -> bool:
    """The question writes the source's own name, a synonym or a table ("SigninLogs")."""
    if src is None:
        return False
    tables = [b.table for b in (src.bindings.kql, src.bindings.sql) if b is not None]
    names = [src.name, *src.synonyms, *tables]
    low = question.lower()
    return any(re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", low) for n in names if n)


def _move_source(question: str, g: Guided, rel: Relevant, catalog: Catalog, chosen: str,
                 used_for: str) -> bool:
    """Read the question on `chosen`; False (nothing changed) when it cannot be read there."""
    try:
        g.parsed = _reparse(question, catalog, chosen)
    except LexiQueryError:
        return False
    g.plan = g.parsed.plan
    g.moved = True
    ref = g.cite(rel, used_for)
    src = catalog.get(chosen)
    name = src.name if src else chosen
    # The reading says why its source was chosen: here, the runbook — not a "source_hint".
    g.parsed.notes[:] = [f"source chosen: {name} (per {ref}; the question alone did not decide "
                         "it)" if n.startswith("source chosen:") else n for n in g.parsed.notes]
    g.changes.append(f"per {ref}, this is investigated in {name}")
    return True


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


def _describe_definition(d: Definition, src: Source) -> str:
    return " and ".join(describe_filter(c, src) for c in d.conditions())


def _apply_definitions(question: str, g: Guided, ctx: Context, catalog: Catalog,
                       stated: set[str]) -> None:
    src = catalog.get(g.plan.source)
    if src is None:
        return
    concepts = {c.name: c for c in src.concepts}
    used: list[tuple[Relevant, Definition]] = []
    for rel in ctx.relevant:
        for d in rel.procedure.definitions:
            if d.source != src.id or any(src.field(f) is None for f in d.fields()):
                continue
            if set(d.fields()) & stated:
                # The question decides that field itself ("with result code 50057").
                if uses_term(question, d.term):
                    ref = g.cite(rel, f"definition of {d.term} (not applied)")
                    mine = [c for c in iter_conditions(g.plan.filters) if c.field in d.fields()]
                    g.conflict(f"{ref} defines {d.term} as {_describe_definition(d, src)}; your "
                           f"question says {' and '.join(describe_filter(c, src) for c in mine)}"
                           ", so it was kept")
                continue
            name = d.concept if d.concept in concepts else d.term
            old = concepts.get(name)
            concepts[name] = Concept(
                name=name, synonyms=list(dict.fromkeys([*(old.synonyms if old else []), d.term])),
                description=f"per {rel.document.label}: {d.text}", filters=d.conditions())
            used.append((rel, d))
    if not used:
        return
    cat = with_source(catalog, src.model_copy(update={"concepts": list(concepts.values())}))
    reparsed = _reparse(question, cat, src.id, g.parsed)
    new_conditions = [c.model_dump() for c in iter_conditions(reparsed.plan.filters)]
    applied = False
    for rel, d in used:
        if all(c.model_dump() in new_conditions for c in d.conditions()):
            applied = True
            g.defined.update(d.fields())
            ref = g.cite(rel, f"definition of {d.term}")
            term = d.term[:1].lower() + d.term[1:] if not d.term[:2].isupper() else d.term
            verb = "are" if term.endswith("s") else "is"
            g.changes.append(f"per {ref}, {term} {verb} {_describe_definition(d, src)}")
    if applied:
        # A definition changes what the words filter, nothing else: the first reading's
        # measure, grouping, order, threshold, limit and time range stay ("each service
        # account" still groups by account once "service account" has the runbook's meaning).
        plan = g.plan.model_copy(update={"filters": reparsed.plan.filters})
        g.parsed, g.plan = reparsed.model_copy(update={"plan": plan}), plan


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
            c.value, list) and cond.value in c.value) for c in iter_conditions(g.plan.filters))
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
    nested = fields_of([f for f in g.plan.filters if not isinstance(f, Condition)])
    if field_name in nested or any(c.op in (Operator.eq, Operator.in_) for c in top):
        return
    named = value_texts(values)
    negated = [c for c in top if c.op in (Operator.ne, Operator.not_in)]
    if any(named & value_texts(c.value) for c in negated):
        # "excluding status 200 and 304": the question left these codes out; re-adding them
        # would make the query always empty.
        g.note(f"{', '.join(n.code for n in notes)}: left out as your question says, not "
               "used as a filter")
        return
    implied = [c for c in negated if not named & value_texts(c.value)]
    cond = Condition(field=field_name, op=Operator.eq if len(values) == 1 else Operator.in_,
                     value=values[0] if len(values) == 1 else values)
    kept = [f for f in g.plan.filters if not any(f is c for c in implied)]
    g.plan = g.plan.model_copy(update={"filters": [*kept, cond]})
    codes = ", ".join(n.code for n in notes)
    titles = "; ".join(n.title for n in notes)
    g.changes.append(f"{codes} ({titles}): filtered on {field_name} "
                     f"{'= ' + str(values[0]) if len(values) == 1 else 'in ' + ', '.join(map(str, values))}"
                     + (" (it replaces the broader condition on that field)" if implied else ""))


__all__ = ["Guided", "apply_knowledge", "rescue_source"]
