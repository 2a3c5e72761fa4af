"""`lexiquery errors show|list|find`: the known-errors base from the terminal.

Conventions of `cli.sop` (whose `--json` printing this shares): every command takes `--json`,
package errors go through `fail` and exit with their code. Registered on the main app by
`lexiquery.cli`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Optional

import typer

from lexiquery.cli.app import JSON_HELP, app, echo_json, fail

errors_app = typer.Typer(
    help="Look up known error codes (sign-in, Windows, HTTP, …): what they mean, what to do, "
         "and the filter that finds them. Built-in base plus your own files.",
    no_args_is_help=True)
app.add_typer(errors_app, name="errors")

ERRFILE_HELP = "An extra known-errors file (YAML or CSV) for this call; repeatable. Files " \
               "named in LEXIQUERY_KNOWN_ERRORS_FILES are always read."


def _known_errors(files: list[Path] | None) -> Any:
    from lexiquery.catalog.store import load_user_catalog
    from lexiquery.config import get_settings
    from lexiquery.knowledge.known_errors.files import load_known_errors

    settings = get_settings()
    return load_known_errors([*settings.known_errors_files, *(files or [])],
                             catalog=load_user_catalog(settings, []))


@errors_app.command("show")
def errors_show(
    code: str = typer.Argument(..., metavar="CODE", show_default=False,
                               help="The code as written: 50126, 0xC000006A, 4625, HTTP 429, …"),
    file: Optional[list[Path]] = typer.Option(None, "--file", "-f", metavar="FILE",
                                              help=ERRFILE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Explain one error code: its system, meaning, what to do, and the filter that finds it.

    \b
    Example:
      lexiquery errors show 50126
    """
    from lexiquery.errors import InputError, LexiQueryError

    try:
        base = _known_errors(file)
        error = base.get(code)
        if error is None:
            # The code may be written another way ("AADSTS50126", "0xc000006a"): let find read it.
            found = {m.code: m.error for m in base.find(code)}
            error = next(iter(found.values())) if len(found) == 1 else None
        if error is None:
            close = difflib.get_close_matches(code, [e.code for e in base], n=3, cutoff=0.5)
            raise InputError(f"no known error {code!r}",
                             hint=(f"did you mean {', '.join(close)}? " if close else "")
                             + "`lexiquery errors list` shows them all; add your own with "
                               "--file or LEXIQUERY_KNOWN_ERRORS_FILES")
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json(error)
        return
    from lexiquery.render.sop import print_known_error

    print_known_error(error)


@errors_app.command("list")
def errors_list(
    system: Optional[str] = typer.Option(None, "--system", "-s", metavar="SYSTEM",
                                         help="Only this system (see the system column)."),
    file: Optional[list[Path]] = typer.Option(None, "--file", "-f", metavar="FILE",
                                              help=ERRFILE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the known error codes (built-in and your own), by system."""
    from lexiquery.errors import InputError, LexiQueryError

    try:
        base = _known_errors(file)
        errors = list(base)
        if system is not None:
            systems = sorted(base.systems())
            match = [s for s in systems if s.lower() == system.strip().lower()]
            if not match:
                raise InputError(f"no known errors for system {system!r}",
                                 hint="systems: " + ", ".join(systems))
            errors = [e for e in errors if e.system == match[0]]
        errors.sort(key=lambda e: (e.system, e.code))
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json(errors)
        return
    from lexiquery.render.sop import print_known_errors

    print_known_errors(errors)


@errors_app.command("find")
def errors_find(
    text: str = typer.Argument(..., metavar="TEXT", show_default=False,
                               help="Any text: a log line, an error message, a ticket."),
    file: Optional[list[Path]] = typer.Option(None, "--file", "-f", metavar="FILE",
                                              help=ERRFILE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Find the known error codes a text mentions and explain each.

    \b
    Example:
      lexiquery errors find "Sign-in failed: AADSTS50126, then 50053 for the same user"
    """
    from lexiquery.errors import LexiQueryError

    try:
        mentions = _known_errors(file).find(text)
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json(mentions)
        return
    from lexiquery.render.sop import print_mentions

    print_mentions(mentions)
