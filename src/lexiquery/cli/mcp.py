"""`lexiquery mcp`: the MCP server on stdio, for MCP clients that start it as a subprocess.

stdout carries the protocol and nothing else: logging goes to stderr at WARNING, and nothing
here prints. Registered on the main app by `lexiquery.cli`.
"""

from __future__ import annotations

import logging
import sys

from lexiquery.cli.app import app


@app.command("mcp")
def mcp() -> None:
    """Serve LexiQuery's tools over MCP on stdio (generate, translate, validate, explain and
    run queries; search runbooks; browse the catalog; fetch journeys).

    \b
    Example client configuration:
      {"command": "lexiquery", "args": ["mcp"]}
    """
    # Before anything logs: a handler on stderr makes later basicConfig calls no-ops.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    from lexiquery.serve.mcp_server import create_mcp_server

    create_mcp_server().run()
