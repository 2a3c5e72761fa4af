"""Terminal rendering with rich: answers in panels with syntax colour, catalog tables, history.

Only the CLI imports this module. Queries are printed so they can be copied as they are: no
line wrapping inside a query panel. Questions, values, names and messages are data: they are
printed as `Text` (tables through `console.TextTable`), never as rich markup or emoji codes,
whichever console the caller passes.
"""

from __future__ import annotations

from typing import Any

from pygments.lexer import RegexLexer, bygroups
from pygments.token import Keyword, Name, Number, Operator, Punctuation, String, Text
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text as RichText

from lexiquery.answer import Answer
from lexiquery.catalog.model import Catalog, Source
from lexiquery.engine.explain import describe_filter
from lexiquery.ir import Severity
from lexiquery.render.console import TextTable, terminal


class SplLexer(RegexLexer):
    """Minimal Splunk SPL highlighting: pipes and command names, fields, strings, numbers."""

    name = "SPL"
    aliases = ["spl"]
    tokens = {
        "root": [
            (r"\s+", Text),
            (r'"(\\\\|\\"|[^"])*"', String.Double),
            (r"'(\\\\|\\'|[^'])*'", String.Single),
            (r"(\|)(\s*)([A-Za-z_]\w*)", bygroups(Punctuation, Text, Keyword)),
            (r"\b(AND|OR|NOT|IN|AS|BY|by|as|span)\b", Operator.Word),
            (r"([A-Za-z_][\w.:]*)(\s*)(!=|<=|>=|=|<|>)", bygroups(Name.Attribute, Text, Operator)),
            (r"-?\d+(\.\d+)?", Number),
            (r"[(),]", Punctuation),
            (r"[^\s\"'|(),=<>!]+", Text),
            (r".", Text),
        ]
    }


_SQL_LEXERS = {"postgres": "postgresql", "tsql": "tsql", "mysql": "mysql"}
_SEVERITY_STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}


def _syntax(platform: str, dialect: str, text: str) -> Syntax:
    if platform == "spl":
        return Syntax(text, SplLexer(), word_wrap=False, theme="ansi_dark",
                      background_color="default")
    lexer = "kql" if platform == "kql" else _SQL_LEXERS.get(dialect, "sql")
    return Syntax(text, lexer, word_wrap=False, theme="ansi_dark", background_color="default")


def _issue_lines(issues: list[Any]) -> list[RichText]:
    out = []
    for i in issues:
        t = RichText()
        t.append(f"{i.severity.value} ", style=_SEVERITY_STYLE[i.severity])
        t.append(f"[{i.code}] ", style="dim")
        t.append(i.message)
        out.append(t)
    return out


_DUPLICATE_NOTES = ("time range:", "filter:", "aggregate:", "sort:", "limit:", "time bucket:")


def print_answer(answer: Answer, *, console: Console | None = None,
                 show_transitions: bool = False) -> None:
    """The answer for a terminal. Queries are printed unboxed and never cropped or wrapped by
    us (soft wrap only), so they can be selected and copied exactly."""
    con = console or terminal()
    con.print(RichText.assemble(("Question: ", "bold"), answer.question))
    if answer.understanding:
        con.print(RichText("Understood:", style="bold"))
        for line in answer.understanding:
            con.print(RichText(f"  • {line}"))
    for note in answer.notes:
        if not note.startswith(_DUPLICATE_NOTES):
            # Words the engine could not read change what the query means: make them stand out.
            style = "yellow" if note.startswith("not understood") else "dim"
            con.print(RichText(f"  ◦ {note}", style=style))
    if answer.alternatives:
        con.print(RichText(f"  ◦ other possible sources: {', '.join(answer.alternatives)} "
                           f"(use --source to pick one)", style="dim"))
    _print_knowledge(answer, con)
    for q in answer.queries:
        title = f"{q.platform.upper()}" + (f" · {q.dialect}" if q.platform == "sql" else "")
        con.print()
        con.print(RichText.assemble(
            (f"── {title} ", "bold"),
            ("✓ checked" if q.valid else "✗ invalid", "green" if q.valid else "bold red"),
            (f" · confidence {q.confidence:.0%} · {q.target}", "dim")))
        if q.query:
            con.print(_syntax(q.platform, q.dialect, q.query).highlight(q.query),
                      soft_wrap=True, end="")
        for line in _issue_lines(q.issues):
            con.print(line)
        if q.sample is not None:
            con.print(RichText(q.sample.summary() + f" ({q.sample.elapsed_ms:.0f} ms)",
                               style="dim"))
    if answer.agreement is not None and answer.agreement.summary():
        con.print()
        con.print(RichText(answer.agreement.summary(),
                           style="green" if answer.agreement.identical else "yellow"))
    plan_issues = [i for i in answer.issues if not any(i in q.issues for q in answer.queries)]
    for line in _issue_lines(plan_issues):
        con.print(line)
    if show_transitions:
        for t in answer.transitions:
            con.print(RichText(f"  {t.at.isoformat(timespec='milliseconds')}  {t.state.value}",
                               style="dim"))
    con.print()
    remote = sum(1 for a in answer.agents if a.where != "local")
    agents = f" · {remote} of {len(answer.agents)} agent calls over A2A" if remote else ""
    engine = answer.engine_note or answer.engine
    con.print(RichText(f"journey {answer.journey_id} · {answer.status.value} · engine "
                       f"{engine}{agents}", style="dim"))
    if answer.cost is not None and answer.cost.totals.calls:
        t = answer.cost.totals
        unknown = f" ({t.unknown_token_calls} without counts)" if t.unknown_token_calls else ""
        con.print(RichText(f"model calls: {t.calls} · tokens {t.prompt_tokens:,} in + "
                           f"{t.completion_tokens:,} out{unknown} · compute {t.compute_s:.2f} s"
                           f" · est. cost {t.estimated_cost:.4f}", style="dim"))


def _print_knowledge(answer: Answer, con: Console) -> None:
    """What the runbooks and the known-errors base contributed, with the passages cited."""
    k = answer.knowledge
    if k is None:
        return
    for e in k.known_errors:
        con.print(RichText.assemble(("  ⓘ ", "cyan"), (f"{e.code}", "bold cyan"),
                                    f" — {e.title}: {e.meaning}"), highlight=False)
        if e.action:
            con.print(RichText(f"    what to do: {e.action}", style="dim"))
    if answer.citations:
        con.print(RichText("From your runbooks:", style="bold"))
        for i, c in enumerate(answer.citations, 1):
            path = " › ".join(c.heading_path[1:] or c.heading_path)
            con.print(RichText.assemble(
                (f"  [{i}] {c.ref()}", "bold"), (f" · {c.title}" if c.title != c.label else ""),
                (f" · {path} · chunk {c.chunk_index}", "dim"),
                (f" · used for {', '.join(c.used_for)}", "dim")), highlight=False)
    mode = {"hybrid": "runbook search: BM25 + embeddings", "bm25": "runbook search: BM25 only",
            "off": "runbooks not used"}.get(k.mode, k.mode)
    con.print(RichText(f"  ◦ {mode}" + (f" ({k.note})" if k.note else ""), style="dim"))


def _table(*columns: str, **kw: Any) -> TextTable:
    """A table whose cells wrap (fold) instead of being cut with an ellipsis: ids, names and
    search prefixes are things users copy. Its string headers and cells are literal text."""
    table = TextTable(*columns, **kw)
    for col in table.columns:
        col.overflow = "fold"
    return table


def print_history(rows: list[dict[str, Any]], *, console: Console | None = None) -> None:
    con = console or terminal()
    if not rows:
        con.print(RichText('No journeys yet. Try: lexiquery ask "failed sign-ins in the last '
                           '24 hours"'))
        return
    table = _table("journey", "when (UTC)", "status", "source", "question")
    for r in rows:
        table.add_row(r["journey_id"][:12], (r["created_at"] or "")[:19].replace("T", " "),
                      r["status"], r["source"] or "—", r["question"])
    con.print(table)


def print_catalog(catalog: Catalog, *, console: Console | None = None) -> None:
    con = console or terminal()
    table = _table("id", "KQL table", "Splunk search", "SQL table")
    table.columns[0].no_wrap = True  # ids stay whole: users type them
    for s in catalog:
        b = s.bindings
        ident = RichText(s.id)
        if s.origin != "builtin":
            ident.append(f"\nfrom {s.origin}", style="dim")
        table.add_row(ident, b.kql.table if b.kql else "—", b.spl.search if b.spl else "—",
                      b.sql.table if b.sql else "—")
    con.print(table)



def print_shelves(catalog: Catalog, workspaces: tuple[list[str], str | None], *,
                  listed: bool = False, console: Console | None = None) -> None:
    """The workspaces (which one is in use) and the tables on the shelves, counted per pack;
    with `listed`, every shelf table."""
    con = console or terminal()
    names, active = workspaces
    if names:
        marks = [f"{n} (active)" if n == active else n for n in names]
        con.print(RichText("workspaces: " + ", ".join(marks)
                           + ("" if active else " — all in use"), style="bold"))
    for shelf in catalog.shelves:
        con.print(RichText(f"{shelf.kind} {shelf.name}: {len(shelf)} "
                           f"{shelf.platform.value.upper()} tables on the shelf", style="dim"))
    if listed:
        table = _table("id", "table or search", "from")
        table.columns[0].no_wrap = True
        for shelf in catalog.shelves:
            for t in shelf.tables:  # type: ignore[attr-defined]
                table.add_row(t.id, t.target, shelf.origin)
        con.print(table)
    elif catalog.shelves:
        con.print(RichText("`lexiquery catalog list --reference` lists them; every one can be "
                           "asked about", style="dim"))


def print_source(src: Source, *, console: Console | None = None) -> None:
    con = console or terminal()
    con.print(RichText.assemble((src.name, "bold"), f"  ({src.id}, from {src.origin})"))
    if src.description:
        con.print(RichText(src.description))
    if src.synonyms:
        con.print(RichText(f"also called: {', '.join(src.synonyms)}", style="dim"))
    fields = _table("field", "type", "entity", "description and known values", title="Fields")
    for f in src.fields:
        desc = f.description
        if f.known_values:
            desc += "\n" + "; ".join(f"{kv.value} = {kv.meaning}" for kv in f.known_values[:12])
        fields.add_row(f.name, f.type.value, f.entity.value if f.entity else "", desc)
    con.print(fields)
    platforms = src.bindings.platforms()
    names = _table("field", *[p.value.upper() for p in platforms], title="Names per platform")
    for f in src.fields:
        names.add_row(f.name, *[src.column(p, f.name) or "—" for p in platforms])
    where = [f"{p.value.upper()}: {src.target(p)}" for p in platforms]
    con.print(names)
    con.print(RichText("\n".join(where)))
    if src.concepts:
        concepts = _table("concept", "means", "also called")

        for c in src.concepts:
            concepts.add_row(c.name, " and ".join(describe_filter(f, src) for f in c.filters),
                             ", ".join(c.synonyms))
        con.print(concepts)
