"""Browser safety for every HTTP app LexiQuery serves (the API, `/mcp`, the A2A agents).

A web page the user happens to visit can make the browser send requests to a server on the
user's machine or network — a "simple" multipart POST needs no CORS preflight, so without a
check any page could upload a runbook that changes the next answer. `BrowserSafety` is the
outermost layer of the app (outside even Starlette's 500 handler, so every response carries its
headers) and does two things:

* **Cross-origin writes are refused.** A request with a state-changing method (anything but
  GET, HEAD, OPTIONS) is refused with 403 ``cross_origin`` when its ``Origin`` is neither the
  server's own (the Origin's host and port equal the ``Host`` header's) nor a trusted origin
  (`Settings.allowed_origins`, `Settings.cors_origins`, `Settings.public_url`); an ``Origin: null``
  (sandboxed frames, file: pages) is never trusted. Without an Origin — curl, the SDKs, the
  agents calling each other — a request is allowed unless ``Sec-Fetch-Site`` says a browser sent
  it from another site. Browsers send Origin on every POST, so a page cannot leave it out.
* **Standard security headers** on every response: ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``, ``Cross-Origin-Resource-Policy:
  same-origin``, ``Cache-Control: no-store`` (unless the route set its own) and a
  Content-Security-Policy that allows nothing (``default-src 'none'``: the API serves JSON, never
  pages). The documentation pages (`/docs`, `/redoc`) get the narrow policy they need — their
  bundles and styles from FastAPI's CDN, `fetch` of `/openapi.json` from this server — with each
  inline bootstrap script allowed by its SHA-256 hash (computed from the page as served), never
  by ``'unsafe-inline'``.

* **A browser must name this server by a name it was given (DNS rebinding).** A page on
  ``http://attacker.example:8000`` whose name is then re-pointed at 127.0.0.1 is "same-origin"
  with this server in the browser's eyes: its Origin equals its Host, so the origin check above
  lets it write and read. A request a browser sent (it carries ``Origin`` or ``Sec-Fetch-*``
  headers, which every current browser sends and a page cannot remove) is therefore refused
  with 403 ``unknown_host`` unless its ``Host`` is an IP address (which cannot be re-pointed),
  ``localhost``, or a name this server was configured with (`served_names`: the address served
  on, `Settings.public_url`, the allowed and CORS origins). Clients that are not browsers —
  curl, the SDKs, the agents — cannot be rebinding victims and are not checked; `/mcp` has the
  SDK's own Host check besides.

CORS stays off — no ``Access-Control-*`` header on any response — unless `cors_origins` lists
origins; then Starlette's `CORSMiddleware` answers for exactly those.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lexiquery.config import Settings
from lexiquery.errors import InputError
from lexiquery.registry.fetch import url_origin

if TYPE_CHECKING:
    from fastapi import FastAPI

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DOCS_PATHS = ("/docs", "/redoc")
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = ("default-src 'none'; script-src https://cdn.jsdelivr.net{hashes}; "
            "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "font-src https://fonts.gstatic.com; "
            "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
            "connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
CORS_HEADERS = ["accept", "content-type", "authorization", "a2a-version", "mcp-session-id",
                "mcp-protocol-version", "last-event-id"]
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.S | re.I)


# ── error bodies written by middleware (the app's `{error, message, issues, hint}` shape) ────

def error_body(code: str, message: str, hint: str | None = None) -> bytes:
    body: dict[str, object] = {"error": code, "message": message,
                               "issues": [{"code": code, "message": message}]}
    if hint:
        body["hint"] = hint
    return json.dumps(body).encode()


async def send_error(send: Send, status: int, code: str, message: str,
                     hint: str | None = None) -> None:
    """A complete JSON error response, for middleware that answers before the app."""
    body = error_body(code, message, hint)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# ── origins ──────────────────────────────────────────────────────────────────────────────────

def _parse_origin(text: str) -> httpx.URL | None:
    """`text` as an http(s) origin (no credentials, no path), or None."""
    try:
        u = httpx.URL(text.strip())
    except (httpx.InvalidURL, ValueError):
        return None
    if u.scheme not in ("http", "https") or not u.host or u.userinfo or u.path not in ("", "/") \
            or u.query or u.fragment:
        return None
    return u


def browser_origin(u: httpx.URL) -> str:
    """`u` serialised as a browser writes an Origin header (no default port)."""
    host = f"[{u.host}]" if ":" in u.host else u.host
    return f"{u.scheme}://{host.lower()}" + (f":{u.port}" if u.port is not None else "")


def configured_origins(settings: Settings, setting: str, values: Iterable[str]) -> list[httpx.URL]:
    """The origins of one setting, parsed; `InputError` naming the setting for one that is not
    ``http(s)://host[:port]`` (a wildcard is refused: trust is given to named origins only)."""
    out = []
    for value in values:
        u = _parse_origin(value)
        if u is None:
            env = f"LEXIQUERY_{setting.upper()}"
            raise InputError(f"{env}: {value!r} is not an origin (http(s)://host[:port], no "
                             "path, no wildcard)", hint=f'{env}=\'["https://intranet.example"]\'')
        out.append(u)
    return out


def trusted_origins(settings: Settings) -> frozenset[str]:
    """The origins besides the server's own that may send state-changing requests."""
    urls = configured_origins(settings, "allowed_origins", settings.allowed_origins) + \
        configured_origins(settings, "cors_origins", settings.cors_origins)
    if settings.public_url:
        public = httpx.URL(settings.public_url.strip())
        if public.scheme in ("http", "https") and public.host:
            urls.append(public)
    return frozenset(url_origin(u) for u in urls)


def served_names(settings: Settings, *urls: str | None) -> frozenset[str]:
    """The DNS names a browser may use for this server: ``localhost`` and the hosts of `urls`
    (the address served on, the bind host), the public URL and the configured origins."""
    names = {"localhost"}
    for value in (*urls, settings.public_url, *settings.allowed_origins, *settings.cors_origins):
        if not value:
            continue
        try:
            host = httpx.URL(value if "://" in value else f"http://{value}").host
        except (httpx.InvalidURL, ValueError):
            continue
        if host:
            names.add(host.lower().rstrip("."))
    return frozenset(names)


def _host_url(host_header: str, scheme: str = "http") -> httpx.URL | None:
    """The Host header as a URL with `scheme`; None unless it is a plain host[:port]."""
    if not host_header or any(c in host_header for c in "/@?#\\ "):
        return None
    try:
        target = httpx.URL(f"{scheme}://{host_header}")
    except (httpx.InvalidURL, ValueError):
        return None
    return target if target.host else None


def _request_host(host_header: str) -> str | None:
    """The host part of a Host header, lower-cased, without port or brackets."""
    target = _host_url(host_header)
    if target is None:
        return None
    return target.host.lower().rstrip(".") or None


def rebinding_refusal(scope: Scope, names: frozenset[str]) -> str | None:
    """Why this browser request must be refused as a possible DNS rebinding, or None."""
    browser = any(key in (b"origin", b"sec-fetch-site", b"sec-fetch-mode")
                  for key, _ in scope.get("headers") or ())
    if not browser:
        return None
    host = _request_host(_header(scope, b"host") or "")
    if host is None:
        return "a browser request without a readable Host header"
    try:
        ipaddress.ip_address(host)
        return None  # an address cannot be re-pointed by DNS
    except ValueError:
        pass
    if host in names or host.endswith(".localhost"):
        return None
    return f"a browser request for the host name {host[:100]!r}, which this server was not " \
           "configured with (a page may have re-pointed that name at this server)"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1").strip()
    return None


def cross_origin_refusal(scope: Scope, trusted: frozenset[str]) -> str | None:
    """Why this request must be refused as a cross-origin write, or None to let it pass."""
    if scope.get("method", "GET").upper() in SAFE_METHODS:
        return None
    origin = _header(scope, b"origin")
    site = (_header(scope, b"sec-fetch-site") or "").lower()
    if origin is None:
        if site in ("cross-site", "same-site"):
            return f"a browser sent this {scope['method']} from another site (Sec-Fetch-Site: " \
                   f"{site})"
        return None  # not a browser: curl, the SDKs, agents calling each other
    parsed = _parse_origin(origin) if origin.lower() != "null" else None
    if parsed is None:
        return f"a {scope['method']} from the opaque or malformed origin {origin[:100]!r}"
    if url_origin(parsed) in trusted:
        return None
    if site != "cross-site" and _is_own(parsed, _header(scope, b"host") or ""):
        return None
    return f"a {scope['method']} from the web origin {browser_origin(parsed)!r}, which is not " \
           "this server's"


def _is_own(origin: httpx.URL, host_header: str) -> bool:
    """The Origin names the host and port the request was sent to (the Host header, read with
    the Origin's scheme, so a TLS proxy in front keeps working)."""
    target = _host_url(host_header, origin.scheme)
    return target is not None and url_origin(target) == url_origin(origin)


# ── the middleware ───────────────────────────────────────────────────────────────────────────

def _with_headers(message: Message, csp: str) -> Message:
    present = {k.lower() for k, _ in message.get("headers", [])}
    extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
    if b"content-security-policy" not in present:
        extra.append((b"content-security-policy", csp.encode()))
    return {**message, "headers": [*message.get("headers", []), *extra]}


def docs_csp(html: bytes) -> str:
    """The docs policy with the hash of each inline script of `html`."""
    hashes = "".join(
        " 'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.finditer(html))
    return DOCS_CSP.format(hashes=hashes)


class BrowserSafety:
    """The ASGI layer described in the module docstring."""

    def __init__(self, app: ASGIApp, *, trusted: frozenset[str] = frozenset(),
                 names: frozenset[str] = frozenset({"localhost"})) -> None:
        self.app, self.trusted, self.names = app, trusted, names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(DOCS_PATHS)

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_headers(message, API_CSP)
            await send(message)

        rebinding = rebinding_refusal(scope, self.names)
        if rebinding is not None:
            await send_error(secured, 403, "unknown_host",
                             f"refused {rebinding}",
                             hint="open the server by its address (http://127.0.0.1:PORT), or "
                                  "set LEXIQUERY_PUBLIC_URL or LEXIQUERY_ALLOWED_ORIGINS to the "
                                  "name users browse to")
            return
        refusal = cross_origin_refusal(scope, self.trusted)
        if refusal is not None:
            await send_error(secured, 403, "cross_origin",
                             f"refused {refusal}: state-changing requests are accepted from "
                             "this server's own pages and from configured origins only",
                             hint="add the origin to LEXIQUERY_ALLOWED_ORIGINS (a JSON list) "
                                  "if it is trusted; scripts and tools send no Origin header")
            return
        await self.app(scope, receive, _DocsPage(send) if docs else secured)


class _DocsPage:
    """A send() that holds a docs page until its body is complete, then sends it with the
    docs policy for exactly the inline scripts it contains (the pages are a few KB)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: Message | None = None
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        self.body += message.get("body", b"")
        if message.get("more_body", False):
            return
        await self.send(_with_headers(self.start, docs_csp(bytes(self.body))))
        await self.send({"type": "http.response.body", "body": bytes(self.body)})


def install(app: FastAPI, settings: Settings, *served: str | None) -> None:
    """Browser safety on `app`: `BrowserSafety` around its whole middleware stack, and CORS for
    `settings.cors_origins` when there are any. `served` are the URLs or hosts the server is
    reached on and bound to (see `served_names`). Call before the app serves its first request.
    `InputError` for a malformed origin setting."""
    trusted = trusted_origins(settings)
    names = served_names(settings, *served)
    cors = configured_origins(settings, "cors_origins", settings.cors_origins)
    if cors:
        # deferred: starlette loads only in the server process
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=[browser_origin(u) for u in cors],
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=CORS_HEADERS,
                           allow_credentials=False, max_age=600)
    build = app.build_middleware_stack
    # Outside Starlette's ServerErrorMiddleware (the outermost layer `add_middleware` reaches):
    # its 500 answers get the headers too.
    app.build_middleware_stack = (  # type: ignore[method-assign]
        lambda: BrowserSafety(build(), trusted=trusted, names=names))


__all__ = ["BrowserSafety", "cross_origin_refusal", "docs_csp", "error_body", "install",
           "rebinding_refusal", "send_error", "served_names", "trusted_origins"]
