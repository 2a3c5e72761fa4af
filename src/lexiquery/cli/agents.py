"""`lexiquery agents list|register|rm|check|card`: the agent registry from the terminal.

The same registry the protocol interface serves (`/a2a/agents/*`): one file in the data
directory, shared by every process, so an agent registered here is seen by a running server and
the other way round. Conventions of `cli.sop`: every command takes `--json` (entries exactly as
`GET /a2a/agents/discover` returns them), package errors go through `cli.fail` and exit with
their code (6 for a refused registration, an unknown or a static agent). Registered on the main
app by `lexiquery.cli`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import typer

from lexiquery.cli.app import JSON_HELP, app, echo_json, err_console, fail

if TYPE_CHECKING:
    from lexiquery.config import Settings
    from lexiquery.registry.registry import Registry

agents_app = typer.Typer(
    help="The agent registry: list the agents LexiQuery knows (static ones from "
         "A2A_STATIC_AGENTS_JSON and registered ones), register one by URL, remove one, check "
         "their health, show a card. Journeys use them when LEXIQUERY_AGENTS=registry.",
    no_args_is_help=True)
app.add_typer(agents_app, name="agents")


def _open() -> tuple[Settings, Registry]:
    """The settings and their registry (a malformed A2A_STATIC_AGENTS_JSON is an InputError)."""
    from lexiquery.config import get_settings
    from lexiquery.registry.registry import Registry

    settings = get_settings()
    return settings, Registry(settings)


def _mode_note(settings: Settings, *, to_stderr: bool) -> None:
    from lexiquery.agents.contracts import AGENT_NAMES
    from lexiquery.render.agents import print_mode_note

    print_mode_note(settings.agents, AGENT_NAMES,
                    console=err_console() if to_stderr else None)


@agents_app.command("list")
def agents_list(
    skill: str | None = typer.Option(None, "--skill", "-s", metavar="SKILL",
                                        help="Only agents offering this skill id, e.g. "
                                             "generate_query."),
    platform: str | None = typer.Option(None, "--platform", "-p", metavar="PLATFORM",
                                           help="Only data agents for this platform (kql, spl, "
                                                "sql: their skills' platform:<p> tag)."),
    healthy: bool = typer.Option(False, "--healthy",
                                 help="Leave out agents whose last health check failed."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP + " A list of entries, as "
                                                                   "GET /a2a/agents/discover."),
) -> None:
    """List the registry's agents: URL, skills, platforms, health (as of the last check) and
    origin (static or registered), and say which agents journeys use.

    \b
    Example:
      lexiquery agents list --platform kql
    """
    from lexiquery.errors import LexiQueryError

    try:
        settings, registry = _open()
        entries = registry.discover(skill=skill, platform=platform, healthy_only=healthy)
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json(entries)
        _mode_note(settings, to_stderr=True)  # stdout stays the API's JSON
        return
    from lexiquery.render.agents import print_entries

    print_entries(entries)
    _mode_note(settings, to_stderr=False)


@agents_app.command("register")
def agents_register(
    url: str = typer.Argument(..., metavar="URL", show_default=False,
                              help="The agent's base URL; its card is fetched from "
                                   "URL/.well-known/agent-card.json."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Register an agent by URL: its card is fetched and checked (loopback, the static agents'
    hosts and LEXIQUERY_REGISTRY_ALLOW_HOSTS only; size and time limits), then stored.
    Registering the same URL again refreshes the entry.

    \b
    Example:
      lexiquery agents register http://127.0.0.1:9020
    """
    from lexiquery.errors import LexiQueryError

    try:
        settings, registry = _open()
        entry = asyncio.run(registry.register(url.strip()))
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json(entry)
    else:
        from lexiquery.render.agents import print_entries

        print_entries([entry])
    if settings.agents == "local":  # registered, but journeys will not call it: say so
        err_console().print(
            "note: journeys use the in-process agents until LEXIQUERY_AGENTS=registry",
            markup=False, highlight=False)


@agents_app.command("rm")
def agents_rm(
    id_or_name: str = typer.Argument(..., metavar="ID_OR_NAME", show_default=False,
                                     help="The entry's id (see `lexiquery agents list`) or "
                                          "name (the most recently registered of that name)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP + " The removed entry."),
) -> None:
    """Remove a registered agent. Static agents come from A2A_STATIC_AGENTS_JSON and are
    removed there."""
    from lexiquery.errors import LexiQueryError

    try:
        _, registry = _open()
        entry = registry.remove(id_or_name.strip())
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json(entry)
        return
    from rich.text import Text

    err_console().print(Text(f"removed {entry.name} ({entry.id}, {entry.url})"))


@agents_app.command("check")
def agents_check(
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP + " The checked entries."),
) -> None:
    """Check every agent's health now (fetch its card), record it and show the table.

    Exits 0 when every agent answered, 6 when any did not (for monitoring scripts)."""
    from lexiquery.errors import AgentError, LexiQueryError

    try:
        settings, registry = _open()
        entries = asyncio.run(registry.check_health())
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json(entries)
    else:
        from lexiquery.render.agents import print_entries

        print_entries(entries)
        _mode_note(settings, to_stderr=False)
    if any(e.healthy is False for e in entries):
        raise typer.Exit(AgentError.exit_code)


@agents_app.command("card")
def agents_card(
    target: str = typer.Argument(..., metavar="URL_OR_NAME", show_default=False,
                                 help="A known agent's id or name (its stored card), or a URL "
                                      "(fetched now, with registration's checks, not stored)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP + " The card as A2A 1.0 "
                                                                   "JSON."),
) -> None:
    """Show an agent's card: name, interfaces and skills (ids, tags, examples)."""
    from lexiquery.errors import LexiQueryError

    try:
        settings, registry = _open()
        card, source = _card(settings, registry, target.strip())
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json(card)
        return
    from lexiquery.render.agents import print_card

    print_card(card, source=source)


def _card(settings: Settings, registry: Registry, target: str) -> tuple[dict[str, Any], str]:
    """(card, where it came from): the stored card of a known agent, else a fresh fetch (a
    static agent not checked yet has none stored; a URL is always fetched)."""
    from lexiquery.registry.fetch import fetch_card

    if "://" in target:
        url, source = target, f"fetched from {target}"
    else:
        entry = registry.get(target)  # AgentError(unknown_agent) lists the known ones
        if entry.card is not None:
            when = f", checked {entry.checked_at:%Y-%m-%d %H:%M:%S} UTC" \
                if entry.checked_at else ""
            return entry.card, f"stored card of {entry.id}{when}"
        url, source = entry.url, f"fetched from {entry.url}"
    fetched = asyncio.run(fetch_card(url, registry.policy,
                                     timeout_s=settings.registry_timeout_s,
                                     max_bytes=settings.registry_card_max_bytes))
    return fetched.card, source


__all__ = ["agents_app"]
