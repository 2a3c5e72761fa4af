"""One logical source from a table's column list: the shared step of the Kusto and SQL DDL
importers.

Naming contract: a logical field name is the snake_case of its column (`UserPrincipalName` →
`user_principal_name`; two columns that snake alike get `_2`, `_3`); the original column name
and its spelling in words are kept as synonyms, and the binding maps the logical name back to the
column. The time field is the first datetime column named (in this order of preference)
TimeGenerated, Timestamp, event_time, occurred_at, created_at, time or ts, else the first datetime
column. The source id is the snake_case of the
bare table name (schema or database dropped); `distinct_ids` qualifies ids that would collide.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pydantic import ValidationError

from lexiquery.catalog.model import (
    Bindings,
    EntityKind,
    FieldDef,
    FieldType,
    KqlBinding,
    Source,
    SqlBinding,
)
from lexiquery.errors import CatalogError

TIME_NAMES = ("time_generated", "timegenerated", "timestamp", "event_time", "occurred_at",
              "created_at", "time", "ts")


def problem(err: Any) -> str:
    """One pydantic error as "fields.0.type: Input should be …" (no empty location, no
    "Value error," prefix from our own validators)."""
    msg = str(err["msg"]).removeprefix("Value error, ")
    loc = ".".join(map(str, err["loc"]))
    return f"{loc}: {msg}" if loc else msg


def snake(name: str) -> str:
    """`UserPrincipalName` → `user_principal_name`; `Site_Url` → `site_url`; `_ResourceId` →
    `resource_id`."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    if not s or not s[0].isalpha():
        s = "f_" + s
    return s


# Column-name patterns → entity kind, first match wins: lets "computer", "ip" or a .exe value
# find the right column of a table nobody described (`DeviceName`, `RemoteIP`, `FileName`).
_ENTITY_PATTERNS: tuple[tuple[str, EntityKind], ...] = (
    (r"(sha256|sha1|md5|hash)$", EntityKind.hash),
    (r"(^|_)(ip|ip_address|ipaddress|ipv4|ipv6|address_ip|src_ip|dest_ip|client_ip)$",
     EntityKind.ip),
    (r"(^|_)port$", EntityKind.port),
    (r"(url|uri)$", EntityKind.url),
    (r"(email|mail_address|recipient_email_address|sender_from_address)$", EntityKind.email),
    (r"(process_file_name|process_name|image|process_path)$", EntityKind.process),
    (r"(^|_)(file_name|folder_path|file_path)$", EntityKind.file),
    (r"(device_name|computer|host_name|hostname|^host|^dest_host|^src_host)$", EntityKind.host),
    (r"(user_principal_name|account_name|user_name|username|^user|_upn|account_upn)$",
     EntityKind.user),
    (r"(domain|_fqdn)$", EntityKind.domain),
)


def infer_entity(logical: str) -> EntityKind | None:
    """The entity a snake_case column name suggests, or None. A Log Analytics custom-log type
    suffix (`UserName_s`, `BytesOut_d`) is ignored."""
    logical = re.sub(r"_[sdbtg]$", "", logical)
    for pattern, kind in _ENTITY_PATTERNS:
        if re.search(pattern, logical):
            return kind
    return None


def _words(name: str) -> str:
    """A column or table name in words; a custom-log suffix (`_s`, `_d`, `_CL`) is dropped."""
    words = snake(name).split("_")
    if len(words) > 1 and words[-1] in {"s", "d", "b", "t", "g", "cl"}:
        words = words[:-1]
    return " ".join(words)


def source_from_columns(table: str, columns: list[tuple[str, FieldType, str]], *, platform: str,
                         origin: str, description: str = "") -> Source:
    """One source from a table's (column, type, comment) list; see the module docstring for
    the naming rules. Raises CatalogError when the result is not a valid source."""
    fields: list[FieldDef] = []
    mapping: dict[str, str] = {}
    for col, ftype, doc in columns:
        logical = snake(col)
        base, n = logical, 2
        while logical in mapping:  # two columns that snake to the same name
            logical, n = f"{base}_{n}", n + 1
        syn = [col] if col != logical else []
        if _words(col) != logical and _words(col) not in syn:
            syn.append(_words(col))
        # `InitiatingProcessFileName` is what an analyst calls "the initiating process",
        # `RecipientEmailAddress` "the recipient": a name or address column answers to its
        # words without the trailing "(file) name" or "email address".
        short = re.sub(r"\s*\b(?:(?:file\s+)?name|email\s+address)$", "", _words(col))
        enough = 2 if _words(col).endswith("name") else 1  # "recipient" for the address
        if short and short != _words(col) and len(short.split()) >= enough and \
                short not in syn:
            syn.append(short)
        fields.append(FieldDef(name=logical, type=ftype, synonyms=syn,
                               entity=infer_entity(logical) if ftype is FieldType.string
                               else None,
                               description=doc.strip() or f"{col} column of {table}"))
        mapping[logical] = col
    time_field = None
    for candidate in TIME_NAMES:
        time_field = next((f.name for f in fields if f.name == candidate
                           and f.type is FieldType.datetime), None)
        if time_field:
            break
    time_field = time_field or next((f.name for f in fields if f.type is FieldType.datetime),
                                    None)
    short = table.split(".")[-1]
    binding = (Bindings(kql=KqlBinding(table=table, columns=mapping)) if platform == "kql"
               else Bindings(sql=SqlBinding(table=table, columns=mapping)))
    try:
        return Source(id=snake(short), name=short, description=description.strip() or
                      f"{short} ({platform.upper()} table imported from {origin})",
                      synonyms=sorted({short, _words(short)} - {snake(short)}),
                      time_field=time_field, fields=fields, bindings=binding, origin=origin,
                      schema_import=True)
    except ValidationError as e:
        raise CatalogError(f"{origin}: table {table}: "
                           f"{'; '.join(problem(err) for err in e.errors()[:3])}") from e


def distinct_ids(found: list[tuple[str, Source]]) -> list[Source]:
    """Sources from (qualified name, source) pairs. Where two tables share a name (the same
    table in two schemas or databases) each takes its qualified name as id, so neither silently
    replaces the other; a table defined twice under the same qualified name keeps the last."""
    by_name = dict(found)
    counts = Counter(s.id for s in by_name.values())
    return [s if counts[s.id] == 1 else s.model_copy(update={"id": snake(q)})
            for q, s in by_name.items()]
