"""What the A2A server (`serve.a2a_server`) and client (`registry.a2a_client`) agree on: the
protocol version, the transport names, the card's path, the content modes, and the number rule
(`json_numbers`). See `serve.a2a_server` for the whole wire contract."""

from __future__ import annotations

from typing import Any

PROTOCOL_VERSION = "1.0"
JSONRPC = "JSONRPC"
HTTP_JSON = "HTTP+JSON"
CARD_PATH = "/.well-known/agent-card.json"
MODES = ["application/json", "text/plain"]


def json_numbers(value: Any) -> Any:
    """`value` with integral floats turned back into ints (protobuf `Value` has only doubles;
    JSON and pydantic read ``5`` and ``5.0`` alike, but `==` on dicts and ``int`` fields of
    ``dict[str, Any]`` data do not)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_numbers(v) for v in value]
    return value
