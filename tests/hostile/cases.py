"""The hostile-input corpus as data: `cases/*.yaml`, one file per class of bad input.

A file holds ``class``, optional ``defaults`` (any case key) and ``cases``. A case::

    id:        unique within its file; the full id is "<class>/<id>"
    op:        what is done with the input (see `OPS`)
    surfaces:  where: any of cli, python, http, mcp, a2a
    expect:    refused | invalid | handled | clean
               refused  a clear error (CLI exit != 0 with an `error:` line; a LexiQueryError or
                        valid=false from Python; HTTP 4xx {error, message}; an MCP tool error
                        with a readable message; a failed A2A task with a message)
               invalid  the check reports valid=false (with an issue of one of `codes`, if given)
               handled  it succeeds and says what it was given verbatim (`echo`)
               clean    either way, as long as every invariant holds (used where the input
                        has no single right answer, e.g. a question that reads as noise)
    codes:     accepted error / issue codes (optional)
    echo:      strings the output must hold verbatim; forbid: strings it must never hold
    repro:     true for an exact reproduction from issue 12
    note:      one line: why this input is hostile

Inputs per op: text/platform/dialect/to/no_execute (query ops), question/platforms/dialect/
source/context (ask), args (cli), tool/arguments (mcp_tool), agent/skill/input (skill),
method/path/headers/json/body/client (http), url/first/auth (register), file/files/tags
(upload), journey (journey), search (search).

Strings may hold placeholders, replaced at run time: @ROOT@ (the test's tmp tree), @CWD@ (the
working directory, holding .tmp/secret.csv), @DATA@ (the data directory), @OUT@ (a directory
outside the data directory where nothing may appear), and the macros <<N*TEXT>> (TEXT repeated
N times) and <<U+XXXX>> (one code point, for characters YAML cannot hold).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).parent / "cases"
SURFACES = ("cli", "python", "http", "mcp", "a2a")
EXPECTS = ("refused", "invalid", "handled", "clean")
OPS = ("run", "validate", "translate", "explain", "ask", "history", "journey", "source", "cli",
       "mcp_tool", "skill", "a2a_raw", "http", "register", "upload", "search", "modes")
KEYS = {"id", "op", "surfaces", "expect", "codes", "echo", "forbid", "repro", "note",
        "text", "platform", "dialect", "to", "no_execute", "question", "platforms", "source",
        "context", "args", "tool", "arguments", "agent", "skill", "input", "method", "path",
        "headers", "json", "body", "client", "status", "url", "first", "auth", "file", "files",
        "tags", "journey", "search", "position", "headers_present", "max_s",
        "headers_absent", "timeout_s", "isolate", "max_output_mb", "stdin", "setup"}

_REPEAT = re.compile(r"<<(\d+)\*(.*?)>>", re.DOTALL)
_CODEPOINT = re.compile(r"<<U\+([0-9A-Fa-f]{4,6})>>")


@dataclass(frozen=True)
class Case:
    """One input of the corpus and what it must come to on each of its surfaces."""

    cls: str
    id: str
    op: str
    surfaces: tuple[str, ...]
    expect: str
    spec: dict[str, Any] = field(repr=False)

    @property
    def full_id(self) -> str:
        return f"{self.cls}/{self.id}"

    def get(self, key: str, default: Any = None) -> Any:
        return self.spec.get(key, default)


def expand_macros(text: str) -> str:
    """<<N*TEXT>> and <<U+XXXX>>, expanded (placeholders are left for `Paths.fill`)."""
    text = _REPEAT.sub(lambda m: m.group(2) * int(m.group(1)), text)
    return _CODEPOINT.sub(lambda m: chr(int(m.group(1), 16)), text)


def _check(case: Case, where: Path) -> None:
    unknown = set(case.spec) - KEYS
    problems = [f"unknown keys {sorted(unknown)}"] if unknown else []
    if case.op not in OPS:
        problems.append(f"unknown op {case.op!r}")
    if case.expect not in EXPECTS:
        problems.append(f"unknown expect {case.expect!r}")
    if not case.surfaces or set(case.surfaces) - set(SURFACES):
        problems.append(f"surfaces must be among {SURFACES}, not {case.surfaces}")
    if problems:
        raise ValueError(f"{where.name}: case {case.id!r}: " + "; ".join(problems))


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case of every file, defaults applied and checked; ids are unique."""
    out: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        cls, defaults = doc["class"], doc.get("defaults") or {}
        for raw in doc["cases"]:
            spec = {**defaults, **raw}
            case = Case(cls=cls, id=str(spec["id"]), op=spec["op"],
                        surfaces=tuple(spec["surfaces"]), expect=spec["expect"], spec=spec)
            _check(case, path)
            out.append(case)
    ids = [c.full_id for c in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate case ids: {dupes}")
    return out


def pairs(cases: list[Case]) -> list[tuple[Case, str]]:
    """(case, surface): the unit the corpus counts and pytest runs."""
    return [(c, s) for c in cases for s in c.surfaces]
