"""The core API routes: ask a question, read journeys, and the health of the dependencies.

    POST /api/v1/query                 QueryRequest → Answer (422 + closest_sources when the
                                       question names nothing the catalog knows)
    GET  /api/v1/journeys/{id}         → the stored Answer (404 unknown_journey)
    GET  /api/v1/journeys?limit=N      → newest journeys first (1 ≤ N ≤ 200)
    GET  /health                       → 200 always; status "ok" or "degraded"

Every endpoint is sync on purpose: `ask` blocks (DuckDB, SQLite), and FastAPI runs sync
endpoints on its thread pool, so a long journey never stalls the event loop. Package errors
are turned into HTTP answers by the app's exception handlers (`serve.app`), not here.

(No `from __future__ import annotations` here: the request model is built per settings and
FastAPI must resolve the endpoint's annotation to that local class, not to a string.)
"""

import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from lexiquery import __version__
from lexiquery.answer import Answer
from lexiquery.config import Settings
from lexiquery.serve.api_models import HealthResponse, JourneyRow, query_request_model

UNKNOWN_JOURNEY_HINT = "GET /api/v1/journeys lists the recent journeys"


def query_router(settings: Settings) -> APIRouter:
    """The query, journey and health routes, bound to `settings`."""
    from lexiquery.knowledge.embeddings import embedder_for

    router = APIRouter()
    request_model = query_request_model(settings)
    # One embedder per app: its reachability answer is cached for 30 s, so /health polled
    # every second probes Ollama at most twice a minute.
    embedder = embedder_for(settings)
    journey_lock = threading.Lock()
    journeys_opened: list[Any] = []

    def journeys() -> Any:
        """The journey store, created on first use (creating it makes the schema)."""
        from lexiquery.journeys import JourneyStore

        with journey_lock:
            if not journeys_opened:
                journeys_opened.append(JourneyStore(settings.db_path))
            return journeys_opened[0]

    def query(body: Any) -> Answer:
        """Answer one question with checked KQL, SPL and SQL queries.

        `schema_hints`: when `source` is not given, the first hint the catalog knows is used as
        the source; hints it does not know are named in the answer's notes. An unanswerable
        question is a 422 whose body carries `closest_sources` and the stored `journey_id`."""
        from lexiquery.orchestrator import ask, load_catalog

        source = body.source
        unknown_hints: list[str] = []
        if source is None and body.schema_hints:
            catalog = load_catalog(settings)
            known = [h for h in body.schema_hints if h in catalog]
            unknown_hints = [h for h in body.schema_hints if h not in catalog]
            source = known[0] if known else None
        answer = ask(body.question, platforms=body.platforms, sql_dialect=body.sql_dialect,
                     source=source, settings=settings, sample_check=body.sample_check,
                     sop=body.sop, context=body.context)
        if unknown_hints:
            answer.notes.append("schema hints not in the catalog, ignored: "
                                + ", ".join(unknown_hints))
            _resave(answer)
        return answer

    def _resave(answer: Answer) -> None:
        from lexiquery.errors import StorageError

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

    @router.get("/health", response_model=HealthResponse, tags=["health"],
                summary="Service and dependency status")
    def health() -> HealthResponse:
        """200 always. `degraded` when the journey store, the catalog or the runbook store
        fails; Ollama is optional (BM25 without it) and is reported, not required."""
        deps: dict[str, dict[str, Any]] = {
            "journeys": _check_journeys(settings),
            "catalog": _check_catalog(settings),
        }
        deps["ollama"] = _check_ollama(settings, embedder)
        deps["sop"] = _check_sop(settings, deps["ollama"])
        chroma = settings.sop_dir / "chroma"
        deps["chroma"] = {"path": str(chroma), "exists": chroma.is_dir()}
        deps["registry"] = {"configured": False,
                            "note": "agents over A2A arrive with the registry"}
        required = ("journeys", "catalog", "sop")
        status = "ok" if all(deps[k]["ok"] for k in required) else "degraded"
        return HealthResponse(status=status, version=__version__, dependencies=deps)

    return router


def _reason(e: BaseException) -> str:
    message = getattr(e, "message", None) or str(e) or type(e).__name__
    return str(message)[:300]


def _check_journeys(settings: Settings) -> dict[str, Any]:
    """Opens the store (which creates it) and proves it can be written."""
    from lexiquery.journeys import JourneyStore

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
    from lexiquery.orchestrator import load_catalog

    try:
        return {"ok": True, "sources": len(load_catalog(settings))}
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "sources": 0, "reason": _reason(e)}


def _check_ollama(settings: Settings, embedder: Any) -> dict[str, Any]:
    base = {"host": settings.ollama_host, "model": settings.embed_model}
    if embedder is None:
        return {**base, "reachable": None, "model_present": None,
                "note": "embeddings switched off"}
    try:
        ok, why = embedder.available()
    except Exception as e:  # noqa: BLE001 — available() promises not to raise; health too
        ok, why = False, f"Ollama is not reachable at {settings.ollama_host} ({_reason(e)})"
    if ok:
        return {**base, "reachable": True, "model_present": True, "note": None}
    # `available` answers in words; the one case with a reachable server is a missing model.
    missing = "is not installed" in why
    return {**base, "reachable": missing, "model_present": False if missing else None,
            "note": why}


def _check_sop(settings: Settings, ollama: dict[str, Any]) -> dict[str, Any]:
    """The runbook store: how many documents, and which search mode a search gets now."""
    if not settings.sop:
        return {"ok": True, "documents": None, "mode": "off",
                "note": "runbooks and known errors are switched off (LEXIQUERY_SOP=0)"}
    mode, note = ("hybrid", None) if ollama["reachable"] and ollama["model_present"] else \
        ("bm25", ollama["note"])
    if not (settings.sop_dir / "sop.db").exists():
        return {"ok": True, "documents": 0, "mode": mode,
                "note": note or "no runbooks stored yet"}
    from lexiquery.knowledge.store import ProcedureStore

    try:
        with ProcedureStore(settings, embedder=None) as store:
            documents = len(store.list_documents())
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "documents": None, "mode": mode, "note": _reason(e)}
    return {"ok": True, "documents": documents, "mode": mode, "note": note}


__all__ = ["query_router"]
