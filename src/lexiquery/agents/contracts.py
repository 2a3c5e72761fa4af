"""The JSON every agent skill takes and returns: the A2A wire contract of LexiQuery's agents.

These models are the data parts of A2A messages and artifacts (and, in-process, the dicts a
`LocalHandle` passes). Add fields with defaults; never rename or remove one — a fleet may run
agents of different versions for a while, and `agents.base.parse_result` refuses replies that
no longer fit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lexiquery.answer import Agreement, Citation, GeneratedQuery, KnownErrorNote
from lexiquery.catalog.model import Platform
from lexiquery.ir import QueryPlan
from lexiquery.knowledge.gathering import SEARCH_LIMIT
from lexiquery.knowledge.known_errors.model import ErrorMention
from lexiquery.knowledge.model import DocumentInfo, Procedure, SearchHit

PLANNER = "planner"
KNOWLEDGE_SOP = "knowledge-sop"
KNOWLEDGE_ERRORS = "knowledge-errors"
VALIDATOR = "validator"
PLATFORMS = ("kql", "spl", "sql")


def data_agent(platform: str) -> str:
    """The data agent's name for a platform: data-kql, data-spl, data-sql."""
    return f"data-{platform}"


AGENT_NAMES = (PLANNER, KNOWLEDGE_SOP, KNOWLEDGE_ERRORS, *(data_agent(p) for p in PLATFORMS),
               VALIDATOR)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a newer peer may send more; never fail on it


# ---- planner.create_plan ----------------------------------------------------------------------


class PlanRequest(_Wire):
    question: str = Field(description="The user's question (already cleaned)")
    platforms: list[Platform] = Field(default_factory=list,
                                      description="Platforms the user named; empty: the planner "
                                                  "chooses from the source's bindings")
    source: str | None = Field(default=None, description="A catalog source id the user named")
    sop: bool = Field(default=True, description="Runbooks and known errors may be used")
    context: str | None = Field(default=None, description="Free text searched with the question")
    journey_id: str | None = Field(default=None, description="Model calls are costed to it")


class Draft(_Wire):
    """The question read into the IR once, by the planner: data agents start from it (so the
    rules engine, or later the LLM, runs once per journey, not once per platform)."""

    plan: QueryPlan
    engine: str = Field(default="rules", description="What produced it: rules or llm")
    confidence: float = Field(ge=0, le=1)
    notes: list[str] = Field(default_factory=list)
    alternatives: list[str] = Field(default_factory=list)
    source_named: bool = Field(default=False, description="The question named its source "
                                                          "outright: knowledge may not move it")
    stated_fields: list[str] | None = Field(
        default=None, description="Filter fields the question's own words decide (not a "
                                  "concept's): knowledge may not change them; None: unknown")
    engine_note: str | None = Field(default=None, description="Why this engine: the LLM's model "
                                                              "and repairs, or why the rules "
                                                              "engine wrote it")


class PlanResult(_Wire):
    source: str | None = Field(description="The source the question reads; None when the question "
                                           "alone names none and the knowledge must supply it")
    platforms: list[Platform] = Field(description="One data agent per platform is called")
    explicit: bool = Field(description="The user named the platforms (their invalid queries stay)")
    alternatives: list[str] = Field(default_factory=list)
    gather_procedures: bool = False
    gather_errors: bool = False
    lookup: str = Field(description="The text the knowledge agents search (question + context)")
    steps: list[str] = Field(default_factory=list, description="The workflow, in words")
    draft: Draft | None = Field(default=None, description="The question in the IR (None when "
                                                          "the source comes from knowledge)")
    model_calls: int = Field(default=0, description="LLM calls made (costed to the journey)")


# ---- knowledge-sop.search_procedures ---------------------------------------------------------


class SearchRequest(_Wire):
    text: str = Field(description="What to search the runbooks for")
    limit: int = Field(default=SEARCH_LIMIT, ge=1, le=50)
    journey_id: str | None = Field(default=None, description="Embedding calls are costed to it")


class RelevantProcedure(_Wire):
    document: DocumentInfo
    procedure: Procedure
    hit: SearchHit
    score: float


class ProcedureSearch(_Wire):
    mode: str = Field(description="hybrid | bm25")
    note: str | None = None
    documents: int = Field(default=0, description="Documents in the store")
    hits: list[SearchHit] = Field(default_factory=list)
    relevant: list[RelevantProcedure] = Field(
        default_factory=list, description="Hits whose procedure covers enough of the question to "
                                          "shape a plan")
    model_calls: int = Field(default=0, description="Embedding calls made (costed)")


# ---- knowledge-errors.lookup_known_errors ----------------------------------------------------


class LookupRequest(_Wire):
    text: str = Field(description="Text that may hold error codes (question, context, a query)")


class KnownErrorLookup(_Wire):
    mentions: list[ErrorMention] = Field(default_factory=list)


# ---- data-*.generate_query -------------------------------------------------------------------


class KnowledgeContext(_Wire):
    """What the knowledge agents found, as the data agents receive it."""

    procedures: ProcedureSearch | None = Field(default=None, description="None: not searched")
    mentions: list[ErrorMention] = Field(default_factory=list)
    note: str | None = Field(default=None, description="Why some knowledge is missing")


class GenerateRequest(_Wire):
    question: str
    draft: Draft | None = Field(default=None, description="The planner's reading; None: the "
                                                          "source must come from the knowledge")
    pinned: str | None = Field(default=None, description="The source the user named: never "
                                                         "switched by a runbook")
    sql_dialect: str = "postgres"
    knowledge: KnowledgeContext | None = Field(default=None,
                                               description="None: runbooks switched off")


class GenerateResult(_Wire):
    query: GeneratedQuery = Field(description="Rendered, not yet validated")
    plan: QueryPlan
    engine: str = Field(default="rules", description="What produced the plan: rules or llm")
    confidence: float = Field(ge=0, le=1)
    notes: list[str] = Field(default_factory=list)
    alternatives: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    changes: list[str] = Field(default_factory=list,
                               description="What the knowledge changed, one sentence each")
    known_errors: list[KnownErrorNote] = Field(default_factory=list)


# ---- validator.validate_queries --------------------------------------------------------------


class ValidateRequest(_Wire):
    queries: list[GeneratedQuery]
    plan: QueryPlan
    confidence: float = Field(ge=0, le=1, description="The plan's confidence")
    sample_check: bool = Field(default=True, description="Execute on sample data and compare")


class ValidateResult(_Wire):
    queries: list[GeneratedQuery]
    agreement: Agreement | None = None


AgentRole = Literal["planner", "knowledge", "data", "validator"]
