"""Calling a LexiQuery agent over A2A: `A2AHandle`, the remote twin of `agents.handles.LocalHandle`.

`A2AHandle.call(skill, payload)` sends one non-streaming SendMessage whose only part is the data
``{"skill": skill, "input": payload}`` (the contract of `serve.a2a_server`) and returns the
completed task's artifact data. What can go wrong comes back as the package's errors, never as
an httpx or a2a-sdk exception:

==============================================  ==========================================
what happened                                    raised
==============================================  ==========================================
the task FAILED with an error payload            that error, rebuilt (`error_from_payload`):
                                                 a remote QuestionError is a QuestionError
connection refused / reset, HTTP 5xx, 408, 429   AgentError agent_unavailable, retryable
no answer within ``timeout_s``                   AgentError agent_timeout, retryable
another HTTP status (404: a wrong URL)           AgentError agent_unavailable, not retryable
garbage JSON, no artifact, a non-object result,  AgentError agent_bad_reply, not retryable
a protocol error, a state other than COMPLETED
==============================================  ==========================================

No retries here: the orchestrator retries retryable errors (tenacity), with its own budget.

Cost per call is one HTTP round trip: the card is fetched once and cached on the handle, the a2a
client is built once per handle, and connections are kept open in one pool per event loop that
all handles share (or the caller's `httpx.AsyncClient`, when one is given).
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
import weakref
from typing import Any

import httpx
from a2a.client import A2AClientTimeoutError, ClientCallContext, ClientConfig, ClientFactory
from a2a.client.card_resolver import A2ACardResolver, parse_agent_card
from a2a.client.client import Client
from a2a.helpers import new_data_part
from a2a.types import AgentCard, Message, Role, SendMessageRequest, StreamResponse, TaskState
from a2a.utils.errors import A2AError
from google.protobuf.json_format import MessageToDict

from lexiquery.errors import AgentError, LexiQueryError, error_from_payload
from lexiquery.registry.a2a_wire import HTTP_JSON, JSONRPC, json_numbers

PLATFORM_TAG = "platform:"
_RETRYABLE_STATUS = {408, 429}


# ── cards ────────────────────────────────────────────────────────────────────────────────────

def card_to_dict(card: AgentCard) -> dict[str, Any]:
    """The card as the JSON served at ``/.well-known/agent-card.json`` (camelCase keys)."""
    return MessageToDict(card)


def card_from_dict(d: dict[str, Any]) -> AgentCard:
    """A card from its JSON (also 0.3-style cards, as the SDK's resolver reads them).
    `AgentError` (agent_bad_reply) when it is not a card."""
    try:
        return parse_agent_card(copy.deepcopy(d))
    except Exception as e:  # ParseError, or a TypeError from a structure that is not a card
        raise AgentError(f"not an A2A agent card: {e}", code="agent_bad_reply") from e


def _as_card(card: AgentCard | dict[str, Any]) -> AgentCard:
    return card if isinstance(card, AgentCard) else card_from_dict(card)


def card_skills(card: AgentCard | dict[str, Any]) -> list[str]:
    """The skill ids of a card, in its order."""
    return [s.id for s in _as_card(card).skills]


def card_platforms(card: AgentCard | dict[str, Any]) -> list[str]:
    """The platforms a card's skills are tagged with (``platform:kql`` → ``kql``), deduplicated
    in order; empty for an agent that is not a data agent."""
    out: list[str] = []
    for skill in _as_card(card).skills:
        for tag in skill.tags:
            if tag.startswith(PLATFORM_TAG) and tag[len(PLATFORM_TAG):] not in out:
                out.append(tag[len(PLATFORM_TAG):])
    return out


# ── the handle ───────────────────────────────────────────────────────────────────────────────

# One connection pool per event loop for every handle not given a client of its own: the
# orchestrator builds fresh handles for each journey (`registry.directory`), and they must still
# reuse the open connections of the journeys before them. Keyed weakly: a pool goes away with
# its loop (a sync `lexiquery.ask` runs each journey in its own `asyncio.run`).
_POOLS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = \
    weakref.WeakKeyDictionary()


def shared_http() -> httpx.AsyncClient:
    """The running loop's pool (created on first use)."""
    loop = asyncio.get_running_loop()
    http = _POOLS.get(loop)
    if http is None or http.is_closed:
        # trust_env=False: an agent call never goes through a proxy taken from the environment.
        http = httpx.AsyncClient(trust_env=False, timeout=30.0,
                                 limits=httpx.Limits(max_connections=100,
                                                     max_keepalive_connections=20))
        _POOLS[loop] = http
    return http


async def close_shared_http() -> None:
    """Close the running loop's pool (a server's shutdown; the next call opens a new one)."""
    http = _POOLS.pop(asyncio.get_running_loop(), None)
    if http is not None:
        await http.aclose()


class A2AHandle:
    """An agent reached over A2A at `url` (its base URL: the card is at
    ``url/.well-known/agent-card.json``). Implements `agents.handles.AgentHandle`.

    `card`: the card as JSON when already known (the registry keeps them); fetched on first
    use otherwise, then cached. `http`: the client to use (the caller's to close); without one
    the handle uses the running loop's shared pool (`shared_http`), so a handle is cheap to
    make and needs no closing."""

    def __init__(self, name: str, url: str, card: dict[str, Any] | None = None, *,
                 timeout_s: float, http: httpx.AsyncClient | None = None) -> None:
        self.name = name
        self.where = url
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._card: AgentCard | None = card_from_dict(card) if card is not None else None
        self._http = http
        self._client: Client | None = None
        self._client_http: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"A2AHandle({self.name}, {self.url})"

    @property
    def card(self) -> AgentCard | None:
        """The card, once known."""
        return self._card

    async def call(self, skill: str, payload: dict[str, Any]) -> dict[str, Any]:
        request = SendMessageRequest(message=Message(
            role=Role.ROLE_USER, message_id=uuid.uuid4().hex,
            parts=[new_data_part({"skill": skill, "input": payload})]))
        try:
            async with asyncio.timeout(self.timeout_s):
                client = await self._client_here()
                events = [event async for event in client.send_message(
                    request, context=ClientCallContext(timeout=self.timeout_s))]
        except LexiQueryError:
            raise
        except TimeoutError as e:
            raise self._timeout() from e
        except Exception as e:  # httpx, a2a-sdk, protobuf parsing: never past this line
            raise self._classify(e) from e
        return self._result(skill, events)

    async def aclose(self) -> None:
        """Forget the a2a client (the HTTP pool is shared, or the caller's: never closed here)."""
        self._client = self._client_http = None

    # ── internals ──

    async def _client_here(self) -> Client:
        """The a2a client over the HTTP client of the running loop, built once per pool."""
        http = self._http or shared_http()
        if self._client is not None and self._client_http is http:
            return self._client
        if self._card is None:
            card = await A2ACardResolver(http, self.url).get_agent_card(
                http_kwargs={"timeout": self.timeout_s})
            self._card = self._card or card  # a concurrent first call may have set it
        config = ClientConfig(streaming=False, httpx_client=http,
                              supported_protocol_bindings=[JSONRPC, HTTP_JSON])
        try:
            client = ClientFactory(config).create(self._card)
        except ValueError as e:  # the card names no binding this client speaks
            raise AgentError(f"the {self.name} agent at {self.url} offers no JSONRPC or HTTP+JSON "
                             f"interface in its card: {e}", agent=self.name,
                             code="agent_bad_reply") from e
        self._client, self._client_http = client, http
        return client

    def _timeout(self) -> AgentError:
        return AgentError(f"the {self.name} agent at {self.url} did not answer within "
                          f"{self.timeout_s:g} s", agent=self.name, code="agent_timeout",
                          retryable=True, hint="the agent may be overloaded; raise "
                                               "LEXIQUERY_AGENT_TIMEOUT_S if it is just slow")

    def _unavailable(self, why: str, *, retryable: bool, hint: str) -> AgentError:
        return AgentError(f"the {self.name} agent at {self.url} is unavailable: {why}",
                          agent=self.name, code="agent_unavailable", retryable=retryable,
                          hint=hint)

    def _bad_reply(self, why: str) -> AgentError:
        return AgentError(f"the {self.name} agent at {self.url} sent a reply that is not "
                          f"LexiQuery's A2A contract: {why}", agent=self.name,
                          code="agent_bad_reply",
                          hint="check that the URL is a LexiQuery agent of a compatible version")

    def _classify(self, e: BaseException) -> AgentError:
        """The AgentError an httpx / a2a-sdk failure means (the SDK wraps httpx errors: the
        cause chain holds the original)."""
        chain: list[BaseException] = []
        cur: BaseException | None = e
        while cur is not None and cur not in chain and len(chain) < 10:
            chain.append(cur)
            cur = cur.__cause__ or cur.__context__
        for err in chain:
            if isinstance(err, (httpx.TimeoutException, TimeoutError, A2AClientTimeoutError)):
                return self._timeout()
            if isinstance(err, httpx.UnsupportedProtocol):
                return self._unavailable(str(err), retryable=False,
                                         hint="an agent URL is http:// or https://")
            if isinstance(err, httpx.HTTPStatusError):
                status = err.response.status_code
                if status >= 500 or status in _RETRYABLE_STATUS:
                    return self._unavailable(f"HTTP {status}", retryable=True,
                                             hint="the agent's server log says why")
                return self._unavailable(f"HTTP {status}", retryable=False,
                                         hint="check the agent's URL (its card is at "
                                              f"{self.url}/.well-known/agent-card.json)")
            if isinstance(err, (httpx.TransportError, ConnectionError)):
                return self._unavailable(f"{type(err).__name__}: {err}", retryable=True,
                                         hint="check that the agent is running and listening "
                                              "at that address (lexiquery serve --agent NAME)")
            if isinstance(err, json.JSONDecodeError):
                return self._bad_reply(f"the body is not JSON ({err})")
        if isinstance(e, A2AError):
            return self._bad_reply(f"{type(e).__name__}: {e.message}")
        return self._bad_reply(f"{type(e).__name__}: {e}")

    def _result(self, skill: str, events: list[StreamResponse]) -> dict[str, Any]:
        if len(events) != 1 or events[0].WhichOneof("payload") != "task":
            kinds = [ev.WhichOneof("payload") for ev in events]
            raise self._bad_reply(f"expected one task, got {kinds}")
        task = events[0].task
        state = task.status.state
        if state == TaskState.TASK_STATE_COMPLETED:
            artifacts = sorted(task.artifacts, key=lambda a: a.name != skill)  # its own first
            for artifact in artifacts:
                for part in artifact.parts:
                    if part.HasField("data"):
                        data = json_numbers(MessageToDict(part.data))
                        if not isinstance(data, dict):
                            raise self._bad_reply(f"the {skill} result is a "
                                                  f"{type(data).__name__}, not an object")
                        return data
            raise self._bad_reply(f"the completed task has no data artifact for {skill}")
        if state in (TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_REJECTED):
            raise self._failure(task.status.message)
        if state == TaskState.TASK_STATE_CANCELED:
            raise self._unavailable("the task was cancelled", retryable=True,
                                    hint="the agent may be shutting down")
        raise self._bad_reply(f"the task ended the call in state {TaskState.Name(state)}")

    def _failure(self, message: Message) -> LexiQueryError:
        texts: list[str] = []
        for part in message.parts:
            if part.HasField("data"):
                data = json_numbers(MessageToDict(part.data))
                if isinstance(data, dict) and isinstance(data.get("error"), dict):
                    return error_from_payload(data["error"], agent=self.name)
            elif part.HasField("text"):
                texts.append(part.text)
        why = " ".join(texts) or "no reason given"
        return AgentError(f"the {self.name} agent at {self.url} failed: {why}", agent=self.name,
                          code="agent_failed")


__all__ = ["A2AHandle", "card_from_dict", "card_platforms", "card_skills", "card_to_dict",
           "close_shared_http", "shared_http"]
