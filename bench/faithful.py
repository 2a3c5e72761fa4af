"""Faithfulness development set (issue 15): does the plan keep what the question says, with and
without runbooks and known errors?

    .venv/bin/python bench/faithful.py [--kind K ...] [--show-misses N] [--json]
                                       [--reference-packs] [--bare-known-errors]

For every item of tests/faithful/questions.yaml it asks the rules engine twice through the public
API,

    lexiquery.ask(question, platforms=[platform], sample_check=False, store=False, settings=…)

* without knowledge: a fresh, empty data directory and `sop=False`, so neither runbooks nor the
  known-errors base touch the plan (`--bare-known-errors` keeps the known-errors base on, as a
  new user with no runbooks gets it);
* with knowledge: a second fresh data directory where every runbook of tests/faithful/runbooks/
  was stored the way `lexiquery sop add` stores it (`ProcedureStore(settings).add_file`), and
  `sop=True` (runbooks + known-errors base). An item with a `runbooks:` list is asked against a
  store of those runbooks only (one fresh data directory per distinct list), for failures that
  only show with a given runbook mix (issue 15's first case needs SOP-017 without SOP-021);

and checks the item's expected facts against `answer.plan` (see the header of questions.yaml for
the fact language). It reports, per kind and overall:

* facts ok (no knowledge) — every fact of `expect` + `without_knowledge` holds in the bare run,
  and the plan holds no contradictory predicates;
* facts ok (knowledge)    — every fact of `expect` + `knowledge_fills` holds in the knowledge
  run, and no contradictory predicates;
* same where decided      — both runs give the same answer where the question decides: the whole
  plan (source, filters, metrics, grouping, having, time range, limit) for items marked
  `decided_by_question`, the facts the question decides (those `knowledge_fills` leaves alone)
  for the others;

then which facts miss most, and a reliability table: the confidence shown with the query
(`answer.queries[0].confidence`) in buckets, against the observed accuracy (all facts ok).

Filters are read with their polarity: `not` is pushed down onto the conditions (De Morgan), an
`or` of equalities on one field is an `in`, several `!=` on one field are a `not_in`, and a
condition on a computed field reads as the function of the field it computes (`length(query) >
60` is `{field: query, fn: length, op: gt, value: 60}`). A fact inside a mixed `or` never
satisfies an expected filter, but it does violate a `not_filters` entry.

Nothing reaches the network: the LLM path is off, embeddings are off, the Ollama host is a closed
loopback port, reference packs are off (the expected sources are the built-in catalog's; use
`--reference-packs` to measure with them), and both data directories are temporary. One item's
exception never stops the run: it is counted as an error and the item as wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

ROOT = Path(__file__).resolve().parents[1]
SET_DIR = ROOT / "tests" / "faithful"
QUESTIONS = SET_DIR / "questions.yaml"
RUNBOOKS = SET_DIR / "runbooks"
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard port: nothing listens, nothing leaves the host
KINDS = ["precedence", "negation", "invented_filter", "metric", "runbook_definition",
         "runbook_threshold", "contradiction", "lookback"]
RUNS = ("bare", "knowledge")
RUN_TITLE = {"bare": "no knowledge", "knowledge": "knowledge"}
FACT_KEYS = ("source", "filters", "not_filters", "metric", "group", "threshold", "time", "limit",
             "exact_filters", "consistent")
BUCKETS = [("<50", 0.0, 0.5), ("50-70", 0.5, 0.7), ("70-80", 0.7, 0.8), ("80-90", 0.8, 0.9),
           (">=90", 0.9, 1.01)]
METRIC_ALIASES = {"dcount": "count_distinct", "distinct_count": "count_distinct",
                  "average": "avg", "mean": "avg"}
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_MESSAGE = 300


# ------------------------------------------------------------------------------------- facts

# `not (f op v)` as one operator. The IR has complements for the equality, list, containment,
# existence and order operators; the rest get a "not_" name of their own here.
_NEGATED = {
    "eq": "ne", "ne": "eq", "in": "not_in", "not_in": "in", "contains": "not_contains",
    "not_contains": "contains", "exists": "not_exists", "not_exists": "exists",
    "gt": "le", "le": "gt", "ge": "lt", "lt": "ge",
    "startswith": "not_startswith", "not_startswith": "startswith",
    "endswith": "not_endswith", "not_endswith": "endswith",
    "has": "not_has", "not_has": "has", "regex": "not_regex", "not_regex": "regex",
}
FACT_OPS = frozenset(_NEGATED)
# Functions that only change a value's type or case: `toint(status) > 500` is a fact on status.
_TRANSPARENT_FNS = {"to_int", "to_real", "to_string", "lower", "upper"}


def _scalar(v: Any) -> str:
    """A value in comparable form: text lower-cased, whole floats as integers, booleans as
    true/false, so that 4625 == "4625" and "0xC000006A" == "0xc000006a"."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)):
        return str(v)
    return str(v).strip().lower()


def _int(v: str) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, order=True)
class Fact:
    field: str
    op: str
    value: Any  # str, tuple of str (lists, sorted), or None (exists / not_exists)
    fn: str | None = None

    def __str__(self) -> str:
        f = f"{self.fn}({self.field})" if self.fn else self.field
        if self.value is None:
            return f"{f} {self.op}"
        v = "[" + ", ".join(self.value) + "]" if isinstance(self.value, tuple) else self.value
        return f"{f} {self.op} {v}"


def make_fact(field_name: str, op: str, value: Any, fn: str | None = None) -> Fact:
    """The canonical form of `field op value`: in [x] is eq x, not_in [x] is ne x, has is
    contains, and on whole numbers ge n is gt n-1 and le n is lt n+1."""
    op = {"has": "contains", "not_has": "not_contains"}.get(op, op)
    if isinstance(value, (list, tuple)):
        vals = tuple(sorted({_scalar(v) for v in value}))
        if len(vals) == 1 and op in {"in", "not_in"}:
            return Fact(field_name, "eq" if op == "in" else "ne", vals[0], fn)
        return Fact(field_name, op, vals, fn)
    if value is None:
        return Fact(field_name, op, None, fn)
    v = _scalar(value)
    n = _int(v)
    if n is not None and op == "ge":
        return Fact(field_name, "gt", str(n - 1), fn)
    if n is not None and op == "le":
        return Fact(field_name, "lt", str(n + 1), fn)
    return Fact(field_name, op, v, fn)


def expected_fact(d: dict[str, Any]) -> Fact:
    return make_fact(d["field"], d["op"], d.get("value"), d.get("fn"))


def alternatives(d: dict[str, Any]) -> list[Fact]:
    """The facts an expected filter accepts: one, or any of several (`{any_of: [...]}`)."""
    return [expected_fact(a) for a in d["any_of"]] if "any_of" in d else [expected_fact(d)]


def filter_fields(entries: Iterable[dict[str, Any]]) -> set[str]:
    return {f.field for d in entries for f in alternatives(d)}


def _resolve(name: str, computed: dict[str, Any]) -> tuple[str, str | None]:
    """(field, fn) a condition's field stands for: a computed `length(query)` is (query, length)."""
    if name not in computed:
        return name, None
    from lexiquery.ir import Call, FieldRef

    e = computed[name]
    while isinstance(e, Call) and e.fn.value in _TRANSPARENT_FNS and len(e.args) == 1:
        e = e.args[0]
    if isinstance(e, FieldRef):
        return e.name, None
    if isinstance(e, Call) and e.args:
        inner = e.args[0]
        while isinstance(inner, Call) and inner.fn.value in _TRANSPARENT_FNS and \
                len(inner.args) == 1:
            inner = inner.args[0]
        if isinstance(inner, FieldRef):
            return inner.name, e.fn.value
    return name, "expr"


@dataclass
class Flat:
    """A filter list read with polarity: the facts that hold (ANDed), the facts inside an `or`
    that could not be read as one fact, and how many AND-level facts were repeated."""

    facts: list[Fact] = field(default_factory=list)
    in_or: list[Fact] = field(default_factory=list)
    duplicates: int = 0


def flatten(filters: Iterable[Any], computed: dict[str, Any] | None = None) -> Flat:
    from lexiquery.ir import And, Condition, Not, Or

    computed = computed or {}
    out = Flat()

    def walk(node: Any, neg: bool, sink: Flat, in_or: bool) -> None:
        if isinstance(node, Condition):
            op = node.op.value
            if neg:
                op = _NEGATED.get(op, f"not_{op}")
            fname, fn = _resolve(node.field, computed)
            fact = make_fact(fname, op, node.value, fn)
            (sink.in_or if in_or else sink.facts).append(fact)
        elif isinstance(node, Not):
            walk(node.item, not neg, sink, in_or)
        elif isinstance(node, (And, Or)):
            conj = isinstance(node, And) != neg  # De Morgan
            if conj or len(node.items) == 1:
                for item in node.items:
                    walk(item, neg, sink, in_or)
                return
            parts = []
            for item in node.items:
                part = Flat()
                walk(item, neg, part, False)
                parts.append(part)
            singles = [p.facts[0] for p in parts if len(p.facts) == 1 and not p.in_or]
            keys = {(f.field, f.fn) for f in singles}
            if len(singles) == len(parts) and len(keys) == 1 and \
                    all(f.op in {"eq", "in"} for f in singles):
                values: list[str] = []
                for f in singles:
                    values += list(f.value) if isinstance(f.value, tuple) else [f.value]
                fname, fn = next(iter(keys))
                fact = make_fact(fname, "in", values, fn)
                (sink.in_or if in_or else sink.facts).append(fact)
            else:
                for p in parts:
                    sink.in_or.extend(p.facts + p.in_or)

    for f in filters:
        walk(f, False, out, False)
    seen: Counter[Fact] = Counter(out.facts)
    out.duplicates = sum(n - 1 for n in seen.values() if n > 1)
    facts = list(dict.fromkeys(out.facts))
    # Several `!=` (or not_in) on one field are one not_in over all their values.
    excluded: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    count: Counter[tuple[str, str | None]] = Counter()
    for f in facts:
        if f.op in {"ne", "not_in"}:
            excluded[(f.field, f.fn)] |= set(f.value if isinstance(f.value, tuple) else [f.value])
            count[(f.field, f.fn)] += 1
    for (fname, fn), vals in excluded.items():
        if count[(fname, fn)] > 1:
            merged = make_fact(fname, "not_in", sorted(vals), fn)
            if merged not in facts:
                facts.append(merged)
    out.facts = facts
    return out


def contradictions(facts: list[Fact]) -> list[str]:
    """AND-level facts that cannot all hold: equal to two values, in and not in the same values,
    an empty range, a prefix required and excluded, present and absent."""
    out: list[str] = []
    by_field: dict[tuple[str, str | None], list[Fact]] = defaultdict(list)
    for f in facts:
        by_field[(f.field, f.fn)].append(f)
    for (fname, fn), fs in by_field.items():
        label = f"{fn}({fname})" if fn else fname
        allowed: set[str] | None = None
        excluded: set[str] = set()
        lower: float | None = None
        upper: float | None = None
        for f in fs:
            vals = set(f.value) if isinstance(f.value, tuple) else {f.value}
            if f.op in {"eq", "in"}:
                allowed = vals if allowed is None else allowed & vals
            elif f.op in {"ne", "not_in"}:
                excluded |= vals
            elif f.op in {"gt", "lt"}:
                try:
                    n = float(f.value)
                except (TypeError, ValueError):
                    continue
                if f.op == "gt":
                    lower = n if lower is None else max(lower, n)
                else:
                    upper = n if upper is None else min(upper, n)
        if allowed is not None and not allowed - excluded:
            out.append(f"{label}: every allowed value is excluded "
                       f"({' and '.join(str(f) for f in fs)})")
            continue
        if lower is not None and upper is not None and upper - lower <= 1:
            out.append(f"{label}: empty range (> {lower:g} and < {upper:g})")
        if allowed is not None and (lower is not None or upper is not None):
            def fits(v: str) -> bool:
                try:
                    n = float(v)
                except ValueError:
                    return True
                return (lower is None or n > lower) and (upper is None or n < upper)
            if not any(fits(v) for v in allowed - excluded):
                out.append(f"{label}: no allowed value is in the range")
        ops = {(f.op, f.value) for f in fs}
        for pos, neg in (("startswith", "not_startswith"), ("endswith", "not_endswith"),
                         ("contains", "not_contains"), ("regex", "not_regex")):
            for op, v in ops:
                if op == pos and (neg, v) in ops:
                    out.append(f"{label}: {pos} and {neg} {v}")
        if ("exists", None) in ops and ("not_exists", None) in ops:
            out.append(f"{label}: exists and not_exists")
    return out


# --------------------------------------------------------------------------- expected facts


def parse_time(value: Any) -> int | None | str:
    """Seconds of a look-back ("90m", "24h", "7d"), None for "none", "bad" when unreadable."""
    if value is None or str(value).strip().lower() in {"none", "null", ""}:
        return None
    s = str(value).strip().lower()
    unit = s[-1]
    try:
        return int(float(s[:-1]) * UNIT_SECONDS[unit])
    except (KeyError, ValueError):
        return "bad"


def merged_expect(item: dict[str, Any], run: str) -> dict[str, Any]:
    """`expect` with the run's own facts on top: `knowledge_fills` for the knowledge run,
    `without_knowledge` for the bare run. Filter lists add up; other keys replace."""
    exp = dict(item.get("expect") or {})
    extra = item.get("knowledge_fills" if run == "knowledge" else "without_knowledge") or {}
    for k, v in extra.items():
        if k in {"filters", "not_filters"}:
            exp[k] = list(exp.get(k) or []) + list(v or [])
        else:
            exp[k] = v
    return exp


def fill_fields(item: dict[str, Any]) -> set[str]:
    return filter_fields((item.get("knowledge_fills") or {}).get("filters") or [])


# ----------------------------------------------------------------------------- plan reading


def _seconds(tr: Any) -> int | None | str:
    if tr is None:
        return None
    start = getattr(tr, "start", None)
    if start is None or getattr(start, "kind", None) != "relative":
        return f"absolute:{tr.model_dump_json()}" if hasattr(tr, "model_dump_json") else "other"
    end = getattr(tr, "end", None)
    if end is not None and getattr(end, "kind", None) == "relative" and end.amount:
        return f"window:{start.amount}{start.unit.value}-{end.amount}{end.unit.value}"
    from lexiquery.ir import UNIT_SECONDS as IR_UNITS

    return int(start.amount * IR_UNITS[start.unit])


@dataclass
class PlanView:
    source: str
    flat: Flat
    having: Flat
    metrics: list[tuple[str, str | None]]
    group: list[str]
    time: int | None | str
    limit: int | None

    @classmethod
    def of(cls, plan: Any) -> "PlanView":
        computed = {c.name: c.expr for c in plan.computed}
        agg = plan.aggregation
        return cls(source=plan.source, flat=flatten(plan.filters, computed),
                   having=flatten(plan.having),
                   metrics=[(m.fn.value, m.field) for m in (agg.metrics if agg else [])],
                   group=list(agg.group_by) if agg else [],
                   time=_seconds(plan.time_range), limit=plan.limit)

    def signature(self) -> tuple[Any, ...]:
        """The whole answer, for comparing two runs of a question that decides everything."""
        return (self.source, tuple(sorted(self.flat.facts)), tuple(sorted(self.flat.in_or)),
                tuple(sorted(self.metrics, key=str)), tuple(sorted(self.group)),
                tuple(sorted(self.having.facts)), str(self.time), self.limit)

    def time_text(self) -> str:
        return "none" if self.time is None else (f"{self.time}s" if isinstance(self.time, int)
                                                 else str(self.time))


def _has_fact(facts: Iterable[Fact], want: Fact) -> bool:
    return want in set(facts)


def check(view: PlanView, exp: dict[str, Any], exact: bool) -> dict[str, list[str]]:
    """Missed facts by key (empty lists: the fact holds). Only the keys `exp` names are checked,
    plus `consistent` (no contradictory predicates) always."""
    miss: dict[str, list[str]] = {}
    if "source" in exp:
        miss["source"] = [] if view.source == exp["source"] else \
            [f"source {view.source} (want {exp['source']})"]
    if "filters" in exp:
        m = []
        for d in exp.get("filters") or []:
            wants = alternatives(d)
            if not any(_has_fact(view.flat.facts, w) for w in wants):
                fields = {w.field for w in wants}
                near = [str(f) for f in view.flat.facts + view.flat.in_or if f.field in fields]
                m.append(f"missing {' or '.join(str(w) for w in wants)}"
                         + (f" (plan: {'; '.join(near)})" if near else " (no filter on it)"))
        miss["filters"] = m
    if "not_filters" in exp:
        m = []
        for d in exp.get("not_filters") or []:
            bad = expected_fact(d)
            if _has_fact(view.flat.facts + view.flat.in_or, bad):
                m.append(f"has {bad}")
        miss["not_filters"] = m
    if "metric" in exp:
        want_fn = METRIC_ALIASES.get(str(exp["metric"]), str(exp["metric"]))
        want_field = exp.get("metric_field")
        if want_fn == "none":
            ok = not view.metrics
        else:
            ok = any(fn == want_fn and (want_field is None or f == want_field)
                     for fn, f in view.metrics)
        got = ", ".join(f"{fn}({f or ''})" for fn, f in view.metrics) or "none"
        miss["metric"] = [] if ok else [f"metric {got} (want {want_fn}({want_field or ''}))"]
    if "group" in exp:
        want = sorted(exp.get("group") or [])
        miss["group"] = [] if sorted(view.group) == want else \
            [f"group by {view.group or 'nothing'} (want {want or 'nothing'})"]
    if "threshold" in exp:
        t = exp["threshold"]
        having = view.having.facts + view.having.in_or
        if t == "none":
            ok, want_text = not having, "none"
        else:
            want = make_fact("*", t["op"], t["value"])
            ok = [(f.op, f.value) for f in having] == [(want.op, want.value)]
            want_text = f"{t['op']} {t['value']}"
        miss["threshold"] = [] if ok else [
            f"having {', '.join(str(f) for f in having) or 'none'} (want {want_text})"]
    if "time" in exp:
        want_t = parse_time(exp["time"])
        miss["time"] = [] if view.time == want_t else \
            [f"time {view.time_text()} (want {exp['time']})"]
    if "limit" in exp:
        miss["limit"] = [] if view.limit == exp["limit"] else \
            [f"limit {view.limit} (want {exp['limit']})"]
    if exact:
        allowed = filter_fields(exp.get("filters") or [])
        extra = [str(f) for f in view.flat.facts + view.flat.in_or if f.field not in allowed]
        miss["exact_filters"] = [f"extra filter {e}" for e in extra]
    miss["consistent"] = contradictions(view.flat.facts)
    return miss


def decided_signature(view: PlanView, item: dict[str, Any]) -> tuple[Any, ...]:
    """What the question decides, as read from one run's plan: the whole plan when the item is
    `decided_by_question`, else the expected facts that `knowledge_fills` does not touch."""
    if item.get("decided_by_question"):
        return view.signature()
    exp = item.get("expect") or {}
    fills = item.get("knowledge_fills") or {}
    skip = fill_fields(item)
    sig: list[Any] = []
    if "source" in exp and "source" not in fills:
        sig.append(("source", view.source))
    if "metric" in exp and "metric" not in fills:
        sig.append(("metric", tuple(sorted(view.metrics, key=str))))
    if "group" in exp and "group" not in fills:
        sig.append(("group", tuple(sorted(view.group))))
    if "threshold" in exp and "threshold" not in fills:
        sig.append(("having", tuple(sorted(view.having.facts + view.having.in_or))))
    if "time" in exp and "time" not in fills:
        sig.append(("time", str(view.time)))
    if "limit" in exp and "limit" not in fills:
        sig.append(("limit", view.limit))
    for d in exp.get("filters") or []:
        wants = alternatives(d)
        fields = {w.field for w in wants}
        if not fields & skip:
            sig.append(("filter", " or ".join(map(str, wants)),
                        any(_has_fact(view.flat.facts, w) for w in wants),
                        tuple(sorted(f for f in view.flat.facts if f.field in fields))))
    for d in exp.get("not_filters") or []:
        if d["field"] not in skip:
            bad = expected_fact(d)
            sig.append(("not", str(bad), _has_fact(view.flat.facts + view.flat.in_or, bad)))
    return tuple(sig)


# ---------------------------------------------------------------------------------- running


def short(msg: object) -> str:
    s = " ".join(str(msg).split())
    return s if len(s) <= MAX_MESSAGE else s[:MAX_MESSAGE - 1] + "…"


def make_settings(data_dir: Path, *, reference_packs: bool, sop: bool) -> Any:
    from lexiquery.config import get_settings

    return get_settings(data_dir=data_dir, llm="off", embeddings=False,
                        ollama_host=CLOSED_PORT_URL, sample_check=False,
                        reference_packs=reference_packs, sop=sop)


def store_runbooks(settings: Any, folder: Path, names: Iterable[str] | None = None) -> list[str]:
    """Store the runbooks (all of `folder`, or the files `names`) as `lexiquery sop add` does;
    returns the labels stored."""
    from lexiquery.knowledge.store import ProcedureStore

    paths = sorted(folder.glob("*.md")) if names is None else [folder / n for n in names]
    labels = []
    with ProcedureStore(settings) as store:
        for path in paths:
            r = store.add_file(path)
            labels.append(getattr(r.document, "label", None) or path.name)
    return labels


@dataclass
class RunResult:
    ok: bool = False
    error: str | None = None
    misses: dict[str, list[str]] = field(default_factory=dict)
    query: str = ""
    confidence: float | None = None
    valid: bool | None = None
    changes: list[str] = field(default_factory=list)
    decided: Any = None
    seconds: float = 0.0
    duplicates: int = 0

    def failed(self) -> list[str]:
        if self.error:
            return [f"error: {self.error}"]
        return [f"{k}: {m}" for k, ms in self.misses.items() for m in ms]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error, "query": self.query,
                "confidence": self.confidence, "valid": self.valid,
                "misses": {k: v for k, v in self.misses.items() if v},
                "knowledge_changes": self.changes, "duplicated_predicates": self.duplicates,
                "seconds": round(self.seconds, 3)}


def run_one(item: dict[str, Any], run: str, settings: Any, sop: bool) -> RunResult:
    import lexiquery
    from lexiquery.errors import LexiQueryError

    res = RunResult()
    started = time.perf_counter()
    try:
        answer = lexiquery.ask(item["question"], platforms=[item["platform"]],
                               sample_check=False, store=False, settings=settings, sop=sop)
        if answer.plan is None:
            raise RuntimeError("the answer has no plan")
        q = answer.queries[0] if answer.queries else None
        res.query = q.query if q is not None else ""
        res.confidence = q.confidence if q is not None else None
        res.valid = q.valid if q is not None else None
        res.changes = list(answer.knowledge.changes) if answer.knowledge else []
        view = PlanView.of(answer.plan)
        res.duplicates = view.flat.duplicates
        res.misses = check(view, merged_expect(item, run), bool(item.get("exact_filters")))
        res.ok = not any(res.misses.values())
        res.decided = decided_signature(view, item)
    except LexiQueryError as e:
        res.error = short(f"{type(e).__name__}[{getattr(e, 'code', '?')}]: "
                          f"{getattr(e, 'message', e)}")
    except Exception as e:  # noqa: BLE001 — one item never stops the run
        tb = traceback.extract_tb(e.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        res.error = short(f"{type(e).__name__}{where}: {e}")
    res.seconds = time.perf_counter() - started
    return res


@dataclass
class ItemResult:
    item: dict[str, Any]
    runs: dict[str, RunResult]

    @property
    def same(self) -> bool:
        a, b = self.runs["bare"], self.runs["knowledge"]
        return a.error is None and b.error is None and a.decided == b.decided

    def to_json(self) -> dict[str, Any]:
        it = self.item
        return {"id": it["id"], "kind": it["kind"], "platform": it["platform"],
                "question": it["question"], "runbooks": it.get("runbooks") or "all",
                "decided_by_question": bool(it.get("decided_by_question")),
                "same_where_decided": self.same,
                **{RUN_TITLE[r].replace(" ", "_"): self.runs[r].to_json() for r in RUNS}}


# ---------------------------------------------------------------------------------- reporting


def _rate(n: int, d: int) -> str:
    return f"{n:>3}/{d:<3} {100 * n / d:5.1f}%" if d else "    -          "


def bucket_of(conf: float | None) -> str:
    if conf is None:
        return "n/a"
    for name, lo, hi in BUCKETS:
        if lo <= conf < hi:
            return name
    return ">=90"


def summarize(results: list[ItemResult]) -> dict[str, Any]:
    def block(rs: list[ItemResult]) -> dict[str, Any]:
        return {"items": len(rs),
                "facts_ok_no_knowledge": sum(r.runs["bare"].ok for r in rs),
                "facts_ok_knowledge": sum(r.runs["knowledge"].ok for r in rs),
                "same_where_decided": sum(r.same for r in rs),
                "decided_items": sum(bool(r.item.get("decided_by_question")) for r in rs),
                "same_decided_items": sum(r.same for r in rs
                                          if r.item.get("decided_by_question")),
                "errors": sum(1 for r in rs for run in RUNS if r.runs[run].error)}

    by_kind = {k: block([r for r in results if r.item["kind"] == k]) for k in KINDS}
    by_kind = {k: v for k, v in by_kind.items() if v["items"]}
    fact_misses = {run: Counter() for run in RUNS}
    for r in results:
        for run in RUNS:
            rr = r.runs[run]
            if rr.error:
                fact_misses[run]["error"] += 1
            for k, ms in rr.misses.items():
                if ms:
                    fact_misses[run][k] += 1
    reliability: dict[str, dict[str, dict[str, int]]] = {}
    for name in [b[0] for b in BUCKETS] + ["n/a"]:
        reliability[name] = {}
        for run in RUNS:
            rs = [r for r in results if bucket_of(r.runs[run].confidence) == name]
            reliability[name][run] = {"n": len(rs), "ok": sum(r.runs[run].ok for r in rs)}
    return {"overall": block(results), "by_kind": by_kind,
            "misses_by_fact": {run: dict(c) for run, c in fact_misses.items()},
            "reliability": reliability,
            "duplicated_predicates": {run: sum(r.runs[run].duplicates for r in results)
                                      for run in RUNS}}


def print_report(results: list[ItemResult], summary: dict[str, Any], meta: dict[str, Any],
                 show_misses: int) -> None:
    p = print
    p(f"faithfulness development set: {meta['items']} items from {meta['questions']}")
    p(f"runbooks stored for the knowledge run: {', '.join(meta['runbooks'])}")
    p(f"no-knowledge run: {meta['bare_mode']}; reference packs "
      f"{'on' if meta['reference_packs'] else 'off'}; {meta['seconds']:.1f} s")
    p("")
    head = f"{'kind':<20} {'n':>4}  {'facts ok, no knowledge':<22} {'facts ok, knowledge':<22} " \
           f"{'same where decided':<22} {'errors':>6}"
    p(head)
    p("-" * len(head))
    rows = list(summary["by_kind"].items()) + [("overall", summary["overall"])]
    for name, b in rows:
        if name == "overall":
            p("-" * len(head))
        p(f"{name:<20} {b['items']:>4}  {_rate(b['facts_ok_no_knowledge'], b['items']):<22} "
          f"{_rate(b['facts_ok_knowledge'], b['items']):<22} "
          f"{_rate(b['same_where_decided'], b['items']):<22} {b['errors']:>6}")
    o = summary["overall"]
    p(f"\nsame answer on the items the question decides entirely "
      f"(decided_by_question): {_rate(o['same_decided_items'], o['decided_items']).strip()}")
    p("\nitems missing each fact")
    p(f"  {'fact':<16} {'no knowledge':>13} {'knowledge':>10}")
    for k in (*FACT_KEYS, "error"):
        a = summary["misses_by_fact"]["bare"].get(k, 0)
        b = summary["misses_by_fact"]["knowledge"].get(k, 0)
        if a or b:
            p(f"  {k:<16} {a:>13} {b:>10}")
    d = summary["duplicated_predicates"]
    p(f"  duplicated predicates (not counted as misses): no knowledge {d['bare']}, "
      f"knowledge {d['knowledge']}")
    p("\nreliability: shown confidence (queries[0].confidence) -> observed accuracy (all facts ok)")
    p(f"  {'bucket':<8} {'no knowledge':<20} {'knowledge':<20} {'both runs':<20}")
    for name, runs in summary["reliability"].items():
        a, b = runs["bare"], runs["knowledge"]
        n, ok = a["n"] + b["n"], a["ok"] + b["ok"]
        if not n:
            continue
        p(f"  {name:<8} {_rate(a['ok'], a['n']):<20} {_rate(b['ok'], b['n']):<20} "
          f"{_rate(ok, n):<20}")
    if show_misses:
        print_misses(results, show_misses)


def miss_order(r: ItemResult) -> tuple[int, float]:
    """Most telling first: knowledge broke what was right, then wrong at high confidence."""
    b, k = r.runs["bare"], r.runs["knowledge"]
    conf = max((x.confidence or 0.0) for x in (b, k))
    if b.ok and not k.ok:
        return 0, -conf
    if not r.same and r.item.get("decided_by_question"):
        return 1, -conf
    return 2, -conf


def print_misses(results: list[ItemResult], n: int) -> None:
    misses = [r for r in results if not (r.runs["bare"].ok and r.runs["knowledge"].ok
                                         and r.same)]
    misses.sort(key=miss_order)
    print(f"\nmisses ({min(n, len(misses))} of {len(misses)}; knowledge-broken first)")
    for r in misses[:n]:
        it = r.item
        only = f" · runbooks: {', '.join(it['runbooks'])}" if it.get("runbooks") else ""
        print(f"\n[{it['id']}] {it['kind']} · {it['platform']} · \"{it['question']}\"{only}"
              f"{'' if r.same else ' · runs differ where the question decides'}")
        for run in RUNS:
            rr = r.runs[run]
            conf = "-" if rr.confidence is None else f"{100 * rr.confidence:.0f}%"
            state = "ok" if rr.ok else "WRONG"
            print(f"  {RUN_TITLE[run]:<12} {state:<5} confidence {conf:>4}  "
                  f"{' '.join(rr.query.split())[:220]}")
            for line in rr.failed():
                print(f"      - {line}")
            if run == "knowledge" and rr.changes and not rr.ok:
                for c in rr.changes[:3]:
                    print(f"      · knowledge: {short(c)[:200]}")


# -------------------------------------------------------------------------------------- main


def load_items(path: Path, kinds: list[str] | None) -> list[dict[str, Any]]:
    items = yaml.safe_load(path.read_text("utf-8")) or []
    if kinds:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise SystemExit(f"unknown kind(s): {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(KINDS)}")
        items = [i for i in items if i.get("kind") in kinds]
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", action="append", choices=KINDS,
                    help="only items of this kind (repeatable)")
    ap.add_argument("--show-misses", type=int, default=0, metavar="N",
                    help="print the N most telling misses")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--questions", type=Path, default=QUESTIONS)
    ap.add_argument("--runbooks", type=Path, default=RUNBOOKS)
    ap.add_argument("--reference-packs", action="store_true",
                    help="offer the reference packs' tables too (off: the built-in catalog)")
    ap.add_argument("--bare-known-errors", action="store_true",
                    help="keep the known-errors base on in the no-knowledge run (an empty data "
                         "directory with the SOP engine on)")
    args = ap.parse_args(argv)

    items = load_items(args.questions, args.kind)
    if not items:
        print("no items", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lexiquery-faithful-") as tmp:
        bare_dir, know_dir = Path(tmp) / "bare", Path(tmp) / "knowledge"
        # Any path that builds its own settings sees a throw-away directory and no network.
        os.environ["LEXIQUERY_DATA_DIR"] = str(bare_dir)
        os.environ["LEXIQUERY_LLM"] = "off"
        os.environ["LEXIQUERY_EMBEDDINGS"] = "false"
        os.environ["LEXIQUERY_OLLAMA_HOST"] = CLOSED_PORT_URL
        os.environ["LEXIQUERY_SAMPLE_CHECK"] = "false"
        os.environ["LEXIQUERY_REFERENCE_PACKS"] = "true" if args.reference_packs else "false"
        bare_sop = bool(args.bare_known_errors)
        settings = {
            "bare": make_settings(bare_dir, reference_packs=args.reference_packs, sop=bare_sop),
            "knowledge": make_settings(know_dir, reference_packs=args.reference_packs, sop=True),
        }
        labels = store_runbooks(settings["knowledge"], args.runbooks)
        subsets: dict[tuple[str, ...], Any] = {}  # items with their own `runbooks:` list

        def knowledge_settings(item: dict[str, Any]) -> Any:
            names = item.get("runbooks")
            if not names:
                return settings["knowledge"]
            key = tuple(sorted(names))
            if key not in subsets:
                subsets[key] = make_settings(Path(tmp) / f"knowledge-{len(subsets) + 1}",
                                             reference_packs=args.reference_packs, sop=True)
                store_runbooks(subsets[key], args.runbooks, key)
            return subsets[key]

        sop_for = {"bare": bare_sop, "knowledge": True}
        results = []
        for item in items:
            chosen = {"bare": settings["bare"], "knowledge": knowledge_settings(item)}
            results.append(ItemResult(item, {run: run_one(item, run, chosen[run], sop_for[run])
                                             for run in RUNS}))
    meta = {"items": len(items), "questions": str(args.questions.relative_to(ROOT)
                                                  if args.questions.is_relative_to(ROOT)
                                                  else args.questions),
            "runbooks": labels, "reference_packs": args.reference_packs,
            "bare_mode": "empty data directory, known-errors base on" if bare_sop
            else "empty data directory, runbooks and known errors off (sop=False)",
            "seconds": time.perf_counter() - started}
    summary = summarize(results)
    if args.json:
        json.dump({"meta": meta, "summary": summary,
                   "items": [r.to_json() for r in results]}, sys.stdout, indent=2, default=str)
        print()
    else:
        print_report(results, summary, meta, args.show_misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
