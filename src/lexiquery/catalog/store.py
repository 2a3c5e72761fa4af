"""Persisted catalogs: imported sources live as YAML files in the data directory.

Contracts:

* `save_imported` writes one file per import, ``<catalog_dir>/<name>.yaml``, atomically (temp
  file in the same directory + `os.replace`, so a crash leaves the old file or the new one, never
  half of one). Re-importing the same file replaces its earlier import; a different file whose
  name would collide gets a numbered name instead of silently replacing the first.
* `load_catalog` = built-ins, then every persisted import (oldest first), then `extra_files`
  (``--catalog``); a later source replaces an earlier one with the same id, except that a bare
  schema import (no concepts) never shadows a curated built-in (see `add_source`).
* A persisted file that no longer loads is skipped and reported through `warn` (default: a line
  on stderr) with its path, rather than making every command fail — the user can still run
  ``catalog list`` and re-import or remove it. An `extra_files` entry that does not load is the
  user's explicit input and raises CatalogError.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.curated_columns import widen_curated
from lexiquery.catalog.importers import import_catalog_data, import_file
from lexiquery.catalog.model import Catalog, Source
from lexiquery.catalog.reference import PACKS, reference_shelf, table_words
from lexiquery.catalog.workspace import apply_workspace
from lexiquery.config import Settings
from lexiquery.errors import CatalogError, LexiQueryError
from lexiquery.private_files import private_dir

Warn = Callable[[str], None]


def _stderr_warning(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "import"


def _write_yaml(path: Path, data: Any) -> None:
    """Atomic write of `data` to `path` (temp file in the same directory + rename).

    Written as JSON, which is YAML too: the file stays a YAML catalog anyone can read or edit,
    and loading a 1,000-table workspace is a JSON parse (~20x faster than PyYAML's)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".import-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _origins(path: Path) -> set[str] | None:
    """Origins named in a persisted file; None when it cannot be read."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return {str(s.get("origin")) for s in data.get("sources", []) if isinstance(s, dict)}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError, TypeError):
        return None


def _target(catalog_dir: Path, name: str, origins: set[str]) -> Path:
    """`<name>.yaml`, unless that file holds another file's import: then `<name>-2.yaml`, …
    (an unreadable file of the same name is replaced: re-importing is how it gets fixed)."""
    base = _file_name(name)
    path, n = catalog_dir / f"{base}.yaml", 2
    while path.exists() and (held := _origins(path)) is not None and not held & origins:
        path, n = catalog_dir / f"{base}-{n}.yaml", n + 1
    return path


def save_imported(sources: list[Source], catalog_dir: Path, *, name: str | None = None) -> Path:
    """Persist `sources` (one import) in `catalog_dir` and return the file written.

    `name` defaults to the stem of the sources' origin (the imported file's name). Raises
    CatalogError when `sources` is empty or the directory cannot be written."""
    if not sources:
        raise CatalogError("nothing to save: the import has no sources")
    origins = {s.origin for s in sources}
    name = name or Path(sources[0].origin).stem or "import"
    try:
        private_dir(catalog_dir)  # the files themselves are 0600 (mkstemp)
        path = _target(catalog_dir, name, origins)
        _write_yaml(path, {"sources": [s.model_dump(mode="json", exclude_defaults=True) for s in sources]})
    except OSError as e:
        raise CatalogError(f"cannot save the imported catalog in {catalog_dir}: "
                           f"{e.strerror or e}") from e
    return path


def persisted_files(catalog_dir: Path | None) -> list[Path]:
    """The persisted import files, oldest first (so a re-import wins over older ones)."""
    if catalog_dir is None or not catalog_dir.is_dir():
        return []

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(catalog_dir.glob("*.yaml"), key=lambda p: (mtime(p), p.name))


def _load_persisted(path: Path) -> list[Source]:
    """Sources of one persisted file, keeping the origin each remembers; CatalogError if the
    file is unreadable or malformed."""
    try:
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)  # what `save_imported` writes
        except ValueError:  # an older or hand-edited file: YAML
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError) as e:
        raise CatalogError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise CatalogError(f"{path.name} does not parse{where}") from e
    return import_catalog_data(data, path.name, keep_origin=True)


def _readable_imports(catalog_dir: Path | None,
                      warn: Warn) -> Iterator[tuple[Path, list[Source]]]:
    """Every persisted import that still loads, oldest first; the others are reported to
    `warn` and skipped, so one damaged file never makes the catalog unusable."""
    for path in persisted_files(catalog_dir):
        try:
            yield path, _load_persisted(path)
        except LexiQueryError as e:
            warn(f"skipping the imported catalog {path}: {e.message}")


def load_catalog(catalog_dir: Path | None, extra_files: list[Path] | None = None,
                 *, warn: Warn = _stderr_warning, reference: bool = True,
                 workspace: str | None = None) -> Catalog:
    """Built-ins, then persisted imports, then `extra_files` (see the module docstring); with
    `reference`, the shipped reference packs on the shelves. Schema imports are workspaces:
    only the active one is loaded (`workspace`, else the one `catalog use` chose, else all),
    and the catalog is limited to what it says exists (`catalog.workspace`)."""
    catalog = builtin_catalog()
    active = workspace or active_workspace(catalog_dir)
    known = set()
    for path, sources in _readable_imports(catalog_dir, warn):
        if any(s.schema_import for s in sources):
            known.add(path.stem)
            if active is not None and path.stem != active:
                continue  # another workspace
        for s in sources:
            add_source(catalog, s)
    if workspace is not None and workspace not in known:
        raise CatalogError(f"no workspace {workspace!r}",
                           hint=("workspaces: " + ", ".join(sorted(known))) if known else
                           "`lexiquery catalog import SCHEMA` makes one")
    for path in extra_files or []:
        for s in import_file(path):
            add_source(catalog, s)
    _known_words(catalog)
    if reference:
        attach_reference(catalog)
    return apply_workspace(catalog, [s for s in catalog if s.schema_import])


def _known_words(catalog: Catalog) -> None:
    """An imported table that the reference knows by name (DeviceNetworkEvents) answers to the
    analyst words written for it ("connections", "talking to")."""
    words = table_words()
    for s in list(catalog):
        b = s.bindings.kql or s.bindings.sql
        extra = words.get(b.table.rsplit(".", 1)[-1].lower(), ()) if s.schema_import and b else ()
        if extra:
            catalog.add(s.model_copy(update={"synonyms": sorted({*s.synonyms, *extra})}))


ACTIVE_FILE = ".active-workspace"


def active_workspace(catalog_dir: Path | None) -> str | None:
    """The workspace `catalog use` chose, or None (every workspace is used)."""
    if catalog_dir is None:
        return None
    try:
        name = (catalog_dir / ACTIVE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name or None


def use_workspace(catalog_dir: Path, name: str | None) -> None:
    """Make `name` the active workspace (None: use every workspace). CatalogError when there
    is no such workspace."""
    if name is not None:
        names = workspace_names(catalog_dir)
        if name not in names:
            raise CatalogError(f"no workspace {name!r}",
                               hint=("workspaces: " + ", ".join(names)) if names else
                               "`lexiquery catalog import SCHEMA` makes one")
    private_dir(catalog_dir)
    path = catalog_dir / ACTIVE_FILE
    if name is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(name + "\n", encoding="utf-8")


def workspace_names(catalog_dir: Path | None) -> list[str]:
    """The names of the kept workspaces (persisted schema imports)."""
    return sorted(path.stem for path, sources in _readable_imports(catalog_dir, lambda _m: None)
                  if any(s.schema_import for s in sources))


def attach_reference(catalog: Catalog) -> None:
    """Put the shipped reference packs on `catalog`'s shelves, minus the tables its own sources
    already bind (curated sources win) and never reusing one of its ids; the built-in sources
    answer for the other reference columns of their tables (`catalog.curated_columns`)."""
    widen_curated(catalog)
    covered = frozenset(s.bindings.kql.table.lower() for s in catalog
                        if s.bindings.kql is not None)
    reserved = frozenset(catalog.ids())
    for pack in PACKS:
        shelf = reference_shelf(pack, covered, reserved)
        if len(shelf):
            catalog.shelves.append(shelf)


def catalog_id(source: Source, builtin_ids: set[str]) -> str:
    """The id `source` answers to once added next to the built-ins: its own, or
    ``<id>_<platforms>`` for a bare schema import (no concepts) that shares a built-in's id."""
    if source.id in builtin_ids and source.origin != "builtin" and not source.concepts:
        return f"{source.id}_{'_'.join(p.value for p in source.bindings.platforms())}"
    return source.id


def add_source(catalog: Catalog, source: Source) -> str:
    """Add `source`; a bare schema import (no concepts) whose id a built-in already uses is
    added as `<id>_<platform>` instead, so importing a workspace schema that contains
    SigninLogs does not replace the curated built-in source with its concepts and bindings.
    Returns the id the source has in the catalog."""
    existing = catalog.get(source.id)
    builtin_ids = {source.id} if existing is not None and existing.origin == "builtin" else set()
    sid = catalog_id(source, builtin_ids)
    if sid != source.id:
        source = source.model_copy(update={"id": sid})
    catalog.add(source)
    return sid


def remove_imported(source_id: str, catalog_dir: Path, *,
                    warn: Warn = _stderr_warning) -> bool:
    """Remove the source that answers to `source_id` (its stored id or the id `add_source`
    gave it) from every persisted import; a file left without sources is deleted. Returns
    True when something was removed. Unreadable files are skipped with a warning."""
    builtin_ids = set(builtin_catalog().ids())
    removed = False
    for path, sources in _readable_imports(catalog_dir, warn):
        keep = [s for s in sources if source_id not in {s.id, catalog_id(s, builtin_ids)}]
        if len(keep) == len(sources):
            continue
        removed = True
        try:
            if keep:
                _write_yaml(path, {"sources": [s.model_dump(mode="json", exclude_defaults=True) for s in keep]})
            else:
                path.unlink()
        except OSError as e:
            raise CatalogError(f"cannot update {path}: {e.strerror or e}") from e
    return removed


def load_user_catalog(settings: Settings, catalog_files: Sequence[Path] = (),
                      workspace: str | None = None) -> Catalog:
    """Built-in sources, then the user's persisted imports (under the settings' catalog
    directory; of the workspaces, the active one), then `--catalog` files."""
    return load_catalog(settings.catalog_dir, list(catalog_files),
                        workspace=workspace or settings.workspace,
                        reference=settings.reference_packs)
