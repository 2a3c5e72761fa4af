"""What several surfaces share: reading results into an `Outcome`, the validator's input, and a
deadline for work that may not end on its own."""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Iterator
from typing import Any

from hostile.env import Outcome

DEFAULT_TIMEOUT_S = 30
ISSUE_TEXT = re.compile(r"^(?:error|warning|info) ([a-z_]+):")
POSITION = re.compile(r"line \d+(?:, column \d+)?", re.IGNORECASE)
INTERNAL_CODES = {"internal_error", "agent_failed"}
WILDCARD = "*"  # a surface that does not print codes (the CLI's human output)


class Overtime(BaseException):
    """The case's work passed its deadline (a BaseException, so no `except Exception` in the
    code under test swallows it)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the main thread after `seconds` (SIGALRM); a no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise Overtime(f"no answer within {seconds:g} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (keys too), unescaped."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings(v)
    elif value is not None:
        yield str(value)


def question_of(spec: dict[str, Any]) -> str:
    """The case's question as given (an empty one too); a plain one for ops that need any."""
    return spec["question"] if "question" in spec else "failed sign-ins by user"


def ask_arguments(spec: dict[str, Any], *, dialect: bool = True) -> dict[str, Any]:
    """The question and the options a case gives, under the names the API, MCP and the Python
    API share (the planner agent takes no SQL dialect: `dialect=False`)."""
    names = (("platforms", "platforms"), ("dialect", "sql_dialect"), ("source", "source"),
             ("context", "context"))
    return {"question": question_of(spec),
            **{field: spec[key] for key, field in names
               if spec.get(key) is not None and (dialect or key != "dialect")}}


def issue_codes(issues: Any) -> set[str]:
    """Codes of issues given as dicts ({code: …}) or as MCP's "error code: message" texts."""
    out: set[str] = set()
    for i in issues or []:
        if isinstance(i, dict) and i.get("code"):
            out.add(str(i["code"]))
        elif isinstance(i, str) and (m := ISSUE_TEXT.match(i)):
            out.add(m.group(1))
    return out


def error_issue_codes(issues: Any) -> set[str]:
    return issue_codes([i for i in issues or []
                        if not isinstance(i, dict) or i.get("severity", "error") == "error"])


def judge_result(surface: str, data: Any, texts: list[str]) -> Outcome:
    """A successful call's result: `invalid` when it says valid=false itself, or when any query
    it carries is invalid (an answer, a translation, the validator's result); else `ok`."""
    out = Outcome(surface=surface, kind="ok", texts=texts, data=data)
    if not isinstance(data, dict):
        return out
    queries = [q for q in data.get("queries") or [] if isinstance(q, dict)]
    vouched = [q for q in queries if q.get("valid") is True]  # what LexiQuery calls valid
    if isinstance(data.get("query"), dict):  # a data agent's rendering: read-only by construction
        queries.append(data["query"])
        vouched.append(data["query"])
    out.queries = [(str(q.get("platform")), str(q.get("dialect")), str(q.get("query") or ""))
                   for q in vouched]
    if data.get("query") and "to_platform" in data and data.get("valid"):  # a translation
        out.queries.append((str(data["to_platform"]), str(data.get("to_dialect")),
                            str(data["query"])))
    invalid = data.get("valid") is False or any(q.get("valid") is False for q in queries)
    if invalid:
        out.kind = "invalid"
        out.codes = error_issue_codes(data.get("issues")) | {
            c for q in queries if q.get("valid") is False
            for c in error_issue_codes(q.get("issues"))}
        out.message = "valid: false"
    return out


def validator_input(spec: dict[str, Any], *, sample_check: bool) -> dict[str, Any]:
    """The validator agent's input for a pasted query: the query as if a data agent wrote it
    for the plan of its source (a hostile peer can send exactly this over A2A)."""
    platform = spec.get("platform") or "sql"
    dialect = spec.get("dialect") or ("postgres" if platform == "sql" else platform)
    return {"queries": [{"platform": platform, "dialect": dialect, "query": spec["text"],
                         "valid": True, "confidence": 1.0, "source": "signin_logs"}],
            "plan": {"source": "signin_logs"}, "confidence": 1.0, "sample_check": sample_check}
