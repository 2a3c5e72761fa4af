"""Bounds on request bodies, applied before any route or SDK parses them.

* `BodyLimit`: a body over the limit is 413 ``too_large`` (declared or counted as it arrives).
* `JsonDepthLimit`: a JSON body nesting deeper than `limits.MAX_BODY_JSON_DEPTH` is 400
  ``bad_request``. Python's JSON parser recurses per level, so 20,000 brackets inside an A2A
  message otherwise come back as "maximum recursion depth exceeded" from deep inside the SDK.
  The body is already bounded by `BodyLimit` (outside it), so buffering it to scan is cheap.

`add_request_limits(app, limit)` installs both in the right order; the API and every
stand-alone agent app use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lexiquery.limits import MAX_BODY_JSON_DEPTH, json_depth_offset
from lexiquery.serve.browser import send_error

if TYPE_CHECKING:
    from fastapi import FastAPI


def add_request_limits(app: "FastAPI", limit: int, *, exempt: tuple[str, ...] = ()) -> None:
    """`BodyLimit` outside `JsonDepthLimit` on `app` (Starlette runs the last added first)."""
    app.add_middleware(JsonDepthLimit, exempt=exempt)
    app.add_middleware(BodyLimit, limit=limit, exempt=exempt)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, before the app parses them: a
    declared Content-Length over the limit is refused before a byte is read, and the body
    stream is counted as it arrives (a chunked request declares nothing). Paths starting with
    an `exempt` prefix pass untouched (they bound their own bodies)."""

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = ()) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        total, exceeded, started = 0, False, False

        async def counted() -> Message:
            nonlocal total, exceeded
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a half-read body; ours replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            pass
        if exceeded and not started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send_error(send, 413, "too_large",
                         f"the request body is larger than the limit of {self.limit:,} bytes",
                         hint="send a shorter question or context; runbooks go to "
                              "/api/v1/procedures/upload as multipart")


class JsonDepthLimit:
    """Refuses a JSON request body nesting deeper than `max_depth` with 400, before the app
    parses it; other bodies and `exempt` paths pass untouched."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_BODY_JSON_DEPTH,
                 exempt: tuple[str, ...] = ()) -> None:
        self.app, self.max_depth, self.exempt = app, max_depth, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        kind = headers.get(b"content-type", b"").decode("latin-1").lower()
        if "json" not in kind or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:  # bounded: BodyLimit outside this layer stops a body over its limit
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        at = json_depth_offset(body.decode("utf-8", errors="replace"), self.max_depth)
        if at is not None:
            await send_error(send, 400, "bad_request",
                             f"the JSON body nests deeper than {self.max_depth} levels "
                             f"(at byte {at})", hint="flatten the request")
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body,
                                         "more_body": False}], receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A receive() that hands out `messages` first, then defers to `then`."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
