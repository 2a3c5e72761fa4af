"""Column values for the sample-data generator: fast weighted draws, numbers and strings by
field name, user formats and mixed case. Every function takes the column's `random.Random` and
returns a whole column: per-value Python calls are what would keep the generator under its
100k rows/s target.
"""

from __future__ import annotations

import math
import random
import re
import sys
from array import array
from functools import lru_cache
from statistics import NormalDist
from typing import Any

from lexiquery.catalog.model import EntityKind, FieldDef, FieldType
from lexiquery.engine.sample_profiles import PROCESS_NAMES, URL_PATHS, Pools, zipf_cum

Column = list[Any]



def guids(rng: random.Random, n: int) -> Column:
    """Random GUIDs in canonical form (formatted directly: `uuid.UUID` is five times slower)."""
    h = rng.randbytes(16 * n).hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-"
            f"{h[i + 20:i + 32]}" for i in range(0, 32 * n, 32)]


def weighted(rng: random.Random, weights: dict[Any, float], n: int) -> Column:
    return pick(rng, weights.keys(), n, weights=weights.values())


def named(name: str, *parts: str) -> bool:
    return any(p in name for p in parts)


def user_format(f: FieldDef, default: str) -> str:
    text = f"{f.name} {f.description}".lower()
    if "display" in text:
        return "display"
    if named(text, "principal", "upn", "e-mail", "email"):
        return "upn"
    return default


def format_user(ident: Any, fmt: str) -> str:
    return {"upn": ident.upn, "sam": ident.sam, "display": ident.display}[fmt]


def vary(col: Column, rng: random.Random, share: float) -> Column:
    """Mixed case in a share of the rows (`Alice.Smith@Contoso.com`, `WEB01` vs `web01`), so
    that case-insensitive matching matters."""
    rnd = rng.random
    draws = [rnd() for _ in col]  # one draw per row, varied or not: the same rows as ever
    third, two_thirds = share / 3, share * 2 / 3
    return [v if r >= share or not isinstance(v, str) else
            v.upper() if r < third else v.title() if r < two_thirds else v.lower()
            for v, r in zip(col, draws)]


_PORTS = {443: 50, 80: 15, 53: 12, 22: 4, 445: 4, 3389: 3, 25: 2, 8080: 3, 1433: 1, 123: 2}


def number(f: FieldDef, rng: random.Random, n: int) -> Column:
    """Plausible numbers by field name; reals keep three decimals."""
    name, real = f.name.lower(), f.type is FieldType.real
    if "port" in name or f.entity is EntityKind.port:
        if "src" in name or "source" in name:
            return [49152 + r for (r,) in below_rows(rng, (65536 - 49152,), n)]
        return weighted(rng, _PORTS, n)
    if "bytes" in name or "size" in name:
        mu = 6.5 if "in" in name.split("_") or "received" in name else 8.3
        vals = [min(v, 5e9) for v in lognormal(rng, n, mu, 1.6)]
    elif named(name, "duration", "response", "latency", "elapsed", "time_taken", "taken"):
        vals = [min(v, 120000.0) for v in lognormal(rng, n, 4.8, 1.0)]
    elif "status" in name:
        return weighted(rng, {200: 80, 404: 7, 500: 3, 302: 5, 401: 3, 403: 2}, n)
    elif name in {"pid", "process_id", "ppid"} or name.endswith("_pid"):
        return [4 + 4 * r for (r,) in below_rows(rng, ((65536 - 4 + 3) // 4,), n)]
    elif named(name, "count", "num", "attempt"):
        vals = [float(int(v)) for v in lognormal(rng, n, 1.0, 0.9)]
    elif named(name, "percent", "pct", "usage", "value", "score", "ratio"):
        vals = [rng.triangular(0, 100, 20) for _ in range(n)]
    elif "severity" in name or "level" in name:
        return pick(rng, [0, 1, 2, 3, 4, 5, 7, 9], n, weights=[1, 1, 1, 3, 1, 1, 1, 1])
    else:
        vals = lognormal(rng, n, 4.0, 1.2)
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


def text_values(f: FieldDef, rng: random.Random, n: int, pools: Pools) -> Column:
    """Strings by field name; otherwise a small pool of mixed-case tokens."""
    name = f.name.lower()

    def choose(values: Any, cum_weights: Any = None, k: int = n) -> Column:
        return pick(rng, values, k, cum=cum_weights)

    if named(name, "agent") and "user" in name:
        return choose(_UA, zipf_cum(len(_UA)))
    if named(name, "message", "msg", "text"):
        ids, ips = pools.identities, pools.ips
        return [_MESSAGES[m].format(u=ids[u].sam, ip=ips[i])
                for m, u, i in below_rows(rng, (len(_MESSAGES), len(ids), len(ips)), n)]
    if named(name, "command", "cmdline"):
        procs = choose(PROCESS_NAMES)
        args = choose(["", " /c whoami", " -NoProfile -enc SQBFAFgA", " --type=renderer",
                       " -k netsvcs", " /s /q C:\\Temp", " https://example.org/setup.exe"])
        return [p + a for p, a in zip(procs, args)]
    if named(name, "location", "country"):
        return weighted(rng, _COUNTRIES, n)
    if named(name, "ip", "address", "answer"):
        return choose(pools.ips, pools.ip_cum)
    if named(name, "host", "computer", "device", "server", "workstation"):
        return choose(pools.hosts, pools.host_cum)
    if named(name, "path", "folder", "url", "uri"):
        return choose(URL_PATHS) if "uri" in name or "url" in name else \
            choose(["C:\\Temp\\x.exe", "C:\\Users\\Public\\a.ps1", "/var/log/syslog",
                    "/tmp/run.sh", "C:\\Windows\\Temp\\update.exe", "/home/app/data.csv"])
    if "domain" in name:
        return weighted(rng, {"CONTOSO": 85, "contoso": 5, "NT AUTHORITY": 10}, n)
    if named(name, "hash", "sha", "md5"):
        return [f"{rng.getrandbits(256):064x}" for _ in range(n)]
    if named(name, "code", "status", "result"):
        return weighted(rng, {"0": 85, "1": 5, "2": 4, "5": 3, "13": 3}, n)
    if "version" in name:
        return choose(["1.24.0", "1.25.2", "2.0.1", "10.20.18040"])
    if "id" in name.split("_") or name.endswith("id"):
        return guids(rng, n)
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


def indices(rng: random.Random, n: int) -> "array[int]":
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


def pick(rng: random.Random, values: Any, n: int, *, weights: Any = None,
          cum: Any = None) -> Column:
    """`n` draws from `values` by `weights` (or cumulative weights `cum`; uniform if neither)."""
    values = tuple(values)
    if cum is not None:
        weights = [b - a for a, b in zip((0.0, *cum[:-1]), cum)]
    table = _table(values, tuple(weights) if weights is not None else (1.0,) * len(values))
    return [table[i] for i in indices(rng, n)]  # faster than map(table.__getitem__) in 3.11


@lru_cache(maxsize=1)
def _normal_table() -> tuple[float, ...]:
    """Standard normal quantiles at 65,536 evenly spaced probabilities."""
    inv = NormalDist().inv_cdf
    return tuple(inv((i + 0.5) / _TABLE) for i in range(_TABLE))


_LOGNORMAL: dict[tuple[float, float], tuple[float, ...]] = {}  # (mu, sigma) → quantiles


def lognormal(rng: random.Random, n: int, mu: float, sigma: float) -> list[float]:
    """exp(mu + sigma·z) for a standard normal z from `_normal_table`. For a long column (or a
    (mu, sigma) seen before) every quantile's value is computed once and a draw is a lookup:
    the same float the formula gives, without a Python call per row. A short column computes
    its own: building the 65,536-entry table would cost more than it saves."""
    table = _LOGNORMAL.get((mu, sigma))
    if table is None and n >= _TABLE // 8:
        exp_ = math.exp
        table = _LOGNORMAL[(mu, sigma)] = tuple(exp_(mu + sigma * z) for z in _normal_table())
    if table is not None:
        return [table[i] for i in indices(rng, n)]
    z, exp_ = _normal_table(), math.exp
    return [exp_(mu + sigma * z[i]) for i in indices(rng, n)]




def below_rows(rng: random.Random, sizes: tuple[int, ...], n: int) -> list[list[int]]:
    """`n` rows of one draw below each of `sizes`, in order: the numbers `rng.randrange(m)`
    (and so `rng.choice` of a sequence of m, `randrange(a, a + m·step, step)` as a + step·r)
    would give, drawn in the same sequence, without their two Python calls per draw. This is
    CPython's `Random._randbelow_with_getrandbits`, inlined; a test holds it to `randrange`."""
    bits = rng.getrandbits
    plan = [(m, m.bit_length()) for m in sizes]
    out: list[list[int]] = []
    append = out.append
    for _ in range(n):
        row = []
        for m, k in plan:
            r = bits(k)
            while r >= m:  # rejection: every value below m equally likely
                r = bits(k)
            row.append(r)
        append(row)
    return out


def sample_indices(rng: random.Random, n: int, k: int) -> list[int]:
    """`rng.sample(range(n), k)`, the same indices in the same order, with the draws inlined
    (CPython 3.11's `Random.sample`: a pool for a small population, a set of picks for a large
    one); a test holds it to `rng.sample`. Choosing which rows lose a value is a hot loop."""
    if not 0 <= k <= n:
        raise ValueError("Sample larger than population or is negative")
    bits = rng.getrandbits
    result: list[int] = []
    append = result.append
    setsize = 21
    if k > 5:
        setsize += 4 ** math.ceil(math.log(k * 3, 4))
    if n <= setsize:
        pool = list(range(n))
        for i in range(k):
            m = n - i
            b = m.bit_length()
            j = bits(b)
            while j >= m:
                j = bits(b)
            append(pool[j])
            pool[j] = pool[m - 1]
        return result
    selected: set[int] = set()
    add = selected.add
    b = n.bit_length()
    for _ in range(k):
        j = bits(b)
        while j >= n or j in selected:
            j = bits(b)
        add(j)
        append(j)
    return result
