"""One case on one surface → its `Outcome`, in process or (``isolate: true``) in a child process
with a hard deadline: a case that may pin a CPU for minutes (a DOCX of 190 MB of XML, a YAML
bomb) must fail the corpus, not stall it.

The child is ``python -m hostile.dispatch ROOT CASE_ID SURFACE`` (cwd: the tree's cwd; PYTHONPATH:
tests/); it prints the outcome as one JSON line, which the parent judges like any other.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hostile.cases import Case, load_cases
from hostile.env import Outcome, Paths
from hostile.files import file_specs, make_file

STARTUP_S = 20  # a child imports lexiquery, fastapi, … before the case's own deadline starts
RESULT_MARK = "HOSTILE-OUTCOME "


def run_in_process(case: Case, surface: str, spec: dict[str, Any], paths: Paths,
                   ctx: Any) -> Outcome:
    from hostile.modes import run_modes
    from hostile.surfaces_local import run_cli, run_python
    from hostile.surfaces_remote import run_a2a, run_http, run_mcp

    for name, content in (spec.get("setup") or {}).items():  # input files the case reads
        paths.inputs.mkdir(parents=True, exist_ok=True)
        (paths.inputs / name).write_text(content, encoding="utf-8")
    if case.op == "modes":
        return run_modes(surface, spec, paths, ctx)
    for f in file_specs(spec):
        make_file(f)  # before the clock starts, like the server
    if surface == "http":
        ctx.http_client("remote")
    runner = {"cli": run_cli, "python": run_python, "http": run_http, "mcp": run_mcp,
              "a2a": run_a2a}[surface]
    started = time.monotonic()
    outcome = runner(case.op, spec, paths, ctx)
    outcome.elapsed_s = time.monotonic() - started
    return outcome


def run_isolated(case: Case, surface: str, paths: Paths) -> Outcome:
    timeout = (case.get("timeout_s") or 30) + STARTUP_S
    tests_dir = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tests_dir), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "hostile.dispatch", str(paths.root), case.full_id, surface]
    try:
        done = subprocess.run(cmd, cwd=paths.cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(surface, "crash", problems=[f"no answer within {timeout} s (child "
                                                   "process killed)"])
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_MARK)), None)
    if line is None:
        return Outcome(surface, "crash", texts=[done.stdout, done.stderr],
                       problems=[f"the child process ended {done.returncode} without an "
                                 f"outcome: {done.stderr[-300:]}"])
    fields = json.loads(line[len(RESULT_MARK):])
    fields["codes"] = set(fields["codes"])
    return Outcome(**fields)


def prepared_spec(case: Case, paths: Paths, ctx: Any) -> dict[str, Any]:
    spec = ctx.fill_fakes(paths.fill(dict(case.spec)))
    spec["_case"] = case.full_id
    return spec


def _child(root: str, case_id: str, surface: str) -> None:
    from hostile.harness import Harness

    paths = Paths(root=Path(root), tokens=())
    case = next(c for c in load_cases() if c.full_id == case_id)
    ctx = Harness(paths)
    try:
        outcome = run_in_process(case, surface, prepared_spec(case, paths, ctx), paths, ctx)
    finally:
        ctx.close()
    fields = dataclasses.asdict(outcome)
    fields["codes"] = sorted(outcome.codes)
    fields["data"] = outcome.data if surface == "http" else None  # status and headers
    print(RESULT_MARK + json.dumps(fields, default=str), flush=True)


if __name__ == "__main__":
    _child(*sys.argv[1:4])
