"""The agent registry's file: lock-free whole-file reads, locked read-modify-write updates.

The file (``settings.registry_path``) is shared by every process of a fleet — the registry
service writes it, the core service reads it — so every change is a read-modify-write under an
exclusive `fcntl.flock` on a sibling lock file, written to a temp file in the same directory,
fsynced and `os.replace`d: concurrent writers never lose each other's entries and readers never
see half a file. A change that raises (a refused registration) writes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lexiquery.errors import StorageError
from lexiquery.private_files import private_dir

FILE_VERSION = 1


class RegistryFile:
    """The registry file: lock-free whole-file reads, locked read-modify-write updates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    def read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": FILE_VERSION, "agents": {}, "static": {}}
        except OSError as e:
            raise StorageError(f"cannot read the agent registry {self.path}: {e}") from e
        try:
            data = json.loads(text)
        except ValueError as e:
            raise self._corrupt(str(e)) from e
        if not isinstance(data, dict) or not isinstance(data.get("agents", {}), dict) \
                or not isinstance(data.get("static", {}), dict):
            raise self._corrupt('not an object with "agents" and "static" objects')
        data.setdefault("agents", {})
        data.setdefault("static", {})
        return data

    def _corrupt(self, why: str) -> StorageError:
        # Never silently start empty: that would drop every registration on the next write.
        return StorageError(
            f"the agent registry {self.path} is corrupt: {why}",
            hint="move the file aside (its agents are lost) and register them again, or "
                 "repair the JSON by hand")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            private_dir(self.path.parent)  # 0700, like every store's directory
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise StorageError(f"cannot open the registry lock {self.lock_path}: {e}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released on close, even if this process dies
            yield
        finally:
            os.close(fd)

    def update(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        """Apply `change` to the file's data in place and store it atomically; returns what
        `change` returns. Writers from any process are serialised by the lock."""
        with self._locked():
            data = self.read()
            result = change(data)
            data["version"] = FILE_VERSION
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp",
                                       dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=1, sort_keys=True)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            with contextlib.suppress(OSError):  # make the rename itself durable
                dfd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
            return result


__all__ = ["FILE_VERSION", "RegistryFile"]
