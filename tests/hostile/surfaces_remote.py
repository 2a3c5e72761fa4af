"""The served surfaces: HTTP (`create_app` through starlette's TestClient), MCP (the SDK's own
`Client`, in memory) and A2A (the a2a-sdk client against the app's agents, served on 127.0.0.1).

HTTP: a 500 is a crash; another 4xx/5xx must carry the `{error, message}` body; an agent's
internal failure (`agent_failed`, `internal_error`) is a crash whatever its status. MCP: an
``is_error`` result is a refusal — a crash when its text is the SDK's bare "Error executing
tool". A2A: a FAILED task is a refusal, a crash when its error is the agent's internal one.
Queries pasted into run/validate reach HTTP and A2A through the validator agent
(`validate_queries`), as a hostile peer would send them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hostile.common import (INTERNAL_CODES, POSITION, WILDCARD, Overtime, ask_arguments,
                            deadline, issue_codes, judge_result, strings, validator_input)
from hostile.env import Outcome, Paths
from hostile.files import file_specs, make_file

# ── HTTP ─────────────────────────────────────────────────────────────────────────────────────


def _http_request(op: str, spec: dict[str, Any], ctx: Any) -> list[tuple[str, str, dict]]:
    """(method, path, request kwargs) of the case, in order."""
    headers = dict(spec.get("headers") or {})
    if op in ("run", "validate"):
        body = {"agent": "validator", "skill": "validate_queries", "input": validator_input(
            spec, sample_check=not spec.get("no_execute"))}
        return [("POST", "/a2a/task/invoke", {"json": body, "headers": headers})]
    if op in ("ask", "source"):
        return [("POST", "/api/v1/query", {"json": ask_arguments(spec), "headers": headers})]
    if op == "history":
        jid = ctx.stored_journey(spec["question"])
        return [("GET", "/api/v1/journeys", {}), ("GET", f"/api/v1/journeys/{jid}", {})]
    if op == "journey":
        return [("GET", "/api/v1/journeys/" + quote(spec["journey"], safe=""), {})]
    if op == "search":
        return [("POST", "/api/v1/procedures/search", {"json": {"query": spec["search"]}})]
    if op == "skill":
        body = {"agent": spec["agent"], "skill": spec["skill"], "input": spec.get("input")}
        return [("POST", "/a2a/task/invoke", {"json": body, "headers": headers})]
    if op == "http":
        kwargs: dict[str, Any] = {"headers": headers}
        if "json" in spec:
            kwargs["json"] = spec["json"]
        elif "body" in spec:
            kwargs["content"] = spec["body"].encode("utf-8", "surrogatepass")
        return [(spec.get("method") or "GET", spec["path"], kwargs)]
    if op == "register":
        if spec.get("first"):
            ctx.register_first(spec["first"])
        if spec.get("auth") == "admin":
            headers.setdefault("Authorization", f"Bearer {ctx.admin_key()}")
        return [("POST", "/a2a/agents/register", {"json": {"url": spec["url"]},
                                                  "headers": headers})]
    if op == "upload":
        files = [("files", make_file(f)) for f in file_specs(spec)]
        data = {"tags": ",".join(spec["tags"])} if spec.get("tags") else None
        return [("POST", "/api/v1/procedures/upload", {"files": files, "data": data,
                                                       "headers": headers})]
    raise ValueError(f"HTTP has no op {op!r}")


def run_http(op: str, spec: dict[str, Any], paths: Paths, ctx: Any) -> Outcome:
    texts: list[str] = []
    try:
        with deadline(spec.get("timeout_s") or 30):
            requests = _http_request(op, spec, ctx)  # may use the loopback client itself
            client = ctx.http_client(spec.get("client") or "remote")
            for method, path, kwargs in requests:
                r = client.request(method, path, **_json_as_ascii(kwargs))
                outcome = _http_outcome(r, texts)
                if outcome.kind in ("refused", "crash"):
                    return outcome
                if op == "upload":
                    outcome.texts += _stored_documents(client, outcome.data.get("body"))
            return outcome
    except Overtime as e:
        return Outcome("http", "crash", texts=texts, problems=[str(e)])


def _json_as_ascii(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A JSON body encoded here, ASCII-escaped: a lone surrogate in a case must reach the server
    as the escape a hostile client would send, not fail in the client's UTF-8 encoder."""
    if "json" not in kwargs:
        return kwargs
    out = dict(kwargs)
    headers = dict(out.get("headers") or {})
    if not any(k.lower() == "content-type" for k in headers):
        headers["content-type"] = "application/json"
    out["content"] = json.dumps(out.pop("json")).encode("ascii")
    out["headers"] = headers
    return out


def _http_outcome(r: Any, texts: list[str]) -> Outcome:
    headers = {k.lower(): v for k, v in r.headers.items()}
    try:
        body = r.json() if r.content else None
    except ValueError:
        body = None
    texts += [r.text, *strings(headers)]
    data = {"status": r.status_code, "headers": headers, "body": body}
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code")) if isinstance(error, dict) else error
    problems = []
    if r.status_code >= 500 and r.status_code not in (502, 503, 504) or code in INTERNAL_CODES:
        problems.append(f"HTTP {r.status_code} {code or ''}: {r.text[:200]}")
    if r.status_code >= 400:
        message = _error_message(r.request.url.path, body, r.text)
        if not message:
            problems.append(f"HTTP {r.status_code} without an {{error, message}} body: "
                            f"{r.text[:200]!r}")
        return Outcome("http", "crash" if problems else "refused", message=message,
                       codes={str(code)} | issue_codes(body.get("issues") if
                                                       isinstance(body, dict) else None),
                       texts=texts, problems=problems, data=data,
                       position=bool(POSITION.search(message)))
    out = judge_result("http", body, texts)
    out.data, out.problems = data, problems
    return out


def _error_message(path: str, body: Any, text: str) -> str:
    """The message of an error response: the app's `{error, message}`, a JSON-RPC error's
    message on the protocol endpoints, or (only from the MCP SDK's own transport checks on
    /mcp) any text at all. Empty when there is none."""
    if isinstance(body, dict):
        if isinstance(body.get("error"), str) and body.get("message"):
            return str(body["message"])
        if isinstance(body.get("error"), dict) and body["error"].get("message"):
            return str(body["error"]["message"])
    return text.strip() if path.startswith("/mcp") else ""


def _stored_documents(client: Any, body: Any) -> list[str]:
    """The full text of every document an upload stored (scanned for canaries)."""
    out = []
    for result in (body or {}).get("results", []) if isinstance(body, dict) else []:
        doc = result.get("document") if isinstance(result, dict) else None
        ref = doc.get("id") if isinstance(doc, dict) else None
        if ref:
            out.append(client.get(f"/api/v1/procedures/{ref}").text)
    return out


# ── MCP ──────────────────────────────────────────────────────────────────────────────────────

def _mcp_call(op: str, spec: dict[str, Any], ctx: Any) -> tuple[str, dict[str, Any]]:
    q = {"query": spec.get("text")}
    if spec.get("platform"):
        q["platform"] = spec["platform"]
    if spec.get("dialect"):
        q["sql_dialect"] = spec["dialect"]
    if op == "run":
        return "run_query_on_sample", q
    if op == "validate":
        return "validate_query", q
    if op == "explain":
        return "explain_query", q
    if op == "translate":
        q["to_platform"] = spec.get("to") or "kql"
        if "platform" in q:
            q["from_platform"] = q.pop("platform")
        return "translate_query", q
    if op in ("ask", "source"):
        return "generate_query", ask_arguments(spec)
    if op == "history":
        return "get_journey", {"journey_id": ctx.stored_journey(spec["question"])}
    if op == "journey":
        return "get_journey", {"journey_id": spec["journey"]}
    if op == "search":
        return "search_procedures", {"query": spec["search"]}
    if op == "mcp_tool":
        return spec["tool"], dict(spec.get("arguments") or {})
    raise ValueError(f"MCP has no op {op!r}")


def run_mcp(op: str, spec: dict[str, Any], paths: Paths, ctx: Any) -> Outcome:
    name, args = _mcp_call(op, spec, ctx)
    try:
        result = ctx.mcp_call(name, args, timeout_s=spec.get("timeout_s") or 30)
    except TimeoutError:
        return Outcome("mcp", "crash", problems=[f"{name}: no answer within "
                                                 f"{spec.get('timeout_s') or 30} s"])
    text = " ".join(getattr(c, "text", "") for c in result.content)
    if result.is_error:
        return Outcome("mcp", "refused", message=text, codes={WILDCARD}, texts=[text],
                       position=bool(POSITION.search(text)))
    data = result.structured_content
    return judge_result("mcp", data, [text, *strings(data)])


# ── A2A ──────────────────────────────────────────────────────────────────────────────────────

def _a2a_call(op: str, spec: dict[str, Any]) -> tuple[str, str, Any]:
    if op in ("run", "validate"):
        return "validator", "validate_queries", validator_input(
            spec, sample_check=not spec.get("no_execute"))
    if op in ("ask", "source"):
        return "planner", "create_plan", ask_arguments(spec, dialect=False)
    if op == "search":
        return "knowledge-sop", "search_procedures", {"text": spec["search"]}
    if op == "skill":
        return spec["agent"], spec["skill"], spec.get("input")
    raise ValueError(f"A2A has no op {op!r}")


def run_a2a(op: str, spec: dict[str, Any], paths: Paths, ctx: Any) -> Outcome:
    timeout = spec.get("timeout_s") or 30
    try:
        if op == "a2a_raw":
            status, body = ctx.a2a_raw(spec.get("agent") or "planner", spec["body"],
                                       timeout_s=timeout)
            return _raw_outcome(status, body)
        agent, skill, payload = _a2a_call(op, spec)
        reply = ctx.a2a_send(agent, {"skill": skill, "input": payload}, timeout_s=timeout)
    except TimeoutError:
        return Outcome("a2a", "crash", problems=[f"no answer within {timeout} s"])
    return _task_outcome(reply)


def _task_outcome(reply: dict[str, Any]) -> Outcome:
    """`reply`: {"state", "data", "texts"} from `Harness.a2a_send`, or {"error": text}."""
    if "error" in reply:  # the SDK client raised: a protocol-level refusal
        text = reply["error"]
        problems = [f"the A2A client failed: {text[:200]}"] if not text.strip() else []
        return Outcome("a2a", "crash" if problems else "refused", message=text,
                       codes={WILDCARD}, texts=[text], problems=problems)
    texts = list(reply.get("texts") or []) + list(strings(reply.get("data")))
    if reply["state"] == "failed":
        err = (reply.get("data") or {}).get("error") or {}
        code = str(err.get("error") or "")
        message = str(err.get("message") or " ".join(reply.get("texts") or []))
        problems = [f"the agent failed internally: {message}"] if code in INTERNAL_CODES \
            else ([] if message.strip() else ["a failed task without a message"])
        return Outcome("a2a", "crash" if problems else "refused", message=message,
                       codes={code} | issue_codes(err.get("issues")), texts=texts,
                       problems=problems, position=bool(POSITION.search(message)))
    if reply["state"] != "completed":
        return Outcome("a2a", "crash", texts=texts,
                       problems=[f"the task ended {reply['state']}"])
    return judge_result("a2a", reply.get("data"), texts)


def _raw_outcome(status: int, body: str) -> Outcome:
    texts = [body]
    if status >= 500:
        return Outcome("a2a", "crash", texts=texts, problems=[f"HTTP {status}: {body[:200]}"])
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if status >= 400:
        return Outcome("a2a", "refused", message=body[:300], codes={WILDCARD}, texts=texts)
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        err = doc["error"]
        message = str(err.get("message") or "")
        problems = [] if message.strip() else ["a JSON-RPC error without a message"]
        if "internal" in message.lower() and "Traceback" in body:
            problems.append("an internal error with a traceback")
        return Outcome("a2a", "crash" if problems else "refused", message=message,
                       codes={str(err.get("code"))}, texts=texts, problems=problems)
    task = (doc or {}).get("result", {}).get("task") if isinstance(doc, dict) else None
    state = str((task or {}).get("status", {}).get("state", "")).lower()
    if "failed" in state or "rejected" in state:
        return Outcome("a2a", "refused", message=body[:300], codes={WILDCARD}, texts=texts)
    return Outcome("a2a", "ok", texts=texts, data=doc)
