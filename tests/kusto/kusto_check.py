"""The official Kusto parser (`@kusto/language-service-next`, npm) as a checker of KQL texts.

    node, npm, why = find_or_install_node(need_npm=True)  # apt-get when missing, root
    why = install_parser(npm, parser_dir())       # npm install into a cache that outlives runs
    with KustoParser(node, directory, database_schema(sources), workdir) as parser:
        parser.check("SigninLogs | take 1")       # → [] or the error diagnostics

One node process (`kusto_server.js`) serves a whole session: it loads the parser and builds one
database symbol once (a few seconds), then answers one JSON line per query, so checking
hundreds of queries costs one start-up. Every wait is bounded: the start, each answer (a
query that hangs the parser kills the server and is reported as such), each line's length.

The database symbol (`database_schema`) is what a Log Analytics workspace holds as LexiQuery
knows it: the tables of the reference pack (`catalog/reference/log_analytics.json`, real
Kusto column types) plus every KQL table the given sources bind (the built-in catalog, its
declared lookups — on KQL a lookup is a table of its name — and the tests' TEST_SOURCE). A pack
column keeps the pack's type (the workspace is the authority); a column only a source binds
gets the source field's Kusto type; a bound dynamic path (`Properties.x`,
`InitiatedBy.user.userPrincipalName`) declares its base column `dynamic`.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.lookups import builtin_lookups
from lexiquery.catalog.model import FieldType, Source

PACKAGE = "@kusto/language-service-next"
VERSION = "12.4.1"  # the version issue 16 measures with; change it on purpose only
SERVER_JS = Path(__file__).with_name("kusto_server.js")
PACK = (Path(__file__).resolve().parents[2] / "src" / "lexiquery" / "catalog" / "reference"
        / "log_analytics.json")

APT_TIMEOUT_S = 600  # apt-get update + install on a slow mirror
NPM_TIMEOUT_S = 300  # one package of ~10 MB, no dependencies
START_TIMEOUT_S = 60.0  # loading the parser and building ~900 tables takes a few seconds
QUERY_TIMEOUT_S = 20.0  # a query parses in milliseconds; the first one warms caches
MAX_LINE_BYTES = 1 << 20  # an answer longer than this is a broken server, not a big query



def how_to_install(directory: Path) -> str:
    return (f"install node and npm (as root: apt-get install nodejs npm) and the parser "
            f"(npm install --prefix {directory} {PACKAGE}@{VERSION}; another folder is read "
            f"from $LEXIQUERY_KUSTO_PARSER_DIR)")


def parser_dir() -> Path:
    """Where the parser is (or will be) installed: $LEXIQUERY_KUSTO_PARSER_DIR when set, else
    `kusto-parser` under the virtual environment (kept between runs, gone with the venv)."""
    explicit = os.environ.get("LEXIQUERY_KUSTO_PARSER_DIR")
    return Path(explicit) if explicit else Path(sys.prefix) / "kusto-parser"


def installed_version(directory: Path) -> str | None:
    try:
        meta = json.loads((directory / "node_modules" / PACKAGE / "package.json")
                          .read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return str(meta.get("version")) if isinstance(meta, dict) else None


def _run(cmd: list[str], timeout: float, **kw: Any) -> str:
    """"" when `cmd` succeeded, else why not."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              check=False, **kw)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{' '.join(cmd)} failed: {e}"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        # npm and apt say what went wrong on their error lines; the rest is progress
        errors = [x for x in lines if x.startswith(("npm ERR", "npm error", "E:"))] or lines
        return f"{' '.join(cmd)} exited {done.returncode}: {' / '.join(errors[:4])[:500]}"
    return ""


def find_or_install_node(need_npm: bool) -> tuple[str | None, str | None, str]:
    """(node, npm, why not): from PATH, or installed with apt-get when missing and root. npm
    is looked for only when `need_npm` (the parser is not installed yet)."""
    node, npm = shutil.which("node") or shutil.which("nodejs"), shutil.which("npm")
    if node and (npm or not need_npm):
        return node, npm, ""
    missing = ([] if node else ["nodejs"]) + ([] if npm or not need_npm else ["npm"])
    if os.geteuid() != 0:
        return node, npm, f"{' and '.join(missing)} not installed, and installing needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock_wait = ["-o", "DPkg::Lock::Timeout=120"]  # another apt run may hold the lock: wait
    for cmd in (["apt-get", *lock_wait, "update"],
                ["apt-get", *lock_wait, "install", "-y", "--no-install-recommends", *missing]):
        why = _run(cmd, APT_TIMEOUT_S, env=env)
        if why:
            return node, npm, why
    node, npm = shutil.which("node") or shutil.which("nodejs"), shutil.which("npm")
    ok = node and (npm or not need_npm)
    return node, npm, "" if ok else f"apt-get installed {missing} but they are not on PATH"


def install_parser(npm: str, directory: Path) -> str:
    """Install PACKAGE@VERSION into `directory` ("" when done, else why not). npm works in a
    fresh sibling folder that is renamed into place, so an interrupted install never leaves a
    half-filled cache that looks installed."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=directory.name + ".", dir=directory.parent))
    try:
        # A package.json of its own: npm would otherwise install into the nearest ancestor
        # project it finds.
        (work / "package.json").write_text('{"private": true}\n', "utf-8")
        why = _run([npm, "install", "--no-audit", "--no-fund", "--no-update-notifier",
                    "--prefix", str(work), f"{PACKAGE}@{VERSION}"], NPM_TIMEOUT_S, cwd=work)
        if why:
            return why
        if installed_version(work) != VERSION:
            return f"npm finished but {work} holds no {PACKAGE} {VERSION}"
        if installed_version(directory) == VERSION:
            return ""  # another run installed it meanwhile: keep theirs
        if directory.exists():  # a stale or foreign install: replaced as a whole
            shutil.rmtree(directory)
        work.rename(directory)
        return ""
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- the database symbol

def _kusto_type(t: FieldType) -> str:
    return t.value  # the IR's field types are Kusto's scalar type names


def database_schema(sources: Iterable[Source], pack: Path = PACK) -> dict[str, Any]:
    """{"tables": [{"name", "columns": [[column, kusto type], …]}]} — see the module docstring."""
    tables: dict[str, dict[str, str]] = {}
    for t in json.loads(pack.read_text("utf-8"))["tables"]:
        tables.setdefault(t["name"], {}).update({c: ty for c, ty in t["columns"]})
    for source in sources:
        binding = source.bindings.kql
        if binding is None:
            continue
        columns = tables.setdefault(binding.table, {})
        for name, column in binding.columns.items():
            field = source.field(name)
            if "." in column:
                base = column.split(".", 1)[0]
                if base not in columns:
                    columns[base] = "dynamic"
            elif column not in columns and field is not None:
                typed = binding.column_types.get(name, field.type)
                columns[column] = _kusto_type(typed)
    return {"tables": [{"name": n, "columns": sorted(cs.items())}
                       for n, cs in sorted(tables.items())]}


def workspace_schema(extra: Iterable[Source] = ()) -> dict[str, Any]:
    """`database_schema` of the built-in catalog, its lookups and `extra` sources."""
    return database_schema([*builtin_catalog(), *(t.source() for t in builtin_lookups()),
                            *extra])


# --------------------------------------------------------------------------- the server

@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    start: int
    length: int

    def show(self, query: str) -> str:
        """`CODE message (at N: '…text before▶text at…')`, newlines as ⏎."""
        before = query[max(0, self.start - 30):self.start]
        at = query[self.start:self.start + max(self.length, 1) + 30]
        near = (before + "▶" + at).replace("\n", "⏎")
        return f"{self.code} {self.message} (at {self.start}: {near!r})"


class ParserError(RuntimeError):
    """The parser process failed (did not start, died, hung): not a verdict on a query."""


class KustoParser:
    """The line server of `kusto_server.js`; `check` is bounded by QUERY_TIMEOUT_S."""

    def __init__(self, node: str, directory: Path, schema: dict[str, Any],
                 workdir: Path) -> None:
        self.schema_path = workdir / "kusto_schema.json"
        self.schema_path.write_text(json.dumps(schema), "utf-8")
        self.proc = subprocess.Popen(
            [node, str(SERVER_JS), str(directory.resolve()), str(self.schema_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=workdir)
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._stderr: list[bytes] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()
        self._next = 0
        ready = self._answer(START_TIMEOUT_S, "start")
        if not ready.get("ready"):
            raise ParserError(f"unexpected first line from the parser: {ready}")
        self.version = str(ready.get("parser"))
        self.tables = int(ready.get("tables", 0))

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline(MAX_LINE_BYTES)
            self._lines.put(line)
            if not line:
                return

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for _ in range(10_000):  # bounded: what is kept is the tail anyway
            chunk = self.proc.stderr.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                return
            self._stderr = (self._stderr + [chunk])[-8:]

    def _stderr_tail(self) -> str:
        if self.proc.poll() is not None:
            self._stderr_reader.join(timeout=2)  # what a dead process said is all read soon
        return b"".join(self._stderr).decode("utf-8", "replace").strip()[-1500:]

    def _answer(self, timeout: float, what: str) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise ParserError(f"the Kusto parser gave no answer to {what} within {timeout} s") \
                from None
        if not line:
            self.close()
            raise ParserError(f"the Kusto parser exited ({self.proc.returncode}) during {what}: "
                              f"{self._stderr_tail()}")
        if not line.endswith(b"\n"):
            self.close()
            raise ParserError(f"an answer of more than {MAX_LINE_BYTES} bytes to {what}")
        return dict(json.loads(line))

    def check(self, query: str) -> list[Diagnostic]:
        """The parser's error diagnostics of `query` against the database symbol."""
        if self.proc.poll() is not None:
            raise ParserError(f"the Kusto parser is not running: {self._stderr_tail()}")
        self._next += 1
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"id": self._next, "query": query}).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise ParserError(f"cannot write to the Kusto parser: {e}") from e
        answer = self._answer(QUERY_TIMEOUT_S, f"query {query[:200]!r}")
        if answer.get("id") != self._next or "crash" in answer:
            raise ParserError(f"the Kusto parser failed on {query[:200]!r}: {answer}")
        return [Diagnostic(str(d["code"]), str(d["message"]), int(d["start"]), int(d["length"]))
                for d in answer["errors"]]

    def invalid(self, queries: dict[str, str]) -> dict[str, list[Diagnostic]]:
        """The queries (by key) the parser finds an error in, with their errors."""
        found = {key: self.check(text) for key, text in queries.items()}
        return {key: errors for key, errors in found.items() if errors}

    def close(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()  # the server ends when its input does
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self) -> KustoParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def report(queries: dict[str, str], invalid: dict[str, list[Diagnostic]],
           notes: dict[str, str]) -> str:
    """Each invalid query with its text, the parser's diagnostics and its note (e.g. the plan),
    for a failure message."""
    parts = []
    for key in sorted(invalid):
        text = queries[key]
        errors = "\n".join("    " + d.show(text) for d in invalid[key])
        note = f"\n  {notes[key]}" if key in notes else ""
        parts.append(f"--- {key}\n{text}\n  official parser:\n{errors}{note}")
    return "\n".join(parts)
