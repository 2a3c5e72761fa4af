"""The `lexiquery` command: the Typer app (`app`) with every command group registered on it.

One module per command group; each registers its commands on `cli.app.app`, which imports none
of them. Adding a command group: write `cli/<group>.py` and import it below.
"""

from __future__ import annotations

# Each import registers its commands on `app`, in this order: the order `lexiquery --help` lists them.
from lexiquery.cli import agents  # noqa: F401
from lexiquery.cli import ask  # noqa: F401  (ask, history)
from lexiquery.cli import catalog  # noqa: F401
from lexiquery.cli import cost  # noqa: F401
from lexiquery.cli import doctor  # noqa: F401
from lexiquery.cli import errors  # noqa: F401
from lexiquery.cli import info  # noqa: F401  (schema, version)
from lexiquery.cli import mcp  # noqa: F401
from lexiquery.cli import query  # noqa: F401  (run, translate, explain, validate)
from lexiquery.cli import serve  # noqa: F401
from lexiquery.cli import sop  # noqa: F401
from lexiquery.cli import up  # noqa: F401
from lexiquery.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """The console script `lexiquery`."""
    app()
