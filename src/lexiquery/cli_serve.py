"""`lexiquery serve`: the HTTP API (and, later, the agents and `/mcp`) in one process.

Registered on the main app by `lexiquery.cli`. The listening socket is bound here, before
uvicorn starts, so a port in use or a host that cannot be bound is one line on stderr and exit
code 2 (uvicorn itself would log a traceback-like error and exit 1). Heavy modules load inside
the command: `lexiquery --help` stays fast.
"""

from __future__ import annotations

import socket

import typer

from lexiquery.cli import app

LOG_LEVELS = ["critical", "error", "warning", "info", "debug", "trace"]
USAGE_EXIT = 2  # bad input, as every other refused input of the CLI


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port, or `OSError` (address in use, no such address,
    permission denied) — for the caller to report."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Reuse a port left in TIME_WAIT by a previous run; on Linux this never allows a second
        # listener on a port someone is listening on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _refuse(message: str, hint: str) -> None:
    typer.echo(f"error: {message}", err=True)
    typer.echo(f"hint: {hint}", err=True)
    raise typer.Exit(USAGE_EXIT)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS",
                             help="Address to listen on. The default answers this machine only; "
                                  "--host 0.0.0.0 (IPv4) or --host :: (IPv6 and IPv4) listens on "
                                  "every interface — anyone who can reach the port can then ask "
                                  "questions and upload runbooks."),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="TCP port."),
    log_level: str = typer.Option("warning", "--log-level", metavar="LEVEL",
                                  help="Server log level: "
                                                        + ", ".join(LOG_LEVELS) + "."),
) -> None:
    """Serve the HTTP API (POST /api/v1/query, journeys, runbooks, known errors, /health) and
    the MCP tools over streamable HTTP at /mcp.

    \b
    OpenAPI documentation at http://HOST:PORT/docs. Stop with Ctrl-C.
    Example:
      lexiquery serve --port 8000
      curl -s localhost:8000/api/v1/query -H 'content-type: application/json' \\
           -d '{"question": "failed sign-ins in the last 24 hours by user"}'
    """
    level = log_level.strip().lower()
    if level not in LOG_LEVELS:
        _refuse(f"unknown log level {log_level!r}", f"choose one of: {', '.join(LOG_LEVELS)}")
    try:
        sock = bind_socket(host, port)
    except socket.gaierror as e:
        _refuse(f"cannot listen on {host!r}: {e.strerror or e}",
                "pass an address of this machine, e.g. --host 127.0.0.1 or --host 0.0.0.0")
        return
    except OSError as e:
        in_use = e.errno in (98, 48, 10048)  # EADDRINUSE on Linux, macOS, Windows
        what = "is already in use" if in_use else f"cannot be used ({e.strerror or e})"
        _refuse(f"port {port} on {host} {what}",
                "choose another one with --port, e.g. --port 8080" if in_use else
                "ports below 1024 need privileges; choose another one with --port")
        return

    import uvicorn

    from lexiquery.config import get_settings
    from lexiquery.serve.app import create_app

    try:
        application = create_app(get_settings())
    except Exception:
        sock.close()
        raise
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"LexiQuery serving on http://{shown}:{port} (API docs at /docs); "
               "Ctrl-C to stop", err=True)
    server = uvicorn.Server(uvicorn.Config(application, log_level=level, lifespan="on"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise typer.Exit(1)  # uvicorn stopped during startup and has logged why
