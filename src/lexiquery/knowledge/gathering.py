"""What the runbooks and the known-errors base have to say about a question: the relevant
passages, the procedures they belong to, and the codes the question mentions.

    gather(question, store, errors, …) ──► Context (relevant passages, their procedures, codes)

`guidance.apply_knowledge` then turns a Context into changes to the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from lexiquery.knowledge.model import DocumentInfo, Procedure, SearchHit
from lexiquery.knowledge.relevance import RELEVANT, coverage

if TYPE_CHECKING:
    from lexiquery.knowledge.known_errors.base import KnownErrorBase
    from lexiquery.knowledge.known_errors.model import ErrorMention
    from lexiquery.knowledge.store import ProcedureStore

# Passages searched per question. Ten, not five: a runbook's definitions section is short and
# ranks below its threshold table and steps, yet the definition of a word the question uses is
# what the knowledge most often fills in. Coverage (`relevance.RELEVANT`) still gates each one.
SEARCH_LIMIT = 10
@dataclass
class Relevant:
    """A procedure whose passage matched the question, with how well."""

    document: DocumentInfo
    procedure: Procedure
    hit: SearchHit
    score: float  # coverage of the question's content terms by the procedure's text


@dataclass
class Context:
    mode: str  # hybrid | bm25 | off
    note: str | None = None
    documents: int = 0
    hits: list[SearchHit] = field(default_factory=list)
    relevant: list[Relevant] = field(default_factory=list)
    mentions: list["ErrorMention"] = field(default_factory=list)
    errors: "KnownErrorBase | None" = None


def excerpt(text: str, n: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1].rstrip() + "…"


def _procedure_text(p: Procedure) -> str:
    return " ".join([p.title, *p.heading_path, *p.steps, *(d.text for d in p.definitions),
                     *(t.text for t in p.thresholds)])


def gather(question: str, store: "ProcedureStore | None",
           errors: "KnownErrorBase | None", *, limit: int = SEARCH_LIMIT) -> Context:
    """GATHERING_KNOWLEDGE: search the runbooks and the known-errors base for the question."""
    ctx = Context(mode="off", errors=errors)
    if errors is not None:
        ctx.mentions = list(errors.find(question))
    docs = store.list_documents() if store is not None else []
    ctx.documents = len(docs)
    if store is None or not docs:
        ctx.mode, ctx.note = "bm25", "no runbooks are stored (add some with `lexiquery sop add`)"
        return ctx
    result = store.search(question, limit=limit)
    ctx.mode, ctx.note, ctx.hits = result.mode, result.note, result.hits
    by_doc: dict[str, list[Procedure]] = {}
    for doc_id, proc in store.procedures({h.document.id for h in result.hits}):
        by_doc.setdefault(doc_id, []).append(proc)
    seen: set[tuple[str, str]] = set()
    for hit in result.hits:
        if "injection" in hit.chunk.flags:
            continue  # inert text: never a source of plan changes
        proc = _procedure_of(hit, by_doc.get(hit.document.id, []))
        if proc is None or (hit.document.id, proc.title) in seen:
            continue
        score = max(coverage(question, _procedure_text(proc) + "\n" + hit.chunk.text),
                    coverage(question, " ".join(hit.chunk.heading_path) + " " + hit.chunk.text))
        if score >= RELEVANT:
            seen.add((hit.document.id, proc.title))
            ctx.relevant.append(Relevant(hit.document, proc, hit, score))
    ctx.relevant.sort(key=lambda r: -r.score)
    return ctx


def _procedure_of(hit: SearchHit, procs: Sequence[Procedure]) -> Procedure | None:
    """The procedure whose section holds the chunk: the longest heading path that prefixes the
    chunk's (a chunk under "3. Detection › Thresholds" belongs to "3. Detection")."""
    path = hit.chunk.heading_path
    best, depth = None, -1
    for p in procs:
        n = len(p.heading_path)
        if n > depth and path[:n] == p.heading_path:
            best, depth = p, n
    return best
