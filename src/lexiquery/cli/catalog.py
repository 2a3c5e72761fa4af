"""`lexiquery catalog list | show | import | remove`: the data sources LexiQuery knows."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from lexiquery.cli.app import WORKSPACE_HELP, app, err_console, fail, or_fail, workspace_settings

catalog_app = typer.Typer(help="List, inspect and import data sources.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

ExtraCatalogs = Annotated[Optional[list[Path]],
                         typer.Option("--catalog", "-c", help="Extra catalog file; repeatable.")]


def _user_catalog(files: list[Path] | None, as_json: bool, source: str | None = None,
                  workspace: str | None = None):  # type: ignore[no-untyped-def]
    """The user's catalog (and, with `source`, that source of it), or the error reported and the
    command ended with its exit code."""
    from lexiquery.catalog.store import load_user_catalog
    from lexiquery.config import get_settings
    from lexiquery.errors import UnknownSourceError

    def load():  # type: ignore[no-untyped-def]
        cat = load_user_catalog(workspace_settings(workspace) or get_settings(), files or [])
        if source is None:
            return cat
        src = cat.get(source)
        if src is None:
            close = difflib.get_close_matches(source, cat.ids(), n=3, cutoff=0.3)
            raise UnknownSourceError(
                f"no source {source!r}", hint="`lexiquery catalog list` shows them all"
                + (f"; did you mean {', '.join(close)}?" if close else ""))
        return src

    return or_fail(as_json, load)


@catalog_app.command("list")
def catalog_list(
    catalog: ExtraCatalogs = None,
    reference: bool = typer.Option(False, "--reference", "-r",
                                   help="Also list every reference and workspace table on the "
                                        "shelves (hundreds)."),
    workspace: Optional[str] = typer.Option(None, "--workspace", "-w", help=WORKSPACE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the data sources LexiQuery knows, where each one lives, and the workspaces."""
    cat = _user_catalog(catalog, as_json, workspace=workspace)
    shelved = [(shelf, t) for shelf in cat.shelves for t in shelf.tables] if reference else []
    if as_json:
        rows = [{"id": s.id, "name": s.name, "origin": s.origin,
                 "platforms": [p.value for p in s.bindings.platforms()]} for s in cat]
        rows += [{"id": t.id, "name": t.name, "origin": shelf.origin,
                  "platforms": [shelf.platform.value]} for shelf, t in shelved]
        typer.echo(json.dumps(rows, indent=2))
        return
    from lexiquery.render.answer import print_catalog, print_shelves

    print_catalog(cat)
    print_shelves(cat, _workspaces(workspace), listed=reference)


def _workspaces(workspace: str | None) -> tuple[list[str], str | None]:
    """The kept workspaces and the one in use (None: all)."""
    from lexiquery.catalog.store import active_workspace, workspace_names
    from lexiquery.config import get_settings

    settings = workspace_settings(workspace) or get_settings()
    return (workspace_names(settings.catalog_dir),
            settings.workspace or active_workspace(settings.catalog_dir))


@catalog_app.command("use")
def catalog_use(
    name: Optional[str] = typer.Argument(None, help="Workspace name (the imported schema file's "
                                                    "name, as `catalog list` shows it)."),
    use_all: bool = typer.Option(False, "--all", help="Use every kept workspace together."),
) -> None:
    """Choose the workspace answers come from: its tables and columns are the only ones a
    generated query may name on its platform."""
    from lexiquery.catalog.store import use_workspace
    from lexiquery.config import get_settings
    from lexiquery.errors import InputError

    if (name is None) == (not use_all):
        fail(InputError("give a workspace NAME or --all, not both or neither",
                        hint="`lexiquery catalog list` shows the workspaces"), False)
    or_fail(False, lambda: use_workspace(get_settings().catalog_dir, name))
    err_console().print(f"using workspace {name}" if name else "using every kept workspace")


@catalog_app.command("show")
def catalog_show(
    source: str = typer.Argument(..., help="Source id, e.g. signin_logs."),
    catalog: ExtraCatalogs = None,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one source: fields, known values, concepts and platform bindings."""
    src = _user_catalog(catalog, as_json, source)
    if as_json:
        typer.echo(src.model_dump_json(indent=2))
        return
    from lexiquery.render.answer import print_source

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
        fail(e, as_json)
        return
    if as_json:
        typer.echo(json.dumps([{"id": i, "file": f, "platforms": p} for i, f, p in imported]))
        return
    from rich.text import Text

    con = err_console()
    for sid, fname, plats in imported:
        con.print(Text.assemble("imported ", (sid, "bold"), f" from {fname} ({', '.join(plats)})"))
    con.print(Text(f"{len(imported)} source(s) saved in {settings.catalog_dir}"))
    schemas = sorted({f.stem for f, sources in parsed if any(s.schema_import for s in sources)})
    if schemas:
        con.print(Text(f"workspace {', '.join(schemas)}: answers on its platform now name only "
                       "its tables and columns; `lexiquery catalog use NAME` picks one workspace "
                       "when you keep several"))


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
        fail(e, False)
    err_console().print(f"removed {source}")  # a plain console: the id prints as typed
