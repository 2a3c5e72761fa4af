"""The shapes the SOP engine passes between its parts (a contract; keep the names stable).

    bytes ──read_document──► ParsedDocument (blocks) ──chunk_document──► [ChunkDraft]
                                     │
                                     └──extract_procedures──► [Procedure] (steps, sources, fields,
                                                              thresholds, windows, queries, definitions)
    stored: DocumentInfo + Chunk (SQLite is the truth; BM25 and Chroma are indexes of it)
    search: [SearchHit] (chunk + score + rank per index) ──► Citation in the answer

SOP text is data, never instructions: nothing here is executed or obeyed; lines that read like
prompt injection are stored as inert text and flagged (`Chunk.flags` holds "injection").
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lexiquery.ir import Condition, Operator, Scalar


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


DocFormat = Literal["markdown", "text", "docx", "pdf"]


class BlockKind(str, Enum):
    heading = "heading"
    paragraph = "paragraph"
    list_item = "list_item"
    code = "code"
    table = "table"


class Block(_Model):
    """One structural unit of a document, in reading order.

    - heading: `level` 1..6, `text` the heading text without markers.
    - list_item: `level` the nesting depth (0 = top); `number` the item's ordinal ("3", "3.2", "b")
      when the list is numbered, None for bullets. A numbered procedure step is a numbered item.
    - code: `text` verbatim (never re-flowed); `lang` the fence label lower-cased when there was
      one ("kql", "spl", "sql", "kusto", "splunk", …), None for indented blocks.
    - table: `text` rows as lines, cells separated by " | " (the header row first).
    - `page`: 1-based page for PDFs, None otherwise.
    """

    kind: BlockKind
    text: str
    level: int = 0
    number: str | None = None
    lang: str | None = None
    page: int | None = None


class ParsedDocument(_Model):
    """A document read into blocks. `title` is the one the format states (front-matter `title:`,
    DOCX Title style, PDF metadata), else the first level-1 heading, else the file stem."""

    name: str = Field(description="The file name it came from (no directories)")
    format: DocFormat
    title: str
    blocks: list[Block]
    pages: int | None = None
    warnings: list[str] = Field(default_factory=list)


ChunkKind = Literal["prose", "steps", "code", "table", "mixed"]


class ChunkDraft(_Model):
    """A chunk before storage. `heading_path` is the chain of headings above it (outermost first);
    `text` is what is indexed and shown (the heading path is indexed with it, not repeated in it)."""

    heading_path: list[str] = Field(default_factory=list)
    text: str
    kind: ChunkKind = "prose"
    page: int | None = None
    languages: list[str] = Field(default_factory=list,
                                 description="Query languages of the code blocks it holds")
    flags: list[str] = Field(default_factory=list,
                             description='"injection" when a line reads like an instruction to a model')


class Chunk(ChunkDraft):
    id: str = Field(description="'<document id>:<index>'")
    document_id: str
    index: int = Field(ge=0)


class EmbeddedQuery(_Model):
    """A query written in the document (fenced or indented block)."""

    language: Literal["kql", "spl", "sql"]
    text: str
    labelled: bool = Field(description="The fence said the language; False when detected")
    heading_path: list[str] = Field(default_factory=list)
    source: str | None = Field(default=None, description="Catalog source id the query reads")
    parses: bool = Field(default=False, description="Our parser read it into a QueryPlan")
    error: str | None = None


class TimeWindow(_Model):
    """"over the last 24 hours", "within 10 minutes", "look back 7 days"."""

    amount: int = Field(ge=1)
    unit: Literal["minute", "hour", "day", "week"]
    text: str = Field(description="The sentence it was read from")
    purpose: Literal["lookback", "bucket"] = Field(
        description="lookback: how far back to search; bucket: the window a threshold counts in")


class Threshold(_Model):
    """"more than 10 failed sign-ins in 5 minutes" → op gt, value 10, window 5 minutes."""

    op: Operator = Field(description="gt, ge, lt or le")
    value: float
    what: str = Field(description="What is counted, as written (\"failed sign-ins\")")
    window: TimeWindow | None = None
    text: str
    origin: Literal["rules", "llm"] = Field(
        default="rules", description="Read by the sentence patterns, or by the local LLM")


class DefinitionClause(_Model):
    """One more condition of a definition ("… a 4625 event *whose sub status is 0xC000006A*")."""

    field: str
    op: Operator
    values: list[Scalar]

    def condition(self) -> Condition:
        value = self.values if self.op in (Operator.in_, Operator.not_in) else self.values[0]
        return Condition(field=self.field, op=self.op, value=value)


class Definition(_Model):
    """The SOP's meaning of a term, bound to a catalog field: "failed sign-ins are result codes
    50126 and 50053" → term "failed sign-ins", source signin_logs, field result_code, op in,
    values ["50126", "50053"]. `concept` names the catalog concept it refines, when one matches.
    `also` holds the definition's further conditions on the same source, all ANDed ("a
    bad-password logon is a 4625 event whose sub status is 0xC000006A" → event_id = 4625 and
    sub_status = 0xC000006A). `text` is the sentence it was read from."""

    term: str
    source: str
    field: str
    op: Operator
    values: list[Scalar]
    concept: str | None = None
    text: str
    also: list[DefinitionClause] = Field(default_factory=list)
    origin: Literal["rules", "llm"] = Field(
        default="rules", description="Read by the sentence patterns, or by the local LLM")

    def conditions(self) -> list[Condition]:
        """The definition's conditions, the main one first."""
        value = self.values if self.op in (Operator.in_, Operator.not_in) else self.values[0]
        return [Condition(field=self.field, op=self.op, value=value),
                *(c.condition() for c in self.also)]

    def fields(self) -> list[str]:
        return [self.field, *(c.field for c in self.also)]


class Procedure(_Model):
    """One procedure (a section with steps, or a whole short document)."""

    title: str
    heading_path: list[str] = Field(default_factory=list)
    section: str | None = Field(default=None, description='Section number as written ("3", "4.2")')
    steps: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="Catalog source ids it names")
    fields: list[str] = Field(default_factory=list, description='"source.field" it names')
    thresholds: list[Threshold] = Field(default_factory=list)
    windows: list[TimeWindow] = Field(default_factory=list)
    queries: list[EmbeddedQuery] = Field(default_factory=list)
    definitions: list[Definition] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list, description="Known-error codes it mentions")


class DocumentInfo(_Model):
    """A stored document. `id` is derived from the content hash: the same bytes, the same id."""

    id: str
    name: str
    origin: str = Field(description="Where it came from (a path, or 'upload:<name>'): adding "
                                    "other bytes from the same origin replaces the document")
    label: str = Field(description='How citations name it: "SOP-017" when the title or file name '
                                   'carries such an identifier, else the title')
    title: str
    format: DocFormat
    sha256: str
    size: int
    tags: list[str] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list, description="Languages of its queries")
    added_at: datetime
    pages: int | None = None
    chunks: int = 0
    procedures: int = 0
    embedded: bool = Field(default=False, description="Its chunks are in the vector index")
    warnings: list[str] = Field(default_factory=list)


class SearchHit(_Model):
    chunk: Chunk
    document: DocumentInfo
    score: float = Field(description="Fused score (RRF) or the BM25 score in bm25 mode")
    lexical_rank: int | None = None
    dense_rank: int | None = None


SearchMode = Literal["hybrid", "bm25"]


class SearchResult(_Model):
    query: str
    mode: SearchMode = Field(description="hybrid: BM25 + embeddings fused by reciprocal rank; "
                                         "bm25: lexical only (no embedder reachable)")
    hits: list[SearchHit] = Field(default_factory=list)
    note: str | None = Field(default=None, description="Why the mode is what it is")


__all__ = [
    "Block", "BlockKind", "Chunk", "ChunkDraft", "ChunkKind", "Definition", "DocFormat",
    "DocumentInfo", "EmbeddedQuery", "ParsedDocument", "Procedure", "SearchHit", "SearchMode",
    "SearchResult", "Threshold", "TimeWindow",
]
