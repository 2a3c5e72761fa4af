"""The real agents, built in this process: `build_agents` for a journey or a server,
`build_agent(name)` for one agent served alone (`lexiquery serve --agent NAME`)."""

from __future__ import annotations

from typing import Callable

from lexiquery.agents.base import Agent
from lexiquery.agents.checking import validator_agent
from lexiquery.agents.contracts import (
    AGENT_NAMES,
    KNOWLEDGE_ERRORS,
    KNOWLEDGE_SOP,
    PLANNER,
    VALIDATOR,
    data_agent,
)
from lexiquery.agents.data import platform_agent
from lexiquery.agents.knowledge_agents import errors_agent, sop_agent
from lexiquery.agents.planner import planner_agent
from lexiquery.agents.resources import Resources
from lexiquery.catalog.model import Platform
from lexiquery.config import Settings
from lexiquery.errors import InputError

_BUILDERS: dict[str, Callable[[Resources], Agent]] = {
    PLANNER: planner_agent,
    KNOWLEDGE_SOP: sop_agent,
    KNOWLEDGE_ERRORS: errors_agent,
    **{data_agent(p.value): (lambda res, p=p: platform_agent(p, res)) for p in Platform},
    VALIDATOR: validator_agent,
}
assert tuple(_BUILDERS) == AGENT_NAMES


def build_agents(settings: Settings, resources: Resources | None = None) -> dict[str, Agent]:
    """Every agent, sharing `resources` (default: new ones for `settings`)."""
    res = resources or Resources(settings)
    return {name: build(res) for name, build in _BUILDERS.items()}


def build_agent(name: str, settings: Settings, resources: Resources | None = None) -> Agent:
    """One agent by name, or `InputError` listing the names there are."""
    build = _BUILDERS.get(name)
    if build is None:
        raise InputError(f"unknown agent {name!r}; agents are: {', '.join(AGENT_NAMES)}")
    return build(resources or Resources(settings))
