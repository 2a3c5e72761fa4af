"""The HTTP application: `create_app(settings, role=...)` builds one FastAPI app (no
module-level app). OpenAPI at `/docs` and `/openapi.json`.

Roles (one code base, the fleet's services; `lexiquery serve --role`):
  * ``all`` (default, the single process): the query API and journeys, the runbook and
    known-errors routes, the protocol interface (`/a2a/*`), `/mcp`, and every agent mounted
    under ``/agents/<name>`` with its own card;
  * ``core``: the query API and journeys (the caller sets ``settings.agents = "registry"`` so
    the orchestrator reaches the fleet through the registry);
  * ``registry``: the protocol interface (`/a2a/*`) and `/mcp`;
  * ``sop``: the runbook and known-errors routes.
Every role serves `/health`. Roles with a registry (all, core, registry) check the registered
agents' health every ``settings.health_interval_s`` in the lifespan.

Every response passes `browser.BrowserSafety` (security headers; state-changing requests from
another web origin refused with 403 ``cross_origin``; CORS only for configured origins). Roles
serving the registry routes make the admin key (`admin.ensure_admin_key`) when they start.

Every failure has one body shape, `{error, message, hint?, issues}`:
  * a `LexiQueryError` → the status of `procedures.error_response` (the one mapping), plus the
    `journey_id` when the journey was stored and `closest_sources` for an unanswerable question;
  * a request that does not match its schema → 422 `bad_request` naming each field;
  * a body over ``settings.max_request_bytes`` → 413 `too_large` (uploads under
    `/api/v1/procedures/upload` keep their own, larger limits), and a JSON body nesting deeper
    than `limits.MAX_BODY_JSON_DEPTH` → 400 `bad_request` (`serve/request_limits.py`);
  * an unknown route or method → 404 / 405 in the same shape; an admin route refused → 403
    ``admin_required`` (`admin.AdminRefused`);
  * anything unexpected → 500 `internal_error`, with no traceback in the body (the server log
    has it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lexiquery.agents.local import build_agents
from lexiquery.agents.resources import Resources
from lexiquery.config import Settings, get_settings
from lexiquery.errors import LexiQueryError
from lexiquery.registry.a2a_client import close_shared_http
from lexiquery.serve.a2a_server import add_agent_routes, close_agent_routes
from lexiquery.serve.admin import ensure_admin_key
from lexiquery.serve.api_models import AppRole
from lexiquery.serve.browser import install
from lexiquery.serve.mcp_server import create_mcp_server, transport_security
from lexiquery.serve.procedures import (
    error_response,
    errors_router,
    procedures_router,
    validation_body,
)
from lexiquery.serve.request_limits import add_request_limits
from lexiquery.serve.routes_agents import AppAgents, agents_router
from lexiquery.serve.routes_cost import cost_router
from lexiquery.serve.routes_query import health_router, query_router
from lexiquery.version import __version__

log = logging.getLogger(__name__)

MAX_JSON_BODY = Settings.model_fields["max_request_bytes"].default  # the default limit, bytes
UPLOAD_PREFIX = "/api/v1/procedures/upload"  # bounded by the procedures router itself
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
ROLES: tuple[str, ...] = ("all", "core", "registry", "sop")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request",
               403: "forbidden", 413: "too_large"}


def create_app(settings: Settings | None = None, *, role: AppRole = "all",
               base_url: str = DEFAULT_BASE_URL, bind_host: str | None = None) -> FastAPI:
    """A LexiQuery HTTP app of `role` bound to `settings` (default: from the environment).

    `base_url` is the address the server is reached at (``http://host:port``): agent cards
    advertise ``settings.public_url`` when it is set, else this. `bind_host` is the address the
    server listens on (``serve --host``; None: the host of `base_url`): `/mcp` accepts the Host
    headers of loopback, `base_url`, the public URL and `bind_host` — and any, when bound to
    every interface (0.0.0.0, ::) with no public URL (see `mcp_server.transport_security`)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    settings = settings or get_settings()
    advertised = (settings.public_url or base_url).rstrip("/")

    agents = AppAgents(settings, route_to_registry=role == "registry")
    # One catalog, runbook store, known-errors base and sandbox for the server's life, shared
    # by its journeys and its in-process agents (rebuilt when the catalog files change).
    resources = Resources(settings)
    mcp_server = None
    if role in ("all", "registry"):
        mcp_server = create_mcp_server(settings, agents=agents)

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if mcp_server is not None:
                # A mounted Starlette app's own lifespan never runs: ours runs its sessions.
                await stack.enter_async_context(mcp_server.session_manager.run())
            if role in ("all", "registry"):  # the admin routes' key exists from the start
                try:
                    await asyncio.to_thread(ensure_admin_key, settings.data_dir)
                except LexiQueryError as e:  # the admin routes say it again, per request
                    log.warning("the admin key could not be made: %s", e.message)
            checker = None
            if role != "sop":
                checker = asyncio.create_task(health_loop(agents, settings.health_interval_s))
            served.state.health_task = checker  # visible to tests: it must end with the app
            try:
                yield
            finally:
                if checker is not None:
                    checker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await checker
                # Drain the mounted agents' tasks and close the pooled A2A connections.

                await close_agent_routes(served)
                await close_shared_http()
                await asyncio.to_thread(resources.close)

    app = FastAPI(title="LexiQuery", version=__version__, lifespan=lifespan,
                  description="Plain-English questions to checked KQL, SPL and SQL queries, "
                              "computed on your own machine.",
                  docs_url="/docs", openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.role = role
    app.state.agents = agents
    app.include_router(health_router(settings, role=role, agents=agents))
    if role in ("all", "core"):
        app.include_router(query_router(settings, resources))

        app.include_router(cost_router(settings))
    if role in ("all", "sop"):
        app.include_router(procedures_router(settings))
        app.include_router(errors_router(settings))
    if role in ("all", "registry"):
        app.include_router(agents_router(agents))
    if role == "all":
        _mount_agents(app, agents, resources, advertised)
    if mcp_server is not None:
        mcp_app = mcp_server.streamable_http_app(
            transport_security=transport_security(base_url, settings.public_url, bind_host))
        app.router.routes.extend(mcp_app.routes)  # the exact path /mcp (a Mount would redirect)
    app.add_exception_handler(LexiQueryError, _package_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
    add_request_limits(app, settings.max_request_bytes, exempt=(UPLOAD_PREFIX,))

    install(app, settings, base_url, bind_host)
    return app


def _mount_agents(app: FastAPI, agents: AppAgents, resources: "Resources",
                  base_url: str) -> None:
    """Every real agent under ``/agents/<name>``, each with its own card; the same agent
    objects answer `/a2a/task/invoke` in local mode."""
    built = build_agents(resources.settings, resources)
    agents.set_local_agents(built)
    for name, agent in built.items():
        add_agent_routes(app, agent, base_url, prefix=f"/agents/{name}")


async def health_loop(agents: AppAgents, interval_s: float) -> None:
    """`Registry.check_health()` now and every `interval_s` until cancelled. A failing check
    (a corrupt registry file, a bad A2A_STATIC_AGENTS_JSON) is logged and tried again next
    time: /health reports it; the server keeps serving."""
    while True:
        try:
            registry = await asyncio.to_thread(agents.registry)
            await registry.check_health()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 — a background check must never end the server
            log.warning("agent health check failed: %s", getattr(e, "message", None) or e)
        await asyncio.sleep(interval_s)


# ── exception handlers ───────────────────────────────────────────────────────────────────────

def package_error_body(error: LexiQueryError) -> tuple[int, dict[str, Any]]:
    """Status and body of a package error at the HTTP edge (`error_response` + journey id)."""
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
    return JSONResponse(validation_body(error), status_code=422)


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    # An exception of ours (admin.AdminRefused) brings its own code and hint.
    code = getattr(error, "error_code", None) or _HTTP_CODES.get(error.status_code, "http_error")
    message = str(error.detail) if error.detail else code.replace("_", " ")
    if error.status_code == 404:
        message = f"no route {request.method} {request.url.path}"
    body = {"error": code, "message": message,
            "issues": [{"code": code, "message": message}],
            "hint": getattr(error, "hint", None) or "the routes are listed at /docs"}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    # The traceback goes to the server log (Starlette re-raises after this response); the
    # client learns what kind of failure it was, never the code paths or local values.
    message = f"an unexpected {type(error).__name__} occurred; the server log has the details"
    return JSONResponse({"error": "internal_error", "message": message,
                         "issues": [{"code": "internal_error", "message": message}]},
                        status_code=500)
