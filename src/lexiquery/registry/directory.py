"""Where the orchestrator gets its agent handles: all in-process (`settings.agents == "local"`,
the embedded default) or from the registry (`"registry"`: the agents registered or configured
statically, called over A2A). Either way the orchestrator sees only `AgentHandle`s."""

from __future__ import annotations

from typing import Any

from lexiquery.agents.contracts import AGENT_NAMES
from lexiquery.agents.handles import AgentHandle, LocalHandle
from lexiquery.agents.local import build_agents
from lexiquery.agents.resources import Resources
from lexiquery.config import Settings
from lexiquery.errors import AgentError


class MissingHandle:
    """An agent the registry does not know: every call says so (and how to fix it)."""

    where = "registry"

    def __init__(self, name: str) -> None:
        self.name = name

    async def call(self, skill: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise AgentError(f"no {self.name} agent is registered", agent=self.name,
                         hint="start the fleet with `lexiquery up`, or register the agent: "
                              "POST /a2a/agents/register {\"url\": ...}")


def agent_handles(settings: Settings, resources: Resources) -> dict[str, AgentHandle]:
    """One handle per agent name (`contracts.AGENT_NAMES`)."""
    if settings.agents == "local":
        return {name: LocalHandle(agent)
                for name, agent in build_agents(settings, resources).items()}

    # deferred: the A2A client (a2a-sdk, grpc, httpx: ~0.4 s) loads only when agents are remote
    from lexiquery.registry.registry import Registry

    registry = Registry(settings)
    return {name: registry.handle(name) or MissingHandle(name) for name in AGENT_NAMES}
