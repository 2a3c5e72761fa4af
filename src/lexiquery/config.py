"""Settings (env prefix ``LEXIQUERY_``). Build them with `get_settings()`; there is no global."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "lexiquery"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEXIQUERY_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir,
                           description="Where journeys, answers and imported catalogs are stored.")
    sql_dialect: str = Field(default="postgres", description="Default SQL dialect for SQL queries.")
    reference_packs: bool = Field(default=True,
                                  description="Offer every Log Analytics/Sentinel/Defender table, "
                                  "Splunk data source and CIM data model of the shipped "
                                  "reference packs, besides the curated sources.")
    workspace: str | None = Field(default=None,
                                  description="The workspace (schema import) to answer from; "
                                  "default: the one `catalog use` chose, else all.")
    max_question_chars: int = Field(default=2000, ge=10,
                                    description="Longer questions are refused with a clear error.")

    max_query_chars: int = Field(default=100_000, ge=100,
                                 description="Longer pasted queries are refused.")
    sample_rows: int = Field(default=2000, ge=1, le=5_000_000,
                             description="Sample rows generated per source for execution checks.")
    sample_seed: int = Field(default=0, description="Seed of the sample data (same seed, same rows).")
    sample_check: bool = Field(default=True,
                               description="Execute generated queries on sample data in `ask`.")
    row_cap: int = Field(default=10_000, ge=1, description="Most rows a sandbox query returns.")
    result_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024,
                                  description="Most bytes of values a sandbox query returns; "
                                              "the rows past it are left out (truncated).")
    query_timeout_s: float = Field(default=10.0, gt=0,
                                   description="A sandbox query running longer is stopped.")

    # The SOP engine (runbooks and known errors).
    sop: bool = Field(default=True, description="`ask` searches the stored procedures and the "
                                                "known-errors base (off: `--no-sop`).")
    sop_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024,
                               description="Larger documents are refused before they are read.")
    sop_max_xml_bytes: int = Field(default=50 * 1024 * 1024, ge=1024,
                                   description="A Word document whose XML unpacks to more is "
                                               "refused (zip bombs and runaway documents).")
    sop_read_timeout_s: float = Field(default=10.0, gt=0,
                                      description="Reading one document longer is stopped and "
                                                  "it is refused.")
    sop_chunk_chars: int = Field(default=1200, ge=200, le=20_000,
                                 description="Target size of a chunk (structure wins over size).")
    known_errors_files: list[Path] = Field(
        default_factory=list, description="Your own known errors (YAML or CSV), on top of the "
                                          "built-in base (JSON list in the environment).")
    # Ollama serves the embeddings (and, later, the LLM). Nothing else is ever called.
    ollama_host: str = Field(default="http://127.0.0.1:11434",
                             description="Ollama server; embeddings are used when it answers.")
    embed_model: str = Field(default="nomic-embed-text", description="Ollama embedding model.")
    embed_timeout_s: float = Field(default=30.0, gt=0,
                                   description="One embedding request running longer fails.")
    embeddings: bool = Field(default=True, description="Use Ollama embeddings when reachable "
                                                       "(off: BM25 only, no call to Ollama).")

    # Agents: in-process by default; over A2A through the registry when `agents` is "registry".
    agents: str = Field(default="local", pattern="^(local|registry)$",
                        description='"local": every agent in this process; "registry": the agents '
                                    "registered (or configured statically) are called over A2A.")
    agent_timeout_s: float = Field(default=15.0, gt=0,
                                   description="One agent call running longer is abandoned.")
    agent_retries: int = Field(default=2, ge=0, le=5,
                               description="Retries of a failed agent call (with backoff).")
    static_agents_json: str | None = Field(
        default=None, validation_alias=AliasChoices("A2A_STATIC_AGENTS_JSON",
                                                    "LEXIQUERY_STATIC_AGENTS_JSON"),
        description='Agents known without registration: a JSON list of {"name", "url"} '
                    "(A2A_STATIC_AGENTS_JSON).")
    registry_allow_hosts: list[str] = Field(
        default_factory=list, description="Hosts agents may be registered from, on top of "
                                          "loopback and the static agents' hosts (JSON list).")
    registry_card_max_bytes: int = Field(default=256 * 1024, ge=1024,
                                         description="A larger agent card is refused.")
    registry_timeout_s: float = Field(default=5.0, gt=0,
                                      description="Fetching an agent card longer is refused.")
    health_interval_s: float = Field(default=30.0, gt=0,
                                     description="How often the server checks agents' health.")
    public_url: str | None = Field(default=None,
                                   description="The address agent cards advertise (default: "
                                               "the address served on).")
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024,
                                   description="Larger API request bodies are refused (413); "
                                               "runbook uploads have their own limit.")

    # Browser safety and the HTTP server's own limits (`lexiquery serve`, see serve/browser.py
    # and serve/slow_clients.py).
    allowed_origins: list[str] = Field(
        default_factory=list, description="Web origins (https://host[:port]) that may send "
                                          "state-changing requests besides the server's own "
                                          "(JSON list).")
    cors_origins: list[str] = Field(
        default_factory=list, description="Web origins that get CORS headers (JSON list; empty: "
                                          "CORS off); they may send state-changing requests too.")
    http_header_timeout_s: float = Field(default=10.0, gt=0,
                                         description="A client that has not sent a request's "
                                                     "headers within this is disconnected.")
    http_body_timeout_s: float = Field(default=60.0, gt=0,
                                       description="A request body not received in full within "
                                                   "this is abandoned (the connection closed).")
    http_keep_alive_s: int = Field(default=5, ge=1,
                                   description="An idle keep-alive connection is closed after "
                                               "this many seconds.")
    http_max_connections: int = Field(default=256, ge=2,
                                      description="Open connections beyond this are closed at "
                                                  "once; requests at the limit get 503.")

    # The LLM path (Ollama) and cost tracking.
    llm: str = Field(default="auto", pattern="^(auto|off)$",
                     description='"auto": the planner asks the Ollama chat model when it is '
                                 'reachable and has the model, else the rules engine; "off": '
                                 "rules only, no chat call.")
    chat_model: str = Field(default="llama3", description="Ollama chat model for question → plan.")
    llm_timeout_s: float = Field(default=60.0, gt=0,
                                 description="One chat request running longer falls back to "
                                             "the rules engine.")
    llm_max_tokens: int = Field(default=4096, ge=256, le=65536,
                                description="Most tokens the chat model may generate for one "
                                            "answer (Ollama's num_predict): a plan is a few "
                                            "hundred; a model stuck repeating itself stops here.")
    llm_repairs: int = Field(default=2, ge=0, le=5,
                             description="Times an invalid LLM plan is sent back with its issues.")
    llm_examples: int = Field(default=4, ge=0, le=20,
                              description="Worked examples (question → plan) in each prompt.")
    llm_max_sources: int = Field(default=3, ge=1, le=20,
                                 description="Sources the narrowed schema sends the model.")
    cost_backend: str = Field(default="sqlite", pattern="^(sqlite|redis)$",
                              description="Where usage records are kept.")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0",
                           description="Redis for the redis cost backend.")
    cost_retention_days: float = Field(default=30.0, gt=0,
                                       description="Usage records older than this are purged.")
    cost_rates: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='Cost per model: {"llama3": {"per_1k_tokens": 0.002, "per_compute_s": '
                    '0.0001}} (JSON); a model without a rate costs 0.')

    @property
    def cost_db_path(self) -> Path:
        return self.data_dir / "cost.db"

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "registry.json"

    @property
    def sop_dir(self) -> Path:
        return self.data_dir / "sop"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "lexiquery.db"

    @property
    def catalog_dir(self) -> Path:
        return self.data_dir / "catalogs"


def get_settings(**overrides: object) -> Settings:
    """Fresh settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
