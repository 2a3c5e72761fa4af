"""The HTTP application: `create_app(settings)` builds one FastAPI app (no module-level app).

Mounted: the query, journey and health routes (`routes_query`), the runbook and known-errors
routes (`procedures`). OpenAPI at `/docs` and `/openapi.json`.

Every failure has one body shape, `{error, message, hint?, issues}`:
  * a `LexiQueryError` → the status of `procedures.error_response` (the one mapping), plus the
    `journey_id` when the journey was stored and `closest_sources` for an unanswerable question;
  * a request that does not match its schema → 422 `bad_request` naming each field;
  * a body over `MAX_JSON_BODY` bytes → 413 `too_large` (uploads under
    `/api/v1/procedures/upload` keep their own, larger limits);
  * an unknown route or method → 404 / 405 in the same shape;
  * anything unexpected → 500 `internal_error`, with no traceback in the body (the server log
    has it).
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lexiquery import __version__
from lexiquery.config import Settings, get_settings
from lexiquery.errors import LexiQueryError

MAX_JSON_BODY = 1024 * 1024  # bytes; a question, its context and options fit many times over
UPLOAD_PREFIX = "/api/v1/procedures/upload"  # bounded by the procedures router itself
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request",
               413: "too_large"}


def create_app(settings: Settings | None = None) -> FastAPI:
    """A complete LexiQuery HTTP app bound to `settings` (default: from the environment)."""
    from lexiquery.serve.procedures import errors_router, procedures_router
    from lexiquery.serve.routes_query import query_router

    from lexiquery.serve.mcp_server import create_mcp_server

    settings = settings or get_settings()
    # MCP over streamable HTTP at /mcp. A mounted Starlette app's own lifespan never runs, so
    # the session manager is run by ours; one MCP server per app (its manager runs once).
    mcp_server = create_mcp_server(settings)
    mcp_app = mcp_server.streamable_http_app()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with mcp_server.session_manager.run():
            yield

    app = FastAPI(title="LexiQuery", version=__version__, lifespan=lifespan,
                  description="Plain-English questions to checked KQL, SPL and SQL queries, "
                              "computed on your own machine.",
                  docs_url="/docs", openapi_url="/openapi.json")
    app.state.settings = settings
    app.include_router(query_router(settings))
    app.include_router(procedures_router(settings))
    app.include_router(errors_router(settings))
    app.router.routes.extend(mcp_app.routes)  # the exact path /mcp (a Mount would redirect)
    app.add_exception_handler(LexiQueryError, _package_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
    app.add_middleware(BodyLimit, limit=MAX_JSON_BODY, exempt=(UPLOAD_PREFIX,))
    return app


# ── exception handlers ───────────────────────────────────────────────────────────────────────

def package_error_body(error: LexiQueryError) -> tuple[int, dict[str, Any]]:
    """Status and body of a package error at the HTTP edge (`error_response` + journey id)."""
    from lexiquery.serve.procedures import error_response

    status, body = error_response(error)
    journey_id = getattr(error, "journey_id", None)
    if journey_id:
        body["journey_id"] = journey_id
    closest = getattr(error, "closest_sources", None)
    if closest is not None:
        body["closest_sources"] = list(closest)
    return status, body


async def _package_error(request: Request, error: LexiQueryError) -> JSONResponse:
    status, body = package_error_body(error)
    return JSONResponse(body, status_code=status)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    from lexiquery.serve.procedures import validation_body

    return JSONResponse(validation_body(error), status_code=422)


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(error.status_code, "http_error")
    message = str(error.detail) if error.detail else code.replace("_", " ")
    if error.status_code == 404:
        message = f"no route {request.method} {request.url.path}"
    body = {"error": code, "message": message,
            "issues": [{"code": code, "message": message}], "hint": "the routes are listed "
                                                                     "at /docs"}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    # The traceback goes to the server log (Starlette re-raises after this response); the
    # client learns what kind of failure it was, never the code paths or local values.
    message = f"an unexpected {type(error).__name__} occurred; the server log has the details"
    return JSONResponse({"error": "internal_error", "message": message,
                         "issues": [{"code": "internal_error", "message": message}]},
                        status_code=500)


# ── request size guard ───────────────────────────────────────────────────────────────────────

class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, before the app parses them: a
    declared Content-Length over the limit is refused before a byte is read, and the body
    stream is counted as it arrives (a chunked request declares nothing). Paths starting with
    an `exempt` prefix pass untouched (they bound their own bodies)."""

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = ()) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        total, exceeded, started = 0, False, False

        async def counted() -> Message:
            nonlocal total, exceeded
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a half-read body; ours replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            pass
        if exceeded and not started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        message = f"the request body is larger than the limit of {self.limit:,} bytes"
        body = json.dumps({"error": "too_large", "message": message,
                           "issues": [{"code": "too_large", "message": message}],
                           "hint": "send a shorter question or context; runbooks go to "
                                   f"{UPLOAD_PREFIX} as multipart"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
