"""Request and response models of the HTTP API: `/api/v1/query`, journeys, `/health`, and the
protocol interface's `/a2a/*` routes.

The question's and the context's length limit is a setting (`max_question_chars`), so the
request model is built per app by `query_request_model(settings)`: the limit a client reads
in `/openapi.json` is the one the server enforces.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from lexiquery.config import Settings

PlatformName = Literal["kql", "spl", "sql"]
DEFAULT_MAX_CHARS = 2000  # Settings.max_question_chars' default; other limits get a subclass


class QueryRequest(BaseModel):
    """One question. Unknown keys are refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=DEFAULT_MAX_CHARS,
                          description="The question in plain English",
                          examples=["failed sign-ins in the last 24 hours by user"])
    platforms: list[PlatformName] | None = Field(
        default=None, max_length=3,
        description="Platforms to write queries for (default: every platform the source is "
                    "bound to)")
    sql_dialect: str | None = Field(default=None, max_length=40,
                                    description="SQL dialect (postgres, tsql, …; default: the "
                                                "server's sql_dialect setting)")
    source: str | None = Field(default=None, max_length=200,
                               description="Catalog source id to use (skips source discovery)")
    schema_hints: list[str] | None = Field(
        default=None, max_length=50,
        description="Source ids the question is probably about, best first. When `source` is "
                    "not given, the first hint the catalog knows becomes the source; hints the "
                    "catalog does not know are named in the answer's notes.")
    context: str | None = Field(default=None, max_length=DEFAULT_MAX_CHARS,
                                description="Free text (the incident, an error message, the "
                                            "tenant) searched with the question in the runbooks "
                                            "and the known-errors base; never read as part of "
                                            "the question")
    sample_check: bool | None = Field(default=None, description="Execute the queries on sample "
                                                                "data (default: the setting)")
    sop: bool | None = Field(default=None, description="Use the runbooks and known errors "
                                                       "(default: the setting)")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the question is blank")
        return v

    @field_validator("schema_hints")
    @classmethod
    def _hints(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and any(len(h) > 200 for h in v):
            raise ValueError("a schema hint is longer than 200 characters")
        return v


def query_request_model(settings: Settings) -> type[QueryRequest]:
    """`QueryRequest` with the question and context limited to `settings.max_question_chars`."""
    limit = settings.max_question_chars
    if limit == DEFAULT_MAX_CHARS:
        return QueryRequest
    described = QueryRequest.model_fields
    return create_model(  # type: ignore[call-overload, no-any-return]
        "QueryRequest", __base__=QueryRequest,
        question=(str, Field(min_length=1, max_length=limit,
                             description=described["question"].description)),
        context=(str | None, Field(default=None, max_length=limit,
                                   description=described["context"].description)))


class JourneyRow(BaseModel):
    """One line of the journey list, newest first."""

    journey_id: str
    created_at: str | None = None
    status: str | None = None
    source: str | None = None
    question: str | None = None


AppRole = Literal["all", "core", "registry", "sop"]


class HealthResponse(BaseModel):
    """Always served with status 200: `degraded` when a dependency this role needs fails (journey
    store, catalog, runbook store, registry file) or a known agent is unhealthy; `problems`
    names each. Ollama is optional — without it the SOP engine ranks by BM25 alone — so an
    unreachable Ollama is reported but does not make the server degraded."""

    status: Literal["ok", "degraded"]
    version: str
    role: AppRole = "all"
    problems: list[str] = Field(default_factory=list,
                                description="The dependencies that make the status degraded")
    dependencies: dict[str, dict[str, Any]]


# ── the protocol interface (/a2a/*) ─────────────────────────────────────────────────────────

class RegisterRequest(BaseModel):
    """An agent to register: its base URL (the card is read from
    `<url>/.well-known/agent-card.json`)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048,
                     description="The agent's base URL, e.g. http://127.0.0.1:9020",
                     examples=["http://127.0.0.1:9020"])


class InvokeRequest(BaseModel):
    """One skill call on one agent, by name: the registry (or this process) picks the agent."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1, max_length=200, description="The agent's name, e.g. "
                                                                 "data-kql",
                       examples=["planner"])
    skill: str = Field(min_length=1, max_length=200, description="The skill id, e.g. create_plan",
                       examples=["create_plan"])
    input: dict[str, Any] = Field(default_factory=dict,
                                  description="The skill's input (its JSON contract)",
                                  examples=[{"question": "failed sign-ins by user"}])
