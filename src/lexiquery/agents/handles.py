"""How the orchestrator reaches an agent: a handle with one async `call`.

`LocalHandle` runs the agent in this process (in a worker thread, so a per-call timeout can
abandon it); `serve.a2a_client.A2AHandle` sends the same payload over A2A. The registry hands out
one or the other (`registry.Registry.handle`); the orchestrator only sees `AgentHandle`.
"""

from __future__ import annotations

import asyncio
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


class LocalHandle:
    """An in-process agent. The payload is still a plain JSON object, exactly as over A2A."""

    where = "local"

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.name = agent.name

    async def call(self, skill: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self.agent.run, skill, payload)

    def __repr__(self) -> str:
        return f"LocalHandle({self.name})"
