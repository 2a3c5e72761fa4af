"""How the orchestrator reaches an agent: a handle with one async `call`.

`LocalHandle` runs the agent in this process (in a worker thread, so a per-call timeout can
abandon it); `registry.a2a_client.A2AHandle` sends the same payload over A2A. The registry hands out
one or the other (`registry.Registry.handle`); the orchestrator only sees `AgentHandle`.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, runtime_checkable

from lexiquery.agents.base import Agent


@runtime_checkable
class AgentHandle(Protocol):
    """`call` returns the skill's result (a JSON object). It raises the agent's own
    `LexiQueryError` for what the agent refused (bad input, unanswerable question) and
    `AgentError` when the agent could not be reached or broke its contract (`retryable` says
    whether calling again may help)."""

    name: str
    where: str  # "local" or the agent's URL: for the journey trace and error messages

    async def call(self, skill: str, payload: dict[str, Any]) -> dict[str, Any]: ...


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _agent_threads() -> ThreadPoolExecutor:
    """One pool for in-process agent calls, kept across event loops: `ask` runs each journey on
    a fresh loop, and a fresh loop's default executor would start new threads every time."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lexiquery-agent")
        return _pool


class LocalHandle:
    """An in-process agent. The payload is still a plain JSON object, exactly as over A2A."""

    where = "local"

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.name = agent.name

    async def call(self, skill: str, payload: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_agent_threads(),
                                          functools.partial(self.agent.run, skill, payload))

    def __repr__(self) -> str:
        return f"LocalHandle({self.name})"
