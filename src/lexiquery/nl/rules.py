"""The deterministic rules engine: a plain-English question → `QueryPlan`, with no LLM.

    parse_question(question, catalog, *, source_hint=None, now=None) -> ParsedQuestion

Pipeline (each step marks what it understood; see the modules named):

1. time ranges and buckets on the raw text          (timeparse)
2. typed tokens: IPs, e-mails, files, numbers ...    (tokens)
3. items per source: keywords + catalog phrases      (match, index — cached per catalog)
4. source choice by additive evidence                (source_select)
5. adjectives, lengths, grouping, ranking, vague     (modifiers, lengths, aggregate,
   amounts, thresholds, metrics                        vague, measures)
6. sort, limit, projection                           (ordering)
7. concepts, known values, field filters, values     (filters, values)
8. what the IR cannot express → `unsupported` issues (lexicon.UNSUPPORTED)

Contract: returns a plan whose source is in the catalog and whose fields are the source's fields,
or raises `QuestionError` (with `closest_sources`) when nothing in the question is specific to any
source. It never raises anything else for any string. Same input (and `now`), same output.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import datetime, timezone

from pydantic import BaseModel, Field

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.errors import QuestionError
from lexiquery.ir import Filter, PlanIssue, QueryPlan, Severity, iter_conditions
from lexiquery.nl import aggregate, filters, ordering
from lexiquery.nl.lengths import pass_lengths
from lexiquery.nl.measures import pass_measure_words
from lexiquery.nl.modifiers import pass_modifiers
from lexiquery.nl.finish import (
    build_plan,
    confidence,
    leftovers,
    stale_check,
    unknown_field_refs,
)
from lexiquery.nl.index import CatalogIndex, catalog_index
from lexiquery.nl.lexicon import UNSUPPORTED
from lexiquery.nl.match import build_stream
from lexiquery.nl.source_select import (
    MIN_SCORE,
    Candidate,
    closest_sources,
    rank_sources,
    score_source,
    shelf_candidates,
    shelf_index,
)
from lexiquery.nl.state import State
from lexiquery.nl.timeparse import parse_time
from lexiquery.nl.tokens import Token, tokenize
from lexiquery.nl.vague import pass_vague

MAX_CHARS = 4000  # the caller enforces its own, smaller limit; this only bounds the work


class ParsedQuestion(BaseModel):
    """What the rules engine understood. `notes` are plain-English facts about choices and
    assumptions; `alternatives` are other plausible source ids, best first."""

    plan: QueryPlan
    confidence: float = Field(ge=0, le=1)
    notes: list[str] = Field(default_factory=list)
    alternatives: list[str] = Field(default_factory=list)
    # The question named its source outright — by name, a concept or a known value such as
    # event 4625 — so knowledge may not move it elsewhere (the precedence rule).
    source_named: bool = False
    # The plan's filter fields the question's own words decide (a value, a code, a comparison,
    # a negation), as opposed to a concept word ("failed"); None when unknown (a plan written
    # by the LLM). Knowledge may redefine a concept, never these (`knowledge.precedence`).
    stated_fields: list[str] | None = None


def parse_question(question: str, catalog: Catalog, *, source_hint: str | None = None,
                   now: datetime | None = None,
                   platforms: Sequence[Platform] = ()) -> ParsedQuestion:
    """Turn `question` into a `QueryPlan` over one source of `catalog` (see the module doc).

    The catalog's shelves (reference packs, workspaces) take part through the linker
    (`source_select.shelf_candidates`). `platforms` are the platforms whose answer must come
    from their workspace: only sources bound there compete."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    text = question[:MAX_CHARS]
    idx = catalog_index(catalog)
    if not idx.sources:
        raise QuestionError("the catalog has no sources")
    # A hinted shelf table is indexed for this reading only (the catalog index is shared).
    hinted = idx.by_id.get(source_hint) if source_hint is not None else None
    if source_hint is not None and hinted is None and (src := catalog.get(source_hint)):
        hinted = shelf_index(src)
    if source_hint is not None and hinted is None:
        close = difflib.get_close_matches(source_hint, catalog.ids(), n=5, cutoff=0.0)
        raise QuestionError(f"unknown source {source_hint!r}", closest_sources=close)

    tp = parse_time(text, now)
    tokens = tokenize(text)
    for t in tokens:  # the time pass has read these
        if any(s < t.end and t.start < e for s, e in tp.spans):
            t.used = True
    stream = build_stream(tokens)
    shelved = [] if source_hint is not None else \
        shelf_candidates(catalog, idx, tokens, stream, platforms)
    ranked = rank_sources(idx, tokens, stream, shelved, platforms)
    if source_hint is not None and all(c.id != source_hint for c in ranked):
        ranked.append(score_source(idx, hinted, tokens, stream))  # type: ignore[arg-type]
    chosen = _choose(ranked, source_hint, tokens, idx, platforms)
    st = State(si=chosen.si, items=chosen.items, tokens=tokens, question=text,
               time_range=tp.range, bucket=tp.bucket, default_bucket=tp.default_bucket)
    _mark_context(st, chosen)
    try:
        for step in (pass_modifiers, pass_lengths, aggregate.pass_group, aggregate.pass_top,
                     pass_vague, aggregate.pass_having, aggregate.pass_metrics, pass_measure_words,
                     ordering.pass_sort_limit, ordering.pass_project, filters.pass_filters,
                     stale_check):
            step(st)
        plan = build_plan(st, now)
    except QuestionError as e:  # a question asking for something impossible ("top -5")
        e.closest_sources = e.closest_sources or [chosen.id]
        raise
    except Exception as e:  # noqa: BLE001 — the contract: a plan or a QuestionError, never a crash
        plan = QueryPlan(source=chosen.id, time_range=tp.range)
        plan.issues.append(PlanIssue(code="internal_error", severity=Severity.error,
                                     message=f"the rules engine failed on this question: {e!r}"))

    notes = [_source_note(chosen, source_hint)] + tp.notes + st.notes
    if len(question) > MAX_CHARS:
        notes.append(f"only the first {MAX_CHARS} characters were read")
    if tp.range is None:
        notes.append("no time range given")
    for word in unknown_field_refs(st):
        names = [f.name for f in chosen.si.source.fields]
        close = difflib.get_close_matches(word.lower(), names, n=3, cutoff=0.4) or names[:5]
        plan.issues.append(PlanIssue(
            code="unknown_field", severity=Severity.error, field=word,
            message=f'{chosen.si.source.name} has no field "{word}"; closest: {", ".join(close)}'))
    unknown = leftovers(st)
    if unknown:
        notes.append("not understood: " + ", ".join(f'"{w}"' for w in unknown))
    notes.extend(i.message for i in plan.issues if i.code == "unsupported")
    alternatives = [c.id for c in ranked if c is not chosen and c.acceptable
                    and c.score >= 0.5 * max(chosen.score, MIN_SCORE)][:3]
    runner = next((c for c in ranked if c is not chosen), None)
    conf = confidence(st, plan, chosen, runner, hinted=source_hint is not None,
                      n_time=len(tp.spans), clamps=st.clamps + tp.clamps)
    return ParsedQuestion(plan=plan, confidence=conf, notes=list(dict.fromkeys(notes)),
                          alternatives=alternatives,
                          source_named=source_hint is None and chosen.strong,
                          stated_fields=_stated_fields(plan, st.concept_filters))


def _stated_fields(plan: QueryPlan, concept_filters: list[Filter]) -> list[str]:
    """Fields of the plan's filters that are no concept's (see `ParsedQuestion.stated_fields`)."""
    conceptual = [f.model_dump() for f in concept_filters]
    own = [f for f in plan.filters if f.model_dump() not in conceptual]
    return sorted({c.field for c in iter_conditions(own)})


def _mark_context(st: State, chosen: Candidate) -> None:
    """Words that are understood without becoming part of the plan: the source's own description
    words (they chose it), and requests the IR cannot hold (recorded as unsupported)."""
    for it in st.items:
        if it.kind == "word" and it.tok is not None and not it.is_filler and \
                any(s in chosen.si.vocab for s in it.tok.subwords):
            it.helped = True
    low = st.question.lower()
    for pat, what in UNSUPPORTED:
        for m in pat.finditer(low):
            if what not in st.unsupported:
                st.unsupported.append(what)
            for it in st.items:
                if st.tokens[it.i0].start < m.end() and m.start() < st.tokens[it.i1 - 1].end:
                    it.used = True


def _choose(ranked: list[Candidate], hint: str | None, tokens: list[Token],
            idx: CatalogIndex, platforms: Sequence[Platform] = ()) -> Candidate:
    """The hinted source, or the best-scoring one; QuestionError when none is good enough."""
    if hint is not None:
        return next(c for c in ranked if c.id == hint)
    best = ranked[0]
    if not best.acceptable:
        words = [t.low for t in tokens if t.kind == "word"]
        closest = closest_sources(idx, words, ranked)
        names = ", ".join(idx.by_id[i].source.name for i in closest[:3] if i in idx.by_id)
        where = " on " + "/".join(p.value.upper() for p in platforms) if platforms else ""
        raise QuestionError(
            f"the question names no data source, field or concept this catalog knows{where}",
            closest_sources=closest,
            hint=f"name the data you mean (for example: {names}) or pass a source")
    return best


def _source_note(c: Candidate, hint: str | None) -> str:
    name = c.si.source.name
    if hint is not None:
        return f"source chosen: {name} (given as source_hint)"
    matched = ", ".join(f'"{e}"' for e in dict.fromkeys(c.evidence)) or "its value kinds"
    return f"source chosen: {name} (matched {matched}; score {c.score:.1f})"


__all__ = ["ParsedQuestion", "parse_question"]
