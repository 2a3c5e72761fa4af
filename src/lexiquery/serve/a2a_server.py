"""An `Agent` served over A2A 1.0 (a2a-sdk): its card, the JSON-RPC and HTTP+JSON bindings.

The wire contract (what `registry.a2a_client.A2AHandle` sends and reads; the constants both
sides share are in `registry.a2a_wire`):

* request: a message with one data part ``{"skill": <id>, "input": {...}}``; a data part
  without ``"skill"`` is the input of the agent's text skill; plain text goes to
  `Agent.text_input` (a person or a generic A2A client typing a question);
* success: the task goes SUBMITTED → WORKING → COMPLETED with one artifact, named after the
  skill, holding one data part: the skill's result (`Agent.run`'s dict);
* refusal (a `LexiQueryError`): FAILED, with a status message holding a data part
  ``{"error": errors.error_payload(e)}`` (which rebuilds the same error class on the caller's
  side) and a text part with the message for people;
* anything else: FAILED with "internal error in <agent>" (the traceback goes to this server's
  log, never over the wire).

Routes (`add_agent_routes`): the card at ``{prefix}/.well-known/agent-card.json``, JSON-RPC at
``{prefix}`` (``/`` when the prefix is empty), REST at ``{prefix}/message:send``,
``{prefix}/tasks/{id}`` …. The SDK's REST factory also returns a ``Mount('/{tenant}')`` for
multi-tenant paths; it is left out on purpose: that mount matches *every* two-segment path
(``/agents/data-spl/…``, ``/api/v1/…``), so it would shadow the routes of every other agent and
of the API mounted after it. LexiQuery serves no tenants.

Protobuf `Value` stores every number as a double, so a data part turns ``5`` into ``5.0``;
`json_numbers` turns integral floats back into ints on both sides, so the dicts that cross the
wire equal the ones an in-process `LocalHandle` passes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

# a2a-sdk's OpenTelemetry spans are switched off in lexiquery/__init__.py, before any a2a import.
from a2a.helpers import new_data_part, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import (
    add_a2a_routes_to_fastapi,
    create_agent_card_routes,
    create_jsonrpc_routes,
    create_rest_routes,
)
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Message,
    Part,
    Task,
    TaskState,
    TaskStatus,
)
from fastapi import FastAPI
from google.protobuf.json_format import MessageToDict
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from lexiquery.agents.base import Agent
from lexiquery.config import Settings
from lexiquery.errors import AgentError, InputError, LexiQueryError, error_payload
from lexiquery.registry.a2a_wire import (
    CARD_PATH,
    HTTP_JSON,
    JSONRPC,
    MODES,
    PROTOCOL_VERSION,
    json_numbers,
)
from lexiquery.serve.browser import install
from lexiquery.serve.request_limits import add_request_limits
from lexiquery.version import __version__

# a2a-sdk's OpenTelemetry spans are switched off in lexiquery/__init__.py, before any a2a import.



logger = logging.getLogger(__name__)

MAX_TASKS = 1000  # finished tasks kept per agent for GetTask; older ones are forgotten
STREAMING = True  # SendStreamingMessage and POST /message:stream are served (SSE)



def agent_url(base_url: str, prefix: str = "") -> str:
    """The address an agent mounted at `prefix` of a server at `base_url` advertises."""
    return base_url.rstrip("/") + _norm_prefix(prefix)


def agent_card(agent: Agent, base_url: str) -> AgentCard:
    """The A2A card of `agent` served at `base_url` (the agent's own address, prefix included:
    both bindings live there, the card at ``base_url + /.well-known/agent-card.json``).

    Skill tags are the `SkillSpec` tags (data agents' ``platform:<p>`` included: discovery by
    platform reads them)."""
    url = base_url.rstrip("/")
    skills = [AgentSkill(id=s.id, name=s.name, description=s.description, tags=list(s.tags),
                         examples=list(s.examples), input_modes=MODES, output_modes=MODES)
              for s in agent.skills]
    return AgentCard(
        name=agent.name, description=agent.description, version=__version__,
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding=JSONRPC, protocol_version=PROTOCOL_VERSION),
            AgentInterface(url=url, protocol_binding=HTTP_JSON,
                           protocol_version=PROTOCOL_VERSION)],
        capabilities=AgentCapabilities(streaming=STREAMING, push_notifications=False),
        default_input_modes=MODES, default_output_modes=MODES, skills=skills)


# ── the executor ─────────────────────────────────────────────────────────────────────────────

def read_request(agent: Agent, message: Message | None) -> tuple[str, dict[str, Any]]:
    """The (skill, payload) a message asks for; `InputError` when it asks for nothing usable."""
    if message is None:
        raise InputError(f"the {agent.name} agent received no message")
    data = [json_numbers(MessageToDict(p.data)) for p in message.parts if p.HasField("data")]
    for d in data:
        if isinstance(d, dict) and "skill" in d:
            payload = d.get("input", {})
            if not isinstance(payload, dict):
                raise InputError(f'{agent.name}: "input" must be a JSON object, not '
                                 f"{type(payload).__name__}")
            return str(d["skill"]), payload
    for d in data:
        if isinstance(d, dict):
            if agent.text_skill is None:
                raise InputError(f'{agent.name}: a data part needs "skill" (one of '
                                 + ", ".join(s.id for s in agent.skills) + ")")
            return agent.text_skill, d
    text = "\n".join(p.text for p in message.parts if p.HasField("text")).strip()
    if text:
        return agent.text_input(text)
    raise InputError(f"the {agent.name} agent received an empty message",
                     hint='send a data part {"skill": ..., "input": {...}} or a text part')


def error_parts(e: LexiQueryError) -> list[Part]:
    """The status message parts of a refusal: the error as data (it rebuilds the same class on
    the caller's side) and its message as text."""
    payload = error_payload(e)
    try:
        data = new_data_part({"error": payload})
    except Exception:  # an issue holding a value JSON cannot carry: carry its text instead
        data = new_data_part({"error": json.loads(json.dumps(payload, default=str))})
    return [data, new_text_part(e.message)]


class AgentTaskExecutor(AgentExecutor):
    """Runs one `Agent` skill per A2A task (see the module docstring for states and parts)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = str(context.task_id), str(context.context_id)
        if context.current_task is None:
            # The handler refuses status events for a task nobody announced.
            task = Task(id=task_id, context_id=context_id,
                        status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED))
            if context.message is not None:
                task.history.append(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task_id, context_id)
        await updater.start_work()
        try:
            skill, payload = read_request(self.agent, context.message)
            # A worker thread: the skills are synchronous (DuckDB, Chroma, the rules engine)
            # and the event loop must keep serving other tasks and health checks meanwhile.
            result = await asyncio.to_thread(self.agent.run, skill, payload)
            part = new_data_part(result)
        except LexiQueryError as e:
            await updater.failed(updater.new_agent_message(error_parts(e)))
            return
        except Exception:
            logger.exception("internal error in the %s agent", self.agent.name)
            err = AgentError(f"internal error in {self.agent.name}", agent=self.agent.name,
                             code="agent_failed", hint="the agent's server log has the details")
            await updater.failed(updater.new_agent_message(error_parts(err)))
            return
        await updater.add_artifact([part], name=skill)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        # The worker thread of a running skill cannot be stopped; its result is dropped.
        updater = TaskUpdater(event_queue, str(context.task_id), str(context.context_id))
        await updater.cancel()


class BoundedTaskStore(InMemoryTaskStore):
    """`InMemoryTaskStore` that forgets the oldest tasks past `max_tasks`: a long-running agent
    (the benchmark sends thousands of tasks) must not grow without bound."""

    def __init__(self, max_tasks: int = MAX_TASKS) -> None:
        super().__init__()
        self.max_tasks = max_tasks
        self._order: OrderedDict[str, ServerCallContext] = OrderedDict()

    async def save(self, task: Task, context: ServerCallContext) -> None:
        await super().save(task, context)
        self._order[task.id] = context
        self._order.move_to_end(task.id)
        while len(self._order) > self.max_tasks:
            old_id, old_context = self._order.popitem(last=False)
            await super().delete(old_id, old_context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        self._order.pop(task_id, None)
        await super().delete(task_id, context)


# ── routes ───────────────────────────────────────────────────────────────────────────────────

def _norm_prefix(prefix: str) -> str:
    prefix = prefix.strip()
    if not prefix or prefix == "/":
        return ""
    return "/" + prefix.strip("/")


@dataclass
class AgentRoutes:
    """One agent's card, routes and request handler (shared by both bindings: a task sent over
    JSON-RPC can be read over REST)."""

    card: AgentCard
    handler: DefaultRequestHandler
    card_routes: list[BaseRoute]
    rpc_routes: list[BaseRoute]
    rest_routes: list[BaseRoute]


def agent_routes(agent: Agent, base_url: str, prefix: str = "") -> AgentRoutes:
    """The card and A2A routes of `agent` under `prefix` of a server at `base_url`."""
    prefix = _norm_prefix(prefix)
    card = agent_card(agent, agent_url(base_url, prefix))
    handler = DefaultRequestHandler(agent_executor=AgentTaskExecutor(agent),
                                    task_store=BoundedTaskStore(), agent_card=card)
    rest = [r for r in create_rest_routes(handler, path_prefix=prefix)
            if not isinstance(r, Mount)]  # the tenant mount: see the module docstring
    return AgentRoutes(card=card, handler=handler,
                       card_routes=create_agent_card_routes(card, card_url=prefix + CARD_PATH),
                       rpc_routes=create_jsonrpc_routes(handler, rpc_url=prefix or "/"),
                       rest_routes=rest)


def add_agent_routes(app: FastAPI | Starlette, agent: Agent, base_url: str,
                     prefix: str = "") -> AgentCard:
    """Mount `agent` on `app` under `prefix` ("" for an agent alone, ``/agents/<name>`` in the
    single-process server). `base_url` is the server's address (``http://host:port``, or the
    configured public URL); the card advertises ``base_url + prefix``. Returns the card.

    The request handlers are kept in ``app.state.a2a_handlers``: the app's lifespan should
    ``await close_agent_routes(app)`` at shutdown, so tasks still running are drained instead
    of left pending. The A2A paths never overlap the API's (``/api/…``, ``/mcp``, ``/health``)."""
    routes = agent_routes(agent, base_url, prefix)
    if isinstance(app, FastAPI):
        # Re-registered as FastAPI routes, so they are listed (and typed) at /docs.
        add_a2a_routes_to_fastapi(app, agent_card_routes=routes.card_routes,
                                  jsonrpc_routes=routes.rpc_routes,
                                  rest_routes=routes.rest_routes)
    else:
        app.router.routes.extend([*routes.card_routes, *routes.rpc_routes, *routes.rest_routes])
    if not hasattr(app.state, "a2a_handlers"):
        app.state.a2a_handlers = []
    app.state.a2a_handlers.append(routes.handler)
    return routes.card


async def close_agent_routes(app: FastAPI | Starlette) -> None:
    """Drain and close the request handlers `add_agent_routes` mounted on `app` (its lifespan's
    shutdown). Safe to call more than once."""
    for handler in getattr(app.state, "a2a_handlers", []):
        try:
            await handler.aclose()
        except Exception:  # noqa: BLE001 — one agent's shutdown must not stop the others'
            logger.exception("closing an A2A request handler failed")


def agent_app(agent: Agent, settings: Settings, base_url: str) -> FastAPI:
    """One agent alone (`lexiquery serve --agent NAME`): its A2A routes at the root and
    ``GET /health`` → ``{"status": "ok", "agent": name}``. Request bodies over
    `settings.max_request_bytes` are refused with 413, and `browser.install` adds the security
    headers and refuses cross-origin writes, as on the main app. Callers build the agent
    (`agents.local.build_agent(name, settings)`)."""
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await close_agent_routes(app)

    app = FastAPI(title=f"LexiQuery agent {agent.name}", version=__version__,
                  description=agent.description, docs_url="/docs", openapi_url="/openapi.json",
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.agent = agent

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "agent": agent.name}

    app.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)

    app.state.card = add_agent_routes(app, agent, settings.public_url or base_url)
    add_request_limits(app, settings.max_request_bytes)

    install(app, settings, base_url)  # security headers; cross-origin JSON-RPC from a web page refused
    return app


__all__ = ["AgentRoutes", "AgentTaskExecutor", "BoundedTaskStore", "agent_app", "agent_card",
           "agent_routes", "agent_url", "add_agent_routes", "close_agent_routes", "error_parts",
           "json_numbers", "read_request"]
