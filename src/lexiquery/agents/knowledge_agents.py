"""The knowledge agents: runbook search (`knowledge-sop.search_procedures`) and the known-errors
base (`knowledge-errors.lookup_known_errors`), and the conversion of what they found into the
`gathering.Context` the data agents apply.

A runbook store that cannot be read costs the answer its runbooks, never the answer: the failure
becomes the search's note.
"""

from __future__ import annotations

from lexiquery.agents.base import Agent, SkillSpec
from lexiquery.agents.contracts import (
    KNOWLEDGE_ERRORS,
    KNOWLEDGE_SOP,
    KnowledgeContext,
    KnownErrorLookup,
    LookupRequest,
    ProcedureSearch,
    RelevantProcedure,
    SearchRequest,
)
from lexiquery.agents.resources import Resources
from lexiquery.cost.tracker import record_embeddings
from lexiquery.errors import StorageError
from lexiquery.knowledge.gathering import Context, Relevant, gather
from lexiquery.user_input import user_text


def _search_text(text: str, res: Resources) -> str:
    """The text to search, checked as the API checks its input (a peer may call directly)."""
    return user_text(text, "search text", res.settings.max_query_chars,
                     long_hint="search with the question, not a document")


def search_procedures(req: SearchRequest, res: Resources) -> ProcedureSearch:
    req = req.model_copy(update={"text": _search_text(req.text, res)})
    try:
        store = res.procedures()
    except StorageError as e:
        return ProcedureSearch(mode="bm25", note=f"the runbook store could not be opened: "
                                                 f"{e.message}")
    calls = getattr(getattr(store, "embedder", None), "calls", None)
    seen = len(calls) if calls is not None else 0
    made: list = []  # type: ignore[type-arg]
    try:
        ctx = gather(req.text, store, None, limit=req.limit)
    except StorageError as e:
        return ProcedureSearch(mode="bm25", note=f"the runbook store could not be read: "
                                                 f"{e.message}")
    finally:
        if calls is not None and len(calls) > seen:
            made = calls[seen:]
            record_embeddings(res.settings, made, store.embedder.model,  # type: ignore[union-attr]
                              service=KNOWLEDGE_SOP, operation="embed_query",
                              journey_id=req.journey_id, tracker=res.costs())
            if len(calls) > 10_000:  # a long-lived server's embedder must not grow forever
                calls.clear()
    return ProcedureSearch(mode=ctx.mode, note=ctx.note, documents=ctx.documents,
                           model_calls=len(made),
                           hits=ctx.hits, relevant=[
                               RelevantProcedure(document=r.document, procedure=r.procedure,
                                                 hit=r.hit, score=r.score)
                               for r in ctx.relevant])


def lookup_known_errors(req: LookupRequest, res: Resources) -> KnownErrorLookup:
    return KnownErrorLookup(mentions=list(res.known_errors().find(_search_text(req.text, res))))


def to_context(k: KnowledgeContext, res: Resources) -> Context:
    """What the knowledge agents sent, as the context `guidance.apply_knowledge` reads. The
    known-errors base is the receiving agent's own (codes cited by runbooks are looked up in
    it)."""
    p = k.procedures
    ctx = Context(mode=p.mode if p else "bm25", note=p.note if p else k.note,
                  documents=p.documents if p else 0, errors=res.known_errors())
    if p is not None:
        ctx.hits = list(p.hits)
        ctx.relevant = [Relevant(r.document, r.procedure, r.hit, r.score) for r in p.relevant]
    ctx.mentions = list(k.mentions)
    return ctx


def sop_agent(res: Resources) -> Agent:
    return Agent(
        name=KNOWLEDGE_SOP,
        description="Searches the organisation's runbooks (SOPs): hybrid BM25 + embedding "
                    "search, and the procedures that cover a question.",
        skills=[SkillSpec(id="search_procedures", name="Search runbooks",
                          description="The runbook passages and procedures relevant to a text.",
                          input=SearchRequest, output=ProcedureSearch,
                          tags=("knowledge", "sop", "runbooks"),
                          examples=("account lockout investigation",))],
        handlers={"search_procedures": lambda r: search_procedures(r, res)},
        text_skill="search_procedures", text_field="text", tags=("knowledge",))


def errors_agent(res: Resources) -> Agent:
    return Agent(
        name=KNOWLEDGE_ERRORS,
        description="Explains error codes (AADSTS, Windows event IDs, NTSTATUS, HTTP, Splunk and "
                    "Kusto errors) found in a text, with the filter each suggests.",
        skills=[SkillSpec(id="lookup_known_errors", name="Look up known errors",
                          description="The known error codes a text mentions.",
                          input=LookupRequest, output=KnownErrorLookup,
                          tags=("knowledge", "known-errors"),
                          examples=("sign-ins failing with AADSTS50126",))],
        handlers={"lookup_known_errors": lambda r: lookup_known_errors(r, res)},
        text_skill="lookup_known_errors", text_field="text", tags=("knowledge",))
