"""`lexiquery serve`: the HTTP API, the agents and `/mcp` in one process — or one role of the
fleet (`--role`), or one agent alone (`--agent`).

Registered on the main app by `lexiquery.cli`. The listening socket is bound here, before
uvicorn starts, so a port in use or a host that cannot be bound is one line on stderr and exit
code 2 (uvicorn itself would log a traceback-like error and exit 1). Heavy modules load inside
the command: `lexiquery --help` stays fast.
"""

from __future__ import annotations

import socket
from typing import NoReturn

import typer

from lexiquery.cli.app import app
from lexiquery.serve.sockets import bind_socket

LOG_LEVELS = ["critical", "error", "warning", "info", "debug", "trace"]
USAGE_EXIT = 2  # bad input, as every other refused input of the CLI


def _refuse(message: str, hint: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    typer.echo(f"hint: {hint}", err=True)
    raise typer.Exit(USAGE_EXIT)


def _listening_socket(host: str, port: int, fd: int | None) -> socket.socket:
    """The socket to serve on: inherited from `lexiquery up` (`--fd`), or bound here; every
    failure is one line and exit 2."""
    if fd is not None:
        try:
            sock = socket.socket(fileno=fd)
            sock.getsockname()
        except OSError as e:
            _refuse(f"--fd {fd} is not a listening socket ({e.strerror or e})",
                    "--fd is for `lexiquery up`; use --host and --port instead")
        return sock
    try:
        return bind_socket(host, port)
    except socket.gaierror as e:
        _refuse(f"cannot listen on {host!r}: {e.strerror or e}",
                "pass an address of this machine, e.g. --host 127.0.0.1 or --host 0.0.0.0")
    except OSError as e:
        in_use = e.errno in (98, 48, 10048)  # EADDRINUSE on Linux, macOS, Windows
        what = "is already in use" if in_use else f"cannot be used ({e.strerror or e})"
        _refuse(f"port {port} on {host} {what}",
                "choose another one with --port, e.g. --port 8080" if in_use else
                "ports below 1024 need privileges; choose another one with --port")


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS",
                             help="Address to listen on. The default answers this machine only; "
                                  "--host 0.0.0.0 (IPv4) or --host :: (IPv6 and IPv4) listens on "
                                  "every interface — anyone who can reach the port can then ask "
                                  "questions and upload runbooks."),
    port: int | None = typer.Option(None, "--port", "-p", min=1, max=65535,
                                       help="TCP port (default: the service's port in the "
                                            "fleet: 8000, 8001 for --role registry, 8002 for "
                                            "--role sop, the agent's own with --agent)."),
    role: str | None = typer.Option(None, "--role", metavar="ROLE",
                                       help="What to serve: all (default: API, runbooks, /a2a, "
                                            "/mcp and every agent under /agents/NAME), core "
                                            "(query API; agents reached over A2A through the "
                                            "registry), registry (/a2a/* and /mcp) or sop "
                                            "(runbook and known-error routes)."),
    agent: str | None = typer.Option(None, "--agent", metavar="NAME",
                                        help="Serve one agent alone over A2A (its card at "
                                             "/.well-known/agent-card.json)."),
    log_level: str = typer.Option("warning", "--log-level", metavar="LEVEL",
                                  help="Server log level: "
                                                        + ", ".join(LOG_LEVELS) + "."),
    fd: int | None = typer.Option(None, "--fd", hidden=True,
                                     help="Serve on this inherited listening socket "
                                          "(`lexiquery up` binds the ports itself)."),
) -> None:
    """Serve the HTTP API (POST /api/v1/query, journeys, runbooks, known errors, /health), the
    protocol interface (/a2a/*), every agent over A2A under /agents/NAME and the MCP tools over
    streamable HTTP at /mcp — or one part of it (--role) or one agent alone (--agent).

    \b
    OpenAPI documentation at http://HOST:PORT/docs. Stop with Ctrl-C.
    Agent cards advertise LEXIQUERY_PUBLIC_URL when set, else http://HOST:PORT.
    Examples:
      lexiquery serve --port 8000
      lexiquery serve --agent data-kql          # port 9020
      curl -s localhost:8000/api/v1/query -H 'content-type: application/json' \\
           -d '{"question": "failed sign-ins in the last 24 hours by user"}'
    """
    from lexiquery.serve.fleet_services import ROLES, fleet_port, url_for

    level = log_level.strip().lower()
    if level not in LOG_LEVELS:
        _refuse(f"unknown log level {log_level!r}", f"choose one of: {', '.join(LOG_LEVELS)}")
    if agent is not None and role is not None:
        _refuse("--agent and --role cannot be combined",
                "serve one agent alone (--agent NAME) or a part of the API (--role ROLE)")
    role = (role or "all").strip().lower()
    if role not in ROLES:
        _refuse(f"unknown role {role!r}", f"choose one of: {', '.join(ROLES)}")
    if agent is not None:
        from lexiquery.agents.contracts import AGENT_NAMES

        if agent not in AGENT_NAMES:
            _refuse(f"unknown agent {agent!r}", f"agents: {', '.join(AGENT_NAMES)}")
    if port is None:
        port = fleet_port(agent or ("core" if role == "all" else role)) or 8000
    sock = _listening_socket(host, port, fd)

    import uvicorn

    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError

    try:
        # The core service has no agents of its own: its orchestrator goes through the registry.
        settings = get_settings(agents="registry") if role == "core" else get_settings()
        base_url = (settings.public_url or url_for(host, port)).rstrip("/")
        if agent is not None:
            from lexiquery.agents.local import build_agent
            from lexiquery.serve.a2a_server import agent_app

            application = agent_app(build_agent(agent, settings), settings, base_url)
        else:
            from lexiquery.serve.app import create_app

            application = create_app(settings, role=role, base_url=base_url)
    except LexiQueryError as e:  # a bad setting (an origin, static agents): one line, exit 2
        sock.close()
        _refuse(e.message, e.hint or "fix the setting, then start again")
    except Exception:
        sock.close()
        raise
    shown = f"[{host}]" if ":" in host else host
    what = f"agent {agent}" if agent else ("" if role == "all" else f"role {role}")
    typer.echo(f"LexiQuery {what + ' ' if what else ''}serving on http://{shown}:{port} "
               + ("(card at /.well-known/agent-card.json)" if agent else "(API docs at /docs)")
               + "; Ctrl-C to stop", err=True)
    if agent is None and role in ("all", "registry"):
        from lexiquery.serve.admin import admin_key_path

        typer.echo("registering agents over HTTP needs the admin key in "
                   f"{admin_key_path(settings.data_dir)} (from this machine only)", err=True)
    if host in ("0.0.0.0", "::") and not settings.public_url:
        typer.echo(f"note: agent cards advertise {base_url}; set LEXIQUERY_PUBLIC_URL to the "
                   "address other machines use", err=True)
    # Header and body read deadlines, a connection limit, a bounded graceful shutdown.
    from lexiquery.serve.slow_clients import server_config

    server = uvicorn.Server(server_config(application, settings, log_level=level))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise typer.Exit(1)  # uvicorn stopped during startup and has logged why
