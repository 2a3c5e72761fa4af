"""The core API routes: ask a question, read journeys, and the health of the dependencies.

    POST /api/v1/query                 QueryRequest → Answer (422 + closest_sources when the
                                       question names nothing the catalog knows)
    GET  /api/v1/journeys/{id}         → the stored Answer (404 unknown_journey)
    GET  /api/v1/journeys?limit=N      → newest journeys first (1 ≤ N ≤ 200)
    GET  /health                       → 200 always; status "ok" or "degraded" (`health_router`,
                                       served by every role of the app)

The query endpoint is async: `orchestrator.ask_async` awaits its agents (in-process ones in
worker threads, remote ones over A2A), so a journey waiting on a slow agent holds no thread.
The journey and health endpoints are sync on purpose (SQLite, file checks): FastAPI runs them
on its thread pool, so they never stall the event loop. Package errors are turned into HTTP
answers by the app's exception handlers (`serve.app`), not here.

(No `from __future__ import annotations` here: the request model is built per settings and
FastAPI must resolve the endpoint's annotation to that local class, not to a string.)
"""

import os
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lexiquery.agents.contracts import AGENT_NAMES
from lexiquery.agents.resources import Resources
from lexiquery.answer import Answer
from lexiquery.catalog.store import load_user_catalog
from lexiquery.config import Settings
from lexiquery.errors import StorageError
from lexiquery.journeys import JourneyStore
from lexiquery.knowledge.store import ProcedureStore
from lexiquery.llm.client import OllamaChat
from lexiquery.llm.embeddings import EmbedderStatus, embedder_for, embedding_status
from lexiquery.orchestrator import ask_async
from lexiquery.serve.api_models import (
    AppRole,
    HealthResponse,
    JourneyRow,
    query_request_model,
)
from lexiquery.serve.local_callers import is_local_client, statuses_only
from lexiquery.serve.routes_agents import AppAgents
from lexiquery.version import __version__

UNKNOWN_JOURNEY_HINT = "GET /api/v1/journeys lists the recent journeys"


def query_router(settings: Settings, resources: Resources | None = None) -> APIRouter:
    """The query and journey routes, bound to `settings` (`/health` is `health_router`'s).
    `resources`: the server's catalog, runbook store and sandbox, shared by every journey (and
    by the agents mounted in-process), so no journey rebuilds them."""
    router = APIRouter()
    request_model = query_request_model(settings)
    journey_lock = threading.Lock()
    journeys_opened: list[Any] = []

    def journeys() -> Any:
        """The journey store, created on first use (creating it makes the schema)."""
        with journey_lock:
            if not journeys_opened:
                journeys_opened.append(JourneyStore(settings.db_path))
            return journeys_opened[0]

    def hints(body: Any) -> tuple[str | None, list[str]]:
        if body.source is not None or not body.schema_hints:
            return body.source, []
        catalog = load_user_catalog(settings)
        known = [h for h in body.schema_hints if h in catalog]
        return (known[0] if known else None), [h for h in body.schema_hints if h not in catalog]

    async def query(body: Any) -> Answer:
        """Answer one question with checked KQL, SPL and SQL queries.

        `schema_hints`: when `source` is not given, the first hint the catalog knows is used as
        the source; hints it does not know are named in the answer's notes. An unanswerable
        question is a 422 whose body carries `closest_sources` and the stored `journey_id`."""
        source, unknown_hints = (await run_in_threadpool(hints, body)) if body.schema_hints \
            and body.source is None else (body.source, [])  # the catalog is read only for hints
        answer = await ask_async(body.question, platforms=body.platforms,
                                 sql_dialect=body.sql_dialect, source=source, settings=settings,
                                 sample_check=body.sample_check, sop=body.sop,
                                 context=body.context, resources=resources)
        if unknown_hints:
            answer.notes.append("schema hints not in the catalog, ignored: "
                                + ", ".join(unknown_hints))
            await run_in_threadpool(_resave, answer)
        return answer

    def _resave(answer: Answer) -> None:
        try:
            journeys().save(answer)
        except StorageError:
            pass  # ask already recorded the journey (or said why it could not)

    query.__annotations__["body"] = request_model
    router.add_api_route("/api/v1/query", query, methods=["POST"], response_model=Answer,
                         tags=["query"], summary="Ask a question",
                         responses={422: {"description": "Bad request or unanswerable question"},
                                    413: {"description": "Request body too large"}})

    @router.get("/api/v1/journeys/{journey_id}", response_model=Answer, tags=["journeys"],
                summary="One journey in full", responses={404: {"description": "Unknown id"}})
    def get_journey(journey_id: str) -> Any:
        answer = journeys().get(journey_id)
        if answer is None:
            return JSONResponse({"error": "unknown_journey",
                                 "message": f"no journey {journey_id!r}",
                                 "hint": UNKNOWN_JOURNEY_HINT}, status_code=404)
        return answer

    @router.get("/api/v1/journeys", response_model=list[JourneyRow], tags=["journeys"],
                summary="Recent journeys, newest first")
    def list_journeys(limit: int = Query(20, ge=1, le=200)) -> Any:
        return journeys().recent(limit)

    return router


# Which dependencies each role reports, and which of them make it "degraded" when they fail.
_REPORTED: dict[str, tuple[str, ...]] = {
    "all": ("journeys", "catalog", "ollama", "sop", "chroma", "registry", "agents"),
    "core": ("journeys", "catalog", "ollama", "sop", "chroma", "registry", "agents"),
    "registry": ("registry", "agents"),
    "sop": ("catalog", "ollama", "sop", "chroma"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "all": ("journeys", "catalog", "sop", "registry"),
    "core": ("journeys", "catalog", "sop"),
    "registry": ("registry",),
    "sop": ("catalog", "sop"),
}


def health_router(settings: Settings, *, role: AppRole = "all",
                  agents: AppAgents | None = None) -> APIRouter:
    """`GET /health` for an app of `role`. It reads, never probes agents: their health is the
    registry's record, refreshed by the app's lifespan (`Registry.check_health`)."""
    router = APIRouter()
    agents = agents or AppAgents(settings)
    # One embedder per app: its reachability answer is cached for 30 s, so /health polled
    # every second probes Ollama at most twice a minute.
    embedder = embedder_for(settings)
    reported = _REPORTED[role]
    required = set(_REQUIRED[role])
    if agents.route_to_registry:  # the agents are reached through the registry: it must work
        required |= {"registry", "agents"}

    @router.get("/health", response_model=HealthResponse, tags=["health"],
                summary="Service and dependency status")
    def health(request: Request) -> HealthResponse:
        """200 always. `degraded` when a dependency this role needs fails (see `problems`);
        Ollama is optional (BM25 without it) and is reported, not required. Paths, hosts and
        errors are shown to callers on this machine only; others see each dependency's
        status (`local_callers.statuses_only`)."""
        deps: dict[str, dict[str, Any]] = {}
        checks = {"journeys": lambda: _check_journeys(settings),
                  "catalog": lambda: _check_catalog(settings),
                  "ollama": lambda: _check_ollama(settings, embedder),
                  "sop": lambda: _check_sop(settings, deps.get("ollama")),
                  "chroma": lambda: _check_chroma(settings),
                  "registry": lambda: _check_registry(settings, agents),
                  "agents": lambda: _check_agents(agents, deps.get("registry"))}
        for name in reported:
            try:
                deps[name] = checks[name]()
            except Exception as e:  # noqa: BLE001 — health reports, never raises
                deps[name] = {"ok": False, "reason": _reason(e)}
        problems = [name for name in reported
                    if name in required and deps[name].get("ok") is False]
        answer = HealthResponse(status="degraded" if problems else "ok", version=__version__,
                                role=role, problems=problems, dependencies=deps)
        return answer if is_local_client(request.scope) else statuses_only(answer)

    # HEAD answers as GET does, without the body (monitors probe with it).
    router.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)

    return router


def _reason(e: BaseException) -> str:
    message = getattr(e, "message", None) or str(e) or type(e).__name__
    return str(message)[:300]


def _check_journeys(settings: Settings) -> dict[str, Any]:
    """Opens the store (which creates it) and proves it can be written."""
    path: Path = settings.db_path
    try:
        store = JourneyStore(path)
        store.count()
        with open(path, "ab"):  # readable is not enough: a journey must be storable
            pass
    except Exception as e:  # noqa: BLE001 — health reports, never raises
        return {"ok": False, "path": str(path), "reason": _reason(e)}
    return {"ok": True, "path": str(path)}


def _check_catalog(settings: Settings) -> dict[str, Any]:
    try:
        return {"ok": True, "sources": len(load_user_catalog(settings))}
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "sources": 0, "reason": _reason(e)}


def _check_ollama(settings: Settings, embedder: Any) -> dict[str, Any]:
    """The embedder's status (`EmbedderStatus`: ok, off, unreachable, model_missing, failed)
    with the booleans older clients read."""
    a = embedding_status(embedder)
    reachable = {EmbedderStatus.off: None, EmbedderStatus.unreachable: False}.get(a.status, True)
    present = {EmbedderStatus.ok: True, EmbedderStatus.model_missing: False}.get(a.status)

    chat = OllamaChat(settings).availability()  # cached: /health does not probe every time
    return {"ok": a.ok, "status": a.status.value, "host": settings.ollama_host,
            "model": settings.embed_model, "reachable": reachable, "model_present": present,
            "note": a.reason or None,
            "chat": {"status": chat.status.value, "model": settings.chat_model,
                     "engine": "llm" if chat.ok else "rules", "note": chat.reason or None}}


def _check_chroma(settings: Settings) -> dict[str, Any]:
    """The embedded Chroma directory: usable when it is a writable directory, or when it does
    not exist yet but can be created (it is made on the first embedded runbook)."""
    path = settings.sop_dir / "chroma"
    exists = path.exists()
    if exists:
        usable = path.is_dir() and os.access(path, os.R_OK | os.W_OK | os.X_OK)
        note = None if usable else "not a writable directory"
    else:
        parent = next((p for p in path.parents if p.exists()), None)
        usable = parent is not None and parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
        note = "created on the first embedded runbook" if usable else \
            f"cannot be created under {parent}"
    return {"ok": usable, "path": str(path), "exists": exists, "note": note}


def _check_registry(settings: Settings, agents: AppAgents) -> dict[str, Any]:
    """The registry file is readable (a missing file is an empty registry) and the static
    agents' configuration parses."""
    path: Path = settings.registry_path
    base = {"path": str(path), "exists": path.exists(), "mode": settings.agents}
    try:
        entries = agents.registry().entries()
    except Exception as e:  # noqa: BLE001 — a corrupt file, bad A2A_STATIC_AGENTS_JSON, …
        return {**base, "ok": False, "agents": None, "reason": _reason(e),
                "hint": getattr(e, "hint", None)}
    static = sum(1 for e in entries if e.origin == "static")
    return {**base, "ok": True, "agents": len(entries), "static": static,
            "registered": len(entries) - static}


def _agent_status(healthy: bool | None) -> str:
    return "unchecked" if healthy is None else "healthy" if healthy else "unhealthy"


def _check_agents(agents: AppAgents, registry: dict[str, Any] | None) -> dict[str, Any]:
    """Each registered agent as its last health check left it; in local mode, also the agents
    of this process. `ok` is false when a registered agent failed its last check — or, when
    agents are reached through the registry, when an agent a journey needs has no usable
    entry (`missing`)."""
    local = [] if agents.route_to_registry else list(AGENT_NAMES)
    if registry is not None and registry.get("ok") is False:
        return {"ok": False, "local": local, "registered": [], "missing": [],
                "reason": "the registry cannot be read (see registry)"}
    entries = agents.registry().entries()
    listed = [{"id": e.id, "name": e.name, "url": e.url, "origin": e.origin,
               "status": _agent_status(e.healthy), "checked_at": _iso(e.checked_at),
               "last_error": e.last_error} for e in entries]
    unhealthy = [a["name"] for a in listed if a["status"] == "unhealthy"]
    usable = {e.name for e in entries if e.healthy is not False}
    missing = [n for n in AGENT_NAMES if n not in usable] if agents.route_to_registry else []
    out: dict[str, Any] = {"ok": not unhealthy and not missing, "local": local,
                           "registered": listed, "missing": missing}
    reasons = ([f"unhealthy: {', '.join(unhealthy)}"] if unhealthy else []) + \
        ([f"no usable agent named {', '.join(missing)}"] if missing else [])
    if reasons:
        out["reason"] = "; ".join(reasons)
    return out


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _check_sop(settings: Settings, ollama: dict[str, Any] | None) -> dict[str, Any]:
    """The runbook store: how many documents, and which search mode a search gets now."""
    if not settings.sop:
        return {"ok": True, "documents": None, "mode": "off",
                "note": "runbooks and known errors are switched off (LEXIQUERY_SOP=0)"}
    ollama = ollama or {}
    mode, note = ("hybrid", None) if ollama.get("status") == "ok" else \
        ("bm25", ollama.get("note"))
    if not (settings.sop_dir / "sop.db").exists():
        return {"ok": True, "documents": 0, "mode": mode,
                "note": note or "no runbooks stored yet"}

    try:
        with ProcedureStore(settings, embedder=None) as store:
            documents = len(store.list_documents())
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "documents": None, "mode": mode, "note": _reason(e)}
    return {"ok": True, "documents": documents, "mode": mode, "note": note}


__all__ = ["health_router", "query_router"]
