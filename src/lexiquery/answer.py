"""What a journey returns: the answer model every interface (CLI, Python, later HTTP/MCP) shares.

The JSON keys of `Answer` (`journey_id`, `question`, `plan`, `queries`) and of each
`GeneratedQuery` (`platform`, `dialect`, `query`, `valid`, `issues`, `explanation`, `confidence`,
`source`) are a public contract: scripts depend on them. Add keys; never rename or remove them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field

from lexiquery.cost.model import JourneyCost
from lexiquery.ir import PlanIssue, QueryPlan


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class JourneyState(str, Enum):
    PENDING = "PENDING"
    DISCOVERING = "DISCOVERING"
    PLANNING = "PLANNING"
    GATHERING_KNOWLEDGE = "GATHERING_KNOWLEDGE"
    GENERATING_QUERIES = "GENERATING_QUERIES"
    VALIDATING = "VALIDATING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class StateChange(BaseModel):
    state: JourneyState
    at: datetime


class SampleCheck(BaseModel):
    """One query executed in the sandbox on sample data (or the user's own rows)."""

    rows: int = Field(description="Rows the query returned (up to the row cap)")
    truncated: bool = False
    elapsed_ms: float = 0.0
    executed: str = Field(description="'query' (the SQL text itself, run in DuckDB) or 'plan' "
                                      "(the query parsed back into the IR and compiled)")
    round_trip: bool = Field(default=True,
                             description="The query parsed back to the plan it came from")

    def summary(self) -> str:
        more = "+" if self.truncated else ""
        return f"checked on sample data: {self.rows}{more} row{'s' if self.rows != 1 else ''}"


class Agreement(BaseModel):
    """Whether every platform's query returned the same rows on the same sample data."""

    platforms: list[str] = Field(default_factory=list)
    identical: bool
    differences: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        if len(self.platforms) < 2:
            return ""
        names = ", ".join(p.upper() for p in self.platforms)
        if self.identical:
            return f"{names} return identical results on the sample data"
        return f"{names} differ on the sample data: " + "; ".join(self.differences)


class Citation(BaseModel):
    """A piece of a stored runbook the answer used. `used_for` says what it changed."""

    document_id: str
    label: str = Field(description='How the document is cited, e.g. "SOP-017"')
    title: str
    section: str | None = Field(default=None, description='Section number, e.g. "3"')
    heading_path: list[str] = Field(default_factory=list)
    chunk_id: str
    chunk_index: int
    excerpt: str = ""
    used_for: list[str] = Field(default_factory=list)

    def ref(self) -> str:
        """"SOP-017 §3", or "SOP-017 › Detection" when the section has no number."""
        if self.section:
            return f"{self.label} §{self.section}"
        return " › ".join([self.label, *self.heading_path[-1:]])


class KnownErrorNote(BaseModel):
    """An error or event code the question or a cited runbook mentions, explained."""

    code: str
    system: str
    title: str
    meaning: str
    action: str = ""
    found_in: str = Field(description='"question" or the citing document\'s label')
    filter: str | None = Field(default=None, description="The filter it suggests, as text")
    applied: bool = Field(default=False, description="The generated queries use that filter")


class Knowledge(BaseModel):
    """What the SOP engine contributed to this answer."""

    mode: str = Field(description='"hybrid" (BM25 + embeddings), "bm25", or "off" (--no-sop)')
    note: str | None = None
    searched_documents: int = 0
    changes: list[str] = Field(default_factory=list,
                               description='What the runbooks changed, e.g. "per SOP-017 §3, '
                                           'failed sign-ins are result codes 50126 and 50053"')
    known_errors: list[KnownErrorNote] = Field(default_factory=list)


class GeneratedQuery(BaseModel):
    """One platform's query, checked before anyone sees it."""

    # A Literal, not free text: a peer's query for "cobol" is refused where it is read.
    platform: Literal["kql", "spl", "sql"] = Field(description="kql, spl or sql")
    dialect: str = Field(description="'kql', 'spl', or the SQL dialect (postgres, tsql, …)")
    query: str
    valid: bool
    issues: list[PlanIssue] = Field(default_factory=list)
    explanation: str = ""
    confidence: float = Field(ge=0.0, le=1.0)
    source: str = Field(description="Logical catalog source id the query reads")
    target: str = Field(default="", description="The platform's table or search prefix")
    sample: SampleCheck | None = Field(default=None,
                                       description="Execution on sample data, when it ran")


class AgentCall(BaseModel):
    """One agent call of the journey: who, where (local or its URL), how long, and whether it
    answered — the trace that makes a partial answer explainable."""

    agent: str
    skill: str
    where: str = Field(description='"local" or the agent\'s URL')
    elapsed_ms: float
    attempts: int = 1
    ok: bool
    error: str | None = None


class Answer(BaseModel):
    journey_id: str
    question: str
    status: JourneyState = JourneyState.PENDING
    created_at: datetime = Field(default_factory=utcnow)
    engine: str = Field(default="rules", description="What produced the plan: rules or llm")
    engine_note: str | None = Field(default=None, description="Why that engine (the LLM's model "
                                                              "and repairs, or why not the LLM)")
    plan: QueryPlan | None = None
    understanding: list[str] = Field(
        default_factory=list, description="Plain-English account of what was understood")
    notes: list[str] = Field(default_factory=list)
    alternatives: list[str] = Field(default_factory=list,
                                    description="Other plausible source ids")
    queries: list[GeneratedQuery] = Field(default_factory=list)
    issues: list[PlanIssue] = Field(default_factory=list)
    agreement: Agreement | None = Field(
        default=None, description="Do the platforms' queries return the same rows on sample data?")
    transitions: list[StateChange] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list,
                                      description="Runbook passages the answer used")
    knowledge: Knowledge | None = Field(default=None,
                                        description="What the SOP engine contributed")
    agents: list[AgentCall] = Field(default_factory=list,
                                    description="Every agent call of the journey, in order")
    cost: JourneyCost | None = Field(default=None, description="Every model call of the "
                                       "journey, summed (tokens, compute, estimated cost)")
    failed_platforms: list[str] = Field(
        default_factory=list, description="Platforms whose data agent did not answer (the "
                                          "answer is partial; the issues say why)")

    def move(self, state: JourneyState) -> None:
        self.status = state
        self.transitions.append(StateChange(state=state, at=utcnow()))
