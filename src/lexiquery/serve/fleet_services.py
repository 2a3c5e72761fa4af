"""The services of the fleet: each with its default port and the `lexiquery serve` command it
runs (`FLEET`; docker-compose.yml describes the same services, and a test keeps the two in
step), and the choices of `lexiquery up` about them (`--only`, `--skip`, `--port`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

from lexiquery.errors import LexiQueryError


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the fleet: `lexiquery serve --role ROLE` or `serve --agent AGENT`."""

    name: str
    port: int
    description: str
    role: str | None = None
    agent: str | None = None

    @property
    def is_agent(self) -> bool:
        return self.agent is not None

    def serve_args(self, host: str, port: int) -> list[str]:
        """The `lexiquery serve …` arguments (after `lexiquery`) of this service."""
        which = ["--agent", self.agent] if self.agent else ["--role", str(self.role)]
        return ["serve", *which, "--host", host, "--port", str(port)]

    def command(self, host: str, port: int, *, python: str = sys.executable) -> list[str]:
        return [python, "-m", "lexiquery", *self.serve_args(host, port)]


FLEET: tuple[ServiceSpec, ...] = (
    ServiceSpec("core", 8000, "query API and journeys; calls the agents over A2A", role="core"),
    ServiceSpec("registry", 8001, "protocol interface: agent registry, /a2a/*, /mcp",
                role="registry"),
    ServiceSpec("sop", 8002, "SOP engine: runbooks and known errors", role="sop"),
    ServiceSpec("planner", 9000, "planner agent", agent="planner"),
    ServiceSpec("knowledge-sop", 9010, "runbook search agent", agent="knowledge-sop"),
    ServiceSpec("knowledge-errors", 9011, "known-errors agent", agent="knowledge-errors"),
    ServiceSpec("data-kql", 9020, "KQL data agent", agent="data-kql"),
    ServiceSpec("data-spl", 9021, "SPL data agent", agent="data-spl"),
    ServiceSpec("data-sql", 9022, "SQL data agent", agent="data-sql"),
    ServiceSpec("validator", 9030, "validator agent", agent="validator"),
)
SERVICES = {s.name: s for s in FLEET}
ROLES = ("all", "core", "registry", "sop")
# Services whose orchestrator (or /a2a/task/invoke) must reach the agents over A2A.
REGISTRY_MODE = ("core", "registry")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def fleet_port(name: str) -> int | None:
    """The default port of a service or agent of the fleet (`serve` uses it as its default)."""
    spec = SERVICES.get(name)
    return spec.port if spec else None


def url_for(host: str, port: int) -> str:
    """The address to reach a server listening on host:port (a wildcard host: via loopback)."""
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class FleetError(LexiQueryError):
    """The fleet could not start: which service, why, and the last lines it wrote."""

    code = "fleet"

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = 1,
                 service: str | None = None, log_tail: list[str] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code  # 2: bad input (a port in use, an unknown service)
        self.service = service
        self.log_tail = log_tail or []


def select(only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[ServiceSpec]:
    """The services to run, in fleet order; an unknown name is a FleetError (exit 2)."""
    only, skip = list(only), list(skip)
    for name in [*only, *skip]:
        if name not in SERVICES:
            raise FleetError(f"unknown service {name!r}", exit_code=2,
                             hint="services: " + ", ".join(SERVICES))
    chosen = [s for s in FLEET if (not only or s.name in only) and s.name not in skip]
    if not chosen:
        raise FleetError("no service left to run", exit_code=2,
                         hint="--only and --skip together removed every service")
    return chosen


def parse_port_overrides(items: Iterable[str]) -> dict[str, int]:
    """`SERVICE=PORT` items → {service: port}; a malformed one is a FleetError (exit 2)."""
    ports: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not value.strip().isdigit() or not 0 < int(value) < 65536:
            raise FleetError(f"--port {item!r} is not SERVICE=PORT", exit_code=2,
                             hint="e.g. --port core=8080 --port data-kql=9120")
        if name not in SERVICES:
            raise FleetError(f"--port {item!r}: unknown service {name!r}", exit_code=2,
                             hint="services: " + ", ".join(SERVICES))
        ports[name] = int(value)
    return ports
