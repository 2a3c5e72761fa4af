"""Admin operations over HTTP: registering and removing agents.

Whoever may register an agent decides where journeys — questions with their personal data —
are sent, so until LexiQuery has real authentication these routes demand two things at once:

1. the caller is on this machine (`local_callers.is_local_client`), and
2. it presents the admin key: ``Authorization: Bearer <key>`` or ``X-LexiQuery-Admin-Key:
   <key>``, compared in constant time (`hmac.compare_digest`).

The key is a random `secrets` token in ``<data_dir>/admin.key``, created with mode 0600 when the
server starts (`ensure_admin_key`, also safe when several processes of a fleet start at once:
the file appears complete or not at all). Reading it needs the operator's account, which is the
point: a page in a browser, another user of the machine or a process in another container has
neither the file nor, usually, loopback. `lexiquery up` reads it to register its agents; the
CLI (`lexiquery agents register|rm`) writes the registry file directly and needs no key.

A refusal is 403 ``admin_required`` saying where the key lives.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request

from lexiquery.config import Settings
from lexiquery.errors import StorageError
from lexiquery.private_files import private_dir
from lexiquery.serve.local_callers import is_local_client

ADMIN_KEY_FILE = "admin.key"
ADMIN_HEADER = "X-LexiQuery-Admin-Key"


class AdminRefused(HTTPException):
    """403 with the app's error code and a hint (rendered by `app._http_error`)."""

    error_code = "admin_required"

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(status_code=403, detail=message)
        self.hint = hint


def admin_key_path(data_dir: Path) -> Path:
    return data_dir / ADMIN_KEY_FILE


def _read_key(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
        if mode & 0o077:  # readable by others: tighten it, the key is the operator's alone
            with contextlib.suppress(OSError):
                os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise StorageError(f"cannot read the admin key {path}: {e}") from e
    if not key:
        raise StorageError(f"the admin key {path} is empty",
                           hint="delete it; the server makes a new one when it starts")
    return key


def ensure_admin_key(data_dir: Path) -> str:
    """The admin key of `data_dir`, created (0600, in a 0700 directory when it makes one) if
    there is none. Concurrent callers all get the one key that won: it is written to a private
    temp file and hard-linked into place, which fails if the file exists already."""
    path = admin_key_path(data_dir)
    key = _read_key(path)
    if key is not None:
        return key
    try:
        private_dir(data_dir)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".admin.key.")  # mode 0600
    except OSError as e:
        raise StorageError(f"cannot create the admin key in {data_dir}: {e}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(tmp, path)
    except OSError as e:
        raise StorageError(f"cannot create the admin key {path}: {e}") from e
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    key = _read_key(path)
    if key is None:  # pragma: no cover - deleted between the link and the read
        raise StorageError(f"the admin key {path} vanished while it was created")
    return key


def presented_key(request: Request) -> str | None:
    """The key a request carries (`ADMIN_HEADER`, else a Bearer token), or None."""
    key = request.headers.get(ADMIN_HEADER)
    if key is None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        key = token if scheme.lower() == "bearer" else None
    return key.strip() if key and key.strip() else None


def require_admin(settings: Settings) -> Callable[[Request], None]:
    """A FastAPI dependency: passes a local caller with the right key, else `AdminRefused`."""
    path = admin_key_path(settings.data_dir)
    hint = (f"run it on the server's machine with the key from {path}: "
            f"-H \"{ADMIN_HEADER}: $(cat {path})\" — or use `lexiquery agents register|rm` there")

    def check(request: Request) -> None:
        if not is_local_client(request.scope):
            raise AdminRefused("registering and removing agents over HTTP is allowed only from "
                               "the server's own machine", hint)
        given = presented_key(request)
        expected = ensure_admin_key(settings.data_dir)
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            what = "no admin key was sent" if given is None else "the admin key is wrong"
            raise AdminRefused(f"{what}: registering and removing agents is an admin "
                               f"operation; the key is in {path}", hint)

    return check


__all__ = ["ADMIN_HEADER", "ADMIN_KEY_FILE", "AdminRefused", "admin_key_path",
           "ensure_admin_key", "presented_key", "require_admin"]
