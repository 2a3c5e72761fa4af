"""A real redis-server for the Redis cost store, and the store fixtures both backends share.

`redis_url` (session): `redis-server` from PATH — installed with apt-get when it is missing and
we run as root (so the README's one test command stays the whole set-up) — started on a free
loopback port with no persistence, waited for (bounded), and shut down afterwards. When it
cannot be had, the Redis tests are skipped with the reason; the SQLite ones still run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lexiquery.cost.store import CostStore, SqliteCostStore

APT_TIMEOUT_S = 600  # apt-get update + install on a slow mirror
START_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _find_or_install_redis() -> tuple[str | None, str]:
    """(path of redis-server, why not)."""
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.path.exists(p)),
        None)
    if found:
        return found, ""
    if os.geteuid() != 0:
        return None, ("redis-server is not installed and installing it needs root "
                      "(apt-get install redis-server)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock_wait = ["-o", "DPkg::Lock::Timeout=120"]  # another apt run may hold the lock: wait
    for cmd in (["apt-get", *lock_wait, "update"],
                ["apt-get", *lock_wait, "install", "-y", "--no-install-recommends",
                 "redis-server"]):
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                  timeout=APT_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"{' '.join(cmd)} failed: {e}"
        if done.returncode != 0:
            return None, f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-400:]}"
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    return found, "" if found else "apt-get installed redis-server but it is not on PATH"


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def running_redis(binary: str, workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server on a free loopback port, no persistence: (URL, process). Stopped (and
    killed if it will not stop) on exit."""
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--save", "", "--appendonly", "no", "--port", str(port), "--bind",
         "127.0.0.1", "--dir", str(workdir), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _pings(port):
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited with {proc.returncode} before answering")
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer PING within {START_TIMEOUT_S} s")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def redis_binary() -> str:
    binary, why = _find_or_install_redis()
    if binary is None:
        pytest.skip(f"no redis-server: {why}")
    return binary


@pytest.fixture(scope="session")
def redis_url(redis_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One redis-server for the session (tests empty it through `fresh_redis`)."""
    with running_redis(redis_binary, tmp_path_factory.mktemp("redis")) as (url, _):
        yield url


@pytest.fixture
def own_redis(redis_binary: str,
              tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server a test may stop (`stop(proc)`) to see Redis die under it."""
    with running_redis(redis_binary, tmp_path) as server:
        yield server


@pytest.fixture
def fresh_redis(redis_url: str) -> Iterator[str]:
    """`redis_url` emptied before and after the test (the server is shared by the session)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield redis_url
    client.flushdb()
    client.close()


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(backend: str, request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Opens stores of the parametrized backend over one shared place (a file, a database)."""
    opened: list[CostStore] = []
    url = request.getfixturevalue("fresh_redis") if backend == "redis" else ""

    def open_store(retention_days: float | None = None) -> CostStore:
        store: CostStore
        if backend == "redis":
            from lexiquery.cost.redis_store import RedisCostStore

            store = RedisCostStore(url, retention_days=retention_days)
        else:
            store = SqliteCostStore(tmp_path / "cost.db", retention_days=retention_days)
        opened.append(store)
        return store

    open_store.backend = backend  # type: ignore[attr-defined]
    open_store.location = url or str(tmp_path / "cost.db")  # type: ignore[attr-defined]
    yield open_store
    for s in opened:
        s.close()


@pytest.fixture
def store(store_factory) -> CostStore:  # type: ignore[no-untyped-def]
    return store_factory()
