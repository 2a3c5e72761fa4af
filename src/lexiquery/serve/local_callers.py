"""Callers on this machine and everyone else: what the server tells, and lets do, to each.

A server bound to every interface (``serve --host 0.0.0.0``) answers the whole network, but
some answers are for the operator only: `/health`'s file paths and registry addresses map the
machine for an attacker, and changing the agent registry is an admin operation (`admin`).
`is_local_client` is the one test of "on this machine":

* the peer address is loopback (127.0.0.0/8, ``::1``, ``::ffff:127.x``), or
* the peer address is the address the connection arrived at (a client on this host that
  connected to one of its own non-loopback addresses, as `lexiquery up --host 10.0.0.5` does —
  no other host can complete a TCP handshake from that address).

The address is the one the server saw: uvicorn replaces it with ``X-Forwarded-For`` only when
the direct peer is a trusted proxy (``forwarded_allow_ips``, loopback by default), so a request
relayed by a local reverse proxy counts as its real, remote client. A name instead of an
address (Starlette's test client says ``testclient``) or no peer at all is not local.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.types import Scope

from lexiquery.serve.api_models import HealthResponse

# What a dependency of /health keeps for a caller elsewhere: whether it works, never where.
PUBLIC_HEALTH_FIELDS = ("ok", "status")


def _ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(value).strip("[]"))
    except ValueError:
        return None


def is_local_client(scope: Scope) -> bool:
    """Whether the request of `scope` comes from this machine (see the module docstring)."""
    client = scope.get("client")
    peer = _ip(client[0]) if client else None
    if peer is None:
        return False
    mapped = getattr(peer, "ipv4_mapped", None)
    if peer.is_loopback or (mapped is not None and mapped.is_loopback):
        return True
    server = scope.get("server")
    own = _ip(server[0]) if server else None
    return own is not None and not own.is_unspecified and own == peer


def statuses_only(health: HealthResponse) -> HealthResponse:
    """`health` as a caller elsewhere sees it: the overall status, version, role and problems,
    and of each dependency only whether it works — no paths, hosts, addresses or errors."""
    deps = {name: {k: dep[k] for k in PUBLIC_HEALTH_FIELDS if k in dep}
            for name, dep in health.dependencies.items()}
    return health.model_copy(update={"dependencies": deps})


__all__ = ["is_local_client", "statuses_only"]
