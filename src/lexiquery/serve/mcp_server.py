"""LexiQuery as MCP tools (mcp 2.x `MCPServer`): `create_mcp_server(settings)`.

Tools: generate_query (question → checked KQL/SPL/SQL, stored as a journey), translate_query,
validate_query, explain_query, run_query_on_sample, search_procedures, list_sources,
describe_source, list_agents, get_journey. Serve with `run()` (stdio: while it serves, the SDK points fd 1 at
stderr, so stray output of a library cannot corrupt the protocol) or mount
`streamable_http_app()`, whose session manager must run in the host app's lifespan.

Every tool but `generate_query` only reads and is annotated ``readOnlyHint=True``; none reaches
outside the machine (``openWorldHint=False``). Tools are sync functions: the SDK runs them on a
worker thread, so the DuckDB sandbox and SQLite never block the event loop.

Errors become MCP tool errors here and nowhere else (design rule): a `LexiQueryError` is raised
again as the SDK's `ToolError`, so the call returns ``is_error=True`` with the message, the
closest names and the hint as text. Queries that write, delete or run code are refused by the
read-only guard inside `operations`; `validate_query` reports that as a failed ``read_only``
check with a ``read_only`` issue (its job is to report) — also when the platform cannot be
guessed from the text but a guard recognises a write command — and every other tool as a tool
error whose text says it was refused. Arguments that fail the input
schema are tool errors too (the SDK's doing). Anything else is a crash: the SDK logs it to
stderr and the client sees only "Error executing tool NAME".
"""

import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal
from urllib.parse import urlsplit

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import Field

from lexiquery import operations
from lexiquery.catalog.model import Catalog
from lexiquery.catalog.store import load_user_catalog
from lexiquery.config import Settings, get_settings
from lexiquery.dialects.kql.guard import check_kql
from lexiquery.dialects.reading import guess_platform
from lexiquery.dialects.spl.guard import check_spl
from lexiquery.dialects.sql.guard import check_sql
from lexiquery.errors import InputError, LexiQueryError, UnknownSourceError
from lexiquery.ir import PlanIssue, Severity
from lexiquery.journeys import JourneyStore
from lexiquery.knowledge.store import ProcedureStore
from lexiquery.orchestrator import ask
from lexiquery.serve.mcp_models import (
    MAX_ROWS_RETURNED,
    AgentList,
    AgentOut,
    AnswerOut,
    CheckOut,
    ExplanationOut,
    HitOut,
    RunOut,
    SearchOut,
    SourceList,
    SourceOut,
    SourceSummary,
    TranslationOut,
    ValidationOut,
    answer_out,
    issue_text,
    source_out,
)
from lexiquery.serve.routes_agents import AppAgents

INSTRUCTIONS = (
    "LexiQuery turns plain-English questions into checked, read-only queries for Microsoft "
    "Sentinel / Log Analytics (KQL), Splunk (SPL) and SQL, and translates, validates, explains "
    "and runs existing queries on generated sample data. It runs on this machine only: use "
    "list_sources and describe_source to see which data exists, search_procedures to read the "
    "organisation's runbooks, list_agents to see the agents that do the work, and get_journey to "
    "fetch a stored answer again.")

MAX_SAMPLE_ROWS = 100_000  # a client may ask for this many generated rows per source, no more

PlatformName = Literal["kql", "spl", "sql"]
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES_JOURNEY = ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                 idempotent_hint=False, open_world_hint=False)

QueryText = Annotated[str, Field(description="The query text (KQL, SPL or SQL)")]
PlatformArg = Annotated[PlatformName | None, Field(
    description="Language of the query: kql, spl or sql (default: guessed from its first words)")]
DialectArg = Annotated[str | None, Field(
    description="SQL dialect (postgres, tsql, mysql, sqlite, duckdb, bigquery, snowflake, …); "
                "default: the configured one")]


_CLI_HINTS = [(re.compile(r"`lexiquery catalog show ([\w.-]+)`"), r"describe_source(\1)"),
              (re.compile(r"`lexiquery catalog list`"), "list_sources")]


def error_text(error: LexiQueryError) -> str:
    """The message a client reads: what went wrong, the closest names, how to fix it (hints
    that name a CLI command name the tool that does the same instead)."""
    hint = error.hint
    for pattern, tool in _CLI_HINTS:
        hint = pattern.sub(tool, hint) if hint else hint
    parts = [error.message]
    closest = getattr(error, "closest_sources", None)
    if closest:
        parts.append(f"closest sources: {', '.join(closest)}")
    if hint:
        parts.append(f"hint: {hint}")
    journey = getattr(error, "journey_id", None)
    if journey:
        parts.append(f"journey {journey}")
    return " — ".join(parts)


@contextmanager
def tool_errors() -> Iterator[None]:
    """LexiQueryError → the SDK's ToolError (an ``is_error=True`` result with our text)."""
    try:
        yield
    except LexiQueryError as e:
        raise ToolError(error_text(e)) from e


def _platform_of(query: str, platform: str | None) -> str:
    if platform is not None:
        return platform
    try:
        return guess_platform(query)
    except InputError as e:
        raise InputError(e.message, hint="pass platform: kql, spl or sql") from e


# A statement that writes, whichever SQL dialect: recognised by its first word when the text
# cannot be told apart as one language (validate_query then still reports it as read_only).
_SQL_WRITE = re.compile(r"^\(*\s*(insert|update|delete|drop|create|alter|merge|truncate|grant|"
                        r"revoke|copy|exec|execute|call|replace|upsert|attach|detach|vacuum|"
                        r"pragma|rename|load|unload)\b", re.IGNORECASE)


def _sql_write(query: str, sql_dialect: str) -> list[PlanIssue]:
    """A read_only issue when `query` is an SQL statement that writes (its first word says so
    and the SQL guard agrees, so a KQL table called `Update` is not one)."""
    m = _SQL_WRITE.match(query.strip())
    if not m or not any(i.code == "read_only" for i in check_sql(query, sql_dialect)):
        return []
    return [PlanIssue(code="read_only", severity=Severity.error,
                      message=f"only SELECT is allowed, found {m.group(1).upper()}")]


def write_refusal(query: str, sql_dialect: str) -> tuple[str, list[PlanIssue]] | None:
    """(platform, read_only issues) when some language's guard sees a write command in text
    whose language cannot be guessed; None when none does."""
    for platform, check in (("kql", check_kql), ("spl", check_spl)):
        found = [i for i in check(query) if i.code == "read_only"]
        if found:
            return platform, found
    sql = _sql_write(query, sql_dialect)
    return ("sql", sql) if sql else None


# ── DNS-rebinding protection of /mcp over HTTP ──────────────────────────────────────────────

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_WILDCARD = ("0.0.0.0", "::", "")


def _host_patterns(host: str) -> tuple[list[str], list[str]]:
    """The Host and Origin header patterns (any port) of one host name or address."""
    shown = f"[{host}]" if ":" in host else host
    return [f"{shown}:*", shown], [f"http://{shown}:*", f"https://{shown}:*", f"http://{shown}",
                                   f"https://{shown}"]


def transport_security(base_url: str, public_url: str | None = None,
                       bind_host: str | None = None) -> TransportSecuritySettings:
    """The allowed Host/Origin headers of `/mcp` for a server reached at `base_url`, listening
    on `bind_host` (None: the host of `base_url`).

    Loopback is always allowed, and so are the hosts of `base_url`, `public_url` and
    `bind_host` (so ``serve --host 10.0.0.5`` or a configured public URL accepts its own
    clients). A server bound to every interface (0.0.0.0, ::) without a public URL cannot know
    the names clients will use — its IP on each network, DNS names — so the check is off, as
    the SDK itself does for non-loopback hosts; set `public_url` to turn it back on for that
    name."""
    hosts = {urlsplit(u).hostname or "" for u in (base_url, public_url) if u}
    if bind_host is not None:
        hosts.add(bind_host.strip("[]"))
    if public_url is None and hosts & set(_WILDCARD):
        # Explicitly off: given no settings, the SDK would allow loopback names only.
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    allowed_hosts: list[str] = []
    allowed_origins: list[str] = []
    for host in (*_LOOPBACK, *sorted(hosts - set(_WILDCARD))):
        h, o = _host_patterns(host)
        allowed_hosts += [x for x in h if x not in allowed_hosts]
        allowed_origins += [x for x in o if x not in allowed_origins]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                     allowed_hosts=allowed_hosts, allowed_origins=allowed_origins)


# ── the server ────────────────────────────────────────────────────────────────────────────────

def create_mcp_server(settings: Settings | None = None, *,
                      agents: "AppAgents | None" = None) -> MCPServer:
    """A new MCP server over these settings (read once, here). Serve it with `run()` (stdio) or
    mount `streamable_http_app()` (with `transport_security(...)`); build one per app, never a
    module-level instance. `agents` is the app's registry and in-process agents (default: its
    own), which `list_agents` lists."""
    settings = settings or get_settings()
    app_agents = agents or AppAgents(settings)
    server = MCPServer(name="lexiquery", instructions=INSTRUCTIONS, log_level="WARNING")

    def catalog() -> Catalog:
        return load_user_catalog(settings)

    @server.tool(annotations=WRITES_JOURNEY)
    def generate_query(
        question: Annotated[str, Field(description='Plain English, e.g. "failed sign-ins in '
                                                   'the last 24 hours"')],
        platforms: Annotated[list[PlatformName] | None, Field(
            description="Platforms to write for (default: every platform the source is on)")]
        = None,
        sql_dialect: DialectArg = None,
        source: Annotated[str | None, Field(
            description="Catalog source id to use instead of choosing one (see list_sources)")]
        = None,
        context: Annotated[str | None, Field(
            description="Free text searched with the question in the runbooks and known "
                        "errors: the incident, an error message, the tenant")] = None,
        sample_check: Annotated[bool, Field(
            description="Execute every query on sample data and compare the platforms")] = True,
    ) -> AnswerOut:
        """Write checked, read-only queries (KQL, SPL, SQL) for a plain-English question.

        Every query is parsed back, checked against the catalog and run on sample data. The
        answer is stored as a journey (fetch it again with get_journey)."""
        with tool_errors():
            answer = ask(question, platforms=platforms, sql_dialect=sql_dialect, source=source,
                         context=context, settings=settings, sample_check=sample_check)
        return answer_out(answer)

    @server.tool(annotations=READ_ONLY)
    def translate_query(
        query: QueryText,
        to_platform: Annotated[PlatformName, Field(description="Platform to translate to")],
        from_platform: PlatformArg = None,
        sql_dialect: Annotated[str | None, Field(
            description="SQL dialect of the SQL side (input or output)")] = None,
    ) -> TranslationOut:
        """Translate a query to another platform (KQL ↔ SPL ↔ SQL) through the query model; both
        run on the same sample data to show they return the same rows."""
        with tool_errors():
            src = _platform_of(query, from_platform)
            t = operations.translate_query(query, src, to_platform, from_dialect=sql_dialect,
                                           to_dialect=sql_dialect, settings=settings)
        return TranslationOut(
            from_platform=t.from_platform, from_dialect=t.from_dialect,
            to_platform=t.to_platform, to_dialect=t.to_dialect, source=t.source, query=t.query,
            valid=t.valid, issues=[issue_text(i) for i in t.issues],
            agreement=(t.agreement.summary() or None) if t.agreement else None)

    @server.tool(annotations=READ_ONLY)
    def validate_query(query: QueryText, platform: PlatformArg = None,
                       sql_dialect: DialectArg = None) -> ValidationOut:
        """Check a query: read-only (no writes, deletes or control commands), syntax, names
        against the catalog, and execution on sample data. Each check is reported."""
        dialect = (sql_dialect or settings.sql_dialect).lower()
        try:
            language = _platform_of(query, platform)
        except InputError as e:
            refused = write_refusal(query, dialect)
            if refused is None:
                raise ToolError(error_text(e)) from e
            return _refused_validation(*refused, sql_dialect=dialect)
        if platform is None and language != "sql" and "|" not in query and \
                (sql := _sql_write(query, dialect)):
            # A bare SQL command the guesser reads as a KQL table name (VACUUM, CALL p()); a
            # pipeline (`Load | take 3`) is KQL or SPL, never this.
            return _refused_validation("sql", sql, sql_dialect=dialect)
        with tool_errors():
            v = operations.validate_query_text(query, language, sql_dialect=sql_dialect,
                                               settings=settings)
        return ValidationOut(platform=v.platform, dialect=v.dialect, valid=v.valid,
                             source=v.source, rows=v.rows,
                             checks=[CheckOut(**c.model_dump()) for c in v.checks],
                             issues=[issue_text(i) for i in v.issues])

    @server.tool(annotations=READ_ONLY)
    def explain_query(query: QueryText, platform: PlatformArg = None,
                      sql_dialect: DialectArg = None) -> ExplanationOut:
        """Explain a query in plain English, one sentence per step, in the platform's names."""
        with tool_errors():
            e = operations.explain_query(query, _platform_of(query, platform),
                                         sql_dialect=sql_dialect, settings=settings)
        return ExplanationOut(platform=e.platform, dialect=e.dialect, source=e.source,
                              steps=list(e.steps), issues=[issue_text(i) for i in e.issues])

    @server.tool(annotations=READ_ONLY)
    def run_query_on_sample(
        query: QueryText, platform: PlatformArg = None, sql_dialect: DialectArg = None,
        rows: Annotated[int | None, Field(
            ge=1, le=MAX_SAMPLE_ROWS,
            description="Sample rows generated per source (default: the configured number)")]
        = None,
        seed: Annotated[int | None, Field(
            description="Seed of the sample data: the same seed, the same rows")] = None,
    ) -> RunOut:
        """Run a query on generated sample data (never on real systems) and return the rows."""
        update = {k: v for k, v in (("sample_rows", rows), ("sample_seed", seed)) if v is not None}
        run_settings = settings.model_copy(update=update) if update else settings
        with tool_errors():
            r = operations.run_query(query, _platform_of(query, platform),
                                     sql_dialect=sql_dialect, settings=run_settings)
        return RunOut(platform=r.platform, dialect=r.dialect, source=r.source,
                      columns=r.columns, rows=r.rows[:MAX_ROWS_RETURNED], row_count=len(r.rows),
                      truncated=r.truncated or len(r.rows) > MAX_ROWS_RETURNED,
                      executed=r.executed, data=r.data, elapsed_ms=r.elapsed_ms)

    @server.tool(annotations=READ_ONLY)
    def search_procedures(
        query: Annotated[str, Field(description='What to look for, e.g. "brute force"')],
        limit: Annotated[int, Field(ge=1, le=50, description="Most passages returned")] = 5,
        tag: Annotated[str | None, Field(description="Only documents with this tag")] = None,
        platform: Annotated[PlatformName | None, Field(
            description="Only documents with queries in this language")] = None,
    ) -> SearchOut:
        """Search the organisation's stored runbooks (SOPs) for passages about a topic."""
        if not (settings.sop_dir / "sop.db").exists():  # searching never creates a store
            with tool_errors():
                if not query.strip():
                    raise InputError("the search text is empty", hint='search e.g. "brute force"')
            return SearchOut(mode="bm25", note="no runbooks are stored")
        with tool_errors(), ProcedureStore(settings) as store:
            found = store.search(query, limit=limit, tag=tag, platform=platform)
        return SearchOut(mode=found.mode, note=found.note, hits=[
            HitOut(document=h.document.label, title=h.document.title,
                   section=list(h.chunk.heading_path), text=h.chunk.text, score=h.score,
                   chunk_id=h.chunk.id, tags=list(h.document.tags)) for h in found.hits])

    @server.tool(annotations=READ_ONLY)
    def list_sources() -> SourceList:
        """The data sources LexiQuery knows (built-in and imported), with their platforms."""
        with tool_errors():
            cat = catalog()
        return SourceList(sources=[SourceSummary(
            id=s.id, name=s.name, description=s.description,
            platforms=[p.value for p in s.bindings.platforms()]) for s in cat])

    @server.tool(annotations=READ_ONLY)
    def describe_source(source_id: Annotated[str, Field(
            description="A source id from list_sources, e.g. signin_logs")]) -> SourceOut:
        """One source: its fields (with their names on each platform), concepts such as
        "failed", and where it lives on each platform (KQL table, SPL search, SQL table)."""
        with tool_errors():
            cat = catalog()
            src = cat.get(source_id.strip())
            if src is None:
                close = difflib.get_close_matches(source_id.strip(), cat.ids(), n=3, cutoff=0.3)
                raise UnknownSourceError(
                    f"no source {source_id!r}",
                    hint=(f"did you mean {', '.join(close)}? " if close else "")
                    + "list_sources shows them all")
        return source_out(src)

    @server.tool(annotations=READ_ONLY)
    def list_agents() -> AgentList:
        """The agents LexiQuery can use: the registered ones (name, A2A URL, skills, platforms,
        last health check) and, when journeys run in this process, the in-process agents."""
        listed: list[AgentOut] = []
        note = None
        if not app_agents.route_to_registry:
            with tool_errors():
                local = app_agents.local_agents()
            listed += [AgentOut(name=a.name, url="local", description=a.description,
                                skills=[k.id for k in a.skills],
                                platforms=[a.platform] if a.platform else [], origin="local",
                                healthy=True) for a in local.values()]
        try:
            entries = app_agents.registry().entries()
        except LexiQueryError as e:
            if app_agents.route_to_registry:
                raise ToolError(error_text(e)) from e
            entries, note = [], f"the registry cannot be read: {error_text(e)}"
        listed += [AgentOut(name=e.name, url=e.url, description=e.description or "",
                            skills=list(e.skills), platforms=list(e.platforms), origin=e.origin,
                            healthy=e.healthy, last_error=e.last_error) for e in entries]
        return AgentList(mode="registry" if app_agents.route_to_registry else "local",
                         agents=listed, note=note)

    @server.tool(annotations=READ_ONLY)
    def get_journey(journey_id: Annotated[str, Field(
            description="The journey_id generate_query returned")]) -> AnswerOut:
        """A stored answer: its status, what was understood, and its queries."""
        with tool_errors():
            jid = journey_id.strip()
            answer = JourneyStore(settings.db_path).get(jid) \
                if jid and settings.db_path.exists() else None
            if answer is None:
                raise InputError(f"no journey {journey_id!r}",
                                 hint="journey ids come from generate_query")
        return answer_out(answer)

    return server


def _refused_validation(platform: str, issues: list[PlanIssue], *,
                        sql_dialect: str) -> ValidationOut:
    """What `validate_query` reports for a write command (the same as `validate_query_text`
    gives when the platform is known)."""
    dialect = sql_dialect.lower() if platform == "sql" else platform
    return ValidationOut(platform=platform, dialect=dialect, valid=False, checks=[CheckOut(
        name="read_only", ok=False, message="; ".join(i.message for i in issues))],
        issues=[issue_text(i) for i in issues])

