"""`lexiquery ask` (one question, or a file of them with `--batch`) and `lexiquery history`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from lexiquery.cli.app import (
    PLATFORM_HELP,
    WORKSPACE_HELP,
    app,
    err_console,
    fail,
    parse_platforms,
    workspace_settings,
)


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
    workspace: Optional[str] = typer.Option(None, "--workspace", "-w", help=WORKSPACE_HELP),
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
        platforms = parse_platforms(platform)
        opts: dict[str, Any] = dict(platforms=platforms or None, sql_dialect=sql_dialect,
                                    catalog_files=catalog or [], source=source)
        if workspace:
            opts["settings"] = workspace_settings(workspace)
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
        fail(e, as_json)
        return
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        from lexiquery.render.answer import print_answer

        print_answer(answer)
    raise typer.Exit(0 if all(q.valid for q in answer.queries) else 1)


def _run_batch(path: Path, opts: dict[str, Any]) -> int:
    """One JSON line per non-blank input line; errors become JSON lines too. Exit 0 when every
    question produced only valid queries, else 1."""
    from lexiquery.catalog.store import load_user_catalog
    from lexiquery.config import get_settings
    from lexiquery.errors import InputError

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the batch file {path}: {e}") from e
    questions = [line for line in text.splitlines() if line.strip()]
    settings = opts.pop("settings", None) or get_settings()
    catalog = load_user_catalog(settings, opts.pop("catalog_files"))
    if opts.get("sample_check", settings.sample_check):
        from lexiquery.engine.execute import make_sandbox

        opts["sandbox"] = make_sandbox(catalog, settings)  # one sandbox for every question
    if opts.get("sop", settings.sop):
        from lexiquery.knowledge.known_errors.files import load_known_errors
        from lexiquery.knowledge.store import open_procedures

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
    with Progress(console=err_console(), transient=True) as progress:
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
                from lexiquery.render.answer import print_answer

                print_answer(answer, show_transitions=True)
            return
        rows = store.recent(limit)
    except LexiQueryError as e:
        fail(e, as_json)
        return
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from lexiquery.render.answer import print_history

    print_history(rows)
