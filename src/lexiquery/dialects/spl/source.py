"""SPL time modifiers and search prefixes: what `earliest=`/`latest=`/`span=` mean in the IR,
and which catalog source a search selects.

A source's binding `search` (``index=azure sourcetype="azure:aad:signin"``) is read with the
same search parser as the queries; a query selects the source when every constraint of the
prefix appears among its top-level AND terms (case-insensitively; wildcards in the prefix
match literally). A missing `index=` is forgiven; a term that picks one branch of the
prefix's OR group, or one value of its wildcard, matches as a narrowing the caller reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.catalog.splunk_names import source_key, spl_keys
from lexiquery.dialects.spl.bind import Unsupported
from lexiquery.dialects.spl.search import SGroup, SNode, SNot, STerm, SValue, parse_search
from lexiquery.errors import QueryError
from lexiquery.ir import AbsoluteTime, RelativeTime, TimeBucket, TimeUnit

# ------------------------------------------------------------------ time modifiers

_REL = re.compile(r"^(?:(?P<sign>[+-])(?P<amount>\d*)(?P<unit>[A-Za-z]+))?"
                  r"(?:@(?P<snap>[A-Za-z]+\d*))?$")
_UNITS = {"s": TimeUnit.second, "sec": TimeUnit.second, "secs": TimeUnit.second,
          "second": TimeUnit.second, "seconds": TimeUnit.second,
          "m": TimeUnit.minute, "min": TimeUnit.minute, "mins": TimeUnit.minute,
          "minute": TimeUnit.minute, "minutes": TimeUnit.minute,
          "h": TimeUnit.hour, "hr": TimeUnit.hour, "hrs": TimeUnit.hour, "hour": TimeUnit.hour,
          "hours": TimeUnit.hour, "d": TimeUnit.day, "day": TimeUnit.day, "days": TimeUnit.day,
          "w": TimeUnit.week, "week": TimeUnit.week, "weeks": TimeUnit.week}
_FORMATS = ("%m/%d/%Y:%H:%M:%S", "%m/%d/%Y")


def time_point(text: str, pos: int) -> tuple[Any, bool]:
    """An `earliest=`/`latest=` value as a time point: (point, is_now). `0` is the start of
    time (None); `now` is (0 seconds ago, True) — as an end it means "no end". Raises
    `Unsupported` for modifiers the IR cannot hold (months, snapping to hours or weekdays,
    chained offsets)."""
    t = text.strip()
    if t.lower() == "now" or t == "":
        # As a start, `now` is the instant itself (an empty range, but the range the text says).
        return RelativeTime(amount=0, unit=TimeUnit.second), True
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        value = float(t)
        if value == 0:
            return None, False
        return AbsoluteTime(at=datetime.fromtimestamp(value, tz=timezone.utc)), False
    for fmt in _FORMATS:
        try:
            return AbsoluteTime(at=datetime.strptime(t, fmt)), False
        except ValueError:
            pass
    m = _REL.match(t)
    if not m or (m.group("unit") is None and m.group("snap") is None):
        raise Unsupported(pos, f"the time modifier {text!r}",
                          "use -24h, -7d@d, @d, now, epoch seconds or %m/%d/%Y:%H:%M:%S")
    snap = m.group("snap")
    if snap is not None and snap.lower() not in {"d", "day", "days"}:
        raise Unsupported(pos, f"snapping to @{snap} in {text!r}",
                          "the IR snaps to the start of a day only")
    if m.group("sign") == "+":
        raise Unsupported(pos, f"a time in the future ({text!r})")
    amount, unit = 0, TimeUnit.day
    if m.group("unit") is not None:
        name = m.group("unit").lower()
        if name not in _UNITS:
            raise Unsupported(pos, f"the time unit {m.group('unit')!r} in {text!r}",
                              "months, quarters and years have no fixed length; use days")
        amount, unit = int(m.group("amount") or 1), _UNITS[name]
    return RelativeTime(amount=amount, unit=unit, snap="day" if snap else None), False


def span_bucket(text: str, pos: int) -> TimeBucket:
    """`span=1h` as a time bucket (raises `Unsupported` for months and odd units)."""
    m = re.fullmatch(r"(\d*)([A-Za-z]+)", text.strip())
    unit = _UNITS.get(m.group(2).lower()) if m else None
    if m is None or unit is None or (m.group(1) and int(m.group(1)) < 1):
        raise Unsupported(pos, f"span={text}", "a fixed span such as 30s, 5m, 1h, 1d or 7d")
    return TimeBucket(amount=int(m.group(1) or 1), unit=unit)


# ------------------------------------------------------------------ sources


@dataclass
class BoundPrefix:
    """A source's SPL search prefix, read with the same search parser as the queries."""

    source: Source
    terms: list[SNode]
    generating: str | None  # the normalised generating command (`| tstats …`), if any
    datamodel: str | None


def node_key(node: SNode) -> str:
    """A case-insensitive, order-free fingerprint: equal keys = the same constraint."""
    if isinstance(node, STerm):
        vals = node.value if isinstance(node.value, list) else [node.value]
        name = (node.field or "").lower()
        if name in _ALIASED and node.op == "=" and len(vals) == 1:
            # `sourcetype=WinEventLog:Security` and `source=XmlWinEventLog:Security` select the
            # same events: one key for every spelling (`catalog.splunk_names`).
            return "=".join(source_key(name, vals[0].text))
        return f"{name}{node.op}{','.join(v.text.lower() for v in vals)}"
    if isinstance(node, SGroup):
        keys = sorted({node_key(i) for i in node.items})
        if node.kind == "or" and len(keys) == 1:
            # `(eventtype=wineventlog_security OR source=XmlWinEventLog:Security)`: every
            # branch is a spelling of the same data (a security_content macro expands so)
            return keys[0]
        return f"{node.kind}(" + ",".join(sorted(node_key(i) for i in node.items)) + ")"
    if isinstance(node, SNot):
        return f"not({node_key(node.item)})"
    return node.text.lower()


_ALIASED = frozenset({"sourcetype", "source", "eventtype", "channel"})


def normalise_command(text: str) -> str:
    return " ".join(text.split()).lower().lstrip("| ")


@dataclass
class SourceMatch:
    source: Source
    used: set[int]  # indices of the query's top-level terms the prefix consumed
    score: float
    narrowed: list[int]  # terms that select only part of the source (reported)


def bound_prefix(source: Source) -> BoundPrefix | None:
    """The source's prefix as search terms, or as a generating command (`| tstats …`)."""
    binding = source.bindings.spl
    if binding is None:
        return None
    search = binding.search.strip()
    dm = re.search(r"datamodel(?:\s*=\s*|\s+)([A-Za-z_]\w*)", search, re.IGNORECASE)
    if search.startswith("|"):
        first = search[1:].split("|", 1)[0]
        return BoundPrefix(source, [], normalise_command(first), dm.group(1) if dm else None)
    try:
        terms, _ = parse_search(search, 0, len(search))
    except QueryError:
        return None  # a binding the parser cannot read matches nothing
    return BoundPrefix(source, terms, None, dm.group(1) if dm else None)


def match_prefix(bp: BoundPrefix, terms: list[SNode]) -> SourceMatch | None:
    """Does every constraint of the prefix appear among the query's top-level AND terms?

    A missing `index=` is forgiven when the rest matches (analysts often write only the
    sourcetype); a query term that picks one branch of the prefix's OR group, or one value of
    its wildcard, matches too, as a narrowing the caller reports."""
    keys = [node_key(t) for t in terms]
    has_index = any(_is_field(t, "index") for t in terms)
    used: set[int] = set()
    narrowed: list[int] = []
    score = 0.0
    for c in bp.terms:
        k = node_key(c)
        hit = next((i for i, kk in enumerate(keys) if kk == k and i not in used), None)
        if hit is not None:
            used.add(hit)
            score += 1
            continue
        narrow = _narrowing(c, terms, used)
        if narrow is not None:
            used.add(narrow)
            narrowed.append(narrow)
            score += 0.5
            continue
        if is_container(c):
            # `sourcetype=XmlWinEventLog` holds every Windows log; the `source=` channel term
            # says which: a query may name either rendering, or none.
            own = next((i for i, t in enumerate(terms) if i not in used and all(
                is_container(b) for b in source_branches(t) or [t])), None)
            if own is not None:
                used.add(own)
            continue
        if _is_field(c, "index"):
            # Index names are the deployment's own: the source is recognised by what the
            # rest of its prefix says, and the query's index is where it lives there.
            if has_index:
                own = next(i for i, t in enumerate(terms) if _is_field(t, "index"))
                used.add(own)
            continue
        return None
    if score == 0:
        return None
    if has_index and not any(_is_field(c, "index") for c in bp.terms):
        used.add(next(i for i, t in enumerate(terms) if _is_field(t, "index")))
    return SourceMatch(bp.source, used, score, narrowed)


def match_index_only(bp: BoundPrefix, terms: list[SNode]) -> SourceMatch | None:
    """The looser reading runbooks need: `index=wineventlog EventCode=4740` names only the
    index, and the source whose prefix has that index (and nothing the query contradicts, such
    as another sourcetype) is the one meant. The caller takes it only when it is unique."""
    index_terms = [c for c in bp.terms if _is_field(c, "index")]
    if len(index_terms) != 1:
        return None
    want = node_key(index_terms[0])
    hit = next((i for i, t in enumerate(terms) if node_key(t) == want), None)
    if hit is None:
        return None
    for c in bp.terms:
        if c is index_terms[0] or not isinstance(c, STerm) or not c.field:
            continue
        if any(isinstance(t, STerm) and (t.field or "").lower() == c.field.lower()
               and node_key(t) != node_key(c) for t in terms):
            return None  # the query says another sourcetype/source: not this source
    return SourceMatch(bp.source, {hit}, 0.5, [])


def _is_field(node: SNode, name: str) -> bool:
    return isinstance(node, STerm) and (node.field or "").lower() == name and node.op == "="


def _narrowing(c: SNode, terms: list[SNode], used: set[int]) -> int | None:
    if isinstance(c, SGroup) and c.kind == "or":
        members = {node_key(m) for m in c.items}
        return next((i for i, t in enumerate(terms) if i not in used
                     and node_key(t) in members), None)
    if isinstance(c, STerm) and c.op == "=" and isinstance(c.value, SValue) \
            and "*" in c.value.text:
        rx = re.compile("^" + ".*".join(re.escape(p) for p in c.value.text.split("*")) + "$",
                        re.IGNORECASE)
        for i, t in enumerate(terms):
            if i not in used and isinstance(t, STerm) and t.op == "=" and t.field \
                    and t.field.lower() == (c.field or "").lower() \
                    and isinstance(t.value, SValue) and rx.match(t.value.text):
                return i
    return None


def prefix_values(bp: BoundPrefix, field_name: str) -> list[str]:
    """Every value the prefix gives `field_name` (sourcetype, index…), for hints."""
    out: list[str] = []
    stack = list(bp.terms)
    while stack:
        n = stack.pop()
        if isinstance(n, SGroup):
            stack.extend(n.items)
        elif isinstance(n, SNot):
            stack.append(n.item)
        elif isinstance(n, STerm) and (n.field or "").lower() == field_name \
                and isinstance(n.value, SValue):
            out.append(n.value.text)
    return out


# ------------------------------------------------------------------ shelf sources

_DATAMODEL = re.compile(r"\|\s*datamodel\s+(\w+)\s+(\w+)", re.IGNORECASE)


def shelf_prefixes(catalog: Catalog, terms: list[SNode], datamodel: str | None) -> list[BoundPrefix]:
    """Prefixes of the shelf's Splunk sources this search may mean: those whose sourcetype or
    source (any spelling, `splunk_names`) the search names, or the data model it reads. Only
    those are built into sources: the shelves hold dozens."""
    wanted: set[tuple[str, str]] = set()
    for t in terms:  # a term, or the branches of a source OR group
        for b in source_branches(t) or []:
            if (b.field or "").lower() in _ALIASED:
                wanted.add(source_key(b.field or "", b.value.text))  # type: ignore[union-attr]
    out: list[BoundPrefix] = []
    for shelf in catalog.shelves:
        if shelf.platform is not Platform.spl:
            continue
        for tid, table in shelf.by_id.items():
            search = getattr(table, "search", "")
            dm = _DATAMODEL.match(search)
            if datamodel is not None:
                hit = dm is not None and dm.group(1).lower() == datamodel.lower()
            else:
                keys = spl_keys(search)
                hit = bool(keys) and keys <= wanted
            if hit and (src := shelf.source(tid)) is not None and \
                    (bp := bound_prefix(src)) is not None:
                out.append(bp)
    return out


def shelf_datamodels(catalog: Catalog) -> set[str]:
    """The data models the shelves' sources read (for hints)."""
    return {m.group(1) for shelf in catalog.shelves if shelf.platform is Platform.spl
            for t in shelf.by_id.values()
            if (m := _DATAMODEL.match(getattr(t, "search", ""))) is not None}


def dataset_of(bp: BoundPrefix) -> str | None:
    """The root dataset a `| datamodel Model Root search` prefix reads (field prefix in
    tstats: `Processes.process_name`)."""
    m = _DATAMODEL.match(bp.source.bindings.spl.search.strip()) if bp.source.bindings.spl \
        else None
    return m.group(2) if m else None


# ------------------------------------------------------------------ source groups

_SOURCE_FIELDS = frozenset({"index", "sourcetype", "source", "eventtype", "channel"})
# Sourcetypes that hold every Windows event log (the channel is in `source`): with a Windows
# source they select nothing more than its own prefix does.
_WINDOWS_CONTAINERS = frozenset({"xmlwineventlog", "wineventlog"})


def source_branches(node: SNode) -> list[STerm] | None:
    """The terms of a top-level source-selecting term — `sourcetype=x`, or an OR group of
    `index`/`sourcetype`/`source`/`eventtype` terms — else None."""
    items = node.items if isinstance(node, SGroup) and node.kind == "or" else [node]
    if all(isinstance(t, STerm) and t.op == "=" and isinstance(t.value, SValue)
           and (t.field or "").lower() in _SOURCE_FIELDS for t in items):
        return items  # type: ignore[return-value]
    return None


def is_container(node: SNode) -> bool:
    """`sourcetype=XmlWinEventLog` / `WinEventLog`: every Windows event log channel."""
    return isinstance(node, STerm) and (node.field or "").lower() == "sourcetype" \
        and node.op == "=" and isinstance(node.value, SValue) \
        and node.value.text.lower() in _WINDOWS_CONTAINERS


def _prefix_keys(bp: BoundPrefix) -> tuple[set[str], set[str]]:
    """(keys of the prefix's own terms, keys of the members of its OR groups)."""
    whole = {node_key(t) for t in bp.terms}
    parts = {node_key(m) for t in bp.terms if isinstance(t, SGroup) and t.kind == "or"
             for m in t.items}
    return whole, parts


def _windows(bp: BoundPrefix) -> bool:
    return any("wineventlog:" in v.lower() for f in ("source", "sourcetype")
               for v in prefix_values(bp, f))


def bound_to(term: STerm, prefixes: list[BoundPrefix]) -> list[str]:
    """The ids of the sources whose prefix selects the data `term` names."""
    k = node_key(term)
    return sorted({bp.source.id for bp in prefixes
                   if k in _prefix_keys(bp)[0] | _prefix_keys(bp)[1]})


def source_groups(match: SourceMatch, bp: BoundPrefix, terms: list[SNode],
                  prefixes: list[BoundPrefix]) -> list[tuple[int, list[STerm]]]:
    """Read the top-level source-selecting terms the prefix did not use against the chosen
    source: an index (the deployment's own), a Windows container sourcetype, or a spelling of
    the source's own data is consumed; one naming part of the source is a narrowing. Returns
    the terms that name data of other sources, with the branches that do (the caller refuses
    them)."""
    whole, parts = _prefix_keys(bp)
    foreign: list[tuple[int, list[STerm]]] = []
    for i, t in enumerate(terms):
        branches = source_branches(t)
        if i in match.used or branches is None:
            continue
        others, narrow = [], False
        for b in branches:
            field = (b.field or "").lower()
            k = node_key(b)
            if field == "index" or k in whole or (is_container(b) and _windows(bp)):
                continue
            if k in parts:
                narrow = True
                continue
            others.append(b)
        if others and isinstance(t, STerm):
            continue  # one extra term: reported as such where the search is read
        if others:
            foreign.append((i, others))
        elif narrow:
            match.used.add(i)
            match.narrowed.append(i)
        else:
            match.used.add(i)
    return foreign
