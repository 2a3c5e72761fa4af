"""Terminal output of `lexiquery agents …` (rich), in the house style of `render.py`.

Everything an agent card says (name, description, skills, tags, examples) and every error text
comes from another process, so it is printed through `Text` objects, never as rich markup: a
card naming itself "[link=…]" prints as written (and `Text` strips terminal control codes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.text import Text

from lexiquery.registry.registry import AgentEntry
from lexiquery.render.answer import _table
from lexiquery.render.console import terminal

HEALTH_STYLE = {"healthy": "green", "unhealthy": "bold red", "unchecked": "yellow"}


def health_word(entry: AgentEntry) -> str:
    """healthy / unhealthy / unchecked: the entry's last health check, in one word."""
    if entry.healthy is None:
        return "unchecked"
    return "healthy" if entry.healthy else "unhealthy"


def _age(when: datetime, now: datetime) -> str:
    s = max(0, int((now - when).total_seconds()))
    if s < 120:
        return f"{s} s ago"
    if s < 7200:
        return f"{s // 60} min ago"
    if s < 172800:
        return f"{s // 3600} h ago"
    return f"{s // 86400} d ago"


def health_cell(entry: AgentEntry, now: datetime | None = None) -> Text:
    """The health word and how long ago it was checked (the error and the exact time are
    printed under the table, where a long message does not crush the columns)."""
    word = health_word(entry)
    cell = Text(word, style=HEALTH_STYLE[word])
    if entry.checked_at is not None:
        cell.append(f"\n{_age(entry.checked_at, now or datetime.now(UTC))}", style="dim")
    return cell


def _checked(entry: AgentEntry) -> str:
    when = entry.checked_at
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if when else "never"


def print_entries(entries: Sequence[AgentEntry], *, console: Console | None = None) -> None:
    """The registry's entries as one table (or a line saying there are none), then one line
    per agent that is unhealthy (its last error) or was never checked."""
    con = console or terminal()
    if not entries:
        con.print("No agents in the registry. Register one: lexiquery agents register "
                  "http://127.0.0.1:9020 (or configure A2A_STATIC_AGENTS_JSON).",
                  markup=False, highlight=False)
        return
    table = _table("agent (name, id)", "url", "skills", "platforms", "health", "origin")
    # Names and ids stay whole (users type them: `agents rm ID`), so do the short columns;
    # URLs and skill lists fold.
    for i in (0, 3, 4, 5):
        table.columns[i].no_wrap = True
    now = datetime.now(UTC)
    for e in entries:
        agent = Text(e.name, style="bold")
        agent.append(f"\n{e.id}", style="dim")
        table.add_row(agent, Text(e.url),
                      Text("\n".join(e.skills) or "—"), Text(", ".join(e.platforms) or "—"),
                      health_cell(e, now), Text(e.origin))
    con.print(table)
    for e in entries:
        if e.healthy is False:
            line = Text(f"{e.name} ({e.id}) ", style="bold")
            line.append("unhealthy", style=HEALTH_STYLE["unhealthy"])
            line.append(f", checked {_checked(e)}: {e.last_error or 'no error recorded'}")
            con.print(line)
    unchecked = [e.name for e in entries if e.healthy is None]
    if unchecked:
        con.print(Text("not checked yet: " + ", ".join(unchecked)
                       + " (`lexiquery agents check` checks them now)", style="dim"))


def print_mode_note(mode: str, local_names: Sequence[str], *,
                    console: Console | None = None) -> None:
    """Which agents answer journeys, so the registry table is never mistaken for that."""
    con = console or terminal()
    if mode == "local":
        con.print(Text(
            "Journeys use the in-process agents (LEXIQUERY_AGENTS=local): "
            + ", ".join(local_names) + ". Set LEXIQUERY_AGENTS=registry to call the agents "
            "above over A2A instead.", style="dim"))
    else:
        con.print(Text("Journeys call these agents over A2A (LEXIQUERY_AGENTS=registry): by "
                       "name, the most recently registered one that is not unhealthy.",
                       style="dim"))


def print_card(card: dict[str, Any], *, source: str, console: Console | None = None) -> None:
    """An agent card (A2A 1.0 JSON): who it is, where it answers, and its skills."""
    con = console or terminal()
    head = Text(str(card.get("name", "?")), style="bold")
    if card.get("version"):
        head.append(f" {card['version']}")
    head.append(f"  ({source})", style="dim")
    con.print(head)
    if card.get("description"):
        con.print(Text(str(card["description"])))
    for iface in card.get("supportedInterfaces", []) or []:
        if isinstance(iface, dict):
            con.print(Text(f"  {iface.get('protocolBinding', '?')}: {iface.get('url', '?')}",
                           style="dim"))
    skills = [s for s in card.get("skills", []) or [] if isinstance(s, dict)]
    table = _table("skill", "name", "description", "tags", "examples")
    table.columns[0].no_wrap = True
    for s in skills:
        table.add_row(Text(str(s.get("id", ""))), Text(str(s.get("name", ""))),
                      Text(str(s.get("description", ""))),
                      Text(", ".join(map(str, s.get("tags", []) or [])) or "—"),
                      Text("\n".join(map(str, s.get("examples", []) or [])) or "—"))
    con.print(table)


__all__ = ["health_cell", "health_word", "print_card", "print_entries", "print_mode_note"]
