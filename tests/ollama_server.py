"""A stand-in for a real Ollama server (which needs model weights this machine does not have).

It speaks Ollama's HTTP wire format — `GET /api/tags`, `POST /api/show`, `POST /api/embed`,
`GET /api/version` — on 127.0.0.1, so the real `ollama` client on our side is exercised end to
end. Embeddings are deterministic "meaning" vectors: each word maps to a concept (synonyms share
one, e.g. "lockout" / "locked"), each concept to a fixed pseudo-random unit vector, and a text's
vector is the normalised sum — so texts that share meaning but not words are close, which is
what makes dense retrieval differ from BM25 in the tests.

Behaviour is scripted through attributes: `models` (what /api/tags lists), `fail_embed` (HTTP
status to answer /api/embed with), `delay_s` (sleep before answering), `drop_counters` (omit
prompt_eval_count and durations), `wrong_count` (return one vector fewer). `requests` records
every (method, path, body).

`POST /api/chat` answers from `chat_script`, one entry per request, in order:

* a dict without "status"/"delay_s" keys (a plan) → sent as JSON text in `message.content`;
* a str → sent as the content as is (e.g. invalid JSON);
* `{"status": 404, "error": "model 'llama3' not found"}` → that HTTP error;
* `{"delay_s": 2.0, "reply": <entry>}` → sleep, then answer with `reply` (default "{}");
* any entry may carry `"omit_counters": True` (or set `drop_counters`): no usage counters.

An exhausted script answers 500 "chat script exhausted", so a test calling more than it
scripted fails visibly. Counters are deterministic: prompt_eval_count = whitespace tokens of
all messages' contents, eval_count = whitespace tokens of the reply, durations in ns.
`FakeOllama(chat_model="llama3")` also lists that model in /api/tags.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIM = 64
SYNONYMS = {
    "lockout": "lockout", "locked": "lockout", "frozen": "lockout", "lock": "lockout", "lockouts": "lockout",
    "brute": "guessing", "spray": "guessing", "spraying": "guessing", "guessing": "guessing",
    "guess": "guessing", "password": "password", "passwords": "password",
    "signin": "signin", "sign": "signin", "login": "signin", "logon": "signin",
    "logins": "signin", "failed": "fail", "failure": "fail", "failures": "fail", "fail": "fail",
    "unsuccessful": "fail", "dns": "dns", "domain": "dns", "resolution": "dns",
}
_WORD = re.compile(r"[a-z0-9]+")


def _concept_vector(concept: str) -> list[float]:
    seed = hashlib.sha256(concept.encode()).digest()
    raw = [(seed[i % 32] ^ (i * 37 % 251)) / 255.0 - 0.5 for i in range(DIM)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def embed_text(text: str) -> list[float]:
    """The vector this server returns for `text` (task prefixes are ignored)."""
    text = re.sub(r"^(search_document|search_query):\s*", "", text.lower())
    acc = [0.0] * DIM
    for w in _WORD.findall(text):
        v = _concept_vector(SYNONYMS.get(w, w))
        acc = [a + b for a, b in zip(acc, v)]
    norm = math.sqrt(sum(x * x for x in acc)) or 1.0
    return [x / norm for x in acc]


class FakeOllama:
    def __init__(self, models: tuple[str, ...] = ("nomic-embed-text:latest",), *,
                 chat_model: str | None = None) -> None:
        self.models = list(models)
        if chat_model:
            self.models.append(chat_model if ":" in chat_model else f"{chat_model}:latest")
        self.chat_script: list[Any] = []
        self.fail_embed: int | None = None
        self.delay_s = 0.0
        self.drop_counters = False
        self.wrong_count = False
        self.requests: list[tuple[str, str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, paid by every test.
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def embed_requests(self) -> list[Any]:
        return [b for m, p, b in self.requests if p == "/api/embed"]

    def chat_requests(self) -> list[Any]:
        """Bodies of every /api/chat request received (model, messages, format, options)."""
        return [b for m, p, b in self.requests if p == "/api/chat"]

    def chat_reply(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one /api/chat request: the next scripted entry."""
        if not self.chat_script:
            return 500, {"error": "chat script exhausted"}
        entry = self.chat_script.pop(0)
        omit = self.drop_counters
        if isinstance(entry, dict) and "delay_s" in entry:
            time.sleep(float(entry["delay_s"]))
            omit = omit or bool(entry.get("omit_counters"))
            entry = entry.get("reply", "{}")
        if isinstance(entry, dict) and "status" in entry:
            return int(entry["status"]), {"error": entry.get("error", "scripted failure")}
        if isinstance(entry, dict):
            omit = omit or bool(entry.get("omit_counters"))
            content = json.dumps({k: v for k, v in entry.items() if k != "omit_counters"})
        else:
            content = str(entry)
        model = body.get("model", "")
        out: dict[str, Any] = {"model": model, "created_at": "2026-11-01T00:00:00Z",
                               "message": {"role": "assistant", "content": content},
                               "done": True, "done_reason": "stop"}
        if not omit:
            prompt = sum(len(str(m.get("content", "")).split())
                         for m in body.get("messages") or [])
            completion = len(content.split())
            out.update(prompt_eval_count=prompt, eval_count=completion,
                       load_duration=1_000_000, prompt_eval_duration=prompt * 100_000,
                       eval_duration=completion * 1_000_000,
                       total_duration=1_000_000 + prompt * 100_000 + completion * 1_000_000)
        return 200, out

    def __enter__(self) -> "FakeOllama":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self):  # type: ignore[no-untyped-def]
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet test output
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a timeout test): nothing to answer

            def _body(self) -> Any:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                return json.loads(raw) if raw else None

            def do_GET(self) -> None:  # noqa: N802 — http.server's naming
                fake.requests.append(("GET", self.path, None))
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                if self.path == "/api/tags":
                    self._send(200, {"models": [
                        {"name": m, "model": m, "modified_at": "2026-11-01T00:00:00Z",
                         "size": 274302450, "digest": hashlib.sha256(m.encode()).hexdigest(),
                         "details": {"format": "gguf", "family": "nomic-bert",
                                     "parameter_size": "137M", "quantization_level": "F16"}}
                        for m in fake.models]})
                elif self.path == "/api/version":
                    self._send(200, {"version": "0.13.0"})
                else:
                    self._send(404, {"error": "404 page not found"})

            def do_POST(self) -> None:  # noqa: N802
                body = self._body()
                fake.requests.append(("POST", self.path, body))
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                model = (body or {}).get("model", "")
                known = model in fake.models or f"{model}:latest" in fake.models
                if self.path == "/api/chat":
                    if not known:
                        self._send(404, {"error": f"model '{model}' not found"})
                        return
                    self._send(*fake.chat_reply(body or {}))
                elif self.path == "/api/show":
                    if not known:
                        self._send(404, {"error": f"model '{model}' not found"})
                    else:
                        self._send(200, {"modelfile": "", "parameters": "", "template": "",
                                         "details": {"family": "nomic-bert"},
                                         "model_info": {"nomic-bert.embedding_length": DIM}})
                elif self.path == "/api/embed":
                    if fake.fail_embed:
                        self._send(fake.fail_embed, {"error": "scripted failure"})
                        return
                    if not known:
                        self._send(404, {"error": f'model "{model}" not found, try pulling it '
                                                  f'first'})
                        return
                    inputs = body.get("input", [])
                    inputs = [inputs] if isinstance(inputs, str) else inputs
                    vectors = [embed_text(t) for t in inputs]
                    if fake.wrong_count and vectors:
                        vectors = vectors[:-1]
                    out: dict[str, Any] = {"model": model, "embeddings": vectors}
                    if not fake.drop_counters:
                        out.update(total_duration=1_200_000 * len(inputs),
                                   load_duration=100_000,
                                   prompt_eval_count=sum(len(t.split()) + 2 for t in inputs))
                    self._send(200, out)
                else:
                    self._send(404, {"error": "404 page not found"})

        return Handler
