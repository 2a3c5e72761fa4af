"""What the agents of one process share: the catalog, the runbook store, the known-errors base
and the sample-data sandbox — each built on first use and kept.

A journey run in-process (`orchestrator.ask`) builds one `Resources` (or reuses the caller's
objects: the batch mode passes its store, base and sandbox) and closes it at the end; a server
keeps one for its life (`serve.app.create_app`, `serve --agent`). Nothing here is global.

A long-lived `Resources` notices a changed catalog: when the persisted imports, the `--catalog`
files or the known-errors files change on disk, the catalog, the known-errors base and the
sandbox built from them are rebuilt on next use (a `stat` of a few files per call).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from lexiquery.catalog.store import load_user_catalog
from lexiquery.config import Settings
from lexiquery.cost.tracker import CostTracker
from lexiquery.engine.execute import make_sandbox
from lexiquery.knowledge.known_errors.files import load_known_errors
from lexiquery.knowledge.store import open_procedures

if TYPE_CHECKING:
    from lexiquery.catalog.model import Catalog
    from lexiquery.engine.sandbox import Sandbox
    from lexiquery.knowledge.known_errors.base import KnownErrorBase
    from lexiquery.knowledge.store import ProcedureStore


class Resources:
    """Lazily built, thread-safe shared objects. Objects passed in are the caller's: `close`
    leaves them open."""

    def __init__(self, settings: Settings, *, catalog: "Catalog | None" = None,
                 catalog_files: Sequence[Path] = (), procedures: "ProcedureStore | None" = None,
                 known_errors: "KnownErrorBase | None" = None,
                 sandbox: "Sandbox | None" = None) -> None:
        self.settings = settings
        self._catalog = catalog
        self._catalog_files = list(catalog_files)
        self._procedures = procedures
        self._own_store = procedures is None
        self._errors = known_errors
        self._sandbox = sandbox
        self._own_sandbox = sandbox is None
        self._own_catalog = catalog is None
        self._own_errors = known_errors is None
        self._stamp: tuple[object, ...] | None = None
        self._costs: "CostTracker | None" = None
        self._lock = threading.RLock()
        # DuckDB connections are not safe for concurrent use: one validation at a time per box.
        self.sandbox_lock = threading.Lock()

    def _files_stamp(self) -> tuple[object, ...]:
        """What the owned catalog and base are built from, as (path, mtime, size) triples."""
        paths: list[Path] = []
        try:
            with os.scandir(self.settings.catalog_dir) as it:
                paths += sorted(Path(e.path) for e in it)
        except OSError:
            pass
        paths += self._catalog_files + list(self.settings.known_errors_files)
        stamp: list[object] = []
        for p in paths:
            try:
                st = p.stat()
                stamp.append((str(p), st.st_mtime_ns, st.st_size))
            except OSError:
                stamp.append((str(p), None, None))
        return tuple(stamp)

    def _refresh(self) -> None:
        """Drop what was built from files that have changed since (owned objects only)."""
        if not self._own_catalog:
            return
        stamp = self._files_stamp()
        if stamp == self._stamp:
            return
        if self._stamp is not None:
            self._catalog = None
            if self._own_errors:
                self._errors = None
            if self._own_sandbox and self._sandbox is not None:
                with self.sandbox_lock:  # never under a validation in progress
                    self._sandbox.close()
                self._sandbox = None
        self._stamp = stamp

    def catalog(self) -> "Catalog":
        with self._lock:
            self._refresh()
            if self._catalog is None:
                self._catalog = load_user_catalog(self.settings, self._catalog_files)
            return self._catalog

    def known_errors(self) -> "KnownErrorBase":
        with self._lock:
            if self._errors is None:
                self._errors = load_known_errors(self.settings.known_errors_files,
                                                 self.catalog())
            return self._errors

    def procedures(self) -> "ProcedureStore | None":
        """The runbook store when one exists (asking never creates an empty one); checked again
        on each call until it exists, so a store created later is found. Raises StorageError
        for a store that cannot be opened."""
        with self._lock:
            if self._procedures is None and self._own_store:
                self._procedures = open_procedures(self.settings, self.catalog())
            return self._procedures

    def sandbox(self) -> "Sandbox":
        with self._lock:
            if self._sandbox is None:
                self._sandbox = make_sandbox(self.catalog(), self.settings)
            return self._sandbox

    def costs(self) -> "CostTracker":
        """Where this process's model calls are recorded (the configured cost store)."""
        with self._lock:
            if self._costs is None:
                self._costs = CostTracker(self.settings)
            return self._costs

    def close(self) -> None:
        with self._lock:
            if self._costs is not None:
                self._costs.close()
                self._costs = None
            if self._own_store and self._procedures is not None:
                self._procedures.close()
                self._procedures = None
            if self._own_sandbox and self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None
