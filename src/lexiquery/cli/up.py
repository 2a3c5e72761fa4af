"""`lexiquery up`: the whole fleet as separate processes, supervised in the foreground.

Registered on the main app by `lexiquery.cli`. The work is `serve.fleet.Supervisor`'s; this
module turns its status changes into a live table (a terminal) or one line per change (a pipe,
a log), and Ctrl-C / SIGTERM / SIGHUP into a clean stop. Exit codes: 0 after a requested stop,
2 for bad input or a port in use, 1 when a service failed to start.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import typer

from lexiquery.cli.app import app

_STYLE = {"starting": "yellow", "healthy": "cyan", "registered": "cyan", "ready": "green",
          "exited": "red", "stopped": "dim"}


def _names(values: list[str]) -> list[str]:
    """Repeatable options that also take comma-separated lists."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _table(children: list[Any], title: str) -> Any:
    """The fleet's services. A status detail quotes a child's error: text, never markup."""
    from rich.text import Text

    from lexiquery.render.console import TextTable

    table = TextTable("service", "url", "pid", "status", title=title, title_justify="left")
    for c in children:
        status = c.status + (f" ({c.detail})" if c.detail else "")
        table.add_row(c.spec.name, c.url, str(c.pid or ""),
                      Text(status, style=_STYLE.get(c.status, "")))
    return table


@app.command("up")
def up(
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS",
                             help="Address every service listens on (the default answers this "
                                  "machine only)."),
    port: list[str] = typer.Option([], "--port", "-p", metavar="SERVICE=PORT",
                                   help="Another port for one service (repeatable), e.g. "
                                        "--port core=8080."),
    free_ports: bool = typer.Option(False, "--free-ports",
                                    help="Let the system choose a free port for every service "
                                         "not given one by --port (to run beside another "
                                         "fleet; the ports are in DATA_DIR/fleet.json)."),
    only: list[str] = typer.Option([], "--only", metavar="SERVICES",
                                   help="Run only these services (repeatable or comma-separated)."),
    skip: list[str] = typer.Option([], "--skip", metavar="SERVICES",
                                   help="Run every service but these."),
    timeout: float = typer.Option(120.0, "--timeout", min=1.0, metavar="SECONDS",
                                  help="Longest wait for every service to answer /health."),
) -> None:
    """Run the whole fleet as separate processes: core API (8000), protocol interface with the
    agent registry, /a2a and /mcp (8001), SOP engine (8002), planner (9000), knowledge agents
    (9010, 9011), data agents (9020 kql, 9021 spl, 9022 sql) and the validator (9030).

    \b
    Each service is health-checked, every agent is registered with the registry, then the
    fleet is ready; Ctrl-C (or SIGTERM) stops every process. Logs: DATA_DIR/fleet/*.log;
    the running fleet (pids, ports, URLs): DATA_DIR/fleet.json.
    Example:
      lexiquery up
      curl -s localhost:8000/api/v1/query -H 'content-type: application/json' \\
           -d '{"question": "failed sign-ins in the last 24 hours"}'
    """
    from pydantic import ValidationError
    from rich.text import Text

    from lexiquery.config import get_settings
    from lexiquery.render.console import terminal
    from lexiquery.serve.fleet import Supervisor
    from lexiquery.serve.fleet_services import FleetError, parse_port_overrides, select

    # Markup off: log lines, paths and error details are printed as written.
    console = terminal(stderr=True, soft_wrap=True)

    def fail(e: FleetError) -> NoReturn:
        console.print(Text.assemble(("error:", "bold red"), " ", e.message))
        if e.log_tail:
            console.print(f"last lines of {e.service}'s log:")
            for line in e.log_tail:
                console.print("  " + line)
        if e.hint:
            console.print(f"hint: {e.hint}")
        raise typer.Exit(e.exit_code)

    try:
        services = select(_names(only), _names(skip))
        ports = parse_port_overrides(port)
    except FleetError as e:
        fail(e)
    names = {s.name for s in services}
    if "core" in names and "registry" not in names:
        console.print("note: without the registry service, core reaches only the agents in "
                      "A2A_STATIC_AGENTS_JSON")
    try:
        settings = get_settings()
    except ValidationError as e:  # every service would die of it: say so once, here
        first = e.errors()[0]
        name = "LEXIQUERY_" + "_".join(str(x) for x in first.get("loc", ())).upper()
        fail(FleetError(f"setting {name}: {first.get('msg')}", exit_code=2,
                        hint="fix or unset that environment variable"))
    data_dir = Path(settings.data_dir).expanduser().resolve()
    supervisor = Supervisor(services, data_dir, host=host, ports=ports, free_ports=free_ports,
                            ready_timeout_s=timeout)

    live: Any = None
    ready = False

    def on_status(child: Any) -> None:
        detail = f" ({child.detail})" if child.detail else ""
        if ready and child.status == "exited":
            console.print(Text.assemble(("warning:", "yellow"),
                                        f" {child.spec.name} exited{detail}; the fleet runs on "
                                        f"without it (its log: {child.log_path})"))
        elif live is not None:
            live.update(_table(supervisor.children, "starting the LexiQuery fleet"),
                        refresh=True)
        elif not ready and child.status != "ready":  # the ready table follows
            console.print(f"{child.spec.name:<17} {child.status}{detail}  {child.url}")

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        supervisor.stop_event.set()

    supervisor.on_status = on_status
    previous = {s: signal.signal(s, request_stop)
                for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        try:
            supervisor.bind()
        except FleetError as e:
            fail(e)
        if console.is_terminal:
            from rich.live import Live

            # No refresh thread: the supervisor forks its children, and a fork beside a
            # running thread is what makes preexec functions unsafe. Refreshed on each change.
            live = Live(_table(supervisor.children, "starting the LexiQuery fleet"),
                        console=console, auto_refresh=False, transient=True)
            live.start()
        try:
            ready = supervisor.start()
        except FleetError as e:
            if live is not None:
                live.stop()
                live = None
            supervisor.stop()
            fail(e)
        finally:
            if live is not None:
                live.stop()
                live = None
        if ready:
            terminal().print(_table(supervisor.children, f"LexiQuery fleet ready ({host})"))
            console.print(f"state: {supervisor.state_path}; Ctrl-C to stop")
            supervisor.watch()
        console.print("stopping the fleet…")
        supervisor.stop()
        console.print("stopped")
    finally:
        supervisor.stop()  # idempotent: whatever happened above, no child outlives `up`
        for s, handler in previous.items():
            signal.signal(s, handler)
