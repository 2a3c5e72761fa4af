"""The Ollama chat client the planner writes plans with, and whether it can be used now.

    chat = OllamaChat(settings)
    a = chat.availability()              # off | unreachable | model_missing | ok, cached ~30 s
                                         # (await chat.aavailability() inside an event loop)
    reply = await chat.chat(messages, format=QueryPlan.model_json_schema())   # or ChatFailed

Availability is cached process-wide, keyed by (host, model): the planner builds a client per
journey, and probing Ollama on every question would add a round trip to each one. A chat that
answers 404 "model not found" forgets the cached answer (the model was removed since the probe).

Only `/api/tags` and `/api/chat` of the configured host are called — never the client's hosted
extras (`web_search`, `web_fetch`), which would send data off the machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lexiquery.config import Settings
from lexiquery.llm.embeddings import Availability, EmbedderStatus

AVAILABILITY_TTL_S = 30.0

_cache: dict[tuple[str, str], tuple[float, Availability]] = {}
_cache_lock = threading.Lock()


def forget_availability(host: str | None = None, model: str | None = None) -> None:
    """Drop cached answers (all, or one host/model's): the next check probes Ollama again."""
    with _cache_lock:
        for key in [k for k in _cache if (host is None or k[0] == host)
                    and (model is None or k[1] == model)]:
            del _cache[key]


@dataclass(frozen=True)
class ChatReply:
    """One chat answer and its usage as Ollama reported it (None: counter missing, unknown)."""

    content: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    compute_s: float | None
    latency_ms: float


class ChatFailed(Exception):
    """A chat request did not produce an answer. `status`: timeout | connection |
    model_missing | error (any other failure); `reason` is a sentence a user can act on."""

    def __init__(self, reason: str, status: str, latency_ms: float = 0.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.latency_ms = latency_ms


def model_names_match(wanted: str, names: set[str]) -> bool:
    """Ollama lists "llama3:latest" for a model pulled as "llama3"."""
    return bool(names & ({wanted, f"{wanted}:latest"} if ":" not in wanted else {wanted}))


def short_error(e: BaseException) -> str:
    """A short cause for a failed request (the client's own connection text is an advert)."""
    # deferred: httpx loads only when a service is called
    import httpx

    if isinstance(e, (ConnectionError, httpx.ConnectError)):
        return "connection refused"
    if isinstance(e, (httpx.TimeoutException, asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]


class OllamaChat:
    """Chat with `settings.chat_model` at `settings.ollama_host` through `ollama.AsyncClient`.

    One instance per journey is cheap: it opens its HTTP client lazily and shares the
    process-wide availability cache. Use it inside one event loop (the httpx client is bound
    to the loop it first ran in)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host = settings.ollama_host
        self.model = settings.chat_model
        self.timeout_s = settings.llm_timeout_s
        self._client: Any = None
        # Wall time of the last chat, failed or not: a usage row of a failed call needs it,
        # and `on_call` of the LLM path gets no reply then (see nl.llm).
        self.last_latency_ms: float | None = None

    def _ollama(self) -> Any:
        if self._client is None:
            # deferred: the Ollama client loads only when a model is called
            import ollama

            self._client = ollama.AsyncClient(host=self.host, timeout=self.timeout_s)
        return self._client

    def availability(self) -> Availability:
        """Whether `chat` can be used now; cached ~30 s per (host, model); never raises.

        Synchronous (one short `/api/tags` request through `ollama.Client`, at most once per
        TTL) so the planner can decide before it starts an event loop; inside a loop use
        `aavailability`."""
        if self.settings.llm == "off":
            return Availability(EmbedderStatus.off,
                                "the LLM is switched off (LEXIQUERY_LLM=off)")
        key = (self.host, self.model)
        with _cache_lock:
            hit = _cache.get(key)
            if hit and time.monotonic() - hit[0] < AVAILABILITY_TTL_S:
                return hit[1]
        answer = self._probe()
        with _cache_lock:
            _cache[key] = (time.monotonic(), answer)
        return answer

    async def aavailability(self) -> Availability:
        """`availability` without blocking the event loop while it probes."""
        with _cache_lock:
            hit = _cache.get((self.host, self.model))
        if self.settings.llm != "off" and hit and \
                time.monotonic() - hit[0] < AVAILABILITY_TTL_S:
            return hit[1]
        return await asyncio.to_thread(self.availability)

    def _probe(self) -> Availability:
        # deferred: the Ollama client loads only when a model is called
        import ollama

        try:
            # A probe must be quick whatever the chat timeout is: a dead host costs ≤ 5 s.
            listed = ollama.Client(host=self.host, timeout=min(self.timeout_s, 5.0)).list()
        except Exception as e:  # noqa: BLE001 — refused, DNS, timeout, bad answer: unreachable
            return Availability(EmbedderStatus.unreachable,
                                f"Ollama is not reachable at {self.host} ({short_error(e)})")
        names = {m.model for m in listed.models if m.model}
        if not model_names_match(self.model, names):
            return Availability(EmbedderStatus.model_missing,
                                f"the chat model {self.model} is not installed in Ollama at "
                                f"{self.host} (run `ollama pull {self.model}`)")
        return Availability(EmbedderStatus.ok)

    async def chat(self, messages: Sequence[dict[str, str]], *,
                   format: dict[str, Any]) -> ChatReply:
        """One non-streaming chat with structured output; `ChatFailed` on any failure."""
        # deferred: httpx loads only when a service is called
        import httpx

        # deferred: the Ollama client loads only when a model is called
        import ollama

        t0 = time.perf_counter()

        def ms() -> float:
            self.last_latency_ms = (time.perf_counter() - t0) * 1000
            return self.last_latency_ms

        try:
            # wait_for bounds the whole exchange (httpx's timeout is per read, not total).
            resp = await asyncio.wait_for(
                self._ollama().chat(model=self.model, messages=list(messages), format=format,
                                    stream=False,
                                    options={"temperature": 0,
                                             "num_predict": self.settings.llm_max_tokens}),
                timeout=self.timeout_s)
        except (TimeoutError, httpx.TimeoutException) as e:
            raise ChatFailed(f"the chat model {self.model} did not answer within "
                             f"{self.timeout_s:g} s", "timeout", ms()) from e
        except (ConnectionError, httpx.ConnectError) as e:
            forget_availability(self.host, self.model)
            raise ChatFailed(f"Ollama is not reachable at {self.host} (connection refused)",
                             "connection", ms()) from e
        except ollama.ResponseError as e:
            if e.status_code == 404:
                forget_availability(self.host, self.model)
                raise ChatFailed(f"the chat model {self.model} is not installed in Ollama at "
                                 f"{self.host} (run `ollama pull {self.model}`)",
                                 "model_missing", ms()) from e
            raise ChatFailed(f"Ollama answered {e.status_code}: {short_error(e)}", "error",
                             ms()) from e
        except Exception as e:
            raise ChatFailed(f"the chat with {self.model} failed ({short_error(e)})", "error",
                             ms()) from e
        total = resp.total_duration
        return ChatReply(content=(resp.message.content or "") if resp.message else "",
                         model=resp.model or self.model,
                         prompt_tokens=resp.prompt_eval_count,
                         completion_tokens=resp.eval_count,
                         compute_s=total / 1e9 if total is not None else None,
                         latency_ms=ms())

    async def aclose(self) -> None:
        """Close the HTTP connection (optional: it is also closed when collected)."""
        client, self._client = self._client, None
        if client is not None:
            inner = getattr(client, "_client", None)
            if inner is not None:
                await inner.aclose()


__all__ = ["AVAILABILITY_TTL_S", "ChatFailed", "ChatReply", "OllamaChat", "forget_availability",
           "model_names_match", "short_error"]
