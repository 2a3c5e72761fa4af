"""The in-process surfaces: the `lexiquery` command (typer's CliRunner on `lexiquery.cli:app`)
and the Python API (`import lexiquery`). Each turns one case into an `Outcome`.

CLI: an exception that escapes the command is a crash (CliRunner keeps it off the output, so
it is checked apart); exit 0 is success; a non-zero exit needs an ``error:`` line (or the
``failed`` line of `sop add`), unless the command reports invalid queries (exit 1 of ask,
translate, validate). Python: a `LexiQueryError` is a refusal, any other exception a crash.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from typer.testing import CliRunner

from hostile.common import (WILDCARD, Overtime, ask_arguments, deadline, issue_codes,
                            judge_result, strings)
from hostile.env import Outcome, Paths
from hostile.files import write_inputs

runner = CliRunner()
ERROR_LINE = re.compile(r"^(error:|Error:|failed\s)", re.MULTILINE)
POSITION_TEXT = re.compile(r"line \d+, column \d+")
REPORTS_INVALID = {"ask", "translate", "validate", "run", "explain"}  # exit 1 may be "invalid"


# ── CLI ──────────────────────────────────────────────────────────────────────────────────────

def _query_args(op: str, spec: dict[str, Any]) -> list[str]:
    args = [op]
    if spec.get("platform"):
        args += ["--from" if op == "translate" else "--platform", spec["platform"]]
    if spec.get("dialect"):
        args += ["--from-dialect" if op == "translate" else "--sql-dialect", spec["dialect"]]
    if op == "translate":
        args += ["--to", spec.get("to") or "kql"]
    if op == "validate" and spec.get("no_execute"):
        args.append("--no-execute")
    return args + ["--", spec["text"]]


def _ask_args(spec: dict[str, Any]) -> list[str]:
    args = ["ask"]
    for p in spec.get("platforms") or []:
        args += ["--platform", p]
    if spec.get("dialect"):
        args += ["--sql-dialect", spec["dialect"]]
    if spec.get("source"):
        args += ["--source", spec["source"]]
    return args + ["--", spec["question"]]


def cli_args(case_op: str, spec: dict[str, Any], paths: Paths, ctx: Any) -> list[list[str]]:
    """The command lines one case runs, in order (later ones only when earlier ones passed)."""
    if case_op in ("run", "validate", "translate", "explain"):
        return [_query_args(case_op, spec)]
    if case_op == "ask":
        return [_ask_args(spec)]
    if case_op == "history":
        jid = ctx.stored_journey(spec["question"])
        return [["history"], ["history", jid]]
    if case_op == "journey":
        return [["history", "--", spec["journey"]]]
    if case_op == "source":
        return [["catalog", "show", "--", spec["source"]]]
    if case_op == "search":
        return [["sop", "search", "--", spec["search"]]]
    if case_op == "cli":
        args = list(spec["args"])
        return [list(a) for a in args] if args and isinstance(args[0], list) else [args]
    if case_op == "register":
        if spec.get("first"):
            ctx.register_first(spec["first"])
        return [["agents", "register", "--", spec["url"]]]
    if case_op == "upload":
        files = write_inputs(spec, paths.inputs / spec["_case"].replace("/", "_"))
        tags = [a for t in spec.get("tags") or [] for a in ("--tag", t)]
        return [["sop", "add", *tags, "--", *map(str, files)],
                *[["sop", "show", "--", f.name] for f in files]]
    raise ValueError(f"the CLI has no op {case_op!r}")


def run_cli(op: str, spec: dict[str, Any], paths: Paths, ctx: Any) -> Outcome:
    texts: list[str] = []
    codes: set[str] = set()
    try:
        with deadline(spec.get("timeout_s") or 30):
            lines = cli_args(op, spec, paths, ctx)
            for i, args in enumerate(lines):
                r = runner.invoke(ctx.cli_app, args, input=spec.get("stdin"), env=ctx.cli_env)
                texts.append(r.output)
                if r.exception is not None and not isinstance(r.exception, SystemExit):
                    return Outcome("cli", "crash", texts=texts, message=repr(r.exception),
                                   problems=[f"`lexiquery {args[0]}` raised "
                                             f"{type(r.exception).__name__}: {r.exception}"])
                if r.exit_code != 0:
                    return _cli_failure(op, r.output, r.exit_code, texts, i == 0)
    except Overtime as e:
        return Outcome("cli", "crash", texts=texts, problems=[str(e)])
    return Outcome("cli", "ok", texts=texts, codes=codes)


def _cli_failure(op: str, output: str, exit_code: int, texts: list[str],
                 first: bool) -> Outcome:
    m = ERROR_LINE.search(output)
    if m:
        line = output[m.start():].splitlines()[0]
        return Outcome("cli", "refused", message=line, codes={WILDCARD}, texts=texts,
                       position=bool(POSITION_TEXT.search(output)))
    if exit_code == 1 and op in REPORTS_INVALID and first:
        return Outcome("cli", "invalid", message="exit 1", codes={WILDCARD}, texts=texts)
    return Outcome("cli", "crash", texts=texts, message=f"exit {exit_code}",
                   problems=[f"exit {exit_code} without an `error:` line"])


# ── Python API ───────────────────────────────────────────────────────────────────────────────

def _python_call(op: str, spec: dict[str, Any], paths: Paths, ctx: Any) -> Any:
    import lexiquery
    from lexiquery.dialects.reading import guess_platform

    text = spec.get("text")
    if op in ("run", "validate", "translate", "explain"):
        platform = spec.get("platform") or guess_platform(text)
        dialect = spec.get("dialect")
        if op == "run":
            return lexiquery.run_query(text, platform, sql_dialect=dialect)
        if op == "validate":
            return lexiquery.validate_query(text, platform, sql_dialect=dialect,
                                            execute_sample=not spec.get("no_execute"))
        if op == "translate":
            return lexiquery.translate_query(text, platform, spec.get("to") or "kql",
                                             from_dialect=dialect)
        return lexiquery.explain_query(text, platform, sql_dialect=dialect)
    if op in ("ask", "source"):
        return lexiquery.ask(**ask_arguments(spec))
    if op == "upload":
        from lexiquery.config import get_settings
        from lexiquery.knowledge.store import ProcedureStore

        files = write_inputs(spec, paths.inputs / spec["_case"].replace("/", "_"))
        with ProcedureStore(get_settings()) as store:
            return [store.add_bytes(f.name, f.read_bytes()) for f in files]
    raise ValueError(f"the Python API has no op {op!r}")


def run_python(op: str, spec: dict[str, Any], paths: Paths, ctx: Any) -> Outcome:
    from lexiquery.errors import LexiQueryError, QueryError

    try:
        with deadline(spec.get("timeout_s") or 30):
            result = _python_call(op, spec, paths, ctx)
    except LexiQueryError as e:
        pos = (e.line is not None) if isinstance(e, QueryError) else None
        return Outcome("python", "refused", message=e.message, position=pos,
                       codes={e.code} | issue_codes(e.issues),
                       texts=[e.message, e.hint or "", *strings(e.issues)])
    except Overtime as e:
        return Outcome("python", "crash", problems=[str(e)])
    except Exception as e:  # noqa: BLE001 — exactly what the corpus looks for
        return Outcome("python", "crash", message=repr(e),
                       problems=[f"raised {type(e).__name__} (not a LexiQueryError): {e}"[:300]])
    data = _dump(result)
    return judge_result("python", data, list(strings(data)))


def _dump(result: Any) -> Any:
    if isinstance(result, list):
        return [_dump(r) for r in result]
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    return result


def register_first(url: str) -> None:
    """Register `url` directly in the registry (a case's precondition; errors are ignored)."""
    from lexiquery.config import get_settings
    from lexiquery.errors import LexiQueryError
    from lexiquery.registry.registry import Registry

    try:
        asyncio.run(Registry(get_settings()).register(url))
    except LexiQueryError:
        pass

