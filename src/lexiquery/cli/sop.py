"""`lexiquery sop add|search|list|show|rm` (`lexiquery errors …` is in `cli.errors`).

The runbook store from the terminal. Conventions of `cli.query`: every
command takes `--json` (one JSON value on stdout, errors as JSON too), package errors go through
`fail` and exit with their code. `sop add` is the exception that proves the rule: one bad file
must not stop a folder of good ones, so per-file failures are reported in the results and only
the exit code (2) says that something failed. Registered on the main app by `lexiquery.cli`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from lexiquery.cli.app import JSON_HELP, app, echo_json, err_console, fail

if TYPE_CHECKING:
    from lexiquery.config import Settings
    from lexiquery.knowledge.model import DocumentInfo
    from lexiquery.knowledge.store import ProcedureStore

sop_app = typer.Typer(
    help="Add your runbooks (SOPs) and search them. Markdown, text, DOCX and PDF are read by "
         "structure; `lexiquery ask` then cites them and uses their definitions, thresholds and "
         "time windows.",
    no_args_is_help=True)
app.add_typer(sop_app, name="sop")

TAG_HELP = "Tag to attach (repeatable, or comma-separated)."


# ── helpers ──────────────────────────────────────────────────────────────────────────────────

def _tags(values: list[str] | None) -> list[str]:
    return list(dict.fromkeys(t.strip() for v in values or [] for t in v.split(",") if t.strip()))


def _open_store(settings: "Settings") -> "ProcedureStore":
    """The store. It loads the user's catalog (built-ins plus imports) itself when a document
    is read, so SOP terms bind to the sources the user actually has."""
    from lexiquery.knowledge.store import ProcedureStore

    return ProcedureStore(settings)


_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(value: str | None, *, option: str, end_of_day: bool = False) -> datetime | None:
    """An ISO date or date-time (UTC when it names no zone), or a relative age such as "7d",
    "24h", "30m", "2w" (that long before now). A bare date for --until means the end of that day,
    so `--since 2026-11-30 --until 2026-11-30` is that whole day."""
    from lexiquery.errors import InputError

    if value is None:
        return None
    v = value.strip()
    m = _RELATIVE.match(v.lower())
    if m:
        return datetime.now(timezone.utc) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        if len(v) == 10:
            d = date.fromisoformat(v)
            return datetime.combine(d, time.max if end_of_day else time.min, tzinfo=timezone.utc)
        t = datetime.fromisoformat(v)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date",
                         hint=f"use an ISO date such as {option} 2026-11-30, a date-time such "
                              f"as 2026-11-30T14:00, or an age such as {option} 7d") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _platform(value: str | None) -> str | None:
    from lexiquery.errors import InputError

    if value is None:
        return None
    p = value.strip().lower()
    if p not in {"kql", "spl", "sql"}:
        raise InputError(f"unknown platform {value!r}; choose kql, spl or sql")
    return p


# ── sop add ──────────────────────────────────────────────────────────────────────────────────

@dataclass
class _Outcome:
    path: Path
    status: str  # added | unchanged | replaced | failed
    document: "DocumentInfo | None" = None
    replaced_id: str | None = None
    error: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "status": self.status,
                "document": self.document.model_dump(mode="json") if self.document else None,
                "replaced_id": self.replaced_id, "error": self.error}


@dataclass
class _Plan:
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)


def _skip_reason(path: Path) -> str:
    from lexiquery.knowledge.readers.documents import SUPPORTED_SUFFIXES

    return f"not a supported type: {path.suffix.lower() or 'no extension'}; supported: " \
           + " ".join(SUPPORTED_SUFFIXES)


def _collect(paths: list[Path], recursive: bool) -> _Plan:
    """Files to add, in the order given (folders expanded, sorted; hidden files and Office lock
    files left out); a file named twice is added once. A file named explicitly is always tried,
    so an unsupported one fails with the reader's reason instead of being skipped quietly."""
    from lexiquery.knowledge.store import find_documents

    plan, seen = _Plan(), set()
    for p in paths:
        if p.is_dir():
            found, skipped = find_documents(p, recursive=recursive)
            plan.skipped += [(s, _skip_reason(s)) for s in skipped]
        elif p.exists():
            found = [p]
        else:
            plan.missing.append(p)
            continue
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                plan.files.append(f)
    return plan


def _add_one(store: "ProcedureStore", path: Path, tags: list[str]) -> _Outcome:
    from lexiquery.errors import InputError

    try:
        r = store.add_file(path, tags=tags)
    except InputError as e:  # DocumentError, an unreadable file: this file only
        return _Outcome(path, "failed", error=e.to_dict())
    return _Outcome(path, r.status, document=r.document, replaced_id=r.replaced_id)


def _outcome_line(o: _Outcome) -> Any:
    from rich.text import Text

    from lexiquery.render.sop import plural

    t = Text()
    t.append(f"{o.status:<10} ", style={"added": "green", "replaced": "cyan",
                                        "unchanged": "dim", "failed": "bold red"}[o.status])
    if o.document is None:
        assert o.error is not None
        t.append(o.error["message"])
        if o.error.get("hint"):
            t.append(f"\n{'':<11}hint: {o.error['hint']}", style="dim")
        return t
    d = o.document
    t.append(d.label, style="bold")
    t.append(f"  {o.path}")
    if o.status != "unchanged":
        t.append(f"  ({plural(d.chunks, 'chunk')}, {plural(d.procedures, 'procedure')}, "
                 f"id {d.id[:12]}"
                 + (f", replaces {o.replaced_id[:12]}" if o.replaced_id else "") + ")",
                 style="dim")
    for w in d.warnings if o.status != "unchanged" else []:
        t.append(f"\n{'':<11}warning: {w}", style="yellow")
    return t


def _summary(outcomes: list[_Outcome], store: "ProcedureStore") -> dict[str, Any]:
    counts = {s: sum(o.status == s for o in outcomes)
              for s in ("added", "unchanged", "replaced", "failed")}
    new = [o.document for o in outcomes if o.document and o.status != "unchanged"]
    stored = [o.document for o in outcomes if o.document]
    # The mode of what this run stored (the unchanged documents' only when nothing was new).
    mode, note = store.ingest_mode(new or stored)
    return {**counts, "chunks": sum(d.chunks for d in new), "mode": mode, "note": note}


def _summary_line(s: dict[str, Any]) -> Any:
    from rich.text import Text

    from lexiquery.render.sop import plural

    t = Text(f"{s['added']} added, {s['unchanged']} unchanged, {s['replaced']} replaced, ")
    t.append(f"{s['failed']} failed", style="bold red" if s["failed"] else "")
    t.append(f" · {plural(s['chunks'], 'chunk')} indexed")
    if s["mode"] == "hybrid":
        t.append(f" · search mode: hybrid ({s['note']})", style="green")
    elif s["mode"] == "bm25":
        t.append(f" · search mode: bm25 only — {s['note']}", style="yellow")
    return t


@sop_app.command("add")
def sop_add(
    paths: list[Path] = typer.Argument(..., metavar="PATH...", show_default=False,
                                       help="Files and folders to add."),
    tag: Optional[list[str]] = typer.Option(None, "--tag", "-t", metavar="TAG", help=TAG_HELP),
    recursive: bool = typer.Option(True, "--recursive/--no-recursive",
                                   help="Look into sub-folders of a folder."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add runbooks (Markdown, text, DOCX, PDF) to the procedure store.

    Folders are searched for supported files; other files there are listed as skipped. The same
    file again is left unchanged; a changed file with the same name replaces the old version.
    One failing file does not stop the others. Embeddings come from Ollama when it answers;
    otherwise search is BM25 only.

    Exit 0 when every file was added or unchanged, 2 when any failed.

    \b
    Examples:
      lexiquery sop add ./runbooks --tag soc
      lexiquery sop add SOP-017.md incident-response.pdf --tag identity,tier1
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.text import Text

    from lexiquery.config import get_settings
    from lexiquery.errors import InputError, LexiQueryError
    from lexiquery.render.console import progress_description, terminal

    settings = get_settings()
    tags = _tags(tag)
    try:
        plan = _collect(paths, recursive)
        if not plan.files and not plan.missing:
            raise InputError(
                "no supported documents in " + ", ".join(str(p) for p in paths),
                hint="LexiQuery reads Markdown (.md), text (.txt), Word (.docx) and PDF files"
                     + ("" if recursive else "; --no-recursive left sub-folders out"))
        outcomes = [_Outcome(p, "failed",
                             error=InputError(f"{p}: no such file or folder").to_dict())
                    for p in plan.missing]
        out, err = terminal(), err_console()
        if not as_json:
            for o in outcomes:
                out.print(_outcome_line(o), soft_wrap=True)
        show_bar = len(plan.files) > 1 and not as_json and err.is_terminal
        with _open_store(settings) as store, \
                Progress(progress_description(), BarColumn(), MofNCompleteColumn(),
                         TimeElapsedColumn(), console=err, transient=True,
                         disable=not show_bar) as progress:
            task = progress.add_task("adding", total=len(plan.files))
            for f in plan.files:
                progress.update(task, description=f"adding {f.name}")
                outcome = _add_one(store, f, tags)
                outcomes.append(outcome)
                if not as_json:
                    out.print(_outcome_line(outcome), soft_wrap=True)
                progress.advance(task)
            summary = _summary(outcomes, store)
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json({"results": [o.to_json() for o in outcomes],
                    "skipped": [{"path": str(p), "reason": r} for p, r in plan.skipped],
                    "summary": summary})
    else:
        for p, reason in plan.skipped:
            out.print(Text.assemble(("skipped    ", "dim"), str(p), (f"  ({reason})", "dim")),
                      soft_wrap=True)
        out.print(_summary_line(summary), soft_wrap=True)
    raise typer.Exit(2 if summary["failed"] else 0)


# ── sop search | list | show | rm ────────────────────────────────────────────────────────────

@sop_app.command("search")
def sop_search(
    text: str = typer.Argument(..., metavar="TEXT", show_default=False,
                              help="What to look for, in plain words."),
    limit: int = typer.Option(5, "--limit", "-n", min=1, max=50, metavar="N",
                              help="Most passages to show."),
    document: Optional[str] = typer.Option(
        None, "--document", "-D", metavar="ID",
        help="Only this document (id, id prefix, label or file name)."),
    tag: Optional[str] = typer.Option(None, "--tag", "-t", metavar="TAG",
                                      help="Only documents with this tag."),
    platform: Optional[str] = typer.Option(
        None, "--platform", "-p", metavar="kql|spl|sql",
        help="Only documents with queries in kql, spl or sql."),
    since: Optional[str] = typer.Option(
        None, "--since", metavar="DATE",
        help="Only documents added since: 2026-11-30, 2026-11-30T14:00 or 7d."),
    until: Optional[str] = typer.Option(
        None, "--until", metavar="DATE",
        help="Only documents added until (a bare date includes that day)."),
    as_json: bool = typer.Option(False, "--json", help="Print the SearchResult as JSON."),
) -> None:
    """Search the stored runbooks: best passages first, with where they come from.

    Hybrid search (BM25 and Ollama embeddings, fused by rank) when embeddings were made; BM25
    only otherwise — the first line says which.

    \b
    Examples:
      lexiquery sop search "brute force sign-ins threshold"
      lexiquery sop search "isolate host" --tag edr --platform kql --since 30d
    """
    from lexiquery.config import get_settings
    from lexiquery.errors import InputError, LexiQueryError

    try:
        if not text.strip():
            raise InputError("empty search text", hint='lexiquery sop search "failed sign-ins"')
        plat = _platform(platform)
        t0 = parse_when(since, option="--since")
        t1 = parse_when(until, option="--until", end_of_day=True)
        if t0 and t1 and t0 > t1:
            raise InputError(f"--since {since} is after --until {until}")
        with _open_store(get_settings()) as store:
            result = store.search(text, limit=limit, document=document, tag=tag, platform=plat,
                                  since=t0, until=t1)
            empty = not result.hits and not store.list_documents()
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    from lexiquery.render.sop import print_search

    print_search(result)
    if empty:
        err_console().print("hint: no documents are stored yet; add some with "
                             "`lexiquery sop add ./runbooks`", highlight=False, markup=False)


@sop_app.command("list")
def sop_list(
    tag: Optional[str] = typer.Option(None, "--tag", "-t", metavar="TAG",
                                      help="Only documents with this tag."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the stored runbooks: id, label, title, format, chunks, procedures, tags, when added
    and whether they have embeddings."""
    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError

    try:
        with _open_store(get_settings()) as store:
            docs = store.list_documents(tag=tag)
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json([d.model_dump(mode="json") for d in docs])
        return
    from lexiquery.render.sop import print_documents

    print_documents(docs)


@sop_app.command("show")
def sop_show(
    ref: str = typer.Argument(..., metavar="ID", show_default=False,
                              help="Document id, id prefix (4+ characters), label (SOP-017) or "
                                   "file name."),
    chunks: bool = typer.Option(False, "--chunks", help="Also print every chunk."),
    as_json: bool = typer.Option(False, "--json",
                                 help="Print the document, procedures and chunks as JSON."),
) -> None:
    """Show one runbook: metadata and the procedures read from it (steps, sources, fields,
    definitions, thresholds, time windows, error codes, queries and whether they parse).

    \b
    Examples:
      lexiquery sop show SOP-017
      lexiquery sop show 3f2a9c --chunks
    """
    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError

    try:
        with _open_store(get_settings()) as store:
            detail = store.get(ref)
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        typer.echo(detail.model_dump_json(indent=2))
        return
    from lexiquery.render.sop import print_detail

    print_detail(detail, chunks=chunks)


@sop_app.command("rm")
def sop_rm(
    refs: list[str] = typer.Argument(..., metavar="ID...", show_default=False,
                                     help="Document ids, id prefixes, labels or file names."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Remove runbooks from the store and from both search indexes.

    Every id is checked first: when one is unknown, nothing is removed (exit 2).

    \b
    Example:
      lexiquery sop rm SOP-017 3f2a9c
    """
    from rich.text import Text

    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError
    from lexiquery.render.console import terminal

    try:
        with _open_store(get_settings()) as store:
            ids = list(dict.fromkeys(store.resolve(r).id for r in refs))
            removed = [store.remove(i) for i in ids]
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        echo_json([d.model_dump(mode="json") for d in removed])
        return
    con = terminal()
    for d in removed:
        con.print(Text.assemble(("removed ", "green"), (d.label, "bold"),
                                f"  {d.name} ({d.id[:12]})"), soft_wrap=True)
