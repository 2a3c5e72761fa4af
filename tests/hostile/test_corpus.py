"""The hostile-input corpus of issue 12: every case of `cases/*.yaml` on each of its surfaces.

One test per (case, surface), named ``surface:class/id``. Each must hold every invariant (no
traceback, no HTTP 500, no bare "Error executing tool", no canary read, no file written
outside the data directory) and meet its expectation (`hostile.judge`).
"""

from __future__ import annotations

import pytest

from hostile.cases import Case, load_cases, pairs
from hostile.dispatch import prepared_spec, run_in_process, run_isolated
from hostile.env import Paths, snapshot, violations
from hostile.harness import Harness
from hostile.judge import judge

CASES = load_cases()


def _param(case: Case, surface: str) -> object:
    marks = [pytest.mark.slow] if case.get("isolate") else []
    return pytest.param(case, surface, id=f"{surface}:{case.full_id}", marks=marks)


@pytest.mark.parametrize(("case", "surface"), [_param(c, s) for c, s in pairs(CASES)])
def test_hostile_input(case: Case, surface: str, hostile_paths: Paths, harness: Harness) -> None:
    spec = prepared_spec(case, hostile_paths, harness)
    before = snapshot(hostile_paths)
    if case.get("isolate"):
        outcome = run_isolated(case, surface, hostile_paths)
    else:
        outcome = run_in_process(case, surface, spec, hostile_paths, harness)
    broken = violations(outcome, hostile_paths, before, snapshot(hostile_paths))
    wrong = judge(case, outcome, spec)
    assert not (broken + wrong), f"{case.full_id} on {surface}: " + "; ".join(broken + wrong)


def test_the_corpus_is_large_enough_and_every_case_says_why() -> None:
    assert len(pairs(CASES)) >= 300
    assert all(c.get("note") for c in CASES), [c.full_id for c in CASES if not c.get("note")]
    assert sum(1 for c in CASES if c.get("repro")) >= 30
