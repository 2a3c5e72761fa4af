"""The `lexiquery` command.

Only typer is imported at module level: everything else loads inside the command that needs it,
so `lexiquery --help` starts in a fraction of a second. Errors from the package become one red
line on stderr (plus a hint) and the error's exit code; `--json` prints the error as JSON on
stdout instead so scripts always get an object.

Exit codes: 0 ok · 1 a query came out invalid · 2 bad input / unanswerable question ·
3 catalog error · 4 plan/dialect error · 5 storage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

if TYPE_CHECKING:
    pass

app = typer.Typer(
    name="lexiquery",
    help="Turn a plain-English question into checked KQL, SPL and SQL queries — on your machine.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="List, inspect and import data sources.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

PLATFORM_HELP = "Platform to write a query for: kql, spl or sql (repeatable; default: every " \
                "platform the source is bound to)."


def _err_console():  # type: ignore[no-untyped-def]
    """stderr, with markup and emoji codes off: what it prints is text (`console.terminal`)."""
    from lexiquery.console import terminal

    return terminal(stderr=True)


def _fail(error: Exception, as_json: bool) -> None:
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

        con = _err_console()
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


def _parse_platforms(values: list[str] | None) -> list[str]:
    from lexiquery.errors import InputError

    out = []
    for v in values or []:
        for p in v.split(","):
            p = p.strip().lower()
            if p not in {"kql", "spl", "sql"}:
                raise InputError(f"unknown platform {p!r}; choose kql, spl or sql")
            out.append(p)
    return out


@app.command()
def ask(
    question: Optional[str] = typer.Argument(None, help="The question, in plain English."),
    platform: Optional[list[str]] = typer.Option(None, "--platform", "-p", help=PLATFORM_HELP),
    sql_dialect: Optional[str] = typer.Option(
        None, "--sql-dialect", "-d",
        help="SQL dialect: postgres, tsql, mysql, sqlite, duckdb, bigquery, snowflake, …"),
    catalog: Optional[list[Path]] = typer.Option(
        None, "--catalog", "-c", help="Extra catalog file (YAML, Kusto schema JSON or SQL DDL); "
                                      "repeatable."),
    source: Optional[str] = typer.Option(None, "--source", "-s",
                                         help="Use this source id instead of choosing one."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as one JSON object."),
    batch: Optional[Path] = typer.Option(
        None, "--batch", help="File with one question per line ('-' for stdin); prints JSON "
                              "Lines, one answer (or error) per question."),
    no_sample_check: bool = typer.Option(
        False, "--no-sample-check", help="Skip executing the queries on sample data."),
    no_sop: bool = typer.Option(
        False, "--no-sop", help="Do not use the stored runbooks (`lexiquery sop add`) or the "
                                "known-errors base to refine the queries."),
) -> None:
    """Answer a question with checked queries for each platform.

    Stored runbooks and the known-errors base refine the queries (definitions, thresholds,
    time windows, example queries, error codes); the answer cites what it used."""
    from lexiquery.errors import InputError, LexiQueryError

    try:
        platforms = _parse_platforms(platform)
        opts: dict[str, Any] = dict(platforms=platforms or None, sql_dialect=sql_dialect,
                                    catalog_files=catalog or [], source=source)
        if no_sample_check:
            opts["sample_check"] = False
        if no_sop:
            opts["sop"] = False
        if batch is not None:
            if question:
                raise InputError("give either a QUESTION or --batch FILE, not both")
            raise typer.Exit(_run_batch(batch, opts))
        if question is None:
            raise InputError("no question given", hint='lexiquery ask "failed sign-ins today"')
        from lexiquery.orchestrator import ask as run_ask

        answer = run_ask(question, **opts)
    except LexiQueryError as e:
        _fail(e, as_json)
        return
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        from lexiquery.render import print_answer

        print_answer(answer)
    raise typer.Exit(0 if all(q.valid for q in answer.queries) else 1)


def _run_batch(path: Path, opts: dict[str, Any]) -> int:
    """One JSON line per non-blank input line; errors become JSON lines too. Exit 0 when every
    question produced only valid queries, else 1."""
    from lexiquery.config import get_settings
    from lexiquery.errors import InputError
    from lexiquery.orchestrator import load_catalog

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the batch file {path}: {e}") from e
    questions = [line for line in text.splitlines() if line.strip()]
    settings = get_settings()
    catalog = load_catalog(settings, opts.pop("catalog_files"))
    if opts.get("sample_check", settings.sample_check):
        from lexiquery.operations import make_sandbox

        opts["sandbox"] = make_sandbox(catalog, settings)  # one sandbox for every question
    if opts.get("sop", settings.sop):
        from lexiquery.knowledge.known_errors import load_known_errors
        from lexiquery.orchestrator import open_procedures

        opts["known_errors"] = load_known_errors(settings.known_errors_files, catalog)
        opts["procedures"] = open_procedures(settings, catalog)  # one store, one BM25 build
    try:
        return _answer_all(questions, catalog, settings, opts)
    finally:
        if opts.get("sandbox") is not None:
            opts["sandbox"].close()
        if opts.get("procedures") is not None:
            opts["procedures"].close()


def _answer_all(questions: list[str], catalog: Any, settings: Any, opts: dict[str, Any]) -> int:
    from rich.progress import Progress

    from lexiquery.errors import LexiQueryError
    from lexiquery.orchestrator import ask as run_ask

    all_ok = True
    with Progress(console=_err_console(), transient=True) as progress:
        task = progress.add_task("answering", total=len(questions))
        for q in questions:
            try:
                ans = run_ask(q, catalog=catalog, settings=settings, **opts)
                typer.echo(ans.model_dump_json())
                all_ok &= all(x.valid for x in ans.queries)
            except LexiQueryError as e:
                payload = {"question": q, **e.to_dict()}
                if getattr(e, "journey_id", None):
                    payload["journey_id"] = e.journey_id  # type: ignore[attr-defined]
                typer.echo(json.dumps(payload))
                all_ok = False
            progress.advance(task)
    return 0 if all_ok else 1


@app.command()
def history(
    journey_id: Optional[str] = typer.Argument(None, help="Show this journey in full."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000,
                              help="How many recent journeys to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List recent journeys, or show one."""
    from lexiquery.config import get_settings
    from lexiquery.errors import InputError, LexiQueryError
    from lexiquery.journeys import JourneyStore

    try:
        store = JourneyStore(get_settings().db_path)
        if journey_id:
            answer = store.get(journey_id)
            if answer is None:
                raise InputError(f"no journey {journey_id!r}",
                                 hint="`lexiquery history` lists recent journeys")
            if as_json:
                typer.echo(answer.model_dump_json(indent=2))
            else:
                from lexiquery.render import print_answer

                print_answer(answer, show_transitions=True)
            return
        rows = store.recent(limit)
    except LexiQueryError as e:
        _fail(e, as_json)
        return
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from lexiquery.render import print_history

    print_history(rows)


@catalog_app.command("list")
def catalog_list(
    catalog: Optional[list[Path]] = typer.Option(None, "--catalog", "-c",
                                                 help="Extra catalog file; repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the data sources LexiQuery knows and where each one lives."""
    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError
    from lexiquery.orchestrator import load_catalog

    try:
        cat = load_catalog(get_settings(), catalog or [])
    except LexiQueryError as e:
        _fail(e, as_json)
        return
    from lexiquery.render import print_catalog

    if as_json:
        typer.echo(json.dumps([{"id": s.id, "name": s.name, "origin": s.origin,
                                "platforms": [p.value for p in s.bindings.platforms()]}
                               for s in cat], indent=2))
    else:
        print_catalog(cat)


@catalog_app.command("show")
def catalog_show(
    source: str = typer.Argument(..., help="Source id, e.g. signin_logs."),
    catalog: Optional[list[Path]] = typer.Option(None, "--catalog", "-c",
                                                 help="Extra catalog file; repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one source: fields, known values, concepts and platform bindings."""
    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError, UnknownSourceError
    from lexiquery.orchestrator import load_catalog

    try:
        cat = load_catalog(get_settings(), catalog or [])
        src = cat.get(source)
        if src is None:
            import difflib

            close = difflib.get_close_matches(source, cat.ids(), n=3, cutoff=0.3)
            raise UnknownSourceError(
                f"no source {source!r}", hint="`lexiquery catalog list` shows them all"
                + (f"; did you mean {', '.join(close)}?" if close else ""))
    except LexiQueryError as e:
        _fail(e, as_json)
        return
    if as_json:
        typer.echo(src.model_dump_json(indent=2))
        return
    from lexiquery.render import print_source

    print_source(src)


@catalog_app.command("import")
def catalog_import(
    files: list[Path] = typer.Argument(..., help="YAML/JSON catalog, Kusto `.show database "
                                                 "schema as json` output, or SQL DDL."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Import sources and keep them in the data directory for every later run."""
    from lexiquery.catalog.importers import import_file
    from lexiquery.catalog.store import add_source, load_catalog, save_imported
    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError

    settings = get_settings()
    imported = []
    try:
        # Parse every file first: one bad file imports nothing, so a half-done import never lands.
        parsed = [(f, import_file(f)) for f in files]
        catalog = load_catalog(settings.catalog_dir)
        for f, sources in parsed:
            save_imported(sources, settings.catalog_dir, name=f.stem)
            # Report the id each source will answer to (a schema table named like a built-in
            # gets a platform suffix).
            imported += [(add_source(catalog, s), f.name,
                          [p.value for p in s.bindings.platforms()]) for s in sources]
    except LexiQueryError as e:
        _fail(e, as_json)
        return
    if as_json:
        typer.echo(json.dumps([{"id": i, "file": f, "platforms": p} for i, f, p in imported]))
        return
    from rich.text import Text

    con = _err_console()
    for sid, fname, plats in imported:
        con.print(Text.assemble("imported ", (sid, "bold"), f" from {fname} ({', '.join(plats)})"))
    con.print(Text(f"{len(imported)} source(s) saved in {settings.catalog_dir}"))


@catalog_app.command("remove")
def catalog_remove(
    source: str = typer.Argument(..., help="Id of an imported source."),
) -> None:
    """Remove an imported source from the data directory (built-ins cannot be removed)."""
    from lexiquery.catalog.store import remove_imported
    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError, UnknownSourceError

    settings = get_settings()
    try:
        if not remove_imported(source, settings.catalog_dir):
            raise UnknownSourceError(f"no imported source {source!r}",
                                     hint="`lexiquery catalog list` shows where each comes from")
    except LexiQueryError as e:
        _fail(e, False)
    _err_console().print(f"removed {source}")  # a plain console: the id prints as typed


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
    from lexiquery import __version__

    typer.echo(__version__)


# The query commands (run, translate, explain, validate) live in their own module.
from lexiquery import cli_query  # noqa: E402,F401  (registers its commands on `app`)
# The SOP commands (`sop add|search|list|show|rm`) likewise, and `errors show|list|find`.
from lexiquery import cli_sop  # noqa: E402,F401
from lexiquery import cli_errors  # noqa: E402,F401
from lexiquery import cli_agents  # noqa: E402,F401
from lexiquery import cli_doctor  # noqa: E402,F401
from lexiquery import cli_cost  # noqa: E402,F401
from lexiquery import cli_mcp  # noqa: E402,F401
from lexiquery import cli_serve  # noqa: E402,F401
from lexiquery import cli_up  # noqa: E402,F401


def main() -> None:
    app()


if __name__ == "__main__":
    main()
