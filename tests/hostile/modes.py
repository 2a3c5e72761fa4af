"""The `modes` op: a fresh data directory, filled through one surface, must be private — every
directory 0700, every file 0600 (issue 12: `lexiquery.db` was 0644 next to a 0600
`registry.json`). The process umask is left as it is (022 here), so only modes LexiQuery sets
itself pass."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path
from typing import Any

from hostile.env import Outcome, Paths

QUESTION = "failed sign-ins in the last 24 hours by user"
RUNBOOK = b"# SOP-900: Modes\n\n1. Check the failed sign-ins of the account.\n"


def loose_modes(root: Path) -> list[str]:
    """Paths under `root` (itself included) that group or others may read, write or enter."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for p in [Path(dirpath)] + [Path(dirpath) / f for f in filenames]:
            mode = stat.S_IMODE(p.lstat().st_mode)
            if not p.is_symlink() and mode & 0o077:
                out.append(f"{p.relative_to(root.parent)} is {mode:04o}")
    return out


def _fill(surface: str, fresh: Path, ctx: Any) -> list[str]:
    """Use `surface` on the data directory `fresh`; the texts it answered."""
    from lexiquery.config import get_settings

    if surface == "cli":
        from hostile.surfaces_local import runner

        r = runner.invoke(ctx.cli_app, ["ask", QUESTION],
                                    env={"LEXIQUERY_DATA_DIR": str(fresh)})
        return [r.output]
    if surface == "python":
        import lexiquery

        old = os.environ["LEXIQUERY_DATA_DIR"]
        os.environ["LEXIQUERY_DATA_DIR"] = str(fresh)
        try:
            return [lexiquery.ask(QUESTION).journey_id]
        finally:
            os.environ["LEXIQUERY_DATA_DIR"] = old
    if surface == "http":
        from fastapi.testclient import TestClient

        from lexiquery.serve.app import create_app

        with TestClient(create_app(get_settings(data_dir=fresh))) as c:
            a = c.post("/api/v1/query", json={"question": QUESTION})
            b = c.post("/api/v1/procedures/upload", files=[("files", ("sop-900.md", RUNBOOK))])
            return [a.text, b.text]
    if surface == "mcp":
        from mcp import Client

        from lexiquery.serve.mcp_server import create_mcp_server

        async def call() -> str:
            async with Client(create_mcp_server(get_settings(data_dir=fresh))) as client:
                r = await client.call_tool("generate_query", {"question": QUESTION})
                return " ".join(getattr(c, "text", "") for c in r.content)

        return [ctx.portal().call(call)]
    raise ValueError(f"no modes check for {surface!r}")


def run_modes(surface: str, spec: dict[str, Any], paths: Paths, ctx: Any) -> Outcome:
    fresh = paths.data / f"modes-{surface}-{uuid.uuid4().hex[:6]}"
    texts = _fill(surface, fresh, ctx)
    if not fresh.exists():
        return Outcome(surface, "crash", texts=texts,
                       problems=[f"nothing was stored in {fresh.name}"])
    loose = loose_modes(fresh)
    return Outcome(surface, "ok", texts=texts,
                   problems=[f"not private: {', '.join(loose[:6])}"] if loose else [])
