"""The guarded fetch of an agent card: how registration by URL avoids becoming an SSRF hole.

Registering an agent by URL makes this server send a request to that URL, and later every
agent call goes to the addresses the card names. Without a guard, anyone who may register an
agent could make LexiQuery probe its internal network (cloud metadata, admin consoles) or hand
the orchestrator a card that routes queries elsewhere. The rules, all applied before any byte
leaves the machine:

- http and https only (no file:, ftp:, gopher:, data:), no credentials in the URL;
- the host must be on the allowlist: loopback (``localhost``, 127.0.0.0/8, ``::1``), the hosts of
  the static agents and ``registry_allow_hosts``. Host names are compared exactly, after the
  URL is parsed by httpx — the same parser that opens the connection, so a trick that fools one
  parser but not the other (``127.0.0.1@x.invalid``, ``localhost.invalid``) cannot slip
  through;
- redirects are followed by hand, at most `MAX_REDIRECTS` hops, each target checked like the
  first URL;
- one deadline for the whole fetch (a server trickling bytes cannot hold us past it), and a size
  cap counted while the body streams in (the body is never read whole first);
- the card is size- and depth-bounded before it is parsed (`limits.loads_bounded`: a bomb of
  nested brackets is a refusal, never a RecursionError), must parse as an A2A `AgentCard`, name
  itself, offer a skill and a JSON-RPC interface, and every interface URL it advertises must pass
  the same host check;
- with ``same_origin`` (registration, and the health checks of registered agents), the card must
  be served from the registered URL's origin — scheme, host and port — and every interface it
  advertises must stay there too: an agent registered at one address cannot route its calls to
  another (for example to a server that answers as a different agent).

Every refusal is `AgentError(code="registration_refused")` with a message saying why.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from lexiquery.errors import AgentError, InputError
from lexiquery.limits import loads_bounded

CARD_PATH = "/.well-known/agent-card.json"  # a2a.utils.constants.AGENT_CARD_WELL_KNOWN_PATH
MAX_REDIRECTS = 3
_LOOPBACK_NAMES = frozenset({"localhost"})  # other names depend on /etc/hosts: not trusted


def refused(message: str, *, hint: str | None = None) -> AgentError:
    return AgentError(message, code="registration_refused", hint=hint)


def normalize_host(host: str) -> str:
    """A host as compared: lower case, no brackets, no trailing dot, IP literals canonical
    (so ``[0:0::1]`` and ``::1`` are one host)."""
    h = host.strip().lower().strip("[]").rstrip(".")
    try:
        return str(ipaddress.ip_address(h))
    except ValueError:
        return h


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # shorthand forms (127.1, 2130706433) are not IPs here: refused, not guessed
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped is not None and mapped.is_loopback)


@dataclass(frozen=True)
class HostPolicy:
    """Which hosts agent URLs may name: loopback always, plus `extra` (exact names)."""

    extra: frozenset[str] = frozenset()

    @classmethod
    def of(cls, hosts: Iterable[str]) -> HostPolicy:
        out: set[str] = set()
        for h in hosts:
            h = h.strip()
            if not h:
                continue
            # An allowlist entry written as a URL ("http://agents.corp:9000") means its host.
            try:
                host = httpx.URL(h).host if "://" in h else h
            except httpx.InvalidURL as e:
                raise InputError(f"LEXIQUERY_REGISTRY_ALLOW_HOSTS: {h!r} is neither a host "
                                 f"name nor a URL: {e}") from e
            if host:
                out.add(normalize_host(host))
        return cls(frozenset(out))

    def allows(self, host: str) -> bool:
        h = normalize_host(host)
        return _is_loopback(h) or h in self.extra

    def check(self, url: str | httpx.URL, *, what: str = "agent URL") -> httpx.URL:
        """`url` parsed, or `registration_refused` saying which rule it breaks."""
        try:
            u = url if isinstance(url, httpx.URL) else httpx.URL(str(url).strip())
        except (httpx.InvalidURL, TypeError, ValueError) as e:
            raise refused(f"the {what} {str(url)!r} is not a valid URL: {e}") from e
        shown = str(url)
        if u.scheme not in ("http", "https"):
            raise refused(f"the {what} {shown!r} uses {u.scheme or 'no'} scheme; only http and "
                          "https agents can be registered")
        if u.userinfo:
            raise refused(f"the {what} {shown!r} carries credentials (user@host); agent URLs "
                          "must not", hint="give the plain http(s)://host:port/path address")
        if not u.host:
            raise refused(f"the {what} {shown!r} has no host")
        try:
            port = u.port
        except ValueError as e:  # pragma: no cover - httpx already rejects most bad ports
            raise refused(f"the {what} {shown!r} has a bad port: {e}") from e
        if port is not None and not 0 < port < 65536:
            raise refused(f"the {what} {shown!r} has port {port}, outside 1-65535")
        if not self.allows(u.host):
            raise refused(
                f"the {what} {shown!r} names host {u.host!r}, which is not allowed: agents may "
                "be registered from loopback, the static agents' hosts and "
                "LEXIQUERY_REGISTRY_ALLOW_HOSTS only",
                hint=f'add "{normalize_host(u.host)}" to LEXIQUERY_REGISTRY_ALLOW_HOSTS (a JSON '
                     "list) if this agent is trusted")
        return u


_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(url: str | httpx.URL) -> str:
    """The origin of `url` as compared: ``scheme://host:port``, lower case, the port always
    written (``http://A:80/x`` and ``http://a`` are one origin), IP literals canonical."""
    u = url if isinstance(url, httpx.URL) else httpx.URL(str(url).strip())
    host = normalize_host(u.host)
    shown = f"[{host}]" if ":" in host else host
    return f"{u.scheme}://{shown}:{u.port or _DEFAULT_PORTS.get(u.scheme, 0)}"


def _check_origin(url: str | httpx.URL, origin: str | None, what: str) -> None:
    if origin is not None and url_origin(url) != origin:
        raise refused(f"the {what} {str(url)!r} is not at {origin}, where the agent is "
                      "registered: its card and interfaces must be served from the registered "
                      "URL's origin", hint="register the address the agent's card advertises")


def base_url(url: str) -> str:
    """The agent's base URL as stored: no query or fragment, no trailing slash, no card path
    (so ``http://h:1/a/``, ``http://h:1/a`` and ``http://h:1/a/.well-known/agent-card.json``
    are one agent)."""
    u = httpx.URL(url.strip())
    path = u.path
    path = path.removesuffix(CARD_PATH)
    path = path.rstrip("/")
    netloc = u.host if ":" not in u.host else f"[{u.host}]"
    if u.port is not None:
        netloc += f":{u.port}"
    return f"{u.scheme}://{netloc.lower()}{path}"


@dataclass(frozen=True)
class FetchedCard:
    """A checked card: its canonical A2A 1.0 JSON and what the registry indexes."""

    card: dict[str, Any]
    name: str
    description: str
    skills: list[str]
    platforms: list[str]


def check_card(data: Any, policy: HostPolicy, *, origin: str | None = None) -> FetchedCard:
    """`data` (parsed JSON) as a checked card, or `registration_refused` saying what is wrong.
    With `origin` (see `url_origin`), every interface URL must be at that origin."""
    # Imported here: the SDK (and protobuf) load only when a card is actually checked.
    # deferred: the a2a SDK loads only when a card is fetched
    from a2a.client.card_resolver import parse_agent_card

    # deferred: protobuf loads only when a card is fetched
    from google.protobuf.json_format import MessageToDict, ParseError

    if not isinstance(data, dict):
        raise refused("the agent card is not a JSON object")
    try:
        card = parse_agent_card(copy.deepcopy(data))  # it rewrites 0.3 fields in place
    except (ParseError, ValueError, TypeError) as e:
        raise refused(f"the document is not an A2A agent card: {e}") from e
    if not card.name.strip():
        raise refused("the agent card has no name")
    if not card.skills:
        raise refused(f"the agent card of {card.name!r} lists no skill")
    bindings = {i.protocol_binding.upper() for i in card.supported_interfaces}
    if "JSONRPC" not in bindings:
        raise refused(f"the agent card of {card.name!r} offers no JSONRPC interface "
                      f"(it offers: {', '.join(sorted(bindings)) or 'none'})")
    for iface in card.supported_interfaces:
        what = f"interface URL of the card of {card.name!r}"
        _check_origin(policy.check(iface.url, what=what), origin, what)
    return index_card(MessageToDict(card))


def index_card(card: dict[str, Any]) -> FetchedCard:
    """What the registry indexes of a card in canonical A2A 1.0 JSON (already checked)."""
    skills = [s for s in card.get("skills", []) if isinstance(s, dict)]
    platforms: list[str] = []
    for skill in skills:
        for tag in skill.get("tags", []):
            p = tag[len("platform:"):] if isinstance(tag, str) and tag.startswith("platform:") \
                else ""
            if p and p not in platforms:
                platforms.append(p)
    return FetchedCard(card=card, name=str(card.get("name", "")),
                       description=str(card.get("description", "")),
                       skills=[str(s.get("id", "")) for s in skills], platforms=platforms)


async def _read_capped(response: httpx.Response, max_bytes: int, shown: str) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise refused(f"the agent card at {shown} is {declared} bytes, over the "
                      f"{max_bytes}-byte limit", hint="LEXIQUERY_REGISTRY_CARD_MAX_BYTES")
    body = bytearray()
    async for chunk in response.aiter_bytes():  # decoded bytes: a gzip bomb counts in full
        body += chunk
        if len(body) > max_bytes:
            raise refused(f"the agent card at {shown} is over the {max_bytes}-byte limit",
                          hint="LEXIQUERY_REGISTRY_CARD_MAX_BYTES")
    return bytes(body)


async def _fetch(client: httpx.AsyncClient, url: httpx.URL, policy: HostPolicy,
                 max_bytes: int, origin: str | None) -> Any:
    shown = str(url)
    for _hop in range(MAX_REDIRECTS + 1):
        request = client.build_request("GET", url, headers={"Accept": "application/json"})
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise refused(f"could not fetch the agent card at {url}: "
                          f"{type(e).__name__}: {e or 'no detail'}",
                          hint="is the agent running at that address?") from e
        try:
            if response.is_redirect:
                location = response.headers.get("location", "")
                what = f"redirect target of {shown}"
                url = policy.check(url.join(location), what=what)
                _check_origin(url, origin, what)
                continue
            if response.status_code != 200:
                raise refused(f"the agent card at {url} answered HTTP {response.status_code}, "
                              "not 200")
            try:
                body = await _read_capped(response, max_bytes, str(url))
            except httpx.HTTPError as e:
                raise refused(f"reading the agent card at {url} failed: "
                              f"{type(e).__name__}: {e}") from e
        finally:
            await response.aclose()
        try:
            return loads_bounded(body, what=f"the agent card at {url}", max_bytes=max_bytes)
        except InputError as e:  # too deep, not UTF-8, not JSON
            raise refused(e.message, hint=e.hint) from e
    raise refused(f"the agent card at {shown} redirects more than {MAX_REDIRECTS} times")


async def fetch_card(url: str, policy: HostPolicy, *, timeout_s: float, max_bytes: int,
                     client: httpx.AsyncClient | None = None,
                     same_origin: bool = True) -> FetchedCard:
    """Fetch and check the card of the agent at `url` (its base URL or the card URL itself).

    `client`, when given, must not follow redirects (this function follows them itself);
    `same_origin`: redirects and the card's interfaces must stay at `url`'s origin (off only
    for static agents, whose addresses the operator configured);
    `registration_refused` for every failure, including the deadline `timeout_s`."""
    start = policy.check(url)
    origin = url_origin(start) if same_origin else None
    card_url = httpx.URL(base_url(str(start)) + CARD_PATH)
    own = client is None
    # trust_env=False: an HTTP(S)_PROXY in the environment must not carry the request elsewhere.
    http = client or httpx.AsyncClient(follow_redirects=False, trust_env=False,
                                       timeout=httpx.Timeout(timeout_s))
    try:
        async with asyncio.timeout(timeout_s):
            data = await _fetch(http, card_url, policy, max_bytes, origin)
    except TimeoutError as e:
        raise refused(f"fetching the agent card at {card_url} took longer than {timeout_s:g} s",
                      hint="LEXIQUERY_REGISTRY_TIMEOUT_S") from e
    finally:
        if own:
            await http.aclose()
    return check_card(data, policy, origin=origin)
