"""`lexiquery run | translate | explain | validate`: commands on a query the analyst already has.

The query comes as an argument, or from `--file PATH` (`-` for stdin) — long SPL and KQL are
easier to paste into a file. `--platform` may be left out when the text says which language it
is (`SELECT …` is SQL, `index=…`/`| tstats` is SPL, `Table | where …` is KQL); an ambiguous
text asks for it. Registered on the main app by `lexiquery.cli`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lexiquery.cli.app import app, or_fail, parse_platforms

QUERY_HELP = "The query text (or use --file)."
FILE_HELP = "Read the query from this file ('-' for stdin)."
PLATFORM_HELP = "The query's language: kql, spl or sql (guessed from the text when left out)."
DIALECT_HELP = "SQL dialect: postgres, tsql, mysql, sqlite, duckdb, bigquery, snowflake, …"
CATALOG_HELP = "Extra catalog file (YAML, Kusto schema JSON or SQL DDL); repeatable."

# The options the four commands share, declared once.
QueryArg = Annotated[Optional[str], typer.Argument(help=QUERY_HELP, show_default=False)]
FileOpt = Annotated[Optional[Path], typer.Option("--file", "-f", help=FILE_HELP)]
PlatformOpt = Annotated[Optional[str], typer.Option("--platform", "-p", help=PLATFORM_HELP)]
DialectOpt = Annotated[Optional[str], typer.Option("--sql-dialect", "-d", help=DIALECT_HELP)]
CatalogOpt = Annotated[Optional[list[Path]], typer.Option("--catalog", "-c", help=CATALOG_HELP)]


def _query_text(query: str | None, file: Path | None) -> str:
    from lexiquery.errors import InputError

    if query is not None and file is not None:
        raise InputError("give the query as an argument or with --file, not both")
    if file is not None:
        try:
            raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read {file}: {e.strerror or e}") from e
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"{file} is not UTF-8 text (binary file?)") from e
    if query is None:
        raise InputError("no query given", hint="pass it in quotes, or use --file query.kql")
    return query


def _platform(platform: str | None, text: str) -> str:
    from lexiquery.dialects.reading import guess_platform

    return platform.lower() if platform else guess_platform(text)


def _data_option(values: list[str] | None) -> dict[str, Path]:
    from lexiquery.errors import InputError

    out: dict[str, Path] = {}
    for v in values or []:
        key, sep, path = v.partition("=")
        if not sep or not key.strip() or not path.strip():
            raise InputError(f"--data wants SOURCE=PATH, not {v!r}",
                             hint="e.g. --data signin_logs=./signins.csv")
        out[key.strip()] = Path(path.strip())
    return out


def _settings(rows: int | None, seed: int | None):  # type: ignore[no-untyped-def]
    from lexiquery.config import get_settings

    overrides: dict[str, Any] = {}
    if rows is not None:
        overrides["sample_rows"] = rows
    if seed is not None:
        overrides["sample_seed"] = seed
    return get_settings(**overrides)


def _echo_json(model: Any) -> None:
    typer.echo(model.model_dump_json(indent=2))


@app.command()
def run(
    query: QueryArg = None,
    file: FileOpt = None,
    platform: PlatformOpt = None,
    sql_dialect: DialectOpt = None,
    data: Optional[list[str]] = typer.Option(
        None, "--data", help="SOURCE=PATH: your own rows for a source (CSV, JSON Lines or "
                             "Parquet) instead of generated sample data; repeatable."),
    rows: Optional[int] = typer.Option(None, "--rows", min=1, max=5_000_000,
                                       help="Sample rows to generate per source (default 2000)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the sample data."),
    show: int = typer.Option(20, "--show", "-n", min=0, help="Rows to print (with --json: all)."),
    catalog: CatalogOpt = None,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Run a KQL, SPL or SQL query on sample data (or your own rows) and show the results."""
    from lexiquery.operations import run_query

    def work():  # type: ignore[no-untyped-def]
        text = _query_text(query, file)
        return run_query(text, _platform(platform, text), sql_dialect=sql_dialect,
                         data=_data_option(data), catalog_files=catalog or [],
                         settings=_settings(rows, seed))

    result = or_fail(as_json, work)
    if as_json:
        _echo_json(result)
        return
    from lexiquery.render.ops import print_run

    print_run(result, show=show)


@app.command()
def translate(
    query: QueryArg = None,
    file: FileOpt = None,
    from_: Optional[str] = typer.Option(None, "--from", help=PLATFORM_HELP),
    to: list[str] = typer.Option(..., "--to", help="Target language(s): kql, spl or sql; "
                                                   "repeatable."),
    from_dialect: Optional[str] = typer.Option(None, "--from-dialect",
                                               help="SQL dialect of the input."),
    sql_dialect: Optional[str] = typer.Option(None, "--sql-dialect", "-d",
                                              help="SQL dialect of the output. " + DIALECT_HELP),
    no_check: bool = typer.Option(False, "--no-check",
                                  help="Do not run both queries on sample data to compare."),
    catalog: CatalogOpt = None,
    as_json: bool = typer.Option(False, "--json", help="Print the translation(s) as JSON."),
) -> None:
    """Translate a query between KQL, SPL and SQL (any direction, any SQL dialect)."""
    from lexiquery.operations import translate_query

    def work():  # type: ignore[no-untyped-def]
        text = _query_text(query, file)
        source_platform = _platform(from_, text)
        return [translate_query(text, source_platform, target, from_dialect=from_dialect,
                                to_dialect=sql_dialect, check=not no_check,
                                catalog_files=catalog or [])
                for target in parse_platforms(to)]

    results = or_fail(as_json, work)
    if as_json:
        payload = [r.model_dump(mode="json") for r in results]
        typer.echo(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2))
    else:
        from lexiquery.render.ops import print_translation

        for r in results:
            print_translation(r)
    raise typer.Exit(0 if all(r.valid for r in results) else 1)


@app.command()
def explain(
    query: QueryArg = None,
    file: FileOpt = None,
    platform: PlatformOpt = None,
    sql_dialect: DialectOpt = None,
    catalog: CatalogOpt = None,
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
) -> None:
    """Explain a KQL, SPL or SQL query in plain English, step by step."""
    from lexiquery.operations import explain_query

    def work():  # type: ignore[no-untyped-def]
        text = _query_text(query, file)
        return explain_query(text, _platform(platform, text), sql_dialect=sql_dialect,
                             catalog_files=catalog or [])

    result = or_fail(as_json, work)
    if as_json:
        _echo_json(result)
        return
    from lexiquery.render.ops import print_explanation

    print_explanation(result)


@app.command()
def validate(
    query: QueryArg = None,
    file: FileOpt = None,
    platform: PlatformOpt = None,
    sql_dialect: DialectOpt = None,
    catalog: CatalogOpt = None,
    no_execute: bool = typer.Option(False, "--no-execute",
                                    help="Skip the execution on sample data."),
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check a query: read-only, syntax, names against the catalog, execution on sample data.

    Exit 0 when every check passed, 1 when one failed."""
    from lexiquery.operations import validate_query_text

    def work():  # type: ignore[no-untyped-def]
        text = _query_text(query, file)
        return validate_query_text(text, _platform(platform, text), sql_dialect=sql_dialect,
                                   catalog_files=catalog or [], execute_sample=not no_execute)

    result = or_fail(as_json, work)
    if as_json:
        _echo_json(result)
    else:
        from lexiquery.render.ops import print_validation

        print_validation(result)
    raise typer.Exit(0 if result.valid else 1)
