"""Concepts in the sample-data generator: a concept's filters evaluated down whole columns
(`mask`), and values that make a condition true when a concept must be planted (`satisfy`).
Matching is case-insensitive unless the condition says otherwise, as the queries match."""

from __future__ import annotations

import random
from typing import Any

from lexiquery.catalog.model import FieldDef, FieldType, Source
from lexiquery.dialects.base import coerce, has_letters
from lexiquery.ir import And, Condition, Not, Operator, Or

Column = list[Any]

def conditions(filters: list[Any]) -> list[Condition]:
    out: list[Condition] = []
    for f in filters:
        if isinstance(f, Condition):
            out.append(f)
        elif isinstance(f, (And, Or)):
            out += conditions(f.items)
        elif isinstance(f, Not):
            out += conditions([f.item])
    return out


def pick_branch(filters: list[Any], rng: random.Random) -> list[Condition]:
    """Conditions that, all true, make the filter list true (one branch of each OR)."""
    out: list[Condition] = []
    for f in filters:
        if isinstance(f, Condition):
            out.append(f)
        elif isinstance(f, And):
            out += pick_branch(f.items, rng)
        elif isinstance(f, Or):
            out += pick_branch([rng.choice(f.items)], rng)
    return out


def fold(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def mask(f: Any, cols: dict[str, Column], source: Source,
         folded: dict[str, Column] | None = None) -> list[bool]:
    """The filter evaluated on every row, case-insensitively unless it says otherwise (how
    the concept's queries match). Each condition runs as one comprehension down its column:
    this is the generator's hot loop. `folded` caches lowercased columns between calls; the
    caller drops a field's entry whenever it writes into that column."""
    if isinstance(f, (And, Or)):
        masks = [mask(i, cols, source, folded) for i in f.items]
        if len(masks) == 1:
            return masks[0]
        return list(map(all if isinstance(f, And) else any, zip(*masks)))
    if isinstance(f, Not):
        return [not m for m in mask(f.item, cols, source, folded)]
    c: Condition = f
    fdef = source.field(c.field)
    ftype = fdef.type if fdef else None
    col, op = cols[c.field], c.op
    if op is Operator.exists:
        return [v is not None and v != "" for v in col]
    if op is Operator.not_exists:
        return [v is None or v == "" for v in col]
    vals = c.value if isinstance(c.value, list) else [c.value]
    typed = [coerce(x, ftype) for x in vals]  # type: ignore[arg-type]
    folding = not c.case_sensitive and ftype in {FieldType.string, FieldType.guid, None} and \
        any(has_letters(x) for x in typed)  # "0" and "10.0.0.1" have no case to fold
    if folding:
        lowered = folded.get(c.field) if folded is not None else None
        if lowered is None:
            lowered = _lowered(col)
            if folded is not None:
                folded[c.field] = lowered
        col = lowered
        typed = [fold(x) for x in typed]
    consts, b = set(typed), typed[0]
    sb = str(b)
    try:
        match op:
            case Operator.eq | Operator.in_:
                return list(map(consts.__contains__, col))
            case Operator.ne | Operator.not_in:
                return [v is not None and v not in consts for v in col]
            case Operator.gt:
                return [v is not None and v > b for v in col]
            case Operator.ge:
                return [v is not None and v >= b for v in col]
            case Operator.lt:
                return [v is not None and v < b for v in col]
            case Operator.le:
                return [v is not None and v <= b for v in col]
            case Operator.contains | Operator.has:
                return [v is not None and sb in str(v) for v in col]
            case Operator.not_contains:
                return [v is not None and sb not in str(v) for v in col]
            case Operator.startswith:
                return [v is not None and str(v).startswith(sb) for v in col]
            case Operator.endswith:
                return [v is not None and str(v).endswith(sb) for v in col]
    except TypeError:  # a comparison of mixed types: the concept matches nothing here
        pass
    return [False] * len(col)


def _lowered(col: Column) -> Column:
    """The column with its strings lowercased: each distinct value once (columns repeat a few
    values), the rest a C-level lookup."""
    try:
        low = {v: v.lower() for v in set(col) if isinstance(v, str)}
    except TypeError:  # an unhashable value: one at a time
        return [v.lower() if isinstance(v, str) else v for v in col]
    return list(map(low.get, col, col))


def satisfy(c: Condition, f: FieldDef, current: Any, rng: random.Random) -> Any:
    """A value of `f` that makes condition `c` true (planting a concept into a row)."""
    vals = c.value if isinstance(c.value, list) else [c.value]
    typed = [coerce(v, f.type) for v in vals if v is not None]  # type: ignore[arg-type]
    op = c.op
    if op in {Operator.eq, Operator.in_}:
        return rng.choice(typed)
    if op in {Operator.gt, Operator.ge, Operator.lt, Operator.le} and typed and \
            isinstance(typed[0], (int, float)):
        base, step = typed[0], rng.randint(1, 20)
        value = base + step if op in {Operator.gt, Operator.ge} else base - step
        return float(value) if f.type is FieldType.real else int(value)
    text = "" if current is None else str(current)
    if op in {Operator.contains, Operator.has}:
        return f"{text} {typed[0]} ".strip() if text else str(typed[0])
    if op is Operator.startswith:
        return f"{typed[0]}{text}"
    if op is Operator.endswith:
        return f"{text}{typed[0]}"
    if op is Operator.exists:
        return current if current not in (None, "") else "present"
    if op is Operator.not_exists:
        return None
    if op in {Operator.ne, Operator.not_in, Operator.not_contains}:
        options = [coerce(kv.value, f.type) for kv in f.known_values
                   if not fold(coerce(kv.value, f.type)) in {fold(t) for t in typed}]
        return rng.choice(options) if options else (f"other-{rng.randrange(100)}"
                                                     if not f.type.numeric else -1)
    return current



