"""`lexiquery schema` (the QueryPlan's JSON schema) and `lexiquery version`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from lexiquery.cli.app import app


@app.command()
def schema(
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Write to this file instead of stdout."),
) -> None:
    """Print the JSON schema of the QueryPlan (the IR every query is rendered from)."""
    from lexiquery.ir import plan_json_schema

    text = json.dumps(plan_json_schema(), indent=2, sort_keys=True) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@app.command()
def version() -> None:
    """Print the version."""
    from lexiquery.version import __version__

    typer.echo(__version__)
