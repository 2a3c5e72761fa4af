"""Terminal output of `lexiquery run | translate | explain | validate` (rich).

Queries are printed unboxed and never wrapped by us, like `render.print_answer`, so they copy
exactly; result tables fold long cells instead of cutting them, up to `MAX_CELL_CHARS` a cell
(a 1 MB value folded into a terminal table took 14 s to print and is no use to read there;
`--json` keeps every value whole).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.text import Text

from lexiquery.operations import Explanation, RunResult, Translation, Validation
from lexiquery.render.answer import _issue_lines, _syntax, _table
from lexiquery.render.console import terminal

MAX_CELL_CHARS = 500


def _shown(v: Any) -> str:
    """A cell as the table shows it: at most `MAX_CELL_CHARS`, the cut said."""
    text = _cell(v)
    if len(text) <= MAX_CELL_CHARS:
        return text
    return f"{text[:MAX_CELL_CHARS]}… (+{len(text) - MAX_CELL_CHARS:,} characters; --json shows all)"


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="seconds")
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_cell(x) for x in v)
    return str(v)


def print_run(result: RunResult, *, show: int = 20, console: Console | None = None) -> None:
    con = console or terminal()
    if result.columns:
        table = _table(*result.columns)
        for row in result.rows[:show]:
            table.add_row(*(_shown(v) for v in row))
        con.print(table)
    n = len(result.rows)
    more = "+" if result.truncated else ""
    tail = f" (first {show} shown)" if n > show else ""
    how = "the SQL as written, in DuckDB" if result.executed == "query" else \
        f"the {result.platform.upper()} query's plan, compiled to DuckDB"
    con.print(Text(f"{n}{more} row{'s' if n != 1 else ''}{tail} · {result.source} · "
                   f"{result.data} · {how} · {result.elapsed_ms:.1f} ms", style="dim"))
    if result.truncated:
        cap = ("byte cap", "LEXIQUERY_RESULT_MAX_BYTES") if result.truncated_by == "bytes" \
            else ("row cap", "LEXIQUERY_ROW_CAP")
        con.print(Text(f"the {cap[0]} was reached: raise {cap[1]} to see more", style="yellow"))
    for line in _issue_lines(result.issues):
        con.print(line)


def print_translation(t: Translation, *, console: Console | None = None) -> None:
    con = console or terminal()
    title = t.to_platform.upper() + (f" · {t.to_dialect}" if t.to_platform == "sql" else "")
    con.print(Text.assemble((f"── {title} ", "bold"),
                            ("✓ checked" if t.valid else
                             "✗ not equivalent: parts did not carry over" if t.query else
                             "✗ cannot be written", "green" if t.valid else "bold red"),
                            (f" · from {t.from_dialect.upper() if t.from_platform != 'sql' else t.from_dialect}"
                             f" · {t.source}", "dim")))
    if t.query:
        con.print(_syntax(t.to_platform, t.to_dialect, t.query).highlight(t.query),
                  soft_wrap=True, end="")
    for line in _issue_lines(t.issues):
        con.print(line)
    if t.agreement is not None:
        style = "green" if t.agreement.identical else "yellow"
        text = ("both return identical results on the sample data" if t.agreement.identical
                else "results differ on the sample data: " + "; ".join(t.agreement.differences))
        con.print(Text(text, style=style))
    con.print()


def print_explanation(e: Explanation, *, console: Console | None = None) -> None:
    con = console or terminal()
    for i, step in enumerate(e.steps, 1):
        con.print(Text(f"{i:>2}. {step}"))
    for line in _issue_lines(e.issues):
        con.print(line)


def print_validation(v: Validation, *, console: Console | None = None) -> None:
    con = console or terminal()
    marks = {True: ("✓", "green"), False: ("✗", "bold red"), None: ("–", "yellow")}
    for c in v.checks:
        mark, style = marks[c.ok]
        con.print(Text.assemble((f"{mark} {c.name:<10}", style), " ", c.message))
        if c.hint:
            con.print(Text(f"  {'':<10} hint: {c.hint}", style="dim"))
    # Errors are the failed checks above; show what they do not say (unsupported parts, notes).
    shown = " ".join(c.message for c in v.checks)
    for line in _issue_lines([i for i in v.issues if i.message.split(" — ")[0] not in shown]):
        con.print(line)
    con.print(Text("valid" if v.valid else "invalid", style="green" if v.valid else "bold red"))
