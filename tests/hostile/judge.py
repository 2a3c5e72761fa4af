"""Whether an `Outcome` is what its case expects (the invariants are `env.violations`).

`refused` accepts a refusal or valid=false (a check that reports instead of raising refuses
too); `invalid` wants valid=false itself; `handled` wants success; `clean` accepts any of the
three. Then the optional details: `codes`, `echo`, `forbid`, `position`, `max_s`,
`max_output_mb`, and for HTTP the `status` and headers. Every query a result calls valid
must pass the read-only guard (whatever the case).
"""

from __future__ import annotations

from typing import Any

from hostile.cases import Case
from hostile.common import WILDCARD
from hostile.env import Outcome

ACCEPTED = {"refused": {"refused", "invalid"}, "invalid": {"invalid"}, "handled": {"ok"},
            "clean": {"ok", "refused", "invalid"}}


def _status_matches(status: int, wanted: Any) -> bool:
    options = wanted if isinstance(wanted, list) else [wanted]
    for w in options:
        w = str(w)
        if w.endswith("xx") and str(status)[0] == w[0]:
            return True
        if w == str(status):
            return True
    return False


def judge(case: Case, outcome: Outcome, spec: dict[str, Any]) -> list[str]:
    """The ways `outcome` misses `case`'s expectation (`spec`: the case with paths filled)."""
    wrong: list[str] = []
    if outcome.kind not in ACCEPTED[case.expect]:
        wrong.append(f"expected {case.expect}, got {outcome.summary()}")
        return wrong
    codes = spec.get("codes")
    if codes and outcome.kind in ("refused", "invalid") and WILDCARD not in outcome.codes \
            and not (outcome.codes & set(codes)):
        wrong.append(f"expected a code among {codes}, got {sorted(outcome.codes)}: "
                     f"{outcome.summary()}")
    text = outcome.all_text()
    for s in spec.get("echo") or []:
        if s not in text:
            wrong.append(f"the output does not hold {s!r} verbatim")
    for s in spec.get("forbid") or []:
        if s in text:
            wrong.append(f"the output holds {s!r}")
    wrong += _queries_read_only(outcome.queries)
    if spec.get("position") and outcome.kind == "refused" and outcome.position is False:
        wrong.append("the syntax error does not say where (line and column)")
    if spec.get("max_s") is not None and outcome.elapsed_s > spec["max_s"]:
        wrong.append(f"took {outcome.elapsed_s:.1f} s; at most {spec['max_s']} s")
    limit = spec.get("max_output_mb")
    if limit is not None and len(text) > limit * 2**20:
        wrong.append(f"the output is {len(text) / 2**20:.0f} MB; the cap is {limit} MB")
    if outcome.surface == "http" and isinstance(outcome.data, dict):
        wrong += _http_details(spec, outcome.data)
    return wrong


def _queries_read_only(queries: list[tuple[str, str, str]]) -> list[str]:
    """Every query LexiQuery calls valid passes its own read-only guard: hostile text in a
    question or context may end up in a string literal, never as code."""
    from lexiquery.dialects.guard import check_read_only

    wrong = []
    for platform, dialect, text in queries:
        if not text or platform not in ("kql", "spl", "sql"):
            continue
        bad = [i for i in check_read_only(platform, text, sql_dialect=dialect)
               if i.code == "read_only"]
        if bad:
            wrong.append(f"a generated {platform} query is not read-only ({bad[0].message}): "
                         f"{text[:160]!r}")
    return wrong


def _http_details(spec: dict[str, Any], data: dict[str, Any]) -> list[str]:
    wrong = []
    status, headers = data.get("status"), data.get("headers") or {}
    if spec.get("status") is not None and not _status_matches(status, spec["status"]):
        wrong.append(f"expected HTTP {spec['status']}, got {status}")
    for h in spec.get("headers_present") or []:
        names = [n.strip().lower() for n in h.split("|")]  # "a|b": either header
        if not any(n in headers for n in names):
            wrong.append(f"the response lacks the header {h}")
    for h in spec.get("headers_absent") or []:
        if h.lower() in headers:
            wrong.append(f"the response has the header {h}: {headers[h.lower()]}")
    return wrong
