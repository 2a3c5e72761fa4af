"""Slow and greedy clients: the HTTP server's own limits (`server_config`, used by `serve`).

uvicorn times out only an *idle keep-alive* connection (``timeout_keep_alive``, armed after a
response). A client that connects and then sends nothing, or trickles its headers a byte at a
time, or announces a body and never sends it, holds a connection — a socket, a file descriptor,
a slot of ``limit_concurrency`` — for ever: the probe of issue 12 kept 270 such connections open.
uvicorn has no header or body read timeout, so `guarded_protocol` adds them to its HTTP protocol
(httptools when installed, else h11, as uvicorn's ``auto`` chooses):

* **headers**: from the moment a connection opens, or the first byte of its next request, the
  request's headers must be complete within ``http_header_timeout_s``; a trickle does not extend
  the deadline. A connection that sent part of a request is answered ``408`` and closed, one
  that sent nothing is closed. Headers over `MAX_HEADER_BYTES` are answered ``431`` and closed
  (llhttp itself has no limit; h11 gets the same one as ``h11_max_incomplete_event_size``);
* **body**: a request body must arrive in full within ``http_body_timeout_s`` of its headers
  (generous: runbook uploads are up to 25 MB), else the connection is closed and the app sees
  the client disconnect;
* **connections**: past ``http_max_connections`` open connections a new one is closed at once,
  and uvicorn's ``limit_concurrency`` (the same number) answers 503 to requests at the limit.

The app's own work is not timed here (journeys and agent calls have their own timeouts).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import uvicorn

from lexiquery.config import Settings

MAX_HEADER_BYTES = 64 * 1024
GRACEFUL_SHUTDOWN_S = 5  # `lexiquery up` SIGKILLs a child still running after 10 s
log = logging.getLogger("uvicorn.error")


def _raw_response(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"error": "request_timeout" if status == 408 else "headers_too_large",
                       "message": message,
                       "issues": [{"code": reason.lower().replace(" ", "_"),
                                   "message": message}]}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode()
    return head + body


class _Guard:
    """Mixin over uvicorn's HttpToolsProtocol / H11Protocol: per-connection read deadlines.

    Its phase follows the protocol's public state after every event: ``headers`` (a new
    connection, or bytes of a next request after a response), ``body`` (headers done, the body
    not yet in full) or None (the app is working, or uvicorn's keep-alive timer runs)."""

    header_timeout_s: float
    body_timeout_s: float
    max_connections: int
    # Provided by the uvicorn protocol this class is mixed into.
    cycle: Any
    connections: set[Any]
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._phase: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._seen: Any = None
        self._idle = False  # a response completed and no byte came since
        self._header_bytes = 0
        if len(self.connections) > self.max_connections:
            log.debug("connection limit %d reached: closing a new connection",
                      self.max_connections)
            transport.close()
            return
        self._follow()

    def data_received(self, data: bytes) -> None:
        if self._phase in ("headers", None) and (self.cycle is None or
                                                  self.cycle.response_complete):
            self._header_bytes += len(data)
        self._idle = False
        super().data_received(data)  # type: ignore[misc]
        if self._follow() == "headers" and self._header_bytes > MAX_HEADER_BYTES:
            self._expire("headers", status=431)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._idle = True
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _follow(self) -> str | None:
        """Re-read the phase, (re)arming the deadline only when the phase changes."""
        if self.transport.is_closing():
            self._disarm()
            return None
        cycle = self.cycle
        if cycle is not None and cycle is not self._seen:  # a new request's headers are in
            self._seen, self._header_bytes = cycle, 0
            self._disarm()
        if cycle is None or cycle.response_complete:
            phase = None if self._idle else "headers"
        else:
            phase = "body" if cycle.more_body else None
        if phase != self._phase:
            self._disarm()
            self._phase = phase
            if phase is not None:
                timeout = self.header_timeout_s if phase == "headers" else self.body_timeout_s
                self._timer = self.loop.call_later(timeout, self._expire, phase)
        return phase

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._phase = None

    def _expire(self, phase: str, status: int = 408) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        if status == 431:
            self.transport.write(_raw_response(431, "Request Header Fields Too Large",
                                               f"request headers over {MAX_HEADER_BYTES:,} "
                                               "bytes are refused"))
        elif phase == "headers" and self._header_bytes:
            self.transport.write(_raw_response(408, "Request Timeout",
                                               "the request headers did not arrive within "
                                               f"{self.header_timeout_s:g} s"))
        log.debug("closing a connection: its request %s did not arrive in time", phase)
        self.transport.close()


def _base_protocol() -> type[asyncio.Protocol]:
    """uvicorn's ``auto`` choice: httptools when installed, else h11."""
    try:
        # deferred: uvicorn loads only in the server process
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is a dependency of uvicorn[standard]
        # deferred: uvicorn loads only in the server process
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    return HttpToolsProtocol


def guarded_protocol(settings: Settings,
                     base: type[asyncio.Protocol] | None = None) -> type[asyncio.Protocol]:
    """`base` (default: uvicorn's choice) with the deadlines and limit of `settings`."""
    base = base or _base_protocol()
    return type(f"Guarded{base.__name__}", (_Guard, base), {
        "header_timeout_s": settings.http_header_timeout_s,
        "body_timeout_s": settings.http_body_timeout_s,
        "max_connections": settings.http_max_connections})


def server_config(app: Any, settings: Settings, *, log_level: str = "warning",
                  base: type[asyncio.Protocol] | None = None) -> uvicorn.Config:
    """The uvicorn configuration `lexiquery serve` runs `app` with: the guarded protocol,
    keep-alive timeout, connection limit, header size limit and a bounded graceful shutdown."""
    return uvicorn.Config(app, log_level=log_level, lifespan="on",
                          http=guarded_protocol(settings, base),
                          timeout_keep_alive=settings.http_keep_alive_s,
                          limit_concurrency=settings.http_max_connections,
                          h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                          timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)


__all__ = ["MAX_HEADER_BYTES", "guarded_protocol", "server_config"]
