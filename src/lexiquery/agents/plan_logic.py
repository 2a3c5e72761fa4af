"""Plans that cannot be right: filters that contradict each other, and filters said twice.

A query whose filters exclude each other (`status in (200, 304)` and `status !in (200, 304)`;
`bytes > 5 and bytes < 3`; `user == "a" and user == "b"`) returns no rows on any data. It parses,
passes the guard and "agrees" across platforms on sample data — and answers nothing. The
validator reports it as an error (`contradiction`), naming the fields and values, so it is never
shown as a checked answer. A condition repeated verbatim (the question and a known error saying
the same thing) changes nothing; `dedupe` drops the repeats before rendering.

Only conditions that must all hold are compared: the plan's top-level filters and the items of
a top-level `and`. Inside `or` or `not`, a pair of conditions may well differ.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lexiquery.ir import And, Condition, Operator, PlanIssue, QueryPlan, Severity

_RANGE = {Operator.gt, Operator.ge, Operator.lt, Operator.le}


def _conjuncts(filters: list[Any]) -> list[Condition]:
    """The conditions that must all hold: top-level ones and those of top-level `and`s."""
    out: list[Condition] = []
    stack = list(filters)
    while stack:
        f = stack.pop(0)
        if isinstance(f, Condition):
            out.append(f)
        elif isinstance(f, And):
            stack[:0] = list(f.items)
    return out


def _norm(c: Condition, v: Any) -> Any:
    return v.lower() if isinstance(v, str) and not c.case_sensitive else v


def _values(c: Condition) -> set[Any]:
    vals = c.value if isinstance(c.value, list) else [c.value]
    return {_norm(c, v) for v in vals}


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _shown(vals: set[Any]) -> str:
    return ", ".join(sorted(repr(v) if isinstance(v, str) else str(v) for v in vals))


def _field_conflict(field: str, conds: list[Condition]) -> str | None:
    """Why the conditions on one field can never hold together, or None."""
    allowed: set[Any] | None = None  # values eq/in allow (intersected)
    excluded: set[Any] = set()  # values ne/not_in exclude
    low: tuple[float, bool] | None = None  # (bound, inclusive)
    high: tuple[float, bool] | None = None
    for c in conds:
        if c.op in (Operator.eq, Operator.in_):
            vals = _values(c)
            allowed = vals if allowed is None else allowed & vals
            if not allowed:
                return f"{field} must be one of two sets of values with nothing in common"
        elif c.op in (Operator.ne, Operator.not_in):
            excluded |= _values(c)
        elif c.op in _RANGE:
            n = _num(c.value)
            if n is None:
                continue
            if c.op in (Operator.gt, Operator.ge):
                bound = (n, c.op is Operator.ge)
                if low is None or bound[0] > low[0] or (bound[0] == low[0] and not bound[1]):
                    low = bound
            else:
                bound = (n, c.op is Operator.le)
                if high is None or bound[0] < high[0] or (bound[0] == high[0] and not bound[1]):
                    high = bound
    if allowed is not None and allowed <= excluded:
        return f"{field} must be {_shown(allowed)} and must not be {_shown(allowed)}"
    if low is not None and high is not None and \
            (low[0] > high[0] or (low[0] == high[0] and not (low[1] and high[1]))):
        return (f"{field} must be {'≥' if low[1] else '>'} {low[0]:g} and "
                f"{'≤' if high[1] else '<'} {high[0]:g}")
    if allowed is not None and (low is not None or high is not None):
        nums = [n for v in allowed if (n := _num(v)) is not None]
        if nums and len(nums) == len(allowed) and not any(
                (low is None or n > low[0] or (n == low[0] and low[1])) and
                (high is None or n < high[0] or (n == high[0] and high[1])) for n in nums):
            return f"{field} must be {_shown(allowed)}, which is outside its range filter"
    return None


def contradictions(plan: QueryPlan) -> list[PlanIssue]:
    """An error per field whose must-hold conditions exclude each other (see the module doc)."""
    by_field: dict[str, list[Condition]] = defaultdict(list)
    for c in _conjuncts(plan.filters):
        by_field[c.field].append(c)
    issues = []
    for field, conds in by_field.items():
        why = _field_conflict(field, conds) if len(conds) > 1 else None
        if why:
            issues.append(PlanIssue(
                code="contradiction", severity=Severity.error, field=field,
                message=f"the filters contradict each other: {why}, so the query can never "
                        "return a row"))
    return issues


def dedupe(plan: QueryPlan) -> tuple[QueryPlan, int]:
    """The plan with repeated top-level conditions dropped (first kept), and how many went."""
    seen: set[str] = set()
    kept: list[Any] = []
    for f in plan.filters:
        key = f.model_dump_json() if isinstance(f, Condition) else None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        kept.append(f)
    dropped = len(plan.filters) - len(kept)
    return (plan.model_copy(update={"filters": kept}) if dropped else plan), dropped
