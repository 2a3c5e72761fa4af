"""The `lexiquery` Typer app and what every command module shares: the error report and exit.

Command modules (`ask`, `catalog`, `query`, `sop`, …) import `app` from here and register their
commands on it; `lexiquery.cli` imports them all. This module imports none of them, so there is
no circle. Only typer is imported at module level: everything else loads inside the command
that needs it, so `lexiquery --help` starts in a fraction of a second. Errors from the package
become one red line on stderr (plus a hint) and the error's exit code; `--json` prints the
error as JSON on stdout instead so scripts always get an object.

Exit codes: 0 ok · 1 a query came out invalid · 2 bad input / unanswerable question ·
3 catalog error · 4 plan/dialect error · 5 storage error.
"""

from __future__ import annotations

import json
from typing import Any, Callable, TypeVar

import typer

app = typer.Typer(
    name="lexiquery",
    help="Turn a plain-English question into checked KQL, SPL and SQL queries — on your machine.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

JSON_HELP = "Print JSON."
WORKSPACE_HELP = "Answer from this workspace (a schema import; `lexiquery catalog list` names " \
                 "them) instead of the active one."


def workspace_settings(name: str | None) -> Any:
    """The run's settings with `--workspace NAME` on top (None when not given: the commands
    then read the settings as usual)."""
    if not name:
        return None
    from lexiquery.config import get_settings

    return get_settings(workspace=name)


PLATFORM_HELP = "Platform to write a query for: kql, spl or sql (repeatable; default: every " \
                "platform the source is bound to)."


def err_console():  # type: ignore[no-untyped-def]
    """stderr, with markup and emoji codes off: what it prints is text (`console.terminal`)."""
    from lexiquery.render.console import terminal

    return terminal(stderr=True)


def fail(error: Exception, as_json: bool) -> None:
    """Report a LexiQueryError and exit with its code; re-raise anything else."""
    from lexiquery.errors import LexiQueryError

    if not isinstance(error, LexiQueryError):
        raise error
    if as_json:
        payload = error.to_dict()
        if getattr(error, "journey_id", None):
            payload["journey_id"] = error.journey_id  # type: ignore[attr-defined]
        typer.echo(json.dumps(payload))
    else:
        from rich.text import Text

        con = err_console()
        # soft_wrap: paths and names in errors are printed whole, never broken by us. A message
        # quotes user text ("no source '[/x]'"): it is Text, never markup.
        con.print(Text.assemble(("error:", "bold red"), " ", error.message), soft_wrap=True)
        closest = getattr(error, "closest_sources", None)
        if closest:
            con.print(Text(f"closest sources: {', '.join(closest)} "
                           "(see `lexiquery catalog show SOURCE`)"), soft_wrap=True)
        if error.hint:
            con.print(Text(f"hint: {error.hint}"), soft_wrap=True)
    raise typer.Exit(error.exit_code)


def parse_platforms(values: list[str] | None) -> list[str]:
    from lexiquery.errors import InputError

    out = []
    for v in values or []:
        for p in v.split(","):
            p = p.strip().lower()
            if p not in {"kql", "spl", "sql"}:
                raise InputError(f"unknown platform {p!r}; choose kql, spl or sql")
            out.append(p)
    return out


def echo_json(value: object) -> None:
    """Print pydantic models (or lists and dicts of them) as JSON."""
    typer.echo(json.dumps(value, indent=2, default=lambda m: m.model_dump(mode="json")))


T = TypeVar("T")


def or_fail(as_json: bool, work: Callable[[], T]) -> T:
    """`work()`, or its `LexiQueryError` reported (`fail`) and the command ended with its code."""
    from lexiquery.errors import LexiQueryError

    try:
        return work()
    except LexiQueryError as e:
        fail(e, as_json)
        raise  # not reached: `fail` exits
