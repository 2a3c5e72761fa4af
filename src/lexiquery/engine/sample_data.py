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
import math
import random
import re
import sys
from array import array
import uuid
import zlib
from collections import Counter
from itertools import compress, repeat
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from statistics import NormalDist
from typing import Any, Callable

from lexiquery.catalog.model import Concept, EntityKind, FieldDef, FieldType, Source
from lexiquery.dialects.base import as_utc, coerce, has_letters
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
from lexiquery.ir import And, Condition, Not, Operator, Or

DAYS = 30
MISSING_SHARE = 0.03
MIN_CONCEPT_SHARE = 0.01
VICTIM_SHARE = 0.45  # of a failure concept's rows, the share that targets the victim account
_FAILURE = re.compile(r"fail|denied|deny|lock|wrong|error|brute|spray|blocked|nxdomain", re.I)
_RARE_MEANING = re.compile(r"fail|error|denied|emergenc|critical|alert|cleared|deleted|locked|"
                           r"disabled|expired|malicious|blocked|high", re.I)
_COMMON_MEANING = re.compile(r"success|succeeded|\bok\b|allowed|informational|no risk|"
                             r"noerror|read\b", re.I)

Column = list[Any]
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
        for f in source.fields:
            if f.type is FieldType.datetime:
                cols[f.name] = [None if t is None else _from_epoch(t) for t in cols[f.name]]
    return {f.name: cols[f.name] for f in source.fields}


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _from_epoch(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


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
                               for c in _conditions(concept.filters)}
        self.actor: list[int] = []
        self.cols: dict[str, Column] = {}
        self._counts: dict[str, Counter[Any]] = {}  # value counts per column, until planted
        self._planted: set[int] = set()
        self._protected: set[int] | None = None

    def rng(self, salt: str) -> random.Random:
        return random.Random(f"{self._base}:{salt}")

    # ------------------------------------------------------------------ pipeline

    def run(self) -> dict[str, Column]:
        n, pools = self.n, self.pools
        self.actor = _pick(self.rng("actor"), range(len(pools.identities)), n,
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
            return _weighted(rng, self._known_weights(f, weights), n)
        if f.name in self.profile.pools:
            return _weighted(rng, self.profile.pools[f.name], n)
        if f.type is FieldType.datetime:
            return [t - rng.uniform(0, 3600) for t in self._times(rng)]
        if f.entity is not None or (f.type is FieldType.string and _USERISH.match(name)):
            ent = self._entity(f, rng)
            if ent is not None:
                return ent
        if f.type.numeric:
            return _number(f, rng, n)
        if f.type is FieldType.bool:
            p = 0.05 if "admin" in name else 0.7 if "interactive" in name else 0.5
            return [rng.random() < p for _ in range(n)]
        if f.type is FieldType.guid:
            return _guids(rng, n)
        if f.type is FieldType.timespan:
            return [timedelta(milliseconds=int(v)) for v in _lognormal(rng, n, 5, 1.2)]
        if f.type is FieldType.dynamic:
            return [json.dumps({"id": rng.randrange(1000), "kind": rng.choice(["a", "B"])})
                    for _ in range(n)]
        return _text(f, rng, n, self.pools)

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
        picks = _pick(rng, range(slots), self.n, weights=weights)
        rnd, top = rng.random, self.now_ts - 3600
        # Whole milliseconds: what the platforms store, and exact in every text form.
        return [int((top - k * 3600 + rnd() * 3600) * 1000) / 1000 for k in picks]

    def _entity(self, f: FieldDef, rng: random.Random) -> Column | None:
        n, pools, name = self.n, self.pools, f.name.lower()
        kind = f.entity
        if kind in {EntityKind.user, EntityKind.email, None}:
            if f.type is FieldType.guid:
                return [pools.identities[i].object_id for i in self._actors(f, rng)]
            fmt = _user_format(f, self.profile.user_format)
            names = [_format_user(ident, fmt) for ident in pools.identities]
            return _vary([names[i] for i in self._actors(f, rng)], rng, 0.08)
        if kind is EntityKind.host:
            return _vary(_pick(rng, pools.hosts, n, cum=pools.host_cum), rng, 0.05)
        if kind is EntityKind.ip:
            if f.name == self.ip_field:
                return self._actor_ips(rng)
            return _pick(rng, pools.ips, n, cum=pools.ip_cum)
        if kind is EntityKind.process:
            names = _pick(rng, PROCESS_NAMES, n, cum=zipf_cum(len(PROCESS_NAMES)))
            if "path" in f.description.lower() or "path" in name:
                return [process_path(p) for p in names]
            return names
        if kind is EntityKind.port:
            return _number(f, rng, n)
        pool = {EntityKind.url: URL_PATHS if "path" in (f.description + name).lower()
                else [f"https://{d}/" for d in DOMAINS[:12]],
                EntityKind.domain: DOMAINS, EntityKind.app: APPS, EntityKind.file: FILES,
                EntityKind.resource: RESOURCES,
                EntityKind.hash: [f"{zlib.crc32(x.encode()):08x}" * 8 for x in PROCESS_NAMES]
                }.get(kind)  # type: ignore[arg-type]
        if pool is None:
            return None
        return _pick(rng, pool, n, cum=zipf_cum(len(pool)))

    def _actors(self, f: FieldDef, rng: random.Random) -> list[int]:
        """The actor field, and the fields that describe the same account (display name,
        object ID), follow the row's actor; other user fields are drawn on their own."""
        follows = f.name == self.actor_field or "display" in f.name or f.type is FieldType.guid
        if follows:
            return self.actor
        return _pick(rng, range(len(self.pools.identities)), self.n,
                     cum=self.pools.identity_cum)

    def _actor_ips(self, rng: random.Random) -> Column:
        ids, pools, rnd = self.pools.identities, self.pools, rng.random
        others = _pick(rng, pools.ips, self.n, cum=pools.ip_cum)
        spin = _indices(rng, self.n)  # which of the actor's usual addresses
        return [(homes := ids[a].home_ips)[k % len(homes)] if rnd() < 0.85 else o
                for a, o, k in zip(self.actor, others, spin)]

    # ------------------------------------------------------------------ whole-row steps

    def _gate(self) -> None:
        """`present_when`: a field only events of some kinds carry (process on 4688)."""
        for name, (other, allowed) in self.profile.present_when.items():
            if name in self.cols and other in self.cols:
                col, gate = self.cols[name], self.cols[other]
                self.cols[name] = [v if g in allowed else None for v, g in zip(col, gate)]

    def _plant(self, concept: Concept) -> None:
        """Make a concept that matches under 1 % of the rows match about 1 %."""
        if self.n == 0 or any(c.op is Operator.regex for c in _conditions(concept.filters)):
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
        candidates = [i for i in range(self.n) if i not in taken]
        for i in rng.sample(candidates, min(want - len(rows), len(candidates))):
            self._planted.add(i)
            for c in _pick_branch(concept.filters, rng):
                fdef = self.source.field(c.field)
                if fdef is not None and c.field in self.cols:
                    self.cols[c.field][i] = _satisfy(c, fdef, self.cols[c.field][i], rng)
                    self._counts.pop(c.field, None)

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
        folded = {_fold(v) for v in typed}
        return sum(k for v, k in counts.items() if _fold(v) in folded)

    def _matching(self, concept: Concept) -> list[int]:
        fields = {c.field for c in _conditions(concept.filters)}
        if not fields <= set(self.cols):
            return []
        mask = _mask(And(items=list(concept.filters)), self.cols, self.source)
        return list(compress(range(self.n), mask))

    def _stories(self) -> None:
        """Failure-like concepts: most of their rows target one victim from attacker IPs."""
        failures = [c for c in self.source.concepts
                    if _FAILURE.search(c.name) or any(_FAILURE.search(s) for s in c.synonyms[:2])]
        if not failures or self.n == 0:
            return
        rows = sorted({i for c in failures for i in self._matching(c)})
        rng = self.rng("stories")
        changed = [i for i in rows if rng.random() < VICTIM_SHARE]
        for i in changed:
            self.actor[i] = self.pools.victim
        actor_fields = [f for f in self.source.fields if f.entity is EntityKind.user and
                        (f.name == self.actor_field or "display" in f.name
                         or f.type is FieldType.guid) and f.name in self.cols]
        for f in actor_fields:
            fmt = _user_format(f, self.profile.user_format)
            for i in changed:
                ident = self.pools.identities[self.actor[i]]
                self.cols[f.name][i] = ident.object_id if f.type is FieldType.guid \
                    else _format_user(ident, fmt)
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
            for i in rng.sample(range(self.n), min(self.n, int(self.n * share + rng.random()))):
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


# ---------------------------------------------------------------------- value helpers


def _guids(rng: random.Random, n: int) -> Column:
    """Random GUIDs in canonical form (formatted directly: `uuid.UUID` is five times slower)."""
    h = rng.randbytes(16 * n).hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-"
            f"{h[i + 20:i + 32]}" for i in range(0, 32 * n, 32)]


def _weighted(rng: random.Random, weights: dict[Any, float], n: int) -> Column:
    return _pick(rng, weights.keys(), n, weights=weights.values())


def _named(name: str, *parts: str) -> bool:
    return any(p in name for p in parts)


def _user_format(f: FieldDef, default: str) -> str:
    text = f"{f.name} {f.description}".lower()
    if "display" in text:
        return "display"
    if _named(text, "principal", "upn", "e-mail", "email"):
        return "upn"
    return default


def _format_user(ident: Any, fmt: str) -> str:
    return {"upn": ident.upn, "sam": ident.sam, "display": ident.display}[fmt]


def _vary(col: Column, rng: random.Random, share: float) -> Column:
    """Mixed case in a share of the rows (`Alice.Smith@Contoso.com`, `WEB01` vs `web01`), so
    that case-insensitive matching matters."""
    rnd = rng.random
    out = []
    for v in col:
        r = rnd()
        if r < share and isinstance(v, str):
            v = v.upper() if r < share / 3 else v.title() if r < share * 2 / 3 else v.lower()
        out.append(v)
    return out


_PORTS = {443: 50, 80: 15, 53: 12, 22: 4, 445: 4, 3389: 3, 25: 2, 8080: 3, 1433: 1, 123: 2}


def _number(f: FieldDef, rng: random.Random, n: int) -> Column:
    """Plausible numbers by field name; reals keep three decimals."""
    name, real = f.name.lower(), f.type is FieldType.real
    if "port" in name or f.entity is EntityKind.port:
        if "src" in name or "source" in name:
            return [rng.randrange(49152, 65536) for _ in range(n)]
        return _weighted(rng, _PORTS, n)
    if "bytes" in name or "size" in name:
        mu = 6.5 if "in" in name.split("_") or "received" in name else 8.3
        vals = [min(v, 5e9) for v in _lognormal(rng, n, mu, 1.6)]
    elif _named(name, "duration", "response", "latency", "elapsed", "time_taken", "taken"):
        vals = [min(v, 120000.0) for v in _lognormal(rng, n, 4.8, 1.0)]
    elif "status" in name:
        return _weighted(rng, {200: 80, 404: 7, 500: 3, 302: 5, 401: 3, 403: 2}, n)
    elif name in {"pid", "process_id", "ppid"} or name.endswith("_pid"):
        return [rng.randrange(4, 65536, 4) for _ in range(n)]
    elif _named(name, "count", "num", "attempt"):
        vals = [float(int(v)) for v in _lognormal(rng, n, 1.0, 0.9)]
    elif _named(name, "percent", "pct", "usage", "value", "score", "ratio"):
        vals = [rng.triangular(0, 100, 20) for _ in range(n)]
    elif "severity" in name or "level" in name:
        return _pick(rng, [0, 1, 2, 3, 4, 5, 7, 9], n, weights=[1, 1, 1, 3, 1, 1, 1, 1])
    else:
        vals = _lognormal(rng, n, 4.0, 1.2)
    if real:
        return [round(v, 3) for v in vals]
    top = 2**31 - 1 if f.type is FieldType.int else 2**62
    return [min(int(v), top) for v in vals]


_UA = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/124.0 Safari/537.36", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) "
       "AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15", "Microsoft Office/16.0 (Windows NT "
       "10.0; Microsoft Outlook 16.0)", "python-requests/2.31.0", "curl/8.5.0",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148",
       "sqlmap/1.7.2#stable (https://sqlmap.org)"]
_MESSAGES = ["Accepted publickey for {u} from {ip} port 52144 ssh2",
             "Failed password for {u} from {ip} port 40022 ssh2",
             "session opened for user {u} by (uid=0)", "Started Daily apt upgrade and clean",
             "{u} : TTY=pts/0 ; PWD=/home/{u} ; USER=root ; COMMAND=/usr/bin/systemctl restart "
             "nginx", "Out of memory: Killed process 4121 (java)",
             "Connection closed by {ip} port 61022 [preauth]", "(root) CMD (run-parts /etc/cron)"]
_COUNTRIES = {"US": 40, "GB": 15, "DE": 12, "NL": 8, "IN": 8, "FR": 6, "CA": 5, "BR": 3, "RU": 1}


def _text(f: FieldDef, rng: random.Random, n: int, pools: Pools) -> Column:
    """Strings by field name; otherwise a small pool of mixed-case tokens."""
    name = f.name.lower()

    def choose(values: Any, cum_weights: Any = None, k: int = n) -> Column:
        return _pick(rng, values, k, cum=cum_weights)

    if _named(name, "agent") and "user" in name:
        return choose(_UA, zipf_cum(len(_UA)))
    if _named(name, "message", "msg", "text"):
        ids, ips = pools.identities, pools.ips
        return [rng.choice(_MESSAGES).format(u=rng.choice(ids).sam, ip=rng.choice(ips))
                for _ in range(n)]
    if _named(name, "command", "cmdline"):
        procs = choose(PROCESS_NAMES)
        args = choose(["", " /c whoami", " -NoProfile -enc SQBFAFgA", " --type=renderer",
                       " -k netsvcs", " /s /q C:\\Temp", " https://example.org/setup.exe"])
        return [p + a for p, a in zip(procs, args)]
    if _named(name, "location", "country"):
        return _weighted(rng, _COUNTRIES, n)
    if _named(name, "ip", "address", "answer"):
        return choose(pools.ips, pools.ip_cum)
    if _named(name, "host", "computer", "device", "server", "workstation"):
        return choose(pools.hosts, pools.host_cum)
    if _named(name, "path", "folder", "url", "uri"):
        return choose(URL_PATHS) if "uri" in name or "url" in name else \
            choose(["C:\\Temp\\x.exe", "C:\\Users\\Public\\a.ps1", "/var/log/syslog",
                    "/tmp/run.sh", "C:\\Windows\\Temp\\update.exe", "/home/app/data.csv"])
    if "domain" in name:
        return _weighted(rng, {"CONTOSO": 85, "contoso": 5, "NT AUTHORITY": 10}, n)
    if _named(name, "hash", "sha", "md5"):
        return [f"{rng.getrandbits(256):064x}" for _ in range(n)]
    if _named(name, "code", "status", "result"):
        return _weighted(rng, {"0": 85, "1": 5, "2": 4, "5": 3, "13": 3}, n)
    if "version" in name:
        return choose(["1.24.0", "1.25.2", "2.0.1", "10.20.18040"])
    if "id" in name.split("_") or name.endswith("id"):
        return _guids(rng, n)
    stem = re.sub(r"[^a-z0-9]+", "-", name).strip("-") or "value"
    tokens = [f"{stem}-{k}" if k % 3 else f"{stem.title()}-{k}" for k in range(1, 13)]
    return choose(tokens, zipf_cum(len(tokens)))



# ---------------------------------------------------------------------- fast draws
#
# `random.choices` costs a bisect and a Python-level call per value; the generator's target is
# 100k rows/s. A weighted draw here is one lookup in a 65,536-entry table (each value's share
# quantised to 1/65,536, and at least one entry for any value with weight) indexed by 16 random
# bits, taken for the whole column from one `randbytes` call.

_TABLE = 1 << 16


def _indices(rng: random.Random, n: int) -> "array[int]":
    idx = array("H", rng.randbytes(2 * n))
    if sys.byteorder == "big":  # the same rows on every machine
        idx.byteswap()
    return idx


@lru_cache(maxsize=256)
def _table(values: tuple[Any, ...], weights: tuple[float, ...]) -> tuple[Any, ...]:
    total = sum(weights)
    counts = [max(1, round(w / total * _TABLE)) if w > 0 else 0 for w in weights]
    while sum(counts) > _TABLE:  # rounding up the rare ones: take it from the most common
        counts[counts.index(max(counts))] -= sum(counts) - _TABLE
    while sum(counts) < _TABLE:
        counts[counts.index(max(counts))] += _TABLE - sum(counts)
    return tuple(v for v, k in zip(values, counts) for _ in range(k))


def _pick(rng: random.Random, values: Any, n: int, *, weights: Any = None,
          cum: Any = None) -> Column:
    """`n` draws from `values` by `weights` (or cumulative weights `cum`; uniform if neither)."""
    values = tuple(values)
    if cum is not None:
        weights = [b - a for a, b in zip((0.0, *cum[:-1]), cum)]
    table = _table(values, tuple(weights) if weights is not None else (1.0,) * len(values))
    return [table[i] for i in _indices(rng, n)]


@lru_cache(maxsize=1)
def _normal_table() -> tuple[float, ...]:
    """Standard normal quantiles at 65,536 evenly spaced probabilities."""
    inv = NormalDist().inv_cdf
    return tuple(inv((i + 0.5) / _TABLE) for i in range(_TABLE))


def _lognormal(rng: random.Random, n: int, mu: float, sigma: float) -> list[float]:
    z = _normal_table()
    exp_ = math.exp
    return [exp_(mu + sigma * z[i]) for i in _indices(rng, n)]


# ---------------------------------------------------------------------- concepts


def _conditions(filters: list[Any]) -> list[Condition]:
    out: list[Condition] = []
    for f in filters:
        if isinstance(f, Condition):
            out.append(f)
        elif isinstance(f, (And, Or)):
            out += _conditions(f.items)
        elif isinstance(f, Not):
            out += _conditions([f.item])
    return out


def _pick_branch(filters: list[Any], rng: random.Random) -> list[Condition]:
    """Conditions that, all true, make the filter list true (one branch of each OR)."""
    out: list[Condition] = []
    for f in filters:
        if isinstance(f, Condition):
            out.append(f)
        elif isinstance(f, And):
            out += _pick_branch(f.items, rng)
        elif isinstance(f, Or):
            out += _pick_branch([rng.choice(f.items)], rng)
    return out


def _fold(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _mask(f: Any, cols: dict[str, Column], source: Source) -> list[bool]:
    """The filter evaluated on every row, case-insensitively unless it says otherwise (how
    the concept's queries match). Each condition runs as one comprehension down its column:
    this is the generator's hot loop."""
    if isinstance(f, (And, Or)):
        masks = [_mask(i, cols, source) for i in f.items]
        if len(masks) == 1:
            return masks[0]
        return [all(t) for t in zip(*masks)] if isinstance(f, And) else \
            [any(t) for t in zip(*masks)]
    if isinstance(f, Not):
        return [not m for m in _mask(f.item, cols, source)]
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
    fold = not c.case_sensitive and ftype in {FieldType.string, FieldType.guid, None} and \
        any(has_letters(x) for x in typed)  # "0" and "10.0.0.1" have no case to fold
    if fold:
        col = [v.lower() if isinstance(v, str) else v for v in col]
        typed = [_fold(x) for x in typed]
    consts, b = set(typed), typed[0]
    sb = str(b)
    try:
        match op:
            case Operator.eq | Operator.in_:
                return [v in consts for v in col]
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


def _satisfy(c: Condition, f: FieldDef, current: Any, rng: random.Random) -> Any:
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
                   if not _fold(coerce(kv.value, f.type)) in {_fold(t) for t in typed}]
        return rng.choice(options) if options else (f"other-{rng.randrange(100)}"
                                                     if not f.type.numeric else -1)
    return current


__all__ = ["generate_rows", "generate_columns", "DAYS"]
