"""`lexiquery doctor`: is this machine ready — Ollama, its models, the engine `ask` will use,
embeddings, the cost store, the data directory.

Every check is a read: one `/api/version` and one `/api/tags` request to the configured Ollama
(nothing else leaves the machine), a ping of the cost store, a temporary file written and
removed in the data directory. Exit 0 whatever it finds (it is a report), unless `--strict`:
then 1 when the LLM path is not available, for scripts that need it. Registered on the main
app by `lexiquery.cli`.
"""

from __future__ import annotations

import json
import tempfile
from typing import TYPE_CHECKING, Any

import typer

from lexiquery.cli.app import app

if TYPE_CHECKING:  # `lexiquery --help` must not import pydantic
    from lexiquery.config import Settings

PROBE_TIMEOUT_S = 3.0  # a doctor that hangs on a dead host helps nobody


def _ollama(settings: Settings) -> tuple[dict[str, Any], set[str] | None]:
    """(the report's "ollama" part, installed model names or None when unreachable)."""
    import httpx
    import ollama

    from lexiquery.llm.client import short_error

    out: dict[str, Any] = {"host": settings.ollama_host, "reachable": False, "version": None,
                           "error": None}
    try:
        listed = ollama.Client(host=settings.ollama_host, timeout=PROBE_TIMEOUT_S).list()
    except Exception as e:  # noqa: BLE001 — refused, DNS, timeout: the answer is "unreachable"
        out["error"] = f"Ollama is not reachable at {settings.ollama_host} ({short_error(e)})"
        return out, None
    out["reachable"] = True
    try:
        r = httpx.get(settings.ollama_host.rstrip("/") + "/api/version",
                      timeout=PROBE_TIMEOUT_S)
        out["version"] = r.json().get("version") if r.status_code == 200 else None
    except Exception:  # noqa: BLE001,S110 — the version is a nicety; reachability is settled
        pass
    return out, {m.model for m in listed.models if m.model}


def doctor_report(settings: Settings) -> dict[str, Any]:
    """Everything `doctor` prints, as plain data (the `--json` output)."""
    from lexiquery.llm.client import model_names_match

    ollama_part, names = _ollama(settings)
    models = []
    for role, name in (("chat", settings.chat_model), ("embedding", settings.embed_model)):
        present = None if names is None else model_names_match(name, names)
        models.append({"role": role, "name": name, "present": present,
                       "hint": f"run `ollama pull {name}`" if present is False else None})
    chat_present = models[0]["present"]
    if settings.llm == "off":
        engine = {"engine": "rules", "model": None,
                  "reason": "the LLM is switched off (LEXIQUERY_LLM=off)"}
    elif names is None:
        engine = {"engine": "rules", "model": None, "reason": ollama_part["error"]}
    elif not chat_present:
        engine = {"engine": "rules", "model": None,
                  "reason": f"the chat model {settings.chat_model} is not installed "
                            f"(run `ollama pull {settings.chat_model}`)"}
    else:
        engine = {"engine": "llm", "model": settings.chat_model, "reason": None}
    if not settings.embeddings:
        emb = {"enabled": False, "model": settings.embed_model,
               "reason": "switched off (LEXIQUERY_EMBEDDINGS=0): runbook search uses BM25 only"}
    elif names is None or not models[1]["present"]:
        emb = {"enabled": False, "model": settings.embed_model,
               "reason": "runbook search uses BM25 only: "
                         + (ollama_part["error"] if names is None else
                            f"run `ollama pull {settings.embed_model}`")}
    else:
        emb = {"enabled": True, "model": settings.embed_model, "reason": None}
    return {"ollama": ollama_part, "models": models, "engine": engine, "embeddings": emb,
            "cost_store": _cost(settings), "data_dir": _data_dir(settings),
            "llm_available": engine["engine"] == "llm"}


def _cost(settings: Settings) -> dict[str, Any]:
    from lexiquery.cost.redis_store import safe_url  # never print a Redis password

    where = safe_url(settings.redis_url) if settings.cost_backend == "redis" \
        else str(settings.cost_db_path)
    out: dict[str, Any] = {"backend": settings.cost_backend, "where": where, "ok": None,
                           "error": None}
    try:
        from lexiquery.cost.store import open_cost_store
    except ImportError:
        out["error"] = "cost tracking is not installed in this version"
        return out
    try:
        store = open_cost_store(settings)
        try:
            store.ping()
        finally:
            store.close()
        out["ok"] = True
    except Exception as e:  # noqa: BLE001 — StorageError with a hint, or a driver error
        out["ok"] = False
        hint = getattr(e, "hint", None)
        out["error"] = str(getattr(e, "message", e)) + (f" ({hint})" if hint else "")
    return out


def _data_dir(settings: Settings) -> dict[str, Any]:
    from lexiquery.private_files import private_dir

    path = settings.data_dir
    try:
        private_dir(path)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-", delete=True) as f:
            f.write(b"ok")
        return {"path": str(path), "writable": True, "error": None}
    except OSError as e:
        return {"path": str(path), "writable": False,
                "error": f"cannot write in {path} ({e.strerror or e}); set LEXIQUERY_DATA_DIR "
                         "to a writable directory"}


def _print(report: dict[str, Any]) -> None:
    """One line per check. Hosts, model names, paths and errors come from settings and the
    machine: they are printed as `Text`, styled only by the mark in front."""
    from rich.text import Text

    from lexiquery.render.console import terminal

    con = terminal(soft_wrap=True)

    def mark(v: bool | None) -> tuple[str, str]:
        return ("ok", "green") if v else ("?", "yellow") if v is None else ("no", "red")

    def line(state: tuple[str, str], text: str) -> None:
        con.print(Text.assemble(state, "  ", text))

    o = report["ollama"]
    detail = f"version {o['version']}" if o["version"] else (o["error"] or "")
    line(mark(o["reachable"]), f"Ollama at {o['host']}  {detail}")
    for m in report["models"]:
        extra = m["hint"] or ("" if m["present"] else "not checked: Ollama is not reachable")
        line(mark(m["present"]), f"{m['role']} model {m['name']}  {extra}")
    e = report["engine"]
    if e["engine"] == "llm":
        line(mark(True), f"`ask` will use the LLM ({e['model']}), the rules engine as its "
                         "fallback")
    else:
        line(("--", "yellow"), f"`ask` will use the rules engine: {e['reason'] or ''}")
    emb = report["embeddings"]
    line(mark(emb["enabled"]), f"embeddings ({emb['model']})  {emb['reason'] or 'on'}")
    c = report["cost_store"]
    line(mark(c["ok"]), f"cost store ({c['backend']}: {c['where']})  {c['error'] or ''}")
    d = report["data_dir"]
    line(mark(d["writable"]), f"data directory {d['path']}  {d['error'] or ''}")


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    strict: bool = typer.Option(False, "--strict",
                                help="Exit 1 when the LLM path is not available."),
) -> None:
    """Check Ollama, its models, which engine `ask` will use, embeddings, the cost store and
    the data directory.

    \b
    Example:
      lexiquery doctor
      lexiquery doctor --json --strict
    """
    from lexiquery.config import get_settings

    report = doctor_report(get_settings())
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print(report)
    if strict and not report["llm_available"]:
        raise typer.Exit(1)


__all__ = ["doctor", "doctor_report"]
