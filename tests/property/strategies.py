"""Hypothesis strategies: random *valid* `QueryPlan`s that every renderer must accept.

    plans()                          → QueryPlan over TEST_SOURCE, SIGNIN and a few built-ins
    plans(sources=[…], pool=…)       → the same over chosen sources, values partly from `pool`
    renders_everywhere(plan)         → does it render on KQL, SPL and SQL (postgres)?

What "valid" means here is what the IR and `dialects.base.Names.check_all` promise, nothing
narrower: every operator on every field type it is defined for, values typed as the field is
(strings with quotes, backslashes, LIKE/glob wildcards and non-ASCII letters), and/or/not trees,
computed fields built from every `Function` with well-typed arguments, every `MetricFn`,
group-by, time buckets, distinct values, having on aggregation outputs, project, sort and limit.
A plan is built so that it is valid by construction; `renders_everywhere` is the final filter
and rejects (by design) only plans a renderer refuses with a documented `PlanError` — so a
crash of a renderer on a generated plan surfaces as a failing example, not as a discard.

Alphabets are chosen so that the text is legal on every platform: no control characters other
than tab and newline (which every renderer documents: KQL escapes them, SPL matches them as a
regex, SQL literals hold them), no NUL, no surrogates.

Which fields: only those bound on all three platforms, so one plan renders everywhere.
The generator never reads the catalog through the code under test: the field list and types
come from the `Source` models themselves.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from hypothesis import Phase
from hypothesis import strategies as st

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Catalog, FieldType, Platform, Source
from lexiquery.dialects import render
from lexiquery.errors import PlanError
from lexiquery.ir import (
    Aggregation,
    And,
    Call,
    Compare,
    ComputedField,
    Condition,
    FieldRef,
    Function,
    Literal_,
    Metric,
    MetricFn,
    Not,
    Operator,
    Or,
    QueryPlan,
    SortKey,
    TimeBucket,
    TimeRange,
    TimeUnit,
)
# pytest puts tests/ on sys.path (tests/ itself has no __init__.py), as tests/dialects expects
from dialects.cases import SIGNIN, TEST_SOURCE

# Shrinking a failing plan re-renders and re-parses it hundreds of times: minutes on a busy
# machine. CI runs without it (the failing example is still printed, and reproducible with
# derandomize); set LEXIQUERY_SHRINK=1 to get the minimal example while fixing a defect.
PHASES = tuple(Phase) if os.environ.get("LEXIQUERY_SHRINK") == "1" else \
    tuple(p for p in Phase if p not in {Phase.shrink, Phase.explain})

# --------------------------------------------------------------------------- sources

_BUILTIN = builtin_catalog()
# A dotted-path source (audit_logs: KQL dynamic paths), one whose KQL column is stored with
# another type (web_requests.status is a string in W3CIISLog), and one with int fields.
BUILTIN_PICKS = ("audit_logs", "web_requests", "windows_security_events")
SOURCES: tuple[Source, ...] = (TEST_SOURCE, SIGNIN,
                               *(_BUILTIN.get(i) for i in BUILTIN_PICKS))  # type: ignore[misc]
# The catalog the parsers read through: every built-in plus the test source.
CATALOG = Catalog([*builtin_catalog(), TEST_SOURCE])

TEXT = frozenset({FieldType.string, FieldType.guid})
NUMERIC = frozenset({FieldType.int, FieldType.long, FieldType.real})
INTEGRAL = frozenset({FieldType.int, FieldType.long})


def usable_fields(source: Source) -> dict[str, FieldType]:
    """Logical field → type, for the fields bound on every platform (dynamic ones left out:
    the IR has no operator defined on a whole JSON value)."""
    out: dict[str, FieldType] = {}
    for f in source.fields:
        if f.type in {FieldType.dynamic, FieldType.timespan}:
            continue
        if all(source.column(p, f.name) is not None for p in Platform):
            out[f.name] = f.type
    return out


# --------------------------------------------------------------------------- values

# Letters of several scripts (ß has no one-letter upper case; Å/å and Ж/ж fold), digits, the
# quoting and escaping characters of every platform, LIKE/glob/SPL wildcards, punctuation.
_COMMON = "abcxyzABCXYZ0129 .-:/@"
_SPECIAL = "'\"\\%_*[]()|=!,;$éÅßжΩ中"
_CONTROL = "\t\n"
TEXT_CHARS = st.sampled_from(list(_COMMON * 3 + _SPECIAL))
TEXT_CHARS_RARE_CONTROL = st.sampled_from(list(_COMMON * 6 + _SPECIAL * 2 + _CONTROL))


def text_values(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(TEXT_CHARS, min_size=min_size, max_size=max_size),
        st.text(TEXT_CHARS_RARE_CONTROL, min_size=min_size, max_size=max_size),
    )


# Regex atoms valid alike in RE2 (KQL, DuckDB), PCRE (Splunk) and POSIX AREs (postgres).
_REGEX_ATOMS = ["a", "Z", "7", "é", r"\.", ".", "[a-z]", "[0-9]+", r"\d", r"\\", "_", "-",
                "(ab|cd)", "x?", '"', "'", "%", " "]
regex_values = st.builds(
    lambda head, atoms, tail: head + "".join(atoms) + tail,
    st.sampled_from(["", "^"]), st.lists(st.sampled_from(_REGEX_ATOMS), min_size=1, max_size=4),
    st.sampled_from(["", "$"]))

ints = st.one_of(st.integers(0, 700), st.integers(-50, 100_000))
longs = st.one_of(st.integers(0, 5000), st.integers(-10**6, 10**10))
# Decimals with at most two places: `repr` stays positional on every platform (no 1e-05).
reals = st.integers(-10**6, 10**6).map(lambda n: n / 100)

_TZS = [timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
instants = st.builds(
    lambda d, ms, tz: (d.replace(microsecond=ms * 1000, tzinfo=timezone.utc)
                       .astimezone(tz) if tz is not None else d.replace(microsecond=ms * 1000)),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)),
    st.one_of(st.just(0), st.integers(0, 999)),
    st.sampled_from([None, *_TZS]))


def _iso(at: datetime, style: int) -> str:
    if style == 0:
        return at.date().isoformat()  # a date: midnight UTC
    if at.tzinfo is timezone.utc:
        return at.isoformat().replace("+00:00", "Z")
    return at.isoformat()


datetime_values = st.builds(_iso, instants, st.sampled_from([0, 1, 1, 1]))
guid_values = st.builds(lambda u, up: str(u).upper() if up else str(u), st.uuids(), st.booleans())


@dataclass
class ValuePool:
    """Values seen in the sample data, per (source id, field), so that filters select some
    rows on the sandbox instead of none. Optional: without it values are purely random."""

    values: Mapping[tuple[str, str], Sequence[Any]] = field(default_factory=dict)

    def get(self, source_id: str, name: str) -> list[Any]:
        return [v for v in self.values.get((source_id, name), ()) if v is not None]


def value_for(ftype: FieldType | None, seen: Sequence[Any] = ()) -> st.SearchStrategy[Any]:
    """A value typed for `ftype`; a seen value half the time when there are any."""
    base: st.SearchStrategy[Any]
    if ftype is FieldType.int:
        base = ints
    elif ftype is FieldType.long:
        base = longs
    elif ftype is FieldType.real:
        base = reals
    elif ftype is FieldType.bool:
        base = st.booleans()
    elif ftype is FieldType.datetime:
        base = datetime_values
    elif ftype is FieldType.guid:
        base = guid_values
    else:
        base = text_values()
    if seen:
        typed = [v for v in seen if ftype is not FieldType.datetime or isinstance(v, str)]
        if typed:
            return st.one_of(st.sampled_from(typed), base)
    return base


# --------------------------------------------------------------------------- conditions

_TEXT_OPS = [Operator.eq, Operator.ne, Operator.in_, Operator.not_in, Operator.contains,
             Operator.not_contains, Operator.startswith, Operator.endswith, Operator.has,
             Operator.regex, Operator.exists, Operator.not_exists]
_ORDER_OPS = [Operator.gt, Operator.ge, Operator.lt, Operator.le]
_NUM_OPS = [Operator.eq, Operator.ne, *_ORDER_OPS, Operator.in_, Operator.not_in,
            Operator.exists, Operator.not_exists]
# A number read as text: the digits it is written with are the same on every platform only
# for integers (a real's text form differs: 2.5 vs 2.50, 1e+20 vs 100000000000000000000).
_DIGIT_OPS = [Operator.contains, Operator.startswith, Operator.endswith]
_BOOL_OPS = [Operator.eq, Operator.ne, Operator.exists, Operator.not_exists]
_TIME_OPS = [Operator.eq, Operator.ne, *_ORDER_OPS, Operator.exists, Operator.not_exists]


def ops_for(ftype: FieldType | None) -> list[Operator]:
    if ftype in NUMERIC:
        return _NUM_OPS + (_DIGIT_OPS if ftype in INTEGRAL else [])
    if ftype is FieldType.bool:
        return _BOOL_OPS
    if ftype is FieldType.datetime:
        return _TIME_OPS
    return _TEXT_OPS


@st.composite
def condition(draw: st.DrawFn, env: Mapping[str, FieldType | None],
              seen: Any = lambda name: ()) -> Condition:
    """`field op value` for one of `env`'s names, the value typed for the field."""
    name = draw(st.sampled_from(sorted(env)))
    ftype = env[name]
    op = draw(st.sampled_from(ops_for(ftype)))
    cs = draw(st.booleans())
    pool = seen(name)
    if op in {Operator.exists, Operator.not_exists}:
        return Condition(field=name, op=op, case_sensitive=cs)
    if op in {Operator.in_, Operator.not_in}:
        values = draw(st.lists(value_for(ftype, pool), min_size=1, max_size=3))
        return Condition(field=name, op=op, value=values, case_sensitive=cs)
    if op is Operator.regex:
        value: Any = draw(regex_values)
    elif op in _DIGIT_OPS and ftype in INTEGRAL:
        value = draw(st.text(st.sampled_from("0123456789"), min_size=1, max_size=3))
    elif op in {Operator.contains, Operator.not_contains, Operator.startswith,
                Operator.endswith, Operator.has}:
        if pool and draw(st.booleans()):  # a piece of a real value, so it matches something
            v = str(draw(st.sampled_from(list(pool))))
            i = draw(st.integers(0, max(0, len(v) - 1)))
            value = v[i:i + draw(st.integers(1, 6))] or v or "a"
        else:
            value = draw(text_values())
    else:
        value = draw(value_for(ftype, pool))
    return Condition(field=name, op=op, value=value, case_sensitive=cs)


def filter_tree(env: Mapping[str, FieldType | None], depth: int = 2,
                seen: Any = lambda name: ()) -> st.SearchStrategy[Any]:
    """A condition, or an and/or/not of filters, at most `depth` levels of groups deep."""
    leaf = condition(env, seen)
    if depth <= 0:
        return leaf
    sub = filter_tree(env, depth - 1, seen)
    return st.one_of(
        leaf, leaf,
        st.builds(lambda items: And(items=items), st.lists(sub, min_size=1, max_size=3)),
        st.builds(lambda items: Or(items=items), st.lists(sub, min_size=1, max_size=3)),
        st.builds(lambda item: Not(item=item), sub),
    )


# --------------------------------------------------------------------------- expressions

_SAFE_LITERAL = st.text(TEXT_CHARS, min_size=0, max_size=5)


def _names(env: Mapping[str, FieldType | None], types: frozenset[FieldType]) -> list[str]:
    return sorted(n for n, t in env.items() if t in types)


@st.composite
def num_expr(draw: st.DrawFn, env: Mapping[str, FieldType | None],
             depth: int = 2) -> tuple[Any, FieldType]:
    """A numeric expression and its type (long or real)."""
    nums, strs = _names(env, NUMERIC), _names(env, TEXT)
    kinds = ["field"] * 3 if nums else []
    kinds += ["lit"]
    if depth > 0:
        kinds += ["arith", "div", "to_int", "to_real", "if"]
        kinds += ["mod"] if _names(env, INTEGRAL) else []
        kinds += ["length"] if strs else []
        kinds += ["coalesce"] if nums else []
    kind = draw(st.sampled_from(kinds))
    if kind == "field":
        n = draw(st.sampled_from(nums))
        t = env[n]
        return FieldRef(name=n), (FieldType.real if t is FieldType.real else FieldType.long)
    if kind == "lit":
        if draw(st.booleans()):
            return Literal_(value=draw(st.integers(-100, 5000))), FieldType.long
        return Literal_(value=draw(reals)), FieldType.real
    if kind == "arith":
        fn = draw(st.sampled_from([Function.add, Function.sub, Function.mul]))
        (a, ta), (b, tb) = draw(num_expr(env, depth - 1)), draw(num_expr(env, depth - 1))
        t = FieldType.real if FieldType.real in {ta, tb} else FieldType.long
        return Call(fn=fn, args=[a, b]), t
    if kind == "div":
        a, _ = draw(num_expr(env, depth - 1))
        if draw(st.booleans()):
            b: Any = Literal_(value=draw(st.sampled_from([2, 10, 1024, 1048576, 0.5, 3.25])))
        else:
            b, _ = draw(num_expr(env, depth - 1))
        return Call(fn=Function.div, args=[a, b]), FieldType.real
    if kind == "mod":
        n = draw(st.sampled_from(_names(env, INTEGRAL)))
        return Call(fn=Function.mod, args=[FieldRef(name=n),
                                           Literal_(value=draw(st.integers(2, 9)))]), \
            FieldType.long
    if kind == "length":
        s, _ = draw(str_expr(env, depth - 1))
        return Call(fn=Function.length, args=[s]), FieldType.long
    if kind == "to_int":
        ints_ = _names(env, INTEGRAL)
        if ints_ and draw(st.booleans()):  # text that holds an integer, always castable
            arg: Any = Call(fn=Function.to_string,
                            args=[FieldRef(name=draw(st.sampled_from(ints_)))])
        else:
            arg, _ = draw(num_expr(env, depth - 1))
        return Call(fn=Function.to_int, args=[arg]), FieldType.long
    if kind == "to_real":
        a, _ = draw(num_expr(env, depth - 1))
        return Call(fn=Function.to_real, args=[a]), FieldType.real
    if kind == "coalesce":
        n = draw(st.sampled_from(nums))
        t = FieldType.real if env[n] is FieldType.real else FieldType.long
        lit = draw(reals) if t is FieldType.real else draw(st.integers(-10, 10))
        return Call(fn=Function.coalesce, args=[FieldRef(name=n), Literal_(value=lit)]), t
    # if: both branches of one type, so the result is typed
    test = draw(compare(env))
    real = draw(st.booleans())
    lits = reals if real else st.integers(-100, 100)
    return Call(fn=Function.if_, args=[test, Literal_(value=draw(lits)),
                                       Literal_(value=draw(lits))]), \
        FieldType.real if real else FieldType.long


@st.composite
def str_expr(draw: st.DrawFn, env: Mapping[str, FieldType | None],
             depth: int = 2) -> tuple[Any, FieldType]:
    """A text expression (type string)."""
    strs = _names(env, frozenset({FieldType.string}))
    ints_ = _names(env, INTEGRAL)
    kinds = ["field"] * 3 if strs else []
    kinds += ["lit"]
    if depth > 0:
        kinds += ["lower", "upper", "concat", "substring", "if"]
        kinds += ["to_string"] if ints_ else []
        kinds += ["coalesce"] if strs else []
    kind = draw(st.sampled_from(kinds))
    if kind == "field":
        return FieldRef(name=draw(st.sampled_from(strs))), FieldType.string
    if kind == "lit":
        return Literal_(value=draw(_SAFE_LITERAL)), FieldType.string
    if kind in {"lower", "upper"}:
        a, _ = draw(str_expr(env, depth - 1))
        return Call(fn=Function(kind), args=[a]), FieldType.string
    if kind == "concat":
        parts = draw(st.lists(str_expr(env, depth - 1), min_size=2, max_size=3))
        return Call(fn=Function.concat, args=[p for p, _ in parts]), FieldType.string
    if kind == "substring":
        a, _ = draw(str_expr(env, depth - 1))
        return Call(fn=Function.substring, args=[a, Literal_(value=draw(st.integers(0, 4))),
                                                 Literal_(value=draw(st.integers(1, 6)))]), \
            FieldType.string
    if kind == "to_string":
        return Call(fn=Function.to_string,
                    args=[FieldRef(name=draw(st.sampled_from(ints_)))]), FieldType.string
    if kind == "coalesce":
        return Call(fn=Function.coalesce, args=[FieldRef(name=draw(st.sampled_from(strs))),
                                                Literal_(value=draw(_SAFE_LITERAL))]), \
            FieldType.string
    test = draw(compare(env))
    return Call(fn=Function.if_, args=[test, Literal_(value=draw(_SAFE_LITERAL)),
                                       Literal_(value=draw(_SAFE_LITERAL))]), FieldType.string


@st.composite
def compare(draw: st.DrawFn, env: Mapping[str, FieldType | None]) -> Compare:
    """The boolean test of an `if`: a field against a literal of its type."""
    nums, strs = _names(env, NUMERIC), _names(env, frozenset({FieldType.string}))
    kinds = (["num"] if nums else []) + (["str"] if strs else []) + \
        (["exists"] if nums or strs else [])
    kind = draw(st.sampled_from(kinds or ["const"]))
    if kind == "num":
        n = draw(st.sampled_from(nums))
        op = draw(st.sampled_from([Operator.eq, Operator.ne, *_ORDER_OPS]))
        v = draw(reals if env[n] is FieldType.real else st.integers(-10, 5000))
        return Compare(left=FieldRef(name=n), op=op, right=Literal_(value=v))
    if kind == "str":
        n = draw(st.sampled_from(strs))
        op = draw(st.sampled_from([Operator.eq, Operator.ne, Operator.contains,
                                   Operator.startswith, Operator.endswith]))
        return Compare(left=FieldRef(name=n), op=op,
                       right=Literal_(value=draw(st.text(TEXT_CHARS, min_size=1, max_size=5))))
    if kind == "exists":
        n = draw(st.sampled_from(nums + strs))
        return Compare(left=FieldRef(name=n),
                       op=draw(st.sampled_from([Operator.exists, Operator.not_exists])))
    return Compare(left=Literal_(value=1), op=Operator.eq, right=Literal_(value=1))


# --------------------------------------------------------------------------- time

_UNITS = list(TimeUnit)


@st.composite
def time_point(draw: st.DrawFn) -> Any:
    from lexiquery.ir import AbsoluteTime, RelativeTime

    if draw(st.integers(0, 3)) == 0:
        return AbsoluteTime(at=draw(instants))
    unit = draw(st.sampled_from(_UNITS))
    amount = draw(st.one_of(st.integers(0, 3), st.integers(0, 120)))
    snap = draw(st.sampled_from([None, None, "day"]))
    return RelativeTime(amount=amount, unit=unit, snap=snap)


time_ranges = st.builds(lambda s, e: TimeRange(start=s, end=e), time_point(),
                        st.one_of(st.none(), st.none(), time_point()))
time_buckets = st.builds(TimeBucket, amount=st.sampled_from([1, 1, 2, 5, 6, 15, 30]),
                         unit=st.sampled_from(_UNITS))

# --------------------------------------------------------------------------- aggregation

_ALIASES = ["n", "hits", "total", "peak", "Failed logons", "uniq"]
_PERCENTILES = [50, 90, 95, 99, 99.9, 25.5]


@st.composite
def metric(draw: st.DrawFn, env: Mapping[str, FieldType | None]) -> Metric:
    nums = _names(env, NUMERIC)
    groupable = _names(env, frozenset({*TEXT, *INTEGRAL}))
    fns = [MetricFn.count, MetricFn.count_distinct, MetricFn.first_seen, MetricFn.last_seen,
           MetricFn.values, MetricFn.list]
    fns += [MetricFn.sum, MetricFn.avg, MetricFn.min, MetricFn.max, MetricFn.percentile] \
        if nums else []
    fn = draw(st.sampled_from(fns))
    alias = draw(st.one_of(st.none(), st.none(), st.none(), st.sampled_from(_ALIASES)))
    if fn is MetricFn.count:
        f = draw(st.one_of(st.none(), st.none(), st.sampled_from(sorted(env))))
        return Metric(fn=fn, field=f, alias=alias)
    if fn in {MetricFn.first_seen, MetricFn.last_seen}:
        return Metric(fn=fn, alias=alias)
    if fn in {MetricFn.count_distinct, MetricFn.values, MetricFn.list}:
        return Metric(fn=fn, field=draw(st.sampled_from(groupable or sorted(env))), alias=alias)
    f = draw(st.sampled_from(nums))
    p = draw(st.sampled_from(_PERCENTILES)) if fn is MetricFn.percentile else None
    return Metric(fn=fn, field=f, percentile=p, alias=alias)


def _metric_type(m: Metric, env: Mapping[str, FieldType | None]) -> FieldType | None:
    if m.fn in {MetricFn.values, MetricFn.list}:
        return None
    if m.fn in {MetricFn.first_seen, MetricFn.last_seen}:
        return FieldType.datetime
    if m.fn in {MetricFn.count, MetricFn.count_distinct}:
        return FieldType.long
    if m.fn in {MetricFn.min, MetricFn.max} and m.field:
        return env.get(m.field)
    return FieldType.real


# --------------------------------------------------------------------------- plans


def renders_everywhere(plan: QueryPlan) -> bool:
    """Does every renderer accept the plan? (A documented refusal is a `PlanError`; any other
    exception is a renderer bug and propagates, so hypothesis reports it.)"""
    source = next(s for s in SOURCES if s.id == plan.source)
    try:
        for p in (Platform.kql, Platform.spl, Platform.sql):
            render(plan, source, p)
    except PlanError:
        return False
    return True


def source_of(plan: QueryPlan) -> Source:
    return next(s for s in SOURCES if s.id == plan.source)


@st.composite
def raw_plans(draw: st.DrawFn, sources: Sequence[Source] = SOURCES,
              pool: ValuePool | None = None, *, allow_limit: bool = True) -> QueryPlan:
    """A plan valid by construction (see the module docstring)."""
    source = draw(st.sampled_from(list(sources)))
    fields = usable_fields(source)
    pool = pool or ValuePool()

    def seen(name: str) -> list[Any]:
        return pool.get(source.id, name)

    env: dict[str, FieldType | None] = dict(fields)
    body: dict[str, Any] = {"source": source.id}
    if draw(st.integers(0, 2)) == 0:
        body["time_range"] = draw(time_ranges)

    computed: list[ComputedField] = []
    for i in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        e, t = draw(st.one_of(num_expr(env), str_expr(env)))
        name = f"calc{i}"
        computed.append(ComputedField(name=name, expr=e))
        env[name] = t
    body["computed"] = computed
    body["filters"] = draw(st.lists(filter_tree(env, 2, seen), max_size=3))

    outputs: dict[str, FieldType | None]  # what having/project/sort may name
    collections: set[str] = set()
    if draw(st.integers(0, 1)):
        groupable = sorted(n for n, t in env.items()
                           if t in TEXT | INTEGRAL | {FieldType.bool}
                           and n != source.time_field)
        group_by = draw(st.lists(st.sampled_from(groupable), max_size=2, unique=True)) \
            if groupable else []
        bucket = draw(st.one_of(st.none(), st.none(), time_buckets))
        metrics: list[Metric] = []
        taken = set(group_by) | ({source.time_field} if bucket else set())
        for m in draw(st.lists(metric(env), max_size=3)):
            if m.name not in taken and m.name not in env:
                metrics.append(m)
                taken.add(m.name)
        if not (metrics or group_by or bucket):
            metrics = [Metric(fn=MetricFn.count)]
        agg = Aggregation(metrics=metrics, group_by=group_by, time_bucket=bucket)
        body["aggregation"] = agg
        outputs = {g: env[g] for g in group_by}
        if bucket and source.time_field:
            outputs[source.time_field] = FieldType.datetime
        for m in metrics:
            outputs[m.name] = _metric_type(m, env)
            if m.fn in {MetricFn.values, MetricFn.list}:
                collections.add(m.name)
        comparable = {n: t for n, t in outputs.items() if n not in collections}
        if comparable and draw(st.integers(0, 2)) == 0:
            body["having"] = draw(st.lists(filter_tree(comparable, 1, seen), min_size=1,
                                           max_size=2))
    else:
        outputs = dict(env)
        comparable = dict(env)
    if draw(st.integers(0, 2)) == 0:
        body["project"] = draw(st.lists(st.sampled_from(sorted(outputs)), min_size=1,
                                        max_size=4, unique=True))
    sortable = sorted(comparable)
    if sortable and draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(sortable), min_size=1, max_size=2, unique=True))
        body["sort"] = [SortKey(field=k, descending=draw(st.booleans())) for k in keys]
    if allow_limit and draw(st.booleans()):
        body["limit"] = draw(st.one_of(st.integers(1, 20), st.integers(1, 100_000)))
    return QueryPlan.model_validate(body)


def plans(sources: Sequence[Source] = SOURCES, pool: ValuePool | None = None, *,
          allow_limit: bool = True) -> st.SearchStrategy[QueryPlan]:
    """Random plans that render on KQL, SPL and SQL (postgres)."""
    return raw_plans(sources, pool, allow_limit=allow_limit).filter(renders_everywhere)


def plan_json(plan: QueryPlan) -> str:
    """The plan as compact JSON that `QueryPlan.model_validate_json` reads back: defaults that
    are empty (None, [], False) are left out, the `kind` discriminators are kept."""
    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items()
                    if k == "kind" or not (x is None or x is False or x == [])}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    return json.dumps(strip(plan.model_dump(mode="json")), ensure_ascii=False)
