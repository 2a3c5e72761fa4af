"""What the agents of one process share: the catalog, the runbook store, the known-errors base
and the sample-data sandbox — each built on first use and kept.

A journey run in-process (`orchestrator.ask`) builds one `Resources` (or reuses the caller's
objects: the batch mode passes its store, base and sandbox) and closes it at the end; a served
agent keeps its own for the life of the server. Nothing here is global.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from lexiquery.config import Settings

if TYPE_CHECKING:
    from lexiquery.catalog.model import Catalog
    from lexiquery.engine.sandbox import Sandbox
    from lexiquery.knowledge.known_errors import KnownErrorBase
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
        self._lock = threading.RLock()
        # DuckDB connections are not safe for concurrent use: one validation at a time per box.
        self.sandbox_lock = threading.Lock()

    def catalog(self) -> "Catalog":
        with self._lock:
            if self._catalog is None:
                from lexiquery.catalog.store import load_catalog

                self._catalog = load_catalog(self.settings.catalog_dir, self._catalog_files)
            return self._catalog

    def known_errors(self) -> "KnownErrorBase":
        with self._lock:
            if self._errors is None:
                from lexiquery.knowledge.known_errors import load_known_errors

                self._errors = load_known_errors(self.settings.known_errors_files,
                                                 self.catalog())
            return self._errors

    def procedures(self) -> "ProcedureStore | None":
        """The runbook store when one exists (asking never creates an empty one); checked again
        on each call until it exists, so a store created later is found. Raises StorageError
        for a store that cannot be opened."""
        with self._lock:
            if self._procedures is None and self._own_store:
                from lexiquery.knowledge.store import ProcedureStore

                if (self.settings.sop_dir / "sop.db").exists():
                    self._procedures = ProcedureStore(self.settings, catalog=self.catalog())
            return self._procedures

    def sandbox(self) -> "Sandbox":
        with self._lock:
            if self._sandbox is None:
                from lexiquery.operations import make_sandbox

                self._sandbox = make_sandbox(self.catalog(), self.settings)
            return self._sandbox

    def close(self) -> None:
        with self._lock:
            if self._own_store and self._procedures is not None:
                self._procedures.close()
                self._procedures = None
            if self._own_sandbox and self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None
