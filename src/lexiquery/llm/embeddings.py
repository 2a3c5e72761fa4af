"""Embeddings for the SOP engine: the `Embedder` interface and its Ollama implementation.

Ollama (`/api/embed`) is the only embedder: it runs on the user's machine and nothing else is
called. When it is off, unreachable, or lacks the model, the SOP engine runs on BM25 alone and
says so — an embedder is an improvement, never a requirement.

nomic-embed-text was trained with task prefixes; documents and queries are embedded with
"search_document: " and "search_query: " as its model card prescribes (other models ignore them
harmlessly, and the prefix is a setting of the embedder, not of the store).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from lexiquery.config import Settings

BATCH = 32  # texts per /api/embed request: bounded request bodies, steady progress
AVAILABILITY_TTL_S = 30.0  # a reachability answer is reused this long (one probe per burst)


class EmbedderStatus(str, Enum):
    """Why embeddings can or cannot be used now: what `/health` reports, never parsed text."""

    ok = "ok"
    off = "off"  # switched off in the settings: Ollama is never called
    unreachable = "unreachable"  # no answer from the Ollama server
    model_missing = "model_missing"  # Ollama answers, the embedding model is not pulled
    failed = "failed"  # Ollama answered, but the last embedding request failed


@dataclass(frozen=True)
class Availability:
    """`status` and, unless it is ok, `reason`: words a user can act on."""

    status: EmbedderStatus
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status is EmbedderStatus.ok


class EmbeddingUnavailable(Exception):
    """The embedder cannot serve now; `reason` says why in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class EmbedCall:
    """One request's usage as the server reported it (None when the counter was missing)."""

    texts: int
    prompt_tokens: int | None
    total_ns: int | None
    latency_s: float


class Embedder(Protocol):
    model: str

    def available(self) -> tuple[bool, str]:
        """(usable now, why not) — cheap and cached; never raises."""
        ...

    def availability(self) -> Availability:
        """The same answer with its status: `available()` is `(a.ok, a.reason)`."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; `EmbeddingUnavailable` on any failure."""
        ...

    def embed_query(self, text: str) -> list[float]:
        ...


@dataclass
class OllamaEmbedder:
    """Embeddings from an Ollama server through the official client."""

    host: str
    model: str = "nomic-embed-text"
    timeout_s: float = 30.0
    document_prefix: str = "search_document: "
    query_prefix: str = "search_query: "
    calls: list[EmbedCall] = field(default_factory=list)
    _checked: tuple[float, Availability] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _http: object = field(default=None, repr=False)

    def _client(self):  # type: ignore[no-untyped-def]
        """One client per embedder: its HTTP connection is kept alive between requests."""
        # deferred: the Ollama client loads only when a model is called
        import ollama

        with self._lock:
            if self._http is None:
                self._http = ollama.Client(host=self.host, timeout=self.timeout_s)
            return self._http

    def available(self) -> tuple[bool, str]:
        a = self.availability()
        return a.ok, a.reason

    def availability(self) -> Availability:
        with self._lock:
            if self._checked and time.monotonic() - self._checked[0] < AVAILABILITY_TTL_S:
                return self._checked[1]
        answer = self._probe()
        with self._lock:
            self._checked = (time.monotonic(), answer)
        return answer

    def _probe(self) -> Availability:
        try:
            listed = self._client().list()
        except Exception as e:  # noqa: BLE001 — connection refused, DNS, timeout, bad answer
            return Availability(EmbedderStatus.unreachable,
                                f"Ollama is not reachable at {self.host} ({_short(e)})")
        names = {m.model for m in listed.models if m.model}
        wanted = {self.model, f"{self.model}:latest"} if ":" not in self.model else {self.model}
        if not names & wanted:
            return Availability(EmbedderStatus.model_missing,
                                f"the embedding model {self.model} is not installed in Ollama "
                                f"at {self.host} (run `ollama pull {self.model}`)")
        return Availability(EmbedderStatus.ok)

    def _forget(self, reason: str) -> None:
        with self._lock:
            self._checked = (time.monotonic(), Availability(EmbedderStatus.failed, reason))

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        client = self._client()
        out: list[list[float]] = []
        for i in range(0, len(texts), BATCH):
            batch = list(texts[i:i + BATCH])
            t0 = time.perf_counter()
            try:
                resp = client.embed(model=self.model, input=batch)
            except Exception as e:  # noqa: BLE001 — any failure means: no embeddings now
                reason = f"embedding with {self.model} at {self.host} failed ({_short(e)})"
                self._forget(reason)
                raise EmbeddingUnavailable(reason) from e
            vectors = [list(map(float, v)) for v in (resp.embeddings or [])]
            if len(vectors) != len(batch) or any(not v for v in vectors) or \
                    len({len(v) for v in vectors}) > 1:
                reason = (f"Ollama returned {len(vectors)} embeddings for {len(batch)} texts "
                          f"from {self.model}")
                self._forget(reason)
                raise EmbeddingUnavailable(reason)
            self.calls.append(EmbedCall(texts=len(batch), prompt_tokens=resp.prompt_eval_count,
                                        total_ns=resp.total_duration,
                                        latency_s=time.perf_counter() - t0))
            out.extend(vectors)
        return out

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self._embed([self.document_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._embed([self.query_prefix + text])[0]


def _short(e: BaseException) -> str:
    # deferred: httpx loads only when a service is called
    import httpx

    if isinstance(e, (ConnectionError, httpx.ConnectError)):
        return "connection refused"  # the client's own text is an install advertisement
    if isinstance(e, httpx.TimeoutException):
        return "timed out"
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]


def embedding_status(embedder: Embedder | None) -> Availability:
    """The availability of `embedder`, where None means switched off; never raises."""
    if embedder is None:
        return Availability(EmbedderStatus.off, "embeddings are switched off "
                                                "(LEXIQUERY_EMBEDDINGS=0)")
    try:
        return embedder.availability()
    except Exception as e:  # noqa: BLE001 — the contract says never raises; health relies on it
        return Availability(EmbedderStatus.failed, f"the embedder failed ({_short(e)})")


def embedder_for(settings: Settings) -> OllamaEmbedder | None:
    """The configured embedder, or None when embeddings are switched off."""
    if not settings.embeddings:
        return None
    return OllamaEmbedder(host=settings.ollama_host, model=settings.embed_model,
                          timeout_s=settings.embed_timeout_s)


__all__ = [
    "Availability",
    "EmbedCall",
    "Embedder",
    "EmbedderStatus",
    "EmbeddingUnavailable",
    "OllamaEmbedder",
    "embedder_for",
    "embedding_status",
]
