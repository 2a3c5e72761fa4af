"""What the MCP tools return: compact pydantic models (each gives its tool an output schema)
and the conversions from the package's own results.

Issues become short strings (``"severity code: message"``), citations their refs
(``"SOP-017 §3"``), agreement its one-line summary: an MCP client reads these as text; the full
objects (plans, transitions, citation excerpts) stay available through the HTTP API.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from lexiquery.answer import Answer, GeneratedQuery
from lexiquery.catalog.model import Source
from lexiquery.engine.explain import describe_filter
from lexiquery.ir import PlanIssue

MAX_ROWS_RETURNED = 100  # rows of a sample run sent back to the client (the rest is counted)


class QueryOut(BaseModel):
    platform: str = Field(description="kql, spl or sql")
    dialect: str = Field(description="kql, spl, or the SQL dialect")
    query: str = Field(description="The query text; empty when it could not be written")
    valid: bool
    issues: list[str] = Field(default_factory=list, description='"severity code: message"')
    confidence: float
    explanation: str = ""
    target: str = Field(default="", description="The platform's table or search prefix")
    sample_rows: int | None = Field(
        default=None, description="Rows the query returned on sample data (None: not run)")


class AnswerOut(BaseModel):
    journey_id: str
    status: str = Field(description="COMPLETED or FAILED")
    question: str
    source: str | None = Field(default=None, description="Catalog source id the queries read")
    understanding: list[str] = Field(default_factory=list,
                                     description="What was understood, in plain English")
    notes: list[str] = Field(default_factory=list)
    queries: list[QueryOut] = Field(default_factory=list)
    agreement: str | None = Field(
        default=None, description="Whether the platforms return the same rows on sample data")
    citations: list[str] = Field(default_factory=list,
                                 description='Runbook passages used, e.g. "SOP-017 §3"')
    knowledge_changes: list[str] = Field(default_factory=list,
                                         description="What the runbooks changed in the queries")
    issues: list[str] = Field(default_factory=list)


class TranslationOut(BaseModel):
    from_platform: str
    from_dialect: str
    to_platform: str
    to_dialect: str
    source: str
    query: str = Field(description="The translated query; empty when it cannot be written")
    valid: bool
    issues: list[str] = Field(default_factory=list,
                              description="Every part that does not carry over, and why")
    agreement: str | None = Field(
        default=None, description="Both queries run on the same sample data: same rows?")


class CheckOut(BaseModel):
    name: str = Field(description="read_only, syntax, names or execution")
    ok: bool | None = Field(description="None when the check could not run")
    message: str
    hint: str | None = None


class ValidationOut(BaseModel):
    platform: str
    dialect: str
    valid: bool
    source: str | None = None
    checks: list[CheckOut]
    issues: list[str] = Field(default_factory=list)
    rows: int | None = Field(default=None, description="Rows it returned on sample data")


class ExplanationOut(BaseModel):
    platform: str
    dialect: str
    source: str
    steps: list[str] = Field(description="One sentence per step of the query")
    issues: list[str] = Field(default_factory=list)


class RunOut(BaseModel):
    platform: str
    dialect: str
    source: str
    columns: list[str]
    rows: list[list[Any]] = Field(description=f"At most {MAX_ROWS_RETURNED} rows")
    row_count: int = Field(description="Rows the query returned in the sandbox")
    truncated: bool = Field(description="More rows exist than are listed here")
    executed: str = Field(description="'query' (SQL run as written) or 'plan'")
    data: str = Field(description="Which rows the query ran on")
    elapsed_ms: float


class HitOut(BaseModel):
    document: str = Field(description='How the document is cited, e.g. "SOP-017"')
    title: str
    section: list[str] = Field(default_factory=list, description="Heading path of the passage")
    text: str
    score: float
    chunk_id: str
    tags: list[str] = Field(default_factory=list)


class SearchOut(BaseModel):
    mode: Literal["hybrid", "bm25"] = Field(description="hybrid: BM25 + embeddings; bm25: lexical")
    note: str | None = None
    hits: list[HitOut] = Field(default_factory=list)


class SourceSummary(BaseModel):
    id: str
    name: str
    description: str
    platforms: list[str]


class FieldOut(BaseModel):
    name: str
    type: str
    description: str
    entity: str | None = None
    columns: dict[str, str] = Field(default_factory=dict,
                                    description="The field's name per platform")
    known_values: list[str] = Field(default_factory=list, description='"value = meaning"')


class ConceptOut(BaseModel):
    name: str
    means: str
    synonyms: list[str] = Field(default_factory=list)


class SourceOut(BaseModel):
    id: str
    name: str
    description: str
    synonyms: list[str] = Field(default_factory=list)
    time_field: str | None = None
    fields: list[FieldOut]
    concepts: list[ConceptOut] = Field(default_factory=list)
    kql_table: str | None = None
    spl_search: str | None = None
    sql_table: str | None = None


class SourceList(BaseModel):
    sources: list[SourceSummary]


class AgentOut(BaseModel):
    name: str
    url: str = Field(description='The agent\'s A2A base URL, or "local" for an agent of this '
                                 "process")
    description: str = ""
    skills: list[str] = Field(default_factory=list, description="Skill ids")
    platforms: list[str] = Field(default_factory=list, description="kql, spl, sql (data agents)")
    origin: str = Field(description="local, static (A2A_STATIC_AGENTS_JSON) or registered")
    healthy: bool | None = Field(default=None,
                                 description="The last health check (None: not checked yet)")
    last_error: str | None = None


class AgentList(BaseModel):
    mode: str = Field(description='"local": journeys use the agents of this process; '
                                  '"registry": the registered agents, over A2A')
    agents: list[AgentOut]
    note: str | None = Field(default=None, description="Why part of the list is missing")


# ── conversions ──────────────────────────────────────────────────────────────────────────────

def issue_text(issue: PlanIssue) -> str:
    return f"{issue.severity.value} {issue.code}: {issue.message}"


def _query_out(q: GeneratedQuery) -> QueryOut:
    return QueryOut(platform=q.platform, dialect=q.dialect, query=q.query, valid=q.valid,
                    issues=[issue_text(i) for i in q.issues], confidence=q.confidence,
                    explanation=q.explanation, target=q.target,
                    sample_rows=q.sample.rows if q.sample else None)


def answer_out(answer: Answer) -> AnswerOut:
    """The part of an answer an MCP client needs (the full answer is `get_journey`'s too)."""
    knowledge = answer.knowledge
    return AnswerOut(
        journey_id=answer.journey_id, status=answer.status.value, question=answer.question,
        source=answer.plan.source if answer.plan else None,
        understanding=list(answer.understanding), notes=list(answer.notes),
        queries=[_query_out(q) for q in answer.queries],
        agreement=(answer.agreement.summary() or None) if answer.agreement else None,
        citations=list(dict.fromkeys(c.ref() for c in answer.citations)),
        knowledge_changes=list(knowledge.changes) if knowledge else [],
        issues=[issue_text(i) for i in answer.issues])


def source_out(src: Source) -> SourceOut:
    platforms = src.bindings.platforms()
    fields = [FieldOut(name=f.name, type=f.type.value, description=f.description,
                       entity=f.entity.value if f.entity else None,
                       columns={p.value: c for p in platforms
                                if (c := src.column(p, f.name)) is not None},
                       known_values=[f"{kv.value} = {kv.meaning}" for kv in f.known_values])
              for f in src.fields]
    concepts = [ConceptOut(name=c.name, synonyms=list(c.synonyms),
                           means=" and ".join(describe_filter(f, src) for f in c.filters))
                for c in src.concepts]
    b = src.bindings
    return SourceOut(id=src.id, name=src.name, description=src.description,
                     synonyms=list(src.synonyms), time_field=src.time_field, fields=fields,
                     concepts=concepts, kql_table=b.kql.table if b.kql else None,
                     spl_search=b.spl.search if b.spl else None,
                     sql_table=b.sql.table if b.sql else None)
