"""Terminal output of `lexiquery cost` (rich): recent journeys' costs, one journey's calls.

House style of `render.py`: cells fold instead of being cut (ids are copied), numbers right
aligned. A count the model did not report prints as "unknown" — never as 0 — and a sum that
leaves such calls out says how many ("+2 unknown").
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from lexiquery.cost.model import JourneyCost, Totals, UsageRecord
from lexiquery.render.answer import _table
from lexiquery.render.console import terminal

UNKNOWN = "unknown"


def money(value: float) -> str:
    """A cost in the rates' own unit: six decimals (rates are per 1K tokens, so small)."""
    return f"{value:,.6f}"


def count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def call_tokens(r: UsageRecord) -> str:
    """prompt/completion/total as the model reported them: "?" for a missing count, and
    "unknown" when it reported none."""
    if r.prompt_tokens is None and r.completion_tokens is None and r.total_tokens is None:
        return UNKNOWN
    return "/".join(count(v) for v in (r.prompt_tokens, r.completion_tokens, r.total_tokens))


def tokens(totals: Totals) -> str:
    """The known total, plus how many calls it leaves out."""
    shown = f"{totals.total_tokens:,}"
    if totals.unknown_token_calls:
        shown += f" (+{totals.unknown_token_calls} {UNKNOWN})"
    return shown


def split_tokens(totals: Totals) -> str:
    """prompt/completion/total sums (each of the counts that were reported)."""
    shown = f"{totals.prompt_tokens:,}/{totals.completion_tokens:,}/{totals.total_tokens:,}"
    if totals.unknown_token_calls:
        shown += f" (+{totals.unknown_token_calls} {UNKNOWN})"
    return shown


def _print_table(con: Console, headers: Sequence[str], rows: Sequence[Sequence[str | Text]], *,
                 numbers: Sequence[int], whole: Sequence[int] = (),
                 sections: Sequence[int] = ()) -> None:
    """A compact table (no box, as `sop list`). Columns in `numbers` are right-aligned, those
    in `whole` never wrap (ids: users copy them). Rich keeps words whole while the terminal
    allows, so on a narrow one the text cells and headers wrap first. A rule is drawn after
    the rows in `sections`."""
    table = _table(*headers, box=None, pad_edge=False, header_style="bold underline",
                   collapse_padding=True)
    for i in numbers:
        table.columns[i].justify = "right"
    for i in whole:
        table.columns[i].no_wrap = True
    for n, row in enumerate(rows):
        table.add_row(*row, end_section=n in sections)
    con.print(table)


def print_recent_costs(costs: Sequence[JourneyCost], *, console: Console | None = None) -> None:
    con = console or terminal()
    if not costs:
        con.print("No model calls recorded yet. Journeys answered by the rules engine without "
                  "Ollama embeddings make none; with Ollama running, `lexiquery ask` records "
                  "every call.", highlight=False)
        return
    rows = [(c.journey_id, c.last_at.strftime("%Y-%m-%d %H:%M:%S") if c.last_at else "—",
             str(c.totals.calls), tokens(c.totals), f"{c.totals.compute_s:.3f}",
             money(c.totals.estimated_cost)) for c in costs]
    # The id stays whole: it is what `lexiquery cost ID` takes.
    _print_table(con, ("journey", "when (UTC)", "calls", "tokens", "compute s", "cost"), rows,
                 numbers=(2, 3, 4, 5), whole=(0,))


def print_journey_cost(summary: JourneyCost, records: Sequence[UsageRecord], *,
                       console: Console | None = None) -> None:
    con = console or terminal()
    t = summary.totals
    con.print(Text.assemble(("journey ", "bold"), (summary.journey_id, "bold"),
                            f": {t.calls} call(s), {tokens(t)} tokens, "
                            f"{t.compute_s:.3f} compute s, cost {money(t.estimated_cost)}"),
              soft_wrap=True)
    rows = []
    for r in records:
        operation = Text(r.operation)
        if not r.ok:  # a failed call still cost time (and maybe tokens): shown, marked
            operation.append(f" (failed: {r.error or 'error'})", style="red")
        rows.append((r.at.strftime("%H:%M:%S"), Text(r.service), operation,
                     Text.assemble(r.model, (f" {r.model_type}", "dim")), call_tokens(r),
                     f"{r.latency_ms:,.1f}",
                     "?" if r.compute_s is None else f"{r.compute_s:.3f}",
                     money(r.estimated_cost)))
    _print_table(con, ("time (UTC)", "service", "operation", "model", "tokens p/c/t",
                       "latency ms", "compute s", "cost"), rows, numbers=(4, 5, 6, 7))
    legend = "tokens p/c/t: prompt/completion/total"
    if any("?" in str(row[4]) or row[6] == "?" for row in rows):
        legend += "; ? = not reported by the model (unknown, never counted as 0)"
    con.print(Text(legend, style="dim"))
    for title, groups in (("by service", summary.by_service), ("by model", summary.by_model)):
        _print_totals(con, title, groups, t)


def _print_totals(con: Console, title: str, groups: dict[str, Totals], total: Totals) -> None:
    named = [*sorted(groups.items()), ("total", total)]
    rows = [(Text(name, style="bold" if i == len(named) - 1 else ""), str(g.calls),
             split_tokens(g), f"{g.latency_ms:,.1f}", f"{g.compute_s:.3f}",
             money(g.estimated_cost)) for i, (name, g) in enumerate(named)]
    _print_table(con, (title, "calls", "tokens p/c/t", "latency ms",
                       "compute s", "cost"), rows, numbers=(1, 2, 3, 4, 5),
                 sections=(len(rows) - 2,))
