"""The protocol interface's routes: the agent registry over HTTP and one skill call by name.

    GET    /a2a/agents/discover?skill=&platform=&name=&healthy=   → [AgentEntry]
    POST   /a2a/agents/register   {"url": str}          (admin)   → 201 AgentEntry
    DELETE /a2a/agents/{id}       (id or name)          (admin)   → 204
    POST   /a2a/task/invoke       {"agent", "skill", "input"}     → the skill's result (JSON)

Registering and removing are admin operations (`admin.require_admin`: a caller on this machine
with the key of ``<data_dir>/admin.key``), refused with 403 ``admin_required`` otherwise.

Refusals are package errors mapped by `procedures.error_response` (the one mapping): a refused
registration (bad scheme, host not allowed, card too large, too deep or not a card, a card not
served from the registered origin) is 400 with the reason; a name already held by a static
agent, by an agent this server runs in-process or by a registered agent at another origin is
409 ``name_taken``; an unknown agent 404, a static agent (from A2A_STATIC_AGENTS_JSON) cannot be
deleted: 409; an agent that cannot be reached is 503, one that is too slow 504, a reply that
breaks its contract 502. What the agent itself refused (bad input, an unanswerable question)
keeps its own status (422).

Who answers `/a2a/task/invoke`: with ``settings.agents == "local"`` the agent built in this
process (the single-process server); otherwise — and always in the ``registry`` role, whose job
is routing to the fleet — the registry's handle for that name (`Registry.handle`).

Registry reads and writes are file I/O under a lock that another process may hold, so they run
on the thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from lexiquery.agents.contracts import AGENT_NAMES
from lexiquery.agents.handles import LocalHandle
from lexiquery.agents.local import build_agents
from lexiquery.config import Settings
from lexiquery.errors import AgentError
from lexiquery.registry.registry import AgentEntry, Registry
from lexiquery.serve.admin import require_admin
from lexiquery.serve.api_models import InvokeRequest, RegisterRequest

if TYPE_CHECKING:
    from lexiquery.agents.base import Agent
    from lexiquery.agents.handles import AgentHandle

DISCOVER_HINT = "GET /a2a/agents/discover lists the registered agents"
# The local agents get the same bound as a remote call, plus a little for the thread hop: an
# invoke never hangs, wherever the agent runs.
TIMEOUT_SLACK_S = 1.0


class AppAgents:
    """What one app shares about agents: its registry (opened on first use, so a malformed
    A2A_STATIC_AGENTS_JSON is an error of the request or a field of /health, never a server
    that does not start) and, in local mode, the in-process agents (built once)."""

    def __init__(self, settings: Settings, *, route_to_registry: bool = False) -> None:
        self.settings = settings
        self.route_to_registry = route_to_registry or settings.agents == "registry"
        self._registry: Registry | None = None
        self._local: dict[str, Agent] | None = None
        self._lock = threading.Lock()

    def registry(self) -> Registry:
        with self._lock:
            if self._registry is None:
                self._registry = Registry(self.settings)
            return self._registry

    def local_agents(self) -> dict[str, Agent]:
        """The in-process agents, built on first use (building reads the catalog)."""
        with self._lock:
            if self._local is None:
                self._local = build_agents(self.settings)
            return self._local

    def set_local_agents(self, agents: dict[str, Agent]) -> None:
        """The agents the app already built (and mounted): shared, not built twice."""
        with self._lock:
            self._local = dict(agents)

    def reserved_names(self) -> frozenset[str]:
        """The names this app answers in-process (none when it routes through the registry):
        no registration may take them."""
        if self.route_to_registry:
            return frozenset()

        with self._lock:
            built = set(self._local) if self._local is not None else set()
        return frozenset(AGENT_NAMES) | built

    def handle(self, name: str) -> AgentHandle:
        """The handle `/a2a/task/invoke` calls; `AgentError(unknown_agent)` when none."""
        if not self.route_to_registry:
            agent = self.local_agents().get(name)
            if agent is None:
                raise AgentError(f"no agent named {name!r} in this process; agents are: "
                                 + ", ".join(sorted(self.local_agents())),
                                 agent=name, code="unknown_agent")
            return LocalHandle(agent)
        handle = self.registry().handle(name)
        if handle is None:
            raise AgentError(f"no agent named {name!r} is registered",
                             agent=name, code="unknown_agent", hint=DISCOVER_HINT)
        return handle


def agents_router(agents: AppAgents) -> APIRouter:
    """The `/a2a/*` routes over `agents`' registry and handles."""
    router = APIRouter(prefix="/a2a", tags=["agents"])
    settings = agents.settings
    admin = [Depends(require_admin(settings))]

    @router.get("/agents/discover", summary="Registered agents, filtered",
                response_model=list[AgentEntry])
    async def discover(
        skill: str | None = Query(None, max_length=200, description="Only agents with this skill"),
        platform: str | None = Query(None, max_length=20,
                                     description="Only data agents for this platform (kql, "
                                                 "spl, sql)"),
        name: str | None = Query(None, max_length=200, description="Only agents of this name"),
        healthy: bool = Query(False, description="Only agents whose last health check passed "
                                                 "(or that were not checked yet)"),
    ) -> Any:
        registry = await run_in_threadpool(agents.registry)
        return await run_in_threadpool(lambda: registry.discover(
            skill=skill, platform=platform, name=name, healthy_only=healthy))

    @router.post("/agents/register", status_code=201, response_model=AgentEntry,
                 summary="Register an agent by its base URL (its card is fetched and checked; "
                         "admin: this machine and the admin key)", dependencies=admin,
                 responses={400: {"description": "Registration refused, with the reason"},
                            403: {"description": "Not from this machine, or no/wrong admin key"},
                            409: {"description": "The card's agent name is taken"}})
    async def register(body: RegisterRequest) -> Any:
        registry = await run_in_threadpool(agents.registry)
        return await registry.register(body.url.strip(), reserved=agents.reserved_names())

    @router.delete("/agents/{agent_id}", status_code=204, response_class=Response,
                   summary="Remove a registered agent (by id or name; admin)",
                   dependencies=admin,
                   responses={403: {"description": "Not from this machine, or no/wrong admin "
                                                   "key"},
                              404: {"description": "No such agent"},
                              409: {"description": "A static agent (A2A_STATIC_AGENTS_JSON)"}})
    async def remove(agent_id: str) -> Response:
        registry = await run_in_threadpool(agents.registry)

        await run_in_threadpool(registry.remove, agent_id)  # unknown_agent 404, static_agent 409
        return Response(status_code=204)

    @router.post("/task/invoke", response_model=dict[str, Any],
                 summary="Call one skill of one agent by name",
                 responses={404: {"description": "No such agent"},
                            502: {"description": "The agent's reply broke its contract"},
                            503: {"description": "The agent cannot be reached"},
                            504: {"description": "The agent did not answer in time"}})
    async def invoke(body: InvokeRequest) -> dict[str, Any]:
        handle = await run_in_threadpool(agents.handle, body.agent)
        timeout = settings.agent_timeout_s + TIMEOUT_SLACK_S
        try:
            return await asyncio.wait_for(handle.call(body.skill, body.input), timeout)
        except TimeoutError as e:  # the handle's own bound did not fire: ours does
            raise AgentError(f"the {body.agent} agent ({handle.where}) did not answer "
                             f"{body.skill} within {timeout:g} s", agent=body.agent,
                             code="agent_timeout", retryable=True,
                             hint="raise LEXIQUERY_AGENT_TIMEOUT_S or check the agent") from e

    return router


__all__ = ["AppAgents", "agents_router"]
