"""The live surfaces the corpus talks to, built once per session and only when a case needs them.

`Harness` holds the HTTP app (one TestClient; a case picks the caller's address: ``remote`` is
starlette's "testclient" host, ``local`` is 127.0.0.1), one MCP client session and the A2A
clients (each on a blocking portal: one event loop in a background thread, so the tests stay
synchronous), the app served on 127.0.0.1 for A2A, and the hostile agent servers.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import anyio
import anyio.from_thread
import httpx

from hostile.env import Paths

LOCAL, REMOTE = ("127.0.0.1", 50000), ("testclient", 50000)


class Harness:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self._stack = contextlib.ExitStack()
        self._portal: Any = None
        self._http: Any = None
        self._mcp: Any = None
        self._a2a_url: str | None = None
        self._a2a_http: httpx.AsyncClient | None = None
        self._a2a_clients: dict[str, Any] = {}
        self._journeys: dict[str, str] = {}
        self._fakes: Any = None
        from lexiquery.cli import app

        self.cli_app = app
        self.cli_env: dict[str, str] | None = None

    def close(self) -> None:
        if self._a2a_http is not None and self._portal is not None:
            self._portal.call(self._a2a_http.aclose)
        self._stack.close()

    # ── shared pieces ─────────────────────────────────────────────────────────────────────
    def portal(self) -> Any:
        if self._portal is None:
            self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        return self._portal

    def settings(self) -> Any:
        from lexiquery.config import get_settings

        return get_settings()

    def fakes(self) -> Any:
        if self._fakes is None:
            from hostile.fakes import fake_servers

            self._fakes = self._stack.enter_context(fake_servers())
        return self._fakes

    def fill_fakes(self, value: Any) -> Any:
        """@FAKE@ / @FAKE2@ → the hostile agent servers' base URLs (started on first use)."""
        text = repr(value)
        if "@FAKE" not in text:
            return value
        one, two = self.fakes()
        if isinstance(value, str):
            return value.replace("@FAKE2@", two.url).replace("@FAKE@", one.url)
        if isinstance(value, dict):
            return {k: self.fill_fakes(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill_fakes(v) for v in value]
        return value

    def stored_journey(self, question: str) -> str:
        """The id of a journey that asked `question` (asked once, through the Python API)."""
        if question not in self._journeys:
            import lexiquery
            from lexiquery.errors import LexiQueryError

            try:
                self._journeys[question] = lexiquery.ask(question).journey_id
            except LexiQueryError as e:  # a refused question is stored as a journey too
                self._journeys[question] = getattr(e, "journey_id", None) or "no-journey"
        return self._journeys[question]

    def register_first(self, url: str) -> None:
        from hostile.surfaces_local import register_first

        register_first(url)

    # ── HTTP ──────────────────────────────────────────────────────────────────────────────
    def http_client(self, caller: str) -> Any:
        if self._http is None:
            from fastapi.testclient import TestClient

            from lexiquery.serve.app import create_app

            client = TestClient(create_app(self.settings()), raise_server_exceptions=False)
            self._http = self._stack.enter_context(client)
        self._http._transport.client = LOCAL if caller == "local" else REMOTE
        return self._http

    def admin_key(self) -> str:
        self.http_client("local")  # the server creates the key when it starts
        path = self.paths.data / "admin.key"
        return path.read_text().strip() if path.exists() else "no-admin-key-was-created"

    # ── MCP ───────────────────────────────────────────────────────────────────────────────
    def mcp_call(self, name: str, args: dict[str, Any], *, timeout_s: float) -> Any:
        if self._mcp is None:
            from mcp import Client

            from lexiquery.serve.mcp_server import create_mcp_server

            cm = self.portal().wrap_async_context_manager(Client(create_mcp_server()))
            self._mcp = self._stack.enter_context(cm)

        async def call() -> Any:
            with anyio.fail_after(timeout_s):
                return await self._mcp.call_tool(name, args)

        return self.portal().call(call)

    # ── A2A ───────────────────────────────────────────────────────────────────────────────
    def a2a_url(self) -> str:
        if self._a2a_url is None:
            from serve.a2a_agents import Served

            from lexiquery.serve.app import create_app

            settings = self.settings()
            served = self._stack.enter_context(
                Served(lambda url: create_app(settings, base_url=url)))
            self._a2a_url = served.url
        return self._a2a_url

    async def _client(self, agent: str) -> Any:
        from a2a.client import A2ACardResolver, ClientConfig, ClientFactory

        if agent not in self._a2a_clients:
            if self._a2a_http is None:
                self._a2a_http = httpx.AsyncClient(timeout=60, trust_env=False)
            base = f"{self.a2a_url()}/agents/{agent}"
            card = await A2ACardResolver(self._a2a_http, base).get_agent_card()
            config = ClientConfig(streaming=False, httpx_client=self._a2a_http,
                                  supported_protocol_bindings=["JSONRPC"])
            self._a2a_clients[agent] = ClientFactory(config).create(card)
        return self._a2a_clients[agent]

    def a2a_send(self, agent: str, data: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
        """One SendMessage with a data part; the final task as {state, data, texts}, or
        {"error": text} when the SDK client raised (a protocol-level refusal)."""
        from a2a.helpers import new_data_part
        from a2a.types import Message, Role, SendMessageRequest, TaskState
        from google.protobuf.json_format import MessageToDict

        self.a2a_url()

        async def send() -> dict[str, Any]:
            client = await self._client(agent)
            message = Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex,
                              parts=[new_data_part(data)])
            with anyio.fail_after(timeout_s):
                try:
                    events = [e async for e in client.send_message(
                        SendMessageRequest(message=message))]
                except Exception as e:  # noqa: BLE001 — the client's refusal is the outcome
                    return {"error": f"{type(e).__name__}: {e}"}
            task = next((e.task for e in reversed(events) if e.WhichOneof("payload") == "task"),
                        None)
            if task is None:
                return {"state": "no task", "data": None, "texts": []}
            state = TaskState.Name(task.status.state).removeprefix("TASK_STATE_").lower()
            parts = list(task.status.message.parts)
            if state == "completed":
                parts = [p for a in task.artifacts for p in a.parts]
            data_parts = [MessageToDict(p.data) for p in parts if p.HasField("data")]
            return {"state": state, "data": data_parts[0] if data_parts else None,
                    "texts": [p.text for p in parts if p.HasField("text")]}

        return self.portal().call(send)

    def a2a_raw(self, agent: str, body: str, *, timeout_s: float) -> tuple[int, str]:
        """A raw POST to the agent's JSON-RPC endpoint (for bodies no SDK would send)."""
        r = httpx.post(f"{self.a2a_url()}/agents/{agent}",
                       content=body.encode("utf-8", "surrogatepass"), timeout=timeout_s,
                       headers={"content-type": "application/json", "A2A-Version": "1.0"},
                       trust_env=False)
        return r.status_code, r.text
