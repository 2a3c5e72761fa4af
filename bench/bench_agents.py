"""Benchmark: journeys through the HTTP API, agents in-process versus the fleet over A2A.

    .venv/bin/python bench/bench_agents.py [--journeys N] [--concurrency C]

Starts `lexiquery serve` (one process: the orchestrator calls every agent in-process) and
`lexiquery up --free-ports` (every agent its own process, called over A2A through the registry),
each on loopback with its own temporary data directory, sends the same questions to
`POST /api/v1/query` of each, and prints journeys per second and p50/p95 latency, sequentially
and with C concurrent clients, and the fleet/in-process ratios: the measured cost of the A2A
hop. Every journey runs the full validation (parse back, execution on sample data).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "failed sign-ins in the last 24 hours",
    "top 10 users with failed sign-ins in the last 24 hours",
    "count of 4625 events by account in the last 7 days",
    "p95 response time per URL today",
    "users with more than 5 failed sign-ins in the last hour",
    "sign-ins failing with AADSTS50126 today",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def _env(data_dir: str) -> dict[str, str]:
    env = dict(os.environ, LEXIQUERY_DATA_DIR=data_dir,
               LEXIQUERY_OLLAMA_HOST="http://127.0.0.1:9", PYTHONUNBUFFERED="1")
    env.pop("LEXIQUERY_AGENTS", None)
    return env


def _wait(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready within {timeout:.0f} s")


def start_single(data_dir: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lexiquery", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=_env(data_dir),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    _wait(base + "/health", proc)
    return proc, base


def start_fleet(data_dir: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "lexiquery", "up", "--free-ports"],
                            env=_env(data_dir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    state = Path(data_dir) / "fleet.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"`lexiquery up` exited with {proc.returncode}")
        try:
            fleet = json.loads(state.read_text())
        except (OSError, ValueError):
            fleet = {}
        if fleet.get("state") == "ready":
            core = next(s["url"] for s in fleet["services"] if s["service"] == "core")
            return proc, core
        time.sleep(0.3)
    raise SystemExit("the fleet was not ready within 240 s")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


async def run_journeys(base: str, n: int, concurrency: int) -> tuple[list[float], float]:
    """Latencies (ms) of `n` journeys with `concurrency` clients, and the wall time (s)."""
    latencies: list[float] = []
    queue = list(range(n))

    async def client(http: httpx.AsyncClient) -> None:
        while queue:
            i = queue.pop()
            t = time.perf_counter()
            r = await http.post(base + "/api/v1/query",
                                json={"question": QUESTIONS[i % len(QUESTIONS)]})
            latencies.append((time.perf_counter() - t) * 1000)
            body = r.json()
            if r.status_code != 200 or body.get("failed_platforms"):
                raise SystemExit(f"journey failed: {r.status_code} {str(body)[:300]}")

    async with httpx.AsyncClient(timeout=120.0) as http:
        await http.post(base + "/api/v1/query", json={"question": QUESTIONS[0]})  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def measure(name: str, base: str, n: int, concurrency: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in (1, concurrency):
        lat, wall = asyncio.run(run_journeys(base, n, c))
        out[f"p50_{c}"], out[f"p95_{c}"] = statistics.median(lat), _pct(lat, 95)
        out[f"jps_{c}"] = n / wall
        print(f"{name:<11} {c} client{'s' if c > 1 else ' '}: {n / wall:6.2f} journeys/s  "
              f"p50 {out[f'p50_{c}']:7.1f} ms  p95 {out[f'p95_{c}']:7.1f} ms")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--journeys", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    results = {}
    for name, start in (("in-process", start_single), ("fleet/A2A", start_fleet)):
        with tempfile.TemporaryDirectory(prefix="lexiquery-bench-") as d:
            proc, base = start(d)
            try:
                results[name] = measure(name, base, args.journeys, args.concurrency)
            finally:
                stop(proc)
    a, b = results["in-process"], results["fleet/A2A"]
    for c in (1, args.concurrency):
        print(f"fleet / in-process, {c} client{'s' if c > 1 else ''}: p50 "
              f"{b[f'p50_{c}'] / a[f'p50_{c}']:.2f}x  p95 {b[f'p95_{c}'] / a[f'p95_{c}']:.2f}x  "
              f"throughput {b[f'jps_{c}'] / a[f'jps_{c}']:.2f}x")


if __name__ == "__main__":
    main()
