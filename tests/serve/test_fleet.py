"""The run modes: `lexiquery serve --agent/--role`, the `up` fleet and its supervisor (real
processes on loopback ports the system chooses), and the container files describing the same
fleet."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from lexiquery.agents.contracts import AGENT_NAMES
from lexiquery.cli import app as cli_app
from lexiquery.serve.fleet import Supervisor
from lexiquery.serve.fleet_services import (
    FLEET,
    SERVICES,
    FleetError,
    fleet_port,
    parse_port_overrides,
    select,
    url_for,
)

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "failed sign-ins in the last 24 hours"
READY_S = 180  # ten Python processes starting on two shared cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: list[int], timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def lexiquery(*args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "lexiquery", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ}, **kw)


def read_state(data_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((data_dir / "fleet.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def wait_ready(proc: subprocess.Popen[str], data_dir: Path,
               timeout: float = READY_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(data_dir)
        if state and state["state"] == "ready":
            return state
        if proc.poll() is not None:
            break
        time.sleep(0.25)
    proc.kill()
    _, err = proc.communicate(timeout=20)
    raise AssertionError(f"fleet not ready (exit {proc.returncode}):\n{err[-4000:]}")


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)
        raise
    return proc.returncode, err


@pytest.fixture
def fleet_procs() -> Iterator[list[subprocess.Popen[str]]]:
    """`up` processes of a test; whatever the test did, none outlives it."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate(timeout=10)


# ── the fleet spec ───────────────────────────────────────────────────────────────────────────

def test_fleet_lists_every_service_on_its_port() -> None:
    assert {s.name: s.port for s in FLEET} == {
        "core": 8000, "registry": 8001, "sop": 8002, "planner": 9000, "knowledge-sop": 9010,
        "knowledge-errors": 9011, "data-kql": 9020, "data-spl": 9021, "data-sql": 9022,
        "validator": 9030}
    assert sorted(s.agent for s in FLEET if s.is_agent) == sorted(AGENT_NAMES)
    assert SERVICES["data-spl"].command("127.0.0.1", 9021, python="py") == [
        "py", "-m", "lexiquery", "serve", "--agent", "data-spl", "--host", "127.0.0.1",
        "--port", "9021"]
    assert SERVICES["core"].serve_args("::", 8000) == ["serve", "--role", "core", "--host", "::",
                                                      "--port", "8000"]
    assert fleet_port("validator") == 9030 and fleet_port("nope") is None
    assert url_for("0.0.0.0", 1) == "http://127.0.0.1:1" and url_for("::1", 2) == "http://[::1]:2"


def test_port_overrides_and_selection() -> None:
    assert parse_port_overrides(["core=8080", " data-kql=9120"]) == {"core": 8080,
                                                                     "data-kql": 9120}
    for bad in ("core", "core=x", "core=0", "core=70000", "nope=1"):
        with pytest.raises(FleetError) as e:
            parse_port_overrides([bad])
        assert e.value.exit_code == 2 and bad.strip() in e.value.message
    assert [s.name for s in select(only=["validator", "core"])] == ["core", "validator"]
    assert "data-spl" not in [s.name for s in select(skip=["data-spl"])]
    with pytest.raises(FleetError, match="unknown service 'nope'") as e:
        select(only=["nope"])
    assert "data-kql" in (e.value.hint or "")
    with pytest.raises(FleetError, match="no service left"):
        select(only=["core"], skip=["core"])


def test_supervisor_refuses_a_port_in_use(data_dir: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        sup = Supervisor(select(only=["sop", "validator"]), data_dir,
                         ports={"validator": port}, free_ports=True)
        with pytest.raises(FleetError) as e:
            sup.bind()
    assert e.value.exit_code == 2 and e.value.service == "validator"
    assert f"validator: port {port} on 127.0.0.1 is already in use" in e.value.message
    # The port bound before the failure is released: nothing is left half-started.
    assert all(c.sock is None and c.process is None for c in sup.children)


def test_up_refuses_a_port_in_use_in_one_line() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        result = CliRunner().invoke(cli_app, ["up", "--free-ports", "--port", f"core={port}"])
    assert result.exit_code == 2, result.output
    assert f"error: core: port {port} on 127.0.0.1 is already in use" in result.output
    assert "--port core=PORT" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args, needle", [
    (["--port", "core"], "is not SERVICE=PORT"),
    (["--port", "nope=9"], "unknown service 'nope'"),
    (["--only", "core,nope"], "unknown service 'nope'"),
])
def test_up_refuses_bad_options(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(cli_app, ["up", *args])
    assert result.exit_code == 2 and needle in result.output, result.output


# ── serve --agent / --role ───────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("args, needle", [
    (["--agent", "nope"], "unknown agent 'nope'"),
    (["--role", "everything"], "unknown role 'everything'"),
    (["--agent", "planner", "--role", "core"], "cannot be combined"),
])
def test_serve_refuses_bad_choices(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(cli_app, ["serve", *args, "--port", str(free_port())])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    if args[:2] == ["--agent", "nope"]:
        assert all(name in result.output for name in AGENT_NAMES)  # the names to choose from


@pytest.mark.slow
def test_serve_agent_alone_serves_its_card() -> None:
    port = free_port()
    proc = lexiquery("serve", "--agent", "planner", "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        deadline, card = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                card = httpx.get(f"{base}/.well-known/agent-card.json", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert card is not None and card.status_code == 200, f"exit {proc.poll()}"
        body = card.json()
        assert body["name"] == "planner"
        assert [s["id"] for s in body["skills"]] == ["create_plan"]
        urls = [i["url"] for i in body["supportedInterfaces"]]
        assert urls and all(u.startswith(base) for u in urls)  # advertises where it listens
        assert httpx.get(f"{base}/health", timeout=5).json()["agent"] == "planner"
        assert httpx.get(f"{base}/api/v1/journeys", timeout=5).status_code == 404  # agent only
    finally:
        _, err = stop(proc)
    assert "Traceback" not in err, err


# ── the fleet, end to end ────────────────────────────────────────────────────────────────────

def _platforms(answer: dict[str, Any], valid: bool) -> set[str]:
    return {q["platform"] for q in answer["queries"] if bool(q["valid"]) is valid}


@pytest.mark.slow
def test_up_answers_then_survives_a_killed_data_agent_then_stops_cleanly(
        data_dir: Path, fleet_procs: list[subprocess.Popen[str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Two cores shared with other work: a first A2A call warming a cold agent may be slow,
    # and what is tested here is a dead agent, not a slow one.
    monkeypatch.setenv("LEXIQUERY_AGENT_TIMEOUT_S", "60")
    proc = lexiquery("up", "--free-ports")
    fleet_procs.append(proc)
    state = wait_ready(proc, data_dir)
    services = {s["service"]: s for s in state["services"]}
    assert set(services) == set(SERVICES) and state["pid"] == proc.pid
    assert all(s["status"] == "ready" and alive(s["pid"]) for s in services.values())
    core = services["core"]["url"]

    # Every agent was registered with the registry service (the file core reads).
    listed = httpx.get(services["registry"]["url"] + "/a2a/agents/discover", timeout=10).json()
    names = {e["name"] for e in (listed["agents"] if isinstance(listed, dict) else listed)}
    assert names >= set(AGENT_NAMES)

    r = httpx.post(f"{core}/api/v1/query", json={"question": QUESTION}, timeout=60)
    assert r.status_code == 200, r.text
    assert _platforms(r.json(), valid=True) == {"kql", "spl", "sql"}

    spl = services["data-spl"]["pid"]
    os.kill(spl, signal.SIGKILL)
    assert wait_gone([spl]) == []
    started = time.monotonic()
    r = httpx.post(f"{core}/api/v1/query", json={"question": QUESTION}, timeout=90)
    took = time.monotonic() - started
    assert r.status_code == 200, r.text
    answer = r.json()
    assert _platforms(answer, valid=True) == {"kql", "sql"}
    assert took < 60, f"a dead agent cost {took:.1f} s"
    # The SPL query is there, marked failed by an issue naming the agent (the wording is the
    # orchestrator's; the agent's name is what a reader needs).
    spl_queries = [q for q in answer["queries"] if q["platform"] == "spl"]
    assert len(spl_queries) == 1 and spl_queries[0]["valid"] is False
    assert any("data-spl" in i["message"] for i in spl_queries[0]["issues"]), spl_queries

    # The supervisor noticed the death and keeps running the rest.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = {s["service"]: s for s in (read_state(data_dir) or state)["services"]}
        if now["data-spl"]["status"] == "exited":
            break
        time.sleep(0.2)
    assert now["data-spl"]["status"] == "exited"

    pids = [s["pid"] for s in services.values()]
    code, err = stop(proc)
    assert code == 0, err
    assert wait_gone(pids) == [], "children outlived `up`"
    assert read_state(data_dir)["state"] == "stopped"  # type: ignore[index]
    assert "Traceback" not in err, err
    # The children's logs quote questions: private like every other store.
    assert stat.S_IMODE((data_dir / "fleet").stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in (data_dir / "fleet").glob("*.log")} == {0o600}
    assert stat.S_IMODE((data_dir / "fleet.json").stat().st_mode) == 0o600


def test_up_refuses_a_bad_setting_before_starting_anything(data_dir: Path) -> None:
    env = {**os.environ, "LEXIQUERY_SAMPLE_ROWS": "0"}
    r = subprocess.run([sys.executable, "-m", "lexiquery", "up", "--free-ports"], env=env,
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2, r.stderr
    assert "error: setting LEXIQUERY_SAMPLE_ROWS:" in r.stderr and "Traceback" not in r.stderr
    assert read_state(data_dir) is None  # nothing was started


@pytest.mark.slow
def test_a_child_dying_at_start_up_stops_the_rest(data_dir: Path) -> None:
    # A setting only the validator reads as given (the supervisor sets LEXIQUERY_AGENTS for
    # core itself): the validator exits before it listens, core is up or on its way. The
    # supervisor names the validator, keeps its last log lines, and stop() leaves no child.
    env = {**os.environ, "LEXIQUERY_AGENTS": "bogus"}
    sup = Supervisor(select(only=["core", "validator"]), data_dir, free_ports=True, env=env,
                     ready_timeout_s=READY_S)
    try:
        with pytest.raises(FleetError) as e:
            sup.start()
    finally:
        sup.stop()
    assert e.value.service == "validator"
    assert "validator exited with code 1 during start-up" in e.value.message
    assert any("agents" in line for line in e.value.log_tail), e.value.log_tail
    pids = [c.pid for c in sup.children if c.pid]
    assert len(pids) == 2 and wait_gone(pids) == []
    state = read_state(data_dir)
    assert state is not None
    assert {s["service"]: s["status"] for s in state["services"]}["validator"] == "exited"


@pytest.mark.slow
def test_sigterm_during_start_up_stops_cleanly(
        data_dir: Path, fleet_procs: list[subprocess.Popen[str]]) -> None:
    proc = lexiquery("up", "--free-ports", "--only", "validator")
    fleet_procs.append(proc)
    deadline, state = time.monotonic() + 60, None
    while time.monotonic() < deadline and proc.poll() is None:
        state = read_state(data_dir)
        if state and state["services"] and state["services"][0]["pid"]:
            break
        time.sleep(0.02)
    assert state and state["state"] == "starting", state  # caught before it was ready
    code, err = stop(proc)
    assert code == 0, err
    assert wait_gone([state["services"][0]["pid"]]) == []
    assert "Traceback" not in err, err


@pytest.mark.slow
def test_children_die_with_a_killed_supervisor(
        data_dir: Path, fleet_procs: list[subprocess.Popen[str]]) -> None:
    proc = lexiquery("up", "--free-ports", "--only", "sop,validator")
    fleet_procs.append(proc)
    state = wait_ready(proc, data_dir)
    pids = [s["pid"] for s in state["services"]]
    assert len(pids) == 2 and all(alive(p) for p in pids)
    # SIGKILL cannot be handled: only PR_SET_PDEATHSIG takes the children down.
    code, _ = stop(proc, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert wait_gone(pids) == [], "children outlived a SIGKILLed `up`"


@pytest.mark.slow
def test_supervisor_stops_its_children_on_the_stop_event(data_dir: Path) -> None:
    """In-process: start, watch until the event, stop — the calls `up` makes."""
    import threading

    sup = Supervisor(select(only=["validator"]), data_dir, free_ports=True,
                     ready_timeout_s=READY_S)
    seen: list[str] = []
    sup.on_status = lambda child: seen.append(child.status)
    try:
        assert sup.start() is True
        pid = sup.children[0].pid
        assert pid and alive(pid)
        state = read_state(data_dir)
        assert state and state["state"] == "ready" and state["services"][0]["pid"] == pid
        threading.Timer(0.5, sup.stop_event.set).start()
        sup.watch()  # returns once the event is set
    finally:
        sup.stop()
    assert seen[:3] == ["starting", "healthy", "ready"] and seen[-1] == "stopped"
    assert wait_gone([pid]) == []
    sup.stop()  # a second stop is harmless


# ── containers ───────────────────────────────────────────────────────────────────────────────

def test_compose_describes_the_same_fleet() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == set(SERVICES) | {"ollama", "redis"}
    assert services["ollama"]["image"].startswith("ollama/ollama")
    assert services["redis"]["image"] == "redis:7"
    for spec in FLEET:
        svc = services[spec.name]
        assert svc["command"] == ["lexiquery", *spec.serve_args("0.0.0.0", spec.port)]
        assert str(spec.port) in [str(p) for p in svc["expose"]]
        assert str(spec.port) in " ".join(svc["healthcheck"]["test"])
        assert "lexiquery-data:/data" in svc["volumes"]
        env = svc["environment"]
        assert env["LEXIQUERY_DATA_DIR"] == "/data"
        assert env["LEXIQUERY_OLLAMA_HOST"] == "http://ollama:11434"
        assert env["LEXIQUERY_PUBLIC_URL"] == f"http://{spec.name}:{spec.port}"
        assert (env.get("LEXIQUERY_AGENTS") == "registry") == (spec.name in ("core", "registry"))
        static = json.loads(env["A2A_STATIC_AGENTS_JSON"])
        assert static == [{"name": s.name, "url": f"http://{s.name}:{s.port}"}
                          for s in FLEET if s.is_agent]
        assert json.loads(env["LEXIQUERY_REGISTRY_ALLOW_HOSTS"]) == [s["name"] for s in static]
    # Core waits for every agent to be healthy.
    assert {n for n, d in services["core"]["depends_on"].items()
            if d["condition"] == "service_healthy"} == {s.name for s in FLEET if s.is_agent}
    # Only the user-facing services are published, on the host's loopback.
    assert {n for n, s in services.items() if s.get("ports")} == {"core", "registry", "sop"}
    assert all(p.startswith("127.0.0.1:") for s in services.values() for p in s.get("ports", []))


def test_compose_settings_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment compose gives a service builds Settings (nothing malformed)."""
    from lexiquery.config import Settings

    env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["core"][
        "environment"]
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    s = Settings()
    assert s.agents == "registry" and s.public_url == "http://core:8000"
    assert "data-kql" in s.registry_allow_hosts and "data-kql:9020" in (s.static_agents_json or "")


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    assert "RUN pip install ." in text
    user = [ln for ln in lines if ln.startswith("USER ")]
    assert user and user[-1] not in ("USER root", "USER 0")
    assert 'VOLUME ["/data"]' in lines and "LEXIQUERY_DATA_DIR=/data" in text
    exposed = {int(p) for ln in lines if ln.startswith("EXPOSE") for p in ln.split()[1:]}
    assert exposed == {s.port for s in FLEET}
    assert lines[-1] == 'CMD ["lexiquery", "serve", "--host", "0.0.0.0", "--port", "8000"]'
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests"} <= set(ignored) and "src" not in ignored
