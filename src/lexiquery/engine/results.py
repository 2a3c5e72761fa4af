"""Result sets of the sandbox, and their comparison across platforms.

`ResultSet` is what one execution returned, plus what a comparison needs to know about it: the
logical name of each column (platforms name the same output differently: `UserPrincipalName`,
`user`, `user_principal_name`), which columns hold times (Splunk's first_seen/last_seen are epoch
seconds, SQLite's times are text), which are group keys, and whether the rows are ordered.

`compare_results({"KQL": a, "SPL": b, …})` compares each result with the first one:
* columns by logical name, else by name, else by position when only the names differ (noted,
  not counted as a difference);
* values after normalising: times to aware UTC datetimes (from epoch numbers or ISO text), floats
  to 1e-9 relative (keys rounded to 9 significant digits), integral floats as integers, list
  values sorted (KQL make_set and SPL values order their output differently), NULL and the empty
  string as one "missing" value (Kusto strings are never null, only empty);
* rows as multisets when no sort is given; in order when one is — rows with equal sort keys form
  a run compared as a multiset, and the last run of a result cut by its limit is compared by its
  keys only, since which tied rows make the cut is arbitrary on every platform; when a sort key
  is not an output column (ties cannot be seen), as multisets, and two results cut at the same
  limit with different rows only get a note;
* differences in words, per group key where there are group keys ("SPL has 3 rows, KQL 4: the
  group user=(empty) is missing from SPL — Splunk's stats drops events without the field"), and
  with the reason instead of the rows when rows only on one side of a KQL comparison all have
  one column empty ("kql has 2000 rows, spl 1940: the 60 rows only in kql have app empty —
  KQL's != keeps events whose field is empty …").
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from lexiquery.dialects.base import parse_datetime

MAX_DIFFERENCES = 8  # per pair of platforms: past that, a count


@dataclass
class ResultSet:
    """What one execution returned. `truncated`: rows were left out, so `rows` is a prefix of
    the query's result; `truncated_by` says which cap cut it — ``"rows"`` (the sandbox's row
    cap) or ``"bytes"`` (its byte cap, see `result_cap`) — and is None when nothing was cut.
    A query's own LIMIT is not a truncation."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False
    truncated_by: str | None = None
    elapsed_ms: float = 0.0
    logical: list[str] | None = None  # the logical name of each column, where known
    time_columns: frozenset[str] = frozenset()  # columns holding times (any representation)
    group_columns: frozenset[str] = frozenset()  # group-by outputs: they identify a row
    ordered: bool = False  # the query sorts its output
    sort_columns: list[int] | None = None  # positions of the sort keys, when all are output
    limit: int | None = None
    semantics: str = "sql"
    query: str = ""  # the DuckDB SQL that ran

    def to_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def names(self) -> list[str]:
        """Logical names where known, else the column names."""
        return list(self.logical) if self.logical else list(self.columns)

    def normalised(self) -> "ResultSet":
        """The same rows with every value in its comparable form (see the module docstring)."""
        times = [c in self.time_columns or n in self.time_columns
                 for c, n in zip(self.columns, self.names())]
        rows = [tuple(normalise(v, t) for v, t in zip(row, times)) for row in self.rows]
        return replace(self, rows=rows)


@dataclass
class Comparison:
    identical: bool
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def normalise(v: Any, is_time: bool = False) -> Any:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, datetime):
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=timezone.utc) if is_time else v
    if isinstance(v, Decimal):
        v = float(v)
    if is_time and isinstance(v, (int, float)) and not math.isnan(v):
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=float(v))
    if is_time and isinstance(v, str):
        at = parse_datetime(v)
        if at is not None:
            return at
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if v.is_integer() and abs(v) < 2**53:
            return int(v)
        return float(f"{v:.9g}")
    if isinstance(v, UUID):
        return str(v)
    if isinstance(v, (list, tuple)):
        items = [normalise(x) for x in v]
        return tuple(sorted(items, key=lambda x: (x is None, type(x).__name__, repr(x))))
    if isinstance(v, dict):
        return tuple(sorted((str(k), repr(normalise(x))) for k, x in v.items()))
    return v


def _split_cell(row: tuple[Any, ...], i: int) -> tuple[Any, ...]:
    v = row[i]
    if not isinstance(v, str):
        return row
    parts = [_number_or_text(p.strip()) for p in v.split(",")]
    return row[:i] + (normalise(parts),) + row[i + 1:]


def _number_or_text(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def show(v: Any) -> str:
    if v is None:
        return "(empty)"
    if isinstance(v, datetime):
        return v.isoformat().replace("+00:00", "Z")
    return str(v)


def compare_results(results: dict[str, ResultSet]) -> Comparison:
    """Compare every result with the first one; `identical` when none differs."""
    if len(results) < 2:
        return Comparison(True)
    labels = list(results)
    base_label = labels[0]
    out = Comparison(True)
    for label in labels[1:]:
        _compare_pair(base_label, results[base_label], label, results[label], out)
    out.identical = not out.differences
    return out


def _compare_pair(la: str, a: ResultSet, lb: str, b: ResultSet, out: Comparison) -> None:
    order = _align(la, a, lb, b, out)
    if order is None:
        return
    a, b = a.normalised(), b.normalised()
    names = a.names()
    b_rows = [tuple(row[i] for i in order) for row in b.rows]
    a_rows = a.rows
    for i in range(len(names)):  # MySQL/SQLite/T-SQL return values/list as joined text
        a_lists = any(isinstance(r[i], tuple) for r in a_rows)
        b_lists = any(isinstance(r[i], tuple) for r in b_rows)
        if a_lists != b_lists:
            if a_lists:
                b_rows = [_split_cell(r, i) for r in b_rows]
            else:
                a_rows = [_split_cell(r, i) for r in a_rows]
    a = replace(a, rows=a_rows)
    keys = [i for i, n in enumerate(names) if n in a.group_columns or
            a.columns[i] in a.group_columns]
    before = len(out.differences)
    hidden_sort = a.sort_columns is None and b.sort_columns is None
    if (a.ordered or b.ordered) and hidden_sort:
        _compare_hidden_sort(la, a, lb, b, a_rows, b_rows, names, keys, out)
    elif a.ordered or b.ordered:
        _compare_ordered(la, a, lb, b, a_rows, b_rows, names, keys, out)
    else:
        _compare_sets(la, a, lb, b, a_rows, b_rows, names, keys, out)
    if len(out.differences) - before > MAX_DIFFERENCES:
        extra = len(out.differences) - before - MAX_DIFFERENCES
        del out.differences[before + MAX_DIFFERENCES:]
        out.differences.append(f"… and {extra} more differences between {la} and {lb}")
    for r, label in ((a, la), (b, lb)):
        if r.truncated:
            cap = "byte" if r.truncated_by == "bytes" else "row"
            out.notes.append(f"{label}'s result was cut at the sandbox's {cap} cap: only the "
                             f"first {len(r.rows)} rows were compared")


def _align(la: str, a: ResultSet, lb: str, b: ResultSet, out: Comparison) -> list[int] | None:
    """Positions of `a`'s columns in `b`, or None (and a difference) when they cannot match."""
    na, nb = a.names(), b.names()
    if na == nb:
        return list(range(len(na)))
    if sorted(na) == sorted(nb) and len(set(na)) == len(na):
        return [nb.index(n) for n in na]
    if len(na) == len(nb):
        pairs = ", ".join(f"{x} ~ {y}" for x, y in zip(na, nb) if x != y)
        out.notes.append(f"columns of {la} and {lb} compared by position ({la} ~ {lb}: {pairs})")
        return list(range(len(na)))
    out.differences.append(f"{la} has columns {', '.join(na)}; {lb} has {', '.join(nb)}")
    return None


def _row_text(names: list[str], row: tuple[Any, ...]) -> str:
    return ", ".join(f"{n}={show(v)}" for n, v in zip(names, row))


_KQL_KEEPS = ("KQL's != keeps events whose field is empty (Kusto strings are never null); "
              "SPL and SQL drop them")


def _why_missing(label: str, r: ResultSet, key: tuple[Any, ...],
                 other: ResultSet | None = None) -> str:
    """Why the group `key` is missing from `r` (labelled `label`), when a modelled platform
    rule explains it; `other` is the result that has the group."""
    if r.semantics == "spl" and any(v is None for v in key):
        return " — Splunk's stats drops events without the field"
    if other is not None and other.semantics == "kql" and any(v is None for v in key):
        return " — " + _KQL_KEEPS
    return ""


def _empty_reason(la: str, a: ResultSet, lb: str, b: ResultSet, rows_a: list[tuple[Any, ...]],
                  rows_b: list[tuple[Any, ...]], names: list[str]) -> str | None:
    """Rows only on one side that all have one column empty, between a KQL result and
    another: Kusto's never-null strings explain them (see the sandbox's docstring), so say
    that instead of listing the rows. None when no such column explains them."""
    if "kql" not in {a.semantics, b.semantics} or a.semantics == b.semantics:
        return None
    ca, cb = Counter(rows_a), Counter(rows_b)
    only_a, only_b = list((ca - cb).elements()), list((cb - ca).elements())
    if bool(only_a) == bool(only_b):
        return None  # extra rows on both sides: something else differs
    extra, label, side = (only_a, la, a) if only_a else (only_b, lb, b)
    shared = list((ca & cb).elements())
    empty = [i for i in range(len(names)) if all(r[i] is None for r in extra)]
    if not empty:
        return None
    col = min(empty, key=lambda i: sum(r[i] is None for r in shared))  # the telling column
    rows = "row" if len(extra) == 1 else f"{len(extra)} rows"
    has = "has" if len(extra) == 1 else "have"
    if side.semantics == "kql":
        why = _KQL_KEEPS
    else:
        why = ("KQL reads a missing string as empty (Kusto strings are never null), so its "
               "filters select such events unlike SPL's and SQL's")
    return f"the {rows} only in {label} {has} {names[col]} empty — {why}"


def _compare_sets(la: str, a: ResultSet, lb: str, b: ResultSet, rows_a: list[tuple[Any, ...]],
                  rows_b: list[tuple[Any, ...]], names: list[str], keys: list[int],
                  out: Comparison) -> None:
    ca, cb = Counter(rows_a), Counter(rows_b)
    if ca == cb:
        return
    head = f"{la} has {len(rows_a)} rows, {lb} {len(rows_b)}" if len(rows_a) != len(rows_b) \
        else f"{la} and {lb} both have {len(rows_a)} rows but they differ"
    only_a, only_b = list((ca - cb).elements()), list((cb - ca).elements())
    details: list[str] = []
    reason = None if keys else _empty_reason(la, a, lb, b, rows_a, rows_b, names)
    if reason is not None:
        out.differences.append(f"{head}: {reason}")
        return
    if keys:
        def key_of(row: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(row[i] for i in keys)

        by_key_a = {key_of(r): r for r in only_a}
        by_key_b = {key_of(r): r for r in only_b}
        for k, ra in by_key_a.items():
            where = ", ".join(f"{names[i]}={show(v)}" for i, v in zip(keys, k))
            if k in by_key_b:
                rb = by_key_b[k]
                diffs = [f"{names[i]} is {show(x)} in {la}, {show(y)} in {lb}"
                         for i, (x, y) in enumerate(zip(ra, rb)) if x != y and i not in keys]
                details.append(f"the group {where}: {'; '.join(diffs)}")
            else:
                details.append(f"the group {where} is missing from {lb}"
                               f"{_why_missing(lb, b, k, a)}")
        for k in by_key_b:
            if k not in by_key_a:
                where = ", ".join(f"{names[i]}={show(v)}" for i, v in zip(keys, k))
                details.append(f"the group {where} is missing from {la}"
                               f"{_why_missing(la, a, k, b)}")
    else:
        details += [f"row ({_row_text(names, r)}) only in {la}" for r in only_a]
        details += [f"row ({_row_text(names, r)}) only in {lb}" for r in only_b]
    out.differences.append(f"{head}: {details[0]}" if details else head)
    out.differences += details[1:]


def _compare_hidden_sort(la: str, a: ResultSet, lb: str, b: ResultSet,
                         rows_a: list[tuple[Any, ...]], rows_b: list[tuple[Any, ...]],
                         names: list[str], keys: list[int], out: Comparison) -> None:
    """A sort by a key the projection hides: rows tied on it may come in any order, and no
    output column says which rows tie, so the rows compare as multisets. Cut by the limit, which
    tied rows made the cut is arbitrary too (the limit rule of `_compare_ordered`, for a run
    that cannot be seen): the same number of rows with other contents is a note, not a
    difference."""
    cut = a.limit is not None and len(rows_a) == a.limit == len(rows_b)
    if cut and Counter(rows_a) != Counter(rows_b):
        shared = sum((Counter(rows_a) & Counter(rows_b)).values())
        out.notes.append(f"{la} and {lb} share {shared} of their {len(rows_a)} rows: the sort "
                         f"key is not an output column and both were cut at the limit, so "
                         f"rows tied at the cut may differ (not counted as a difference)")
        return
    _compare_sets(la, a, lb, b, rows_a, rows_b, names, keys, out)


def _runs(rows: list[tuple[Any, ...]], sort: list[int] | None) -> list[list[tuple[Any, ...]]]:
    if not sort:
        return [[r] for r in rows]
    runs: list[list[tuple[Any, ...]]] = []
    for r in rows:
        if runs and tuple(r[i] for i in sort) == tuple(runs[-1][0][i] for i in sort):
            runs[-1].append(r)
        else:
            runs.append([r])
    return runs


def _compare_ordered(la: str, a: ResultSet, lb: str, b: ResultSet, rows_a: list[tuple[Any, ...]],
                     rows_b: list[tuple[Any, ...]], names: list[str], keys: list[int],
                     out: Comparison) -> None:
    sort = a.sort_columns if a.sort_columns is not None else b.sort_columns
    if len(rows_a) != len(rows_b):
        reason = None if keys else _empty_reason(la, a, lb, b, rows_a, rows_b, names)
        if reason is not None:
            out.differences.append(f"{la} has {len(rows_a)} rows, {lb} {len(rows_b)}: {reason}")
            return
        out.differences.append(f"{la} has {len(rows_a)} rows, {lb} {len(rows_b)}")
    runs_a, runs_b = _runs(rows_a, sort), _runs(rows_b, sort)
    cut = a.limit is not None and len(rows_a) == a.limit == len(rows_b)
    for n, (ra, rb) in enumerate(zip(runs_a, runs_b)):
        last = n == len(runs_a) - 1 == len(runs_b) - 1
        if sort and tuple(ra[0][i] for i in sort) != tuple(rb[0][i] for i in sort):
            at = sum(len(r) for r in runs_a[:n]) + 1
            out.differences.append(
                f"row {at} differs: {_row_text(names, ra[0])} in {la}, "
                f"{_row_text(names, rb[0])} in {lb}")
            return
        if last and cut and sort:
            if len(ra) == len(rb):
                return  # tied rows at the limit: either choice is right
        if Counter(ra) != Counter(rb):
            at = sum(len(r) for r in runs_a[:n]) + 1
            if len(ra) == 1 and len(rb) == 1:
                out.differences.append(f"row {at} differs: {_row_text(names, ra[0])} in {la}, "
                                       f"{_row_text(names, rb[0])} in {lb}")
            else:
                sub = Comparison(True)
                _compare_sets(la, a, lb, b, ra, rb, names, keys, sub)
                out.differences += [f"from row {at}: {d}" for d in sub.differences]
            return
