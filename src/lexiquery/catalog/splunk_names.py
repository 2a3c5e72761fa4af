"""Splunk as it is really deployed: one data set under several sourcetype/source spellings, and
one field under its classic, XML and CIM names.

Index names are each deployment's own (`index=main`, `index=wineventlog`, `index=os`), so a
search is recognised by its sourcetype and source whatever its index; the spellings below are
the ones the Splunk Add-ons have used over the years for the same events.
"""

from __future__ import annotations

import re

# Each group: (field, value) spellings of the same data, lower-case. The SPL reader treats a
# query term equal to any member as matching a prefix term equal to any other member.
SOURCE_ALIASES: tuple[frozenset[tuple[str, str]], ...] = (
    frozenset({("sourcetype", "wineventlog:security"), ("sourcetype", "xmlwineventlog:security"),
               ("source", "wineventlog:security"), ("source", "xmlwineventlog:security"),
               ("eventtype", "wineventlog_security"), ("channel", "security")}),
    frozenset({("sourcetype", "xmlwineventlog:microsoft-windows-sysmon/operational"),
               ("source", "xmlwineventlog:microsoft-windows-sysmon/operational"),
               ("sourcetype", "wineventlog:microsoft-windows-sysmon/operational"),
               ("source", "wineventlog:microsoft-windows-sysmon/operational"),
               ("eventtype", "sysmon")}),
    frozenset({("sourcetype", "wineventlog:system"), ("sourcetype", "xmlwineventlog:system"),
               ("source", "wineventlog:system"), ("source", "xmlwineventlog:system"),
               ("eventtype", "wineventlog_system"), ("channel", "system")}),
    frozenset({("sourcetype", "linux_secure"), ("source", "/var/log/secure"),
               ("source", "/var/log/auth.log")}),
)

# Each group: names of one field across the classic WinEventLog rendering, the XML rendering
# and the CIM; lower-case. A name missing from a source's binding resolves to a member that is.
FIELD_ALIASES: tuple[frozenset[str], ...] = (
    frozenset({"account_name", "targetusername", "target_user_name", "user"}),
    frozenset({"logon_type", "logontype"}),
    frozenset({"image", "process_path", "new_process_name", "newprocessname", "process"}),
    frozenset({"parentimage", "parent_process_path", "parent_process_name", "parent_process"}),
    frozenset({"src", "src_ip", "ipaddress", "source_network_address", "client_ip"}),
    frozenset({"eventcode", "eventid", "event_id", "signature_id"}),
    frozenset({"computername", "computer", "dest", "dvc", "host"}),
    frozenset({"commandline", "command_line", "process_command_line"}),
    frozenset({"workstation_name", "workstationname", "src_nt_host"}),
    frozenset({"process_name", "processname"}),
)


_CHANNEL = re.compile(r"^(?:xml)?wineventlog:(.+)$")


def source_aliases(field: str, value: str) -> frozenset[tuple[str, str]]:
    """Every (field, value) spelling of the data `field=value` selects (itself included).

    Any Windows event log channel is the same data as `sourcetype` or `source`, classic
    (`WinEventLog:<channel>`) or XML (`XmlWinEventLog:<channel>`) rendering."""
    key = (field.lower(), value.lower())
    for group in SOURCE_ALIASES:
        if key in group:
            return group
    m = _CHANNEL.match(key[1])
    if m and key[0] in {"sourcetype", "source"}:
        return frozenset((f, f"{p}:{m.group(1)}") for f in ("sourcetype", "source")
                         for p in ("wineventlog", "xmlwineventlog"))
    return frozenset({key})


def source_key(field: str, value: str) -> tuple[str, str]:
    """One key for every spelling of the data `field=value` selects."""
    return min(source_aliases(field, value.strip('"')))


_PAIR = re.compile(r'(sourcetype|source|eventtype)\s*=\s*("[^"]*"|[^\s()]+)', re.IGNORECASE)


def spl_keys(search: str) -> set[tuple[str, str]]:
    """The keys of the data a search prefix selects on (sourcetype, source, eventtype)."""
    return {source_key(f, v) for f, v in _PAIR.findall(search)}


def field_aliases(name: str) -> list[str]:
    """Other names of field `name` (lower-case), nearest group first; [] when it has none."""
    low = name.lower()
    return [n for group in FIELD_ALIASES if low in group for n in sorted(group) if n != low]
