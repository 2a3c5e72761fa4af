"""The fleet: every LexiQuery service as its own process, and the supervisor that runs them.

The services are in `fleet_services.FLEET`. `Supervisor` is what `lexiquery up` drives:

    bind every port ─► spawn the children ─► wait for GET /health (agents: and their card)
        ─► register each agent with the registry service (with the data directory's admin
           key, `serve.admin`) ─► ready ─► watch ─► stop

Ports are bound here, by the supervisor, and each listening socket is handed to its child
(`serve --fd N`): a port in use is found before anything starts, and `--free-ports` has no
window between choosing a port and a child binding it. Every child shares the data directory
(the core service reads the registry file the registry service writes), runs in its own process
group (a Ctrl-C in the terminal reaches the supervisor only, which then stops the children in
order) and, on Linux, gets PR_SET_PDEATHSIG so it dies with a SIGKILLed supervisor.

The state — services, pids, ports, URLs, status — is kept in `<data_dir>/fleet.json` (replaced
atomically), each child's output in `<data_dir>/fleet/<service>.log`.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lexiquery.errors import LexiQueryError
from lexiquery.private_files import private_dir, private_file
from lexiquery.serve.admin import ADMIN_HEADER, ensure_admin_key
from lexiquery.serve.fleet_services import REGISTRY_MODE, FleetError, ServiceSpec, url_for
from lexiquery.serve.sockets import bind_socket


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec function that makes the child get SIGTERM when the supervisor dies (Linux).

    libc is loaded here, in the parent: the function itself runs between fork and exec and does
    as little as possible. The getppid check closes the race of a parent that died before
    prctl took effect."""
    if not sys.platform.startswith("linux"):
        return None

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


@dataclass
class Child:
    """A service of the running fleet."""

    spec: ServiceSpec
    port: int
    url: str
    log_path: Path
    sock: socket.socket | None = None
    process: subprocess.Popen[bytes] | None = None
    status: str = "pending"  # pending, starting, healthy, registered, ready, exited, stopped
    detail: str = ""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def log_tail(self, lines: int = 15) -> list[str]:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]


StatusCallback = Callable[[Child], None]


@dataclass
class Supervisor:
    """Runs `services` as child processes; see the module docstring for the sequence.

    `stop_event` is set by the caller's signal handlers: every wait checks it, so Ctrl-C during
    start-up stops as cleanly as after. `on_status(child)` is called on every status change."""

    services: list[ServiceSpec]
    data_dir: Path
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=dict)
    free_ports: bool = False
    env: dict[str, str] | None = None
    python: str = sys.executable
    ready_timeout_s: float = 120.0
    stop_timeout_s: float = 10.0
    on_status: StatusCallback | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    children: list[Child] = field(default_factory=list)
    state: str = "idle"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "fleet.json"

    # ── start ────────────────────────────────────────────────────────────────────────────────

    def bind(self) -> None:
        """Bind every service's port now. A port in use is a FleetError (exit 2) naming it."""

        log_dir = private_dir(self.data_dir / "fleet")  # the logs quote questions: 0700/0600
        for spec in self.services:
            port = 0 if self.free_ports and spec.name not in self.ports \
                else self.ports.get(spec.name, spec.port)
            try:
                sock = bind_socket(self.host, port)
            except OSError as e:
                self.close_sockets()
                in_use = e.errno in (98, 48, 10048)
                raise FleetError(
                    f"{spec.name}: port {port} on {self.host} "
                    + ("is already in use" if in_use else f"cannot be used ({e.strerror or e})"),
                    exit_code=2, service=spec.name,
                    hint=f"choose another with --port {spec.name}=PORT, or --free-ports") from e
            bound = int(sock.getsockname()[1])
            self.children.append(Child(spec, bound, url_for(self.host, bound),
                                       log_dir / f"{spec.name}.log", sock=sock))

    def start(self) -> bool:
        """Spawn, wait until healthy, register the agents. True when ready; False when the stop
        event was set meanwhile. FleetError when a child died or never became healthy (the
        caller then calls `stop`)."""
        if not self.children:
            self.bind()
        self.state = "starting"
        for child in self.children:
            self._spawn(child)
        self._write_state()
        if not self._wait_healthy():
            return False
        if not self._register_agents():
            return False
        for child in self.children:
            self._set(child, "ready")
        self.state = "ready"
        self._write_state()
        return True

    def child_env(self, spec: ServiceSpec) -> dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        env["LEXIQUERY_DATA_DIR"] = str(self.data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        # One public URL cannot be every service's address: each advertises its own.
        env.pop("LEXIQUERY_PUBLIC_URL", None)
        if spec.name in REGISTRY_MODE:
            env["LEXIQUERY_AGENTS"] = "registry"
        return env

    def _spawn(self, child: Child) -> None:
        assert child.sock is not None
        fd = child.sock.fileno()
        cmd = child.spec.command(self.host, child.port, python=self.python) + ["--fd", str(fd)]
        # Own process group: a terminal's Ctrl-C reaches the supervisor alone, which stops the
        # children itself. The preexec function only calls prctl and getppid (no imports, no
        # locks), and `up` spawns from its only thread.
        with open(private_file(child.log_path), "wb") as log:
            child.process = subprocess.Popen(
                cmd, env=self.child_env(child.spec), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, pass_fds=(fd,), process_group=0,
                preexec_fn=_die_with_parent())  # noqa: PLW1509
        child.sock.close()  # the child holds it now; the parent's copy would keep it alive
        child.sock = None
        self._set(child, "starting")

    def _wait_healthy(self) -> bool:
        # deferred: httpx loads only when a service is called
        import httpx

        deadline = time.monotonic() + self.ready_timeout_s
        pending = list(self.children)
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while pending:
                for child in list(pending):
                    self._check_alive(child)
                    if self._answers(http, child):
                        pending.remove(child)
                        self._set(child, "healthy")
                        self._write_state()
                if not pending:
                    break
                if time.monotonic() > deadline:
                    slow = pending[0]
                    raise FleetError(
                        f"{slow.spec.name} did not answer GET /health within "
                        f"{self.ready_timeout_s:.0f} s", service=slow.spec.name,
                        log_tail=slow.log_tail(), hint=f"its log: {slow.log_path}")
                if self.stop_event.wait(0.25):
                    return False
        return True

    def _check_alive(self, child: Child) -> None:
        assert child.process is not None
        code = child.process.poll()
        if code is not None:
            self._set(child, "exited", f"exit code {code}")
            raise FleetError(f"{child.spec.name} exited with code {code} during start-up",
                             service=child.spec.name, log_tail=child.log_tail(),
                             hint=f"its full log: {child.log_path}")

    @staticmethod
    def _answers(http: Any, child: Child) -> bool:
        """Health (and, for an agent, its card) answer 200 with JSON."""
        # deferred: httpx loads only when a service is called
        import httpx

        paths = ["/health"] + (["/.well-known/agent-card.json"] if child.spec.is_agent else [])
        try:
            for path in paths:
                r = http.get(child.url + path)
                if r.status_code != 200 or not isinstance(r.json(), dict):
                    return False
        except (httpx.HTTPError, ValueError):
            return False
        return True

    def _register_agents(self) -> bool:
        # deferred: httpx loads only when a service is called
        import httpx

        registry = next((c for c in self.children if c.spec.name == "registry"), None)
        agents = [c for c in self.children if c.spec.is_agent]
        if registry is None or not agents:
            return True  # nothing to register with, or nothing to register

        try:  # registering is an admin operation: the key of the shared data directory
            key = ensure_admin_key(self.data_dir)
        except LexiQueryError as e:
            raise FleetError(e.message, service="registry", hint=e.hint) from e
        with httpx.Client(timeout=30.0, trust_env=False, headers={ADMIN_HEADER: key}) as http:
            for child in agents:
                if self.stop_event.is_set():
                    return False
                try:
                    r = http.post(f"{registry.url}/a2a/agents/register", json={"url": child.url})
                except httpx.HTTPError as e:
                    raise FleetError(f"the registry did not answer the registration of "
                                     f"{child.spec.name}: {e}", service="registry",
                                     log_tail=registry.log_tail()) from e
                if r.status_code not in (200, 201):
                    raise FleetError(f"the registry refused {child.spec.name} ({child.url}): "
                                     f"HTTP {r.status_code} {_message(r)}", service="registry",
                                     log_tail=registry.log_tail())
                self._set(child, "registered")
        self._write_state()
        return True

    # ── run and stop ─────────────────────────────────────────────────────────────────────────

    def watch(self) -> None:
        """Until the stop event: report a child that exits (the fleet keeps running without it
        — the core answers with that platform marked failed)."""
        while not self.stop_event.wait(0.5):
            for child in self.children:
                code = child.process.poll() if child.process else None
                if code is not None and child.status not in ("exited", "stopped"):
                    self._set(child, "exited", f"exit code {code}")
                    self._write_state()

    def stop(self) -> None:
        """SIGTERM every running child, wait up to `stop_timeout_s`, SIGKILL the rest. Safe to
        call twice and after a failed start."""
        self.close_sockets()
        for child in self.children:
            code = child.process.poll() if child.process else None
            if code is not None and child.status not in ("exited", "stopped"):
                self._set(child, "exited", f"exit code {code}")
        running = [c for c in self.children if c.process and c.process.poll() is None]
        if running:
            self.state = "stopping"
            self._write_state()
        for child in running:
            try:
                assert child.process is not None
                child.process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + self.stop_timeout_s
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=5)
                child.detail = "killed after the stop timeout"
        for child in running:
            if child.status != "exited":
                self._set(child, "stopped", child.detail)
        if running:
            self.state = "stopped"
            self._write_state()

    def close_sockets(self) -> None:
        for child in self.children:
            if child.sock is not None:
                child.sock.close()
                child.sock = None

    # ── state ────────────────────────────────────────────────────────────────────────────────

    def _set(self, child: Child, status: str, detail: str = "") -> None:
        child.status, child.detail = status, detail
        if self.on_status:
            self.on_status(child)

    def snapshot(self) -> dict[str, Any]:
        """The fleet's state as written to fleet.json."""
        return {"state": self.state, "pid": os.getpid(), "host": self.host,
                "data_dir": str(self.data_dir), "updated_at": time.time(),
                "services": [{"service": c.spec.name, "kind": "agent" if c.spec.is_agent
                              else "role", "pid": c.pid, "port": c.port, "url": c.url,
                              "status": c.status, "detail": c.detail, "log": str(c.log_path)}
                             for c in self.children]}

    def _write_state(self) -> None:
        """Replace fleet.json atomically: a reader never sees half a file."""
        private_dir(self.data_dir)
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".fleet-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.snapshot(), f, indent=2)
            os.replace(tmp, self.state_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _message(response: Any) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body) if isinstance(body, dict) else str(body)
    except ValueError:
        return response.text[:200]
