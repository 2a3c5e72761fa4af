"""Files only the user can read: every store in the data directory is 0600, in a 0700 directory.

The data directory holds questions, answers, runbooks and usage records — other local users have
no business reading them. Three ways a store gets there, one helper each:

* `private_dir(path)`: creates `path` and its missing parents 0700 (the XDG base-directory rule
  for ``~/.local/share`` too) and narrows an existing `path` of ours that is wider.
* `private_sqlite(path)`: the database file is created empty and 0600 *before* SQLite opens it
  (an empty file is a new database to SQLite), and an existing one is narrowed with its ``-wal``,
  ``-shm`` and ``-journal`` companions. SQLite creates those companions with the database file's
  own permissions, so they are 0600 from then on, whatever the umask.
* `private_umask()`: for libraries that create files of their own at any time (Chroma's SQLite
  file and HNSW segment files): the umask is 0o077 while the block runs. The umask is
  process-wide, so blocks in several threads share one count and the first in saves the old
  umask, the last out restores it; a file another thread creates meanwhile is only ever more
  private than it would have been. `narrow_tree(path)` fixes a directory written earlier.

Only what this user owns is narrowed (a shared directory set up by an administrator is left as
it is), and a chmod that fails is ignored: narrowing is a protection, never a reason to refuse.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")

_umask_lock = threading.Lock()
_umask_depth = 0
_umask_saved = 0o022


def _narrow(path: Path, mode: int) -> None:
    """Drop every permission bit of `path` outside `mode` (when we own it and it has any)."""
    with contextlib.suppress(OSError):
        st = path.lstat()
        current = stat.S_IMODE(st.st_mode)
        if st.st_uid == os.getuid() and not stat.S_ISLNK(st.st_mode) and current & ~mode:
            os.chmod(path, current & mode)


def private_dir(path: Path) -> Path:
    """`path` as a 0700 directory (see the module docstring); `OSError` when it cannot be made."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=DIR_MODE)
        _narrow(directory, DIR_MODE)
    _narrow(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """`path` as an existing 0600 file in a 0700 directory: created empty when missing,
    narrowed when it exists."""
    path = Path(path)
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _narrow(path, FILE_MODE)
    return path


def private_sqlite(path: Path) -> Path:
    """Prepare `path` for `sqlite3.connect`: the file and its companions 0600, in a 0700
    directory (see the module docstring)."""
    private_file(path)
    for suffix in SQLITE_COMPANIONS:
        _narrow(path.with_name(path.name + suffix), FILE_MODE)
    return path


def narrow_tree(root: Path) -> None:
    """Narrow `root` and everything under it: directories to 0700, files to 0600."""
    if not root.is_dir():
        return
    _narrow(root, DIR_MODE)
    for parent, dirs, files in os.walk(root):
        for name in dirs:
            _narrow(Path(parent, name), DIR_MODE)
        for name in files:
            _narrow(Path(parent, name), FILE_MODE)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files and directories created in the block are 0600 / 0700 (see the module docstring)."""
    global _umask_depth, _umask_saved
    with _umask_lock:
        if _umask_depth == 0:
            _umask_saved = os.umask(0o077)
        _umask_depth += 1
    try:
        yield
    finally:
        with _umask_lock:
            _umask_depth -= 1
            if _umask_depth == 0:
                os.umask(_umask_saved)


__all__ = ["DIR_MODE", "FILE_MODE", "narrow_tree", "private_dir", "private_file",
           "private_sqlite", "private_umask"]
