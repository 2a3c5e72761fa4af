"""Issue 15's "done when", kept as a floor: the faithfulness development set passes with and
without knowledge, both runs agree wherever the question decides, the quoted cases are right,
and answers shown at ≥ 90 % are right at least 90 % of the time — on the development set and
on the held-back set. Runs bench/faithful.py in a subprocess (it sets its own environment: no
network, throw-away data directories) and reads its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "faithful.py"
# Measured at issue 15: development 142/144 and 138/144, held-back 29/35 and 31/35.
FLOORS = {"questions.yaml": {"bare": 0.95, "knowledge": 0.90},
          "holdout.yaml": {"bare": 0.75, "knowledge": 0.80}}
QUOTED_IDS = ["prec-001", "prec-019", "prec-002", "con-001", "neg-001", "neg-002", "inv-001",
              "inv-002", "met-001", "thr-001"]


@lru_cache(maxsize=None)
def run(name: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, str(BENCH), "--json", "--questions",
                          str(ROOT / "tests" / "faithful" / name)],
                         capture_output=True, text=True, env=env, timeout=600, check=True)
    return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_the_set_passes_with_and_without_knowledge(name: str) -> None:
    overall = run(name)["summary"]["overall"]
    n = overall["items"]
    assert overall["facts_ok_no_knowledge"] / n >= FLOORS[name]["bare"], overall
    assert overall["facts_ok_knowledge"] / n >= FLOORS[name]["knowledge"], overall
    # where the question decides the whole answer, knowledge changes nothing (the held-back
    # set measures this too, with the misreadings it was never tuned against: 23 of 24)
    same = overall["same_decided_items"] / overall["decided_items"]
    assert same >= (1.0 if name == "questions.yaml" else 0.9), overall


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_shown_at_90_percent_is_right_90_percent_of_the_time(name: str) -> None:
    top = run(name)["summary"]["reliability"][">=90"]
    for which in ("bare", "knowledge"):
        assert top[which]["n"] >= 10 and top[which]["ok"] / top[which]["n"] >= 0.9, top


@pytest.mark.slow
def test_the_cases_quoted_in_the_issue_give_the_right_queries() -> None:
    items = {i["id"]: i for i in run("questions.yaml")["items"]}
    wrong = [(i, run_name) for i in QUOTED_IDS for run_name in ("no_knowledge", "knowledge")
             if not items[i][run_name]["ok"]]
    assert not wrong, wrong
