"""Bounds on work done for input from outside: one place, so every surface holds the same ones.

* `MAX_NESTING`: brackets (parentheses, and KQL's square and curly brackets) a pasted query may
  nest. sqlglot and our KQL/SPL parsers are recursive descent, and ~20 Python frames per level
  reach the interpreter's recursion limit near 50 levels; real detections rarely pass 10. A
  deeper query is a ``syntax`` `QueryError` at the bracket that went too deep, for SQL, KQL and
  SPL alike (`check_nesting`).
* `MAX_JSON_DEPTH`: JSON from outside (agent cards, LLM answers, uploaded JSON) is measured
  before it is parsed (`loads_bounded`): Python's parser recurses per level, and a bomb of
  nested brackets otherwise costs a traceback or a thread.
* `MAX_ROWS`: the largest row limit (top N, take, head, LIMIT) a plan holds. A larger one is
  clamped with a warning on the plan (`ir.QueryPlan`): beyond a million rows an answer is no
  longer a result to read, and 23-digit numbers do not survive every platform's integers.
* `MAX_LOOKBACK_DAYS` (`MAX_LOOKBACK_YEARS`): the furthest back (and the widest time bucket)
  a plan reaches, 100 years. Further is clamped with a warning on the plan: every platform's time arithmetic holds
  it, while "the last 99999999999 years" overflows DuckDB's and Kusto's.
"""

from __future__ import annotations

import json
from typing import Any

from lexiquery.errors import InputError

MAX_NESTING = 32
MAX_JSON_DEPTH = 32
# HTTP request bodies: an A2A envelope (jsonrpc › params › message › parts › data › input)
# around a plan whose filter groups follow a query's brackets (`MAX_NESTING`) needs more room.
MAX_BODY_JSON_DEPTH = 200
MAX_ROWS = 1_000_000
MAX_LOOKBACK_YEARS = 100
MAX_LOOKBACK_DAYS = 36_525  # 100 years of 365.25 days


def json_depth_offset(text: str, max_depth: int = MAX_JSON_DEPTH) -> int | None:
    """The offset of the first bracket that nests deeper than `max_depth` (outside strings),
    or None. Linear, and never recurses, so it is safe on any input."""
    depth = 0
    in_string = False
    escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return i
        elif ch in "]}":
            depth -= 1
    return None


def loads_bounded(data: str | bytes, *, what: str, max_bytes: int,
                  max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` with a size and a depth bound checked first. Raises `InputError` naming
    `what` (e.g. "the agent card") for too large, too deep or malformed JSON."""
    size = len(data)
    if size > max_bytes:
        raise InputError(f"{what} is {size:,} bytes; at most {max_bytes:,} are accepted",
                         hint="send a smaller document")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"{what} is not UTF-8 text: {e}") from e
    else:
        text = data
    at = json_depth_offset(text, max_depth)
    if at is not None:
        raise InputError(f"{what} nests deeper than {max_depth} levels (at character {at})",
                         hint="flatten the document")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise InputError(f"{what} is not valid JSON: {e}") from e


MAX_DOCUMENT_NODES = 1_000_000  # values in one parsed YAML/JSON document from outside


def check_document(data: Any, *, what: str, max_depth: int = MAX_JSON_DEPTH,
                   max_nodes: int = MAX_DOCUMENT_NODES) -> Any:
    """`data` (parsed YAML or JSON) if it nests at most `max_depth` levels and holds at most
    `max_nodes` values counted as a reader will meet them: a YAML alias is counted each time it
    is reached, so an alias bomb ("billion laughs", a few hundred bytes that expand to billions
    of values) is refused here, before validation walks it. Iterative: safe on any input."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise InputError(f"{what} holds more than {max_nodes:,} values (counting each YAML "
                             "alias where it is used)", hint="split the document")
        if isinstance(value, (dict, list)):
            if depth > max_depth:
                raise InputError(f"{what} nests deeper than {max_depth} levels",
                                 hint="flatten the document")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return data


def load_yaml_bounded(text: str, *, what: str, max_depth: int = MAX_JSON_DEPTH,
                      max_nodes: int = MAX_DOCUMENT_NODES) -> Any:
    """`yaml.safe_load` for text from outside: libyaml's loader where it is installed (it
    refuses deep nesting itself instead of recursing in Python), then `check_document`.
    Raises `yaml.YAMLError` for malformed YAML (callers report its line), `InputError` for a
    document too deep or too large."""
    # deferred: PyYAML loads only when a YAML document is read
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 — a safe loader, chosen above
    except RecursionError as e:  # the pure-Python loader on deep nesting
        raise InputError(f"{what} nests too deeply to read", hint="flatten the document") from e
    return check_document(data, what=what, max_depth=max_depth, max_nodes=max_nodes)
