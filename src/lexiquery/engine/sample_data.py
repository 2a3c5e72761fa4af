"""Deterministic, realistic sample rows for any catalog source, built-in or imported.

    generate_rows(source, n, seed=0, now=…)      → [{logical field: value}, …]
    generate_columns(source, n, seed=0, now=…)   → {logical field: [values]} (what the sandbox
                                                    loads; `epoch_times=True` keeps datetimes as
                                                    epoch seconds, the fast form to load)

The same (source id, n, seed, now) always gives the same rows: every draw comes from a
`random.Random` seeded with a string built from the source id's CRC-32, the seed, n and the
field's name (so adding a field to a source does not reshuffle the others), never from Python's
salted `hash()`.

Realism comes from the catalog first, so it works for a source nobody wrote a profile for:
* known values with realistic weights (a profile's, else decreasing weights in catalog order,
  with values whose meaning reads like a failure or an emergency made rare);
* entity fields from shared Zipf-skewed pools (`sample_profiles.pools_for`): the first user field
  is the row's actor, and the source's other user fields (display name, object ID) and its first
  IP field (mostly one of the actor's usual addresses) follow it;
* concepts: rows of a failure-like concept ("failed sign-in", "denied traffic") mostly belong to
  one victim account and come from a few attacker IPs, so "top users by failures" has a clear
  winner; a concept matching under 1 % of the rows is planted into more rows;
* numbers by name (bytes, duration, port, pid, count, status…), times over the 30 days before
  `now` with more during working hours and on weekdays, mixed-case variants of users and hosts,
  and a few per cent of None in optional fields (not the time, concept, known-value or actor
  fields) so that null/empty semantics show.
A `sample_profiles.SourceProfile` adds what a catalog cannot say (see that module).
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections import Counter
from datetime import datetime, timedelta, timezone
from itertools import compress, filterfalse, repeat
from typing import Any, Callable

from lexiquery.catalog.model import Concept, EntityKind, FieldDef, FieldType, Source
from lexiquery.dialects.base import as_utc, coerce
from lexiquery.engine.sample_concepts import conditions, fold, mask, pick_branch, satisfy
from lexiquery.engine.sample_profiles import (
    APPS,
    DOMAINS,
    FILES,
    PROCESS_NAMES,
    RESOURCES,
    URL_PATHS,
    Pools,
    SourceProfile,
    lookup_derive,
    pools_for,
    process_path,
    profile_for,
    zipf_cum,
)
from lexiquery.engine.sample_values import (
    Column,
    format_user,
    guids,
    indices,
    lognormal,
    number,
    pick,
    sample_indices,
    text_values,
    user_format,
    vary,
    weighted,
)
from lexiquery.ir import And, Condition, Operator

DAYS = 30
MISSING_SHARE = 0.03
MIN_CONCEPT_SHARE = 0.01
VICTIM_SHARE = 0.45  # of a failure concept's rows, the share that targets the victim account
_FAILURE = re.compile(r"fail|denied|deny|lock|wrong|error|brute|spray|blocked|nxdomain", re.I)
_RARE_MEANING = re.compile(r"fail|error|denied|emergenc|critical|alert|cleared|deleted|locked|"
                           r"disabled|expired|malicious|blocked|high", re.I)
_COMMON_MEANING = re.compile(r"success|succeeded|\bok\b|allowed|informational|no risk|"
                             r"noerror|read\b", re.I)

_USERISH = re.compile(r"^(user|username|user_name|account|account_name|caller|initiator)$|_user$")


def generate_rows(source: Source, n: int, *, seed: int = 0, now: datetime) -> list[dict[str, Any]]:
    """`n` rows keyed by logical field names (datetimes are aware UTC `datetime`s)."""
    cols = generate_columns(source, n, seed=seed, now=now)
    return list(map(dict, map(zip, repeat(list(cols), n), zip(*cols.values()))))


def generate_columns(source: Source, n: int, *, seed: int = 0, now: datetime,
                     epoch_times: bool = False) -> dict[str, Column]:
    """The rows as columns, in the source's field order."""
    if n < 0:
        raise ValueError("n must be >= 0")
    gen = _Generator(source, n, seed, as_utc(now))
    cols = gen.run()
    if not epoch_times:
        at, utc = datetime.fromtimestamp, timezone.utc  # no Python call per value
        for f in source.fields:
            if f.type is FieldType.datetime:
                cols[f.name] = [None if t is None else at(t, utc) for t in cols[f.name]]
    return {f.name: cols[f.name] for f in source.fields}


class _Generator:
    def __init__(self, source: Source, n: int, seed: int, now: datetime) -> None:
        self.source, self.n, self.seed = source, n, seed
        self.now_ts = now.timestamp()
        self.profile: SourceProfile = profile_for(source.id)
        self.pools: Pools = pools_for(seed)
        self._base = f"{zlib.crc32(source.id.encode())}:{seed}:{n}"
        users = [f for f in source.fields if f.entity is EntityKind.user]
        self.actor_field = next((f.name for f in users if f.type is FieldType.string
                                 and "display" not in f.name), None) or next(
            (f.name for f in source.fields if f.entity is None and f.type is FieldType.string
             and _USERISH.match(f.name.lower())), None)
        self.ip_field = next((f.name for f in source.fields if f.entity is EntityKind.ip), None)
        self.host_field = next((f.name for f in source.fields if f.entity is EntityKind.host),
                               None)
        self.concept_fields = {c.field for concept in source.concepts
                               for c in conditions(concept.filters)}
        self.actor: list[int] = []
        self.cols: dict[str, Column] = {}
        self._counts: dict[str, Counter[Any]] = {}  # value counts per column, until planted
        self._folded: dict[str, Column] = {}  # lowercased columns for `mask`, until written
        self._planted: set[int] = set()
        self._protected: set[int] | None = None

    def rng(self, salt: str) -> random.Random:
        return random.Random(f"{self._base}:{salt}")

    # ------------------------------------------------------------------ pipeline

    def run(self) -> dict[str, Column]:
        n, pools = self.n, self.pools
        self.actor = pick(self.rng("actor"), range(len(pools.identities)), n,
                           cum=pools.identity_cum)
        for f in self.source.fields:
            if f.name not in self.profile.derive:
                self.cols[f.name] = self.column(f)
        self._gate()
        for concept in self.source.concepts:
            self._plant(concept)
        self._stories()
        self._missing()
        self._derive()
        return self.cols

    # ------------------------------------------------------------------ one column

    def column(self, f: FieldDef) -> Column:
        rng, n, name = self.rng(f.name), self.n, f.name.lower()
        if f.name == self.source.time_field:
            return self._times(rng)
        weights = self.profile.weights.get(f.name)
        if f.known_values:
            return weighted(rng, self._known_weights(f, weights), n)
        if f.name in self.profile.pools:
            return weighted(rng, self.profile.pools[f.name], n)
        if f.type is FieldType.datetime:
            return [t - rng.uniform(0, 3600) for t in self._times(rng)]
        if f.entity is not None or (f.type is FieldType.string and _USERISH.match(name)):
            ent = self._entity(f, rng)
            if ent is not None:
                return ent
        if f.type.numeric:
            return number(f, rng, n)
        if f.type is FieldType.bool:
            p = 0.05 if "admin" in name else 0.7 if "interactive" in name else 0.5
            return [rng.random() < p for _ in range(n)]
        if f.type is FieldType.guid:
            return guids(rng, n)
        if f.type is FieldType.timespan:
            return [timedelta(milliseconds=int(v)) for v in lognormal(rng, n, 5, 1.2)]
        if f.type is FieldType.dynamic:
            return [json.dumps({"id": rng.randrange(1000), "kind": rng.choice(["a", "B"])})
                    for _ in range(n)]
        return text_values(f, rng, n, self.pools)

    def _known_weights(self, f: FieldDef, profile: dict[Any, float] | None) -> dict[Any, float]:
        out: dict[Any, float] = {}
        for i, kv in enumerate(f.known_values):
            value = coerce(kv.value, f.type) if not isinstance(kv.value, bool) else kv.value
            if profile is not None:
                out[value] = profile.get(value, profile.get(kv.value, self.profile.rest_weight))
                continue
            w = 1.0 / (i + 1) ** 1.2
            if _COMMON_MEANING.search(kv.meaning):
                w *= 4
            elif _RARE_MEANING.search(kv.meaning):
                w *= 0.25
            out[value] = w
        return out

    def _times(self, rng: random.Random) -> Column:
        """Epoch seconds over the last 30 days: hour slots weighted by working hours and
        weekdays, a uniform instant within the slot (never after `now`)."""
        slots = DAYS * 24
        weights = []
        for k in range(slots):
            start = datetime.fromtimestamp(self.now_ts - (k + 1) * 3600, timezone.utc)
            w = 3.0 if 8 <= start.hour < 18 else 1.2 if 6 <= start.hour < 21 else 0.4
            weights.append(w * (0.35 if start.weekday() >= 5 else 1.0))
        picks = pick(rng, range(slots), self.n, weights=weights)
        rnd, top = rng.random, self.now_ts - 3600
        # Whole milliseconds: what the platforms store, and exact in every text form.
        return [int((top - k * 3600 + rnd() * 3600) * 1000) / 1000 for k in picks]

    def _entity(self, f: FieldDef, rng: random.Random) -> Column | None:
        n, pools, name = self.n, self.pools, f.name.lower()
        kind = f.entity
        if kind in {EntityKind.user, EntityKind.email, None}:
            if f.type is FieldType.guid:
                return [pools.identities[i].object_id for i in self._actors(f, rng)]
            fmt = user_format(f, self.profile.user_format)
            names = [format_user(ident, fmt) for ident in pools.identities]
            return vary([names[i] for i in self._actors(f, rng)], rng, 0.08)
        if kind is EntityKind.host:
            return vary(pick(rng, pools.hosts, n, cum=pools.host_cum), rng, 0.05)
        if kind is EntityKind.ip:
            if f.name == self.ip_field:
                return self._actor_ips(rng)
            return pick(rng, pools.ips, n, cum=pools.ip_cum)
        if kind is EntityKind.process:
            names = pick(rng, PROCESS_NAMES, n, cum=zipf_cum(len(PROCESS_NAMES)))
            if "path" in f.description.lower() or "path" in name:
                return list(map(process_path, names))
            return names
        if kind is EntityKind.port:
            return number(f, rng, n)
        pool = {EntityKind.url: URL_PATHS if "path" in (f.description + name).lower()
                else [f"https://{d}/" for d in DOMAINS[:12]],
                EntityKind.domain: DOMAINS, EntityKind.app: APPS, EntityKind.file: FILES,
                EntityKind.resource: RESOURCES,
                EntityKind.hash: [f"{zlib.crc32(x.encode()):08x}" * 8 for x in PROCESS_NAMES]
                }.get(kind)  # type: ignore[arg-type]
        if pool is None:
            return None
        return pick(rng, pool, n, cum=zipf_cum(len(pool)))

    def _actors(self, f: FieldDef, rng: random.Random) -> list[int]:
        """The actor field, and the fields that describe the same account (display name,
        object ID), follow the row's actor; other user fields are drawn on their own."""
        follows = f.name == self.actor_field or "display" in f.name or f.type is FieldType.guid
        if follows:
            return self.actor
        return pick(rng, range(len(self.pools.identities)), self.n,
                     cum=self.pools.identity_cum)

    def _actor_ips(self, rng: random.Random) -> Column:
        ids, pools, rnd = self.pools.identities, self.pools, rng.random
        others = pick(rng, pools.ips, self.n, cum=pools.ip_cum)
        spin = indices(rng, self.n)  # which of the actor's usual addresses
        return [(homes := ids[a].home_ips)[k % len(homes)] if rnd() < 0.85 else o
                for a, o, k in zip(self.actor, others, spin)]

    # ------------------------------------------------------------------ whole-row steps

    def _gate(self) -> None:
        """`present_when`: a field only events of some kinds carry (process on 4688)."""
        # Several fields share a gate (status and sub_status on 4625): test each row once.
        kept: dict[tuple[str, frozenset[Any]], list[bool]] = {}
        for name, (other, allowed) in self.profile.present_when.items():
            if name in self.cols and other in self.cols:
                keep = kept.get((other, allowed))
                if keep is None:
                    keep = kept[other, allowed] = list(map(allowed.__contains__,
                                                           self.cols[other]))
                self.cols[name] = [v if k else None for v, k in zip(self.cols[name], keep)]
                for key in [k for k in kept if k[0] == name]:  # a gate on a gated field
                    del kept[key]

    def _plant(self, concept: Concept) -> None:
        """Make a concept that matches under 1 % of the rows match about 1 %."""
        if self.n == 0 or any(c.op is Operator.regex for c in conditions(concept.filters)):
            return
        want = max(int(self.n * MIN_CONCEPT_SHARE), min(2, self.n))
        quick = self._quick_count(concept)
        if quick is not None and quick >= want:
            return
        rows = self._matching(concept)
        if len(rows) >= want:
            return
        rng = self.rng(f"plant:{concept.name}")
        if self._protected is None:
            # Rows of a concept near its minimum: planting another one there could push it
            # under. Concepts with plenty of rows can lose a few.
            self._protected = set()
            for other in self.source.concepts:
                quick = self._quick_count(other)
                if quick is not None and quick >= 3 * want:
                    continue
                matched = self._matching(other)
                if len(matched) < 3 * want:
                    self._protected.update(matched)
        taken = set(rows) | self._planted | self._protected
        candidates = list(filterfalse(taken.__contains__, range(self.n)))
        k = min(want - len(rows), len(candidates))
        for i in [candidates[j] for j in sample_indices(rng, len(candidates), k)]:
            self._planted.add(i)
            for c in pick_branch(concept.filters, rng):
                fdef = self.source.field(c.field)
                if fdef is not None and c.field in self.cols:
                    self.cols[c.field][i] = satisfy(c, fdef, self.cols[c.field][i], rng)
                    self._counts.pop(c.field, None)
                    self._folded.pop(c.field, None)

    def _quick_count(self, concept: Concept) -> int | None:
        """Rows matching a one-condition eq/in concept, from the column's value counts (most
        concepts are such, and a count is all planting needs to know); None otherwise."""
        if len(concept.filters) != 1 or not isinstance(concept.filters[0], Condition):
            return None
        c = concept.filters[0]
        fdef = self.source.field(c.field)
        if c.op not in {Operator.eq, Operator.in_} or fdef is None or c.field not in self.cols:
            return None
        counts = self._counts.get(c.field)
        if counts is None:
            counts = self._counts[c.field] = Counter(self.cols[c.field])
        vals = c.value if isinstance(c.value, list) else [c.value]
        typed = {coerce(v, fdef.type) for v in vals}  # type: ignore[arg-type]
        if c.case_sensitive or fdef.type.numeric or fdef.type is FieldType.bool:
            return sum(counts.get(v, 0) for v in typed)
        folded = {fold(v) for v in typed}
        return sum(k for v, k in counts.items() if fold(v) in folded)

    def _matching(self, concept: Concept) -> list[int]:
        fields = {c.field for c in conditions(concept.filters)}
        if not fields <= set(self.cols):
            return []
        hits = mask(And(items=list(concept.filters)), self.cols, self.source, self._folded)
        return list(compress(range(self.n), hits))

    def _stories(self) -> None:
        """Failure-like concepts: most of their rows target one victim from attacker IPs."""
        failures = [c for c in self.source.concepts
                    if _FAILURE.search(c.name) or any(_FAILURE.search(s) for s in c.synonyms[:2])]
        if not failures or self.n == 0:
            return
        rows = sorted({i for c in failures for i in self._matching(c)})
        self._folded.clear()  # the columns change from here on; nothing masks them again
        rng = self.rng("stories")
        changed = [i for i in rows if rng.random() < VICTIM_SHARE]
        for i in changed:
            self.actor[i] = self.pools.victim
        actor_fields = [f for f in self.source.fields if f.entity is EntityKind.user and
                        (f.name == self.actor_field or "display" in f.name
                         or f.type is FieldType.guid) and f.name in self.cols]
        for f in actor_fields:
            fmt = user_format(f, self.profile.user_format)
            for i in changed:
                ident = self.pools.identities[self.actor[i]]
                self.cols[f.name][i] = ident.object_id if f.type is FieldType.guid \
                    else format_user(ident, fmt)
        if self.ip_field in self.cols and self.ip_field not in self.concept_fields:
            col = self.cols[self.ip_field]  # type: ignore[index]
            attackers = self.pools.attacker_ips
            for i in rows:
                if rng.random() < 0.6:
                    col[i] = attackers[0] if rng.random() < 0.7 else rng.choice(attackers)

    def _missing(self) -> None:
        required = {self.source.time_field, self.actor_field, self.host_field,
                    *self.concept_fields, *self.profile.present_when}
        for f in self.source.fields:
            share = self.profile.missing.get(f.name)
            if share is None:
                share = 0.0 if f.name in required or f.known_values else MISSING_SHARE
            if share <= 0 or f.name not in self.cols:
                continue
            rng, col = self.rng(f"missing:{f.name}"), self.cols[f.name]
            k = min(self.n, int(self.n * share + rng.random()))
            for i in sample_indices(rng, self.n, k):  # rng.sample(range(n), k), faster
                col[i] = None

    def _derive(self) -> None:
        derive = dict(self.profile.derive)
        for f in self.source.fields:  # `x_description` explains a known-value field `x_code`
            if f.name.endswith("_description") and f.name not in derive:
                base = self.source.field(f.name[: -len("description")] + "code")
                if base is not None and base.known_values:
                    meanings = {coerce(kv.value, base.type): kv.meaning.capitalize()
                                for kv in base.known_values}
                    derive[f.name] = _meaning_of(base.name, meanings)
        if not derive:
            return
        rng = self.rng("derive")
        for name, fn in derive.items():
            if self.source.field(name) is None:
                continue
            lookup = getattr(fn, "lookup", None)
            if lookup is not None and lookup[0] in self.cols:  # a value-to-text table
                table, default = lookup[1], lookup[2]
                self.cols[name] = [table.get(v, default) for v in self.cols[lookup[0]]]
            elif getattr(fn, "of", None) is not None and fn.of[0] in self.cols:
                other, of = fn.of  # a function of one value: once per distinct value
                col = self.cols[other]
                memo = {v: of(v) for v in set(col)}
                self.cols[name] = list(map(memo.__getitem__, col))
            else:
                self.cols[name] = [fn(_RowView(self.cols, i), rng) for i in range(self.n)]


class _RowView:
    """One row of the columns, read like a dict by the `derive` functions (building every
    row as a dict would cost more than the derivation)."""

    __slots__ = ("cols", "i")

    def __init__(self, cols: dict[str, Column], i: int) -> None:
        self.cols, self.i = cols, i

    def get(self, name: str, default: Any = None) -> Any:
        col = self.cols.get(name)
        return default if col is None else col[self.i]


def _meaning_of(field: str, meanings: dict[Any, str]) -> Callable[[Any, Any], Any]:
    return lookup_derive(field, meanings, None)


__all__ = ["generate_rows", "generate_columns", "DAYS"]
