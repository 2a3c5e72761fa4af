"""Persisted catalogs: imported sources live as YAML files in the data directory.

`load_catalog` = built-ins, then every persisted import (oldest first), then `extra_files`
(`--catalog`); a later source replaces an earlier one with the same id. A persisted file that no
longer loads is skipped with a warning on stderr rather than making every command fail — the
user can still run `catalog list` and re-import or delete it.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import yaml

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.importers import import_catalog_data, import_file
from lexiquery.catalog.model import Catalog, Source
from lexiquery.errors import CatalogError, LexiQueryError


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "import"


def save_imported(sources: list[Source], catalog_dir: Path, *, name: str) -> Path:
    """Write `sources` to `catalog_dir/<name>.yaml` atomically (temp file + rename)."""
    try:
        catalog_dir.mkdir(parents=True, exist_ok=True)
        path = catalog_dir / f"{_file_name(name)}.yaml"
        data = {"sources": [s.model_dump(mode="json", exclude_defaults=False) for s in sources]}
        fd, tmp = tempfile.mkstemp(dir=catalog_dir, prefix=".import-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                yaml.safe_dump(data, f, sort_keys=False, allow_unicode=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise CatalogError(f"cannot save the imported catalog in {catalog_dir}: "
                           f"{e.strerror or e}") from e
    return path


def persisted_files(catalog_dir: Path | None) -> list[Path]:
    if catalog_dir is None or not catalog_dir.is_dir():
        return []
    return sorted(catalog_dir.glob("*.yaml"), key=lambda p: (p.stat().st_mtime, p.name))


def load_catalog(catalog_dir: Path | None, extra_files: list[Path] | None = None,
                 *, warn=lambda msg: print(f"warning: {msg}", file=sys.stderr)  # type: ignore[no-untyped-def]
                 ) -> Catalog:
    catalog = builtin_catalog()
    for path in persisted_files(catalog_dir):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for s in import_catalog_data(data, path.name, keep_origin=True):
                add_source(catalog, s)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, LexiQueryError) as e:
            warn(f"skipping the imported catalog {path}: {getattr(e, 'message', e)}")
    for path in extra_files or []:
        for s in import_file(path):
            add_source(catalog, s)
    return catalog


def add_source(catalog: Catalog, source: Source) -> str:
    """Add `source`; a bare schema import (no concepts) whose id a built-in already uses is
    added as `<id>_<platform>` instead, so importing a workspace schema that contains
    SigninLogs does not replace the curated built-in source with its concepts and bindings.
    Returns the id the source has in the catalog."""
    existing = catalog.get(source.id)
    if existing is not None and existing.origin == "builtin" and not source.concepts:
        suffix = "_".join(p.value for p in source.bindings.platforms())
        source = source.model_copy(update={"id": f"{source.id}_{suffix}"})
    catalog.add(source)
    return source.id


def remove_imported(source_id: str, catalog_dir: Path) -> bool:
    """Remove a source from every persisted import; True when something was removed."""
    removed = False
    for path in persisted_files(catalog_dir):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = data.get("sources", [])
        keep = [s for s in items if s.get("id") != source_id]
        if len(keep) != len(items):
            removed = True
            if keep:
                sources = import_catalog_data({"sources": keep}, path.name)
                save_imported(sources, catalog_dir, name=path.stem)
            else:
                path.unlink()
    return removed
