"""The agent registry: which agents exist, where, with which skills, and whether they answer.

Two kinds of entry:
- static agents, configured in ``A2A_STATIC_AGENTS_JSON`` (a JSON list of ``{"name", "url"}``):
  always listed, never written to the file as registrations; their hosts join the allowlist;
- registered agents, added by URL (`Registry.register`), which fetches and checks the card
  through the SSRF guard of `registry.fetch`.

A name is how the orchestrator asks for an agent, so a name belongs to one agent (a registered
card that merely *calls itself* ``data-kql`` must never receive the journeys meant for it):

- a registration whose card name is taken — by a static agent, by a name the caller reserves
  (the in-process agents of a server), or by a registered agent at another origin — is refused
  with ``AgentError(code="name_taken")`` (HTTP 409);
- the card must be served from the registered URL's origin and advertise interfaces there only
  (`registry.fetch`); registering the same name again from the same origin replaces the entry;
- a health check never renames an agent: a card whose name changed, or whose interfaces moved
  to another origin, makes the agent unhealthy until it is registered again;
- should the file still hold two entries of one name (written before these rules), `handle` and
  `get` pick the static agent, else the earliest registration still usable — never the newest.

The file is `registry.store.RegistryFile` (locked, atomic). Layout::

    {"version": 1,
     "agents": {id: AgentEntry (origin "registered")},
     "static": {id: {"healthy", "checked_at", "last_error", "card"}}}   # health of static agents

An entry's id is derived from its normalised base URL, so registering the same URL again
replaces the entry instead of adding a second one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, Field, ValidationError

from lexiquery.config import Settings
from lexiquery.errors import AgentError, InputError, LexiQueryError, StorageError
from lexiquery.registry.a2a_client import A2AHandle
from lexiquery.registry.fetch import (
    FetchedCard,
    HostPolicy,
    base_url,
    fetch_card,
    index_card,
    url_origin,
)
from lexiquery.registry.store import RegistryFile

if TYPE_CHECKING:
    from lexiquery.agents.handles import AgentHandle

STATIC_ENV = "A2A_STATIC_AGENTS_JSON"
_HEALTH = ("healthy", "checked_at", "last_error", "card")  # what the file keeps of a static agent


def _now() -> datetime:
    return datetime.now(UTC)


def entry_id(url: str) -> str:
    """The stable id of the agent at `url`: a digest of its normalised base URL."""
    return hashlib.sha256(base_url(url).encode()).hexdigest()[:16]


class AgentEntry(BaseModel):
    """One agent the registry knows. `healthy` is None until a health check ran."""

    id: str
    name: str
    url: str = Field(description="The agent's base URL; its card is at url + "
                                 "/.well-known/agent-card.json")
    description: str = ""
    skills: list[str] = Field(default_factory=list, description="Skill ids from the card")
    platforms: list[str] = Field(default_factory=list,
                                 description="From the skills' `platform:<p>` tags")
    origin: Literal["static", "registered"]
    registered_at: datetime | None = None
    healthy: bool | None = None
    checked_at: datetime | None = None
    last_error: str | None = None
    card: dict[str, Any] | None = Field(default=None, description="The card as A2A 1.0 JSON; "
                                        "None for a static agent not fetched yet")

    def with_card(self, fetched: FetchedCard) -> AgentEntry:
        """This entry updated from a freshly fetched card. The name stays: a static agent's is
        how the operator addresses it, a registered one's was checked for uniqueness when it
        was registered (`Registry.check_health` refuses a card that renamed itself)."""
        return self.model_copy(update={
            "description": fetched.description, "skills": fetched.skills,
            "platforms": fetched.platforms, "card": fetched.card})


def _static_entries(raw: str | None) -> list[AgentEntry]:
    """The static agents of `raw` (the env value), or an `InputError` saying what is wrong."""
    if raw is None or not raw.strip():
        return []
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise InputError(f"{STATIC_ENV} is not valid JSON: {e}",
                         hint=f'{STATIC_ENV}=\'[{{"name": "data-kql", "url": '
                              '"http://127.0.0.1:9020"}]\'') from e
    if not isinstance(data, list):
        raise InputError(f"{STATIC_ENV} must be a JSON list of {{\"name\", \"url\"}} objects, "
                         f"not a {type(data).__name__}")
    out: dict[str, AgentEntry] = {}
    for i, item in enumerate(data):
        where = f"{STATIC_ENV}[{i}]"
        if not isinstance(item, dict):
            raise InputError(f"{where} must be an object with \"name\" and \"url\", "
                             f"not {json.dumps(item)[:60]}")
        name, url = item.get("name"), item.get("url")
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{where} needs a non-empty string \"name\"")
        if not isinstance(url, str) or not url.strip():
            raise InputError(f"{where} ({name}) needs a string \"url\"")
        try:
            u = httpx.URL(url.strip())
        except (httpx.InvalidURL, ValueError) as e:
            raise InputError(f"{where} ({name}): {url!r} is not a URL: {e}") from e
        if u.scheme not in ("http", "https") or not u.host or u.userinfo:
            raise InputError(f"{where} ({name}): {url!r} must be an http(s)://host[:port][/path] "
                             "URL without credentials")
        eid = entry_id(url)
        if eid in out:
            raise InputError(f"{where} ({name}): {url!r} is listed twice "
                             f"(also as {out[eid].name!r})")
        out[eid] = AgentEntry(id=eid, name=name.strip(), url=base_url(url), origin="static")
    return list(out.values())


class Registry:
    """The agents known to this installation (see the module docstring). Cheap to build: it
    reads the file on every query, so several processes (and several `Registry` objects) share
    one view of it. Malformed static configuration raises `InputError` here, at start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store = RegistryFile(settings.registry_path)
        self._static = _static_entries(settings.static_agents_json)
        self.policy = HostPolicy.of([httpx.URL(e.url).host for e in self._static]
                                    + list(settings.registry_allow_hosts))

    # ---- reading --------------------------------------------------------------------------

    def entries(self) -> list[AgentEntry]:
        """Every agent: static ones first (in configuration order, with their last health
        check), then the registered ones, most recently registered first."""
        data = self._store.read()
        out: list[AgentEntry] = []
        for s in self._static:
            health = data["static"].get(s.id)
            if not isinstance(health, dict):
                out.append(s)
                continue
            known = {k: health[k] for k in _HEALTH if k in health}
            out.append(self._parse(s.id, {**s.model_dump(mode="json"), **known}))
        registered = [self._parse(eid, raw) for eid, raw in data["agents"].items()]
        static_ids = {s.id for s in self._static}
        # A URL registered before it was configured statically is listed once, as static.
        registered = [e for e in registered if e.id not in static_ids]
        registered.sort(key=lambda e: e.registered_at or datetime.min.replace(tzinfo=UTC),
                        reverse=True)
        # Fill skills/platforms of a static agent from its fetched card (the file keeps the card).
        out = [e.with_card(index_card(e.card)) if e.card else e for e in out]
        return out + registered

    def _parse(self, eid: str, raw: Any) -> AgentEntry:
        try:
            return AgentEntry.model_validate(raw)
        except ValidationError as e:
            raise StorageError(f"the agent registry {self._store.path} holds a malformed "
                               f"entry {eid!r}: {e.errors()[0].get('msg')}",
                               hint="remove it from the file, then register it again") from e

    def get(self, id_or_name: str) -> AgentEntry:
        """The entry with this id, else the one that holds this name (`_holder`);
        `AgentError(code="unknown_agent")` if none."""
        entries = self.entries()
        for e in entries:
            if e.id == id_or_name:
                return e
        named = [e for e in entries if e.name == id_or_name]
        if named:
            return _holder(named)
        raise AgentError(f"no agent with id or name {id_or_name!r} is known", agent=id_or_name,
                         code="unknown_agent",
                         hint="known: " + (", ".join(f"{e.name} ({e.id})" for e in entries)
                                           or "none; register one by URL first"))

    def discover(self, *, skill: str | None = None, platform: str | None = None,
                 name: str | None = None, healthy_only: bool = False) -> list[AgentEntry]:
        """The entries offering `skill` (a skill id), serving `platform` (kql, spl, sql),
        named `name`; with `healthy_only`, not those whose last check failed (an agent not
        checked yet is listed, as `handle` would use it)."""
        out = []
        for e in self.entries():
            if skill is not None and skill not in e.skills:
                continue
            if platform is not None and platform.lower() not in e.platforms:
                continue
            if name is not None and e.name != name:
                continue
            if healthy_only and e.healthy is False:
                continue
            out.append(e)
        return out

    def handle(self, name: str) -> AgentHandle | None:
        """An A2A handle on the agent that holds `name` (`_holder`): the static agent of that
        name whatever its health, else the registered one. An agent whose last check failed
        still gets a handle — the check may be stale (it restarted since), and a call to a dead
        agent fails fast and says so. None if no agent has that name."""
        named = [e for e in self.entries() if e.name == name]
        if not named:
            return None
        entry = _holder(named)
        # Imported here: the A2A client (a2a-sdk) loads only when a remote agent is used.

        return A2AHandle(entry.name, entry.url, entry.card,
                         timeout_s=self.settings.agent_timeout_s)

    # ---- changing -------------------------------------------------------------------------

    async def register(self, url: str, *, reserved: Collection[str] = ()) -> AgentEntry:
        """Fetch and check the card at `url`, then store the agent under the card's name.

        Refusals (`AgentError`): ``registration_refused`` for the URL or its card (see
        `registry.fetch`; the card must be served from `url`'s origin); ``name_taken`` when the
        name belongs to a static agent, is in `reserved` (names a server answers in-process) or
        to a registered agent at another origin. A registered agent of the same name at the
        same origin (the same agent, moved or re-registered) is replaced."""
        self.policy.check(url)  # before anything else parses the URL
        eid = entry_id(url)
        if any(s.id == eid for s in self._static):
            raise AgentError(f"{base_url(url)} is a static agent ({STATIC_ENV}); it needs no "
                             "registration", code="registration_refused")
        fetched = await fetch_card(url, self.policy, timeout_s=self.settings.registry_timeout_s,
                                   max_bytes=self.settings.registry_card_max_bytes)
        static = next((s for s in self._static if s.name == fetched.name), None)
        if static is not None:
            raise _taken(fetched.name, f"the static agent at {static.url} ({STATIC_ENV})")
        if fetched.name in reserved:
            raise _taken(fetched.name, "an agent this server runs in-process")
        now = _now()
        entry = AgentEntry(id=eid, name=fetched.name, url=base_url(url),
                           origin="registered", registered_at=now, healthy=True, checked_at=now,
                           description=fetched.description, skills=fetched.skills,
                           platforms=fetched.platforms, card=fetched.card)
        origin = url_origin(entry.url)

        def put(data: dict[str, Any]) -> None:
            # Under the file lock: two registrations of one name cannot both pass this check.
            same_name = {k: v for k, v in data["agents"].items()
                         if isinstance(v, dict) and v.get("name") == entry.name and k != entry.id}
            for other in same_name.values():
                if _origin_or_none(other.get("url")) != origin:
                    raise _taken(entry.name, f"the agent registered at {other.get('url')}")
            for k in same_name:  # the same agent at the same origin: replaced, not doubled
                del data["agents"][k]
            data["agents"][entry.id] = entry.model_dump(mode="json")

        await asyncio.to_thread(self._store.update, put)
        return entry

    def remove(self, id_or_name: str) -> AgentEntry:
        """Forget a registered agent (by id, or by name: the one `get` finds) and return it."""
        entry = self.get(id_or_name)
        if entry.origin == "static":
            raise AgentError(f"{entry.name} ({entry.url}) is a static agent: it comes from "
                             f"{STATIC_ENV} and cannot be removed here", agent=entry.name,
                             code="static_agent",
                             hint=f"remove it from {STATIC_ENV} and restart")

        def drop(data: dict[str, Any]) -> bool:
            return data["agents"].pop(entry.id, None) is not None

        if not self._store.update(drop):  # another process removed it meanwhile
            raise AgentError(f"no agent with id or name {id_or_name!r} is known",
                             agent=id_or_name, code="unknown_agent")
        return entry

    async def check_health(self) -> list[AgentEntry]:
        """Fetch every agent's card (same guard and timeout as registration), in parallel;
        record healthy/checked_at/last_error (and the fresh card) and return the entries."""
        entries = self.entries()
        if not entries:
            return []
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False,
                                     timeout=httpx.Timeout(self.settings.registry_timeout_s)
                                     ) as http:
            results = await asyncio.gather(
                *(fetch_card(e.url, self.policy, timeout_s=self.settings.registry_timeout_s,
                             max_bytes=self.settings.registry_card_max_bytes, client=http,
                             same_origin=e.origin == "registered")
                  for e in entries), return_exceptions=True)
        now = _now()
        checked: list[AgentEntry] = []
        for e, r in zip(entries, results):
            if isinstance(r, FetchedCard) and e.origin == "registered" and r.name != e.name:
                r = AgentError(f"the card at {e.url} now names the agent {r.name!r}, not "
                               f"{e.name!r} as registered", code="registration_refused")
            if isinstance(r, FetchedCard):
                checked.append(e.with_card(r).model_copy(
                    update={"healthy": True, "checked_at": now, "last_error": None}))
            elif isinstance(r, LexiQueryError):
                checked.append(e.model_copy(update={"healthy": False, "checked_at": now,
                                                    "last_error": r.message}))
            else:
                raise r  # a bug, not an unhealthy agent: do not record it as one

        def record(data: dict[str, Any]) -> None:
            for e in checked:
                if e.origin == "static":
                    data["static"][e.id] = e.model_dump(mode="json", include=set(_HEALTH))
                elif e.id in data["agents"]:  # skip one removed while we were checking
                    stored = data["agents"][e.id]
                    if stored.get("registered_at") == e.model_dump(mode="json")["registered_at"]:
                        data["agents"][e.id] = e.model_dump(mode="json")

        await asyncio.to_thread(self._store.update, record)
        return checked


def _holder(named: list[AgentEntry]) -> AgentEntry:
    """Which of the entries sharing one name holds it: a static agent always (it can never be
    shadowed), else a registered one that is healthy or not checked yet, else any; among
    those, the earliest registration — a later one of the same name is the suspect."""
    static = [e for e in named if e.origin == "static"]
    if static:
        return static[0]
    usable = [e for e in named if e.healthy is not False] or named
    ceiling = datetime.max.replace(tzinfo=UTC)
    return min(usable, key=lambda e: e.registered_at or ceiling)


def _origin_or_none(url: Any) -> str | None:
    """The origin of a stored URL; None for one that does not parse (it matches no origin, so
    a damaged entry keeps its name rather than losing it to a newcomer)."""
    try:
        return url_origin(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return None


def _taken(name: str, holder: str) -> AgentError:
    return AgentError(f"the agent name {name!r} is taken by {holder}; a registration cannot "
                      "take over another agent's name", agent=name, code="name_taken",
                      hint="give the agent a name of its own in its card, or remove the "
                           "other registration first (`lexiquery agents rm`)")
