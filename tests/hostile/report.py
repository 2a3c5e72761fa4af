"""Counts of the hostile corpus: (case × surface) pairs per class and surface.

    python tests/hostile/report.py            the table
    python tests/hostile/report.py --repro    also the cases that reproduce issue 12 exactly
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hostile.cases import SURFACES, load_cases, pairs  # noqa: E402


def table() -> str:
    cases = load_cases()
    counts = Counter((c.cls, s) for c, s in pairs(cases))
    inputs = Counter(c.cls for c in cases)
    classes = sorted(inputs)
    width = max(len(c) for c in classes + ["class"])
    head = f"{'class':<{width}}  inputs " + " ".join(f"{s:>6}" for s in SURFACES) + "  pairs"
    lines = [head, "-" * len(head)]
    for cls in classes:
        row = [counts[(cls, s)] for s in SURFACES]
        lines.append(f"{cls:<{width}}  {inputs[cls]:>6} " + " ".join(f"{n:>6}" for n in row)
                     + f"  {sum(row):>5}")
    totals = [sum(counts[(c, s)] for c in classes) for s in SURFACES]
    lines += ["-" * len(head), f"{'total':<{width}}  {len(cases):>6} "
              + " ".join(f"{n:>6}" for n in totals) + f"  {sum(totals):>5}",
              f"{sum(1 for c in cases if c.get('repro'))} inputs reproduce issue 12 exactly"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
    if "--repro" in sys.argv:
        for c in load_cases():
            if c.get("repro"):
                print(f"  {c.full_id:<50} {', '.join(c.surfaces)}")
