"""What an agent is, whatever carries its messages.

An agent is logic only: a name, a few skills, and `run(skill, payload) -> result`, where payload
and result are JSON objects (plain dicts) validated against the skill's pydantic models. The same
dicts travel unchanged through an in-process call (`handles.LocalHandle`) and through A2A
(`serve.a2a_server` / `registry.a2a_client`), which is why the orchestrator cannot tell the two
apart: even in-process, every call goes through the wire format.

Errors: a skill raises the package's `LexiQueryError`s (bad input, an unanswerable question).
Transports carry them as `errors.error_payload` and rebuild them with `errors.error_from_payload`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from lexiquery.errors import AgentError, InputError


@dataclass(frozen=True)
class SkillSpec:
    """One skill: its A2A description and the models its JSON must fit."""

    id: str
    name: str
    description: str
    input: type[BaseModel]
    output: type[BaseModel]
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass
class Agent:
    """An agent: `skills` by id, each served by `handlers[id](request_model) -> output_model`.

    `platform` is set for data agents (kql, spl, sql): discovery by platform uses it.
    `text_skill` is the skill a plain text message (a human or a generic A2A client typing a
    question) goes to; `text_input(text)` turns the text into that skill's payload."""

    name: str
    description: str
    skills: list[SkillSpec]
    handlers: dict[str, Callable[[Any], BaseModel]]
    platform: str | None = None
    text_skill: str | None = None
    text_field: str = "question"
    tags: tuple[str, ...] = field(default_factory=tuple)

    def skill(self, skill_id: str) -> SkillSpec:
        for s in self.skills:
            if s.id == skill_id:
                return s
        raise InputError(f"agent {self.name!r} has no skill {skill_id!r}",
                         hint="skills: " + ", ".join(s.id for s in self.skills))

    def text_input(self, text: str) -> tuple[str, dict[str, Any]]:
        """The (skill, payload) a plain-text message means."""
        if self.text_skill is None:
            raise InputError(f"agent {self.name!r} needs a data part "
                             '{"skill": ..., "input": {...}}, not plain text')
        return self.text_skill, {self.text_field: text}

    def run(self, skill_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Validate `payload`, run the skill, return its result as JSON-ready data."""
        spec = self.skill(skill_id)
        try:
            request = spec.input.model_validate(payload)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ())) or "input"
            raise InputError(f"{self.name}.{skill_id}: {where}: {first.get('msg')}",
                             issues=[{"code": "bad_input", "message": str(err.get("msg")),
                                      "field": ".".join(str(x) for x in err.get("loc", ()))}
                                     for err in e.errors()]) from e
        result = self.handlers[skill_id](request)
        return result.model_dump(mode="json")


def parse_result(agent: str, spec: SkillSpec, data: Any) -> BaseModel:
    """A reply checked against the skill's output model; `AgentError` (agent_bad_reply) if it
    is not one — a remote agent of another version, or a garbage reply, never passes silently."""
    try:
        return spec.output.model_validate(data)
    except ValidationError as e:
        raise AgentError(f"the {agent} agent's {spec.id} reply does not fit its contract: "
                         f"{e.errors()[0].get('msg')}", agent=agent, code="agent_bad_reply") from e
