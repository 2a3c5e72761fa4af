"""The place the corpus runs in: a tmp tree with canaries, and the checks every case must pass.

    <root>/secret.csv            canary (token B)  — nothing may ever read it
    <root>/cwd/                  the working directory of the whole run
    <root>/cwd/.tmp/secret.csv   canary (token A)  — DuckDB's default temp directory
    <root>/cwd/secret.csv        canary (token C)
    <root>/data/                 LEXIQUERY_DATA_DIR: the only place LexiQuery may write
    <root>/out/                  where hostile queries try to write (INTO OUTFILE, COPY …)
    <root>/inputs/               files the harness writes for CLI cases, before the snapshot

Invariants (`Outcome.problems` + `violations`): no traceback text, no HTTP 500, no bare
"Error executing tool", no internal error from an agent, no canary token in any output, no new
file anywhere in the tree outside the data directory.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostile.cases import expand_macros

TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/', "RecursionError",
                   "maximum recursion depth", "TokenError", "MarkupError")
# The MCP SDK prefixes every tool error with "Error executing tool NAME: "; a crash it could not
# explain is that prefix alone.
BARE_TOOL_ERROR = re.compile(r"Error executing tool [\w.-]+:?\s*$")


@dataclass
class Paths:
    root: Path
    tokens: tuple[str, ...]

    @property
    def cwd(self) -> Path:
        return self.root / "cwd"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    def fill(self, value: Any) -> Any:
        """Placeholders and macros replaced in every string of `value` (lists, dicts too)."""
        if isinstance(value, str):
            text = expand_macros(value)
            for key, path in (("@ROOT@", self.root), ("@CWD@", self.cwd),
                              ("@DATA@", self.data), ("@OUT@", self.out)):
                text = text.replace(key, str(path))
            return text
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


def make_tree(root: Path) -> Paths:
    """The tree above, with fresh random tokens in the canaries."""
    tokens = tuple(f"CANARY{secrets.token_hex(8).upper()}" for _ in range(3))
    paths = Paths(root=root, tokens=tokens)
    for d in (paths.cwd / ".tmp", paths.data, paths.out, paths.inputs):
        d.mkdir(parents=True, exist_ok=True)
    (root / "secret.csv").write_text(f"id,secret\n1,{tokens[1]}\n", encoding="utf-8")
    (paths.cwd / ".tmp" / "secret.csv").write_text(f"id,secret\n1,{tokens[0]}\n",
                                                   encoding="utf-8")
    (paths.cwd / "secret.csv").write_text(f"id,secret\n1,{tokens[2]}\n", encoding="utf-8")
    return paths


def snapshot(paths: Paths) -> set[str]:
    """Every file and directory under the root, except inside the data directory and the
    harness's own input files."""
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(paths.root):
        here = Path(dirpath)
        if here == paths.root:
            dirnames[:] = [d for d in dirnames if here / d not in (paths.data, paths.inputs)]
        for name in dirnames + filenames:
            out.add(str((here / name).relative_to(paths.root)))
    return out


@dataclass
class Outcome:
    """What one surface did with one case, in the terms every expectation is stated in.

    kind: ok | refused | invalid | crash. `texts`: everything the caller saw (scanned for
    tracebacks and canaries). `problems`: invariant breaches the surface itself detected."""

    surface: str
    kind: str
    message: str = ""
    codes: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    data: Any = None
    queries: list[tuple[str, str, str]] = field(default_factory=list)  # platform, dialect, text
    position: bool | None = None
    elapsed_s: float = 0.0

    def all_text(self) -> str:
        return "\n".join(self.texts)

    def summary(self) -> str:
        msg = " ".join(self.message.split())[:160]
        return f"{self.surface}: {self.kind}" + (f" ({', '.join(sorted(self.codes))})"
                                                 if self.codes else "") + (f": {msg}" if msg
                                                                           else "")


def violations(outcome: Outcome, paths: Paths, before: set[str], after: set[str]) -> list[str]:
    """Every invariant the outcome breaks (empty when it holds them all)."""
    found = list(outcome.problems)
    text = outcome.all_text()
    for mark in TRACEBACK_MARKS:
        if mark in text:
            found.append(f"output holds {mark!r}")
            break
    if outcome.surface == "mcp" and BARE_TOOL_ERROR.match(outcome.message.strip()):
        found.append(f"a bare MCP tool error: {outcome.message.strip()!r}")
    leaked = [t for t in paths.tokens if t in text]
    if leaked:
        found.append(f"a canary file outside the data directory was read: {len(leaked)} "
                     "token(s) in the output")
    new = sorted(after - before)
    if new:
        found.append(f"new files outside the data directory: {new[:5]}")
    return found
