"""Per-source realism the catalog alone cannot give the sample-data generator.

The generator (`sample_data`) is driven by the catalog: field types, known values, entity kinds
and concepts. A `SourceProfile` only adds what a catalog does not say: how common each known value
is (AADSTS 0 dominates, 4720 is rare), realistic value pools for fields without known values
(application names, client apps, Azure operations), how a user is written (UPN or
``sAMAccountName``), how often a field is missing, and fields that depend on another one (the
description of a result code, the counter value of a performance counter). Everything here is
optional: a source without a profile, or a field a profile does not name, falls back to the
generator's catalog-driven defaults.

The entity pools (`pools_for`) hold a handful of values per kind, drawn with a Zipf-like skew
(weight 1/rank^s), so that top-N, thresholds and "rare" questions have something to find: one
noisy host, a rare admin account, a user most failed sign-ins target (`victim`), attacker IPs.
They depend on the seed only, not on the source, so the same users, hosts and IPs appear across
sources (what joins and pivots need). Every draw comes from a `random.Random` seeded with a
string (which `random` hashes with SHA-512), never from Python's salted `hash()`.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import Any, Callable

Weights = dict[Any, float]
# (row values so far, rng) → the dependent field's value
Derive = Callable[[dict[str, Any], random.Random], Any]


@dataclass(frozen=True)
class SourceProfile:
    """`weights`: relative frequency of known values (unnamed known values get `rest_weight`
    each). `pools`: value → weight for fields without known values. `user_format`: ``upn`` or
    ``sam`` (``jsmith``) for the actor field. `missing`: share of None per field (overrides the
    default for optional fields; 0 makes a field required). `present_when`: a field is only set
    when another field has one of the given values (process fields only on event 4688).
    `derive`: fields computed from the rest of the row, after everything else."""

    weights: dict[str, Weights] = field(default_factory=dict)
    rest_weight: float = 0.3
    pools: dict[str, Weights] = field(default_factory=dict)
    user_format: str = "upn"
    missing: dict[str, float] = field(default_factory=dict)
    present_when: dict[str, tuple[str, frozenset[Any]]] = field(default_factory=dict)
    derive: dict[str, Derive] = field(default_factory=dict)


def lookup_derive(source_field: str, table: dict[Any, Any], default: Any) -> Derive:
    """A field that is a lookup of another (a result code's description); the generator
    runs such a table down the column instead of calling it per row (`lookup`)."""
    def derive(row: Any, rng: random.Random) -> Any:
        return table.get(row.get(source_field), default)

    derive.lookup = (source_field, table, default)  # type: ignore[attr-defined]
    return derive


def value_derive(source_field: str, fn: Callable[[Any], Any]) -> Derive:
    """A field that is a function of another field's value alone (no draw): the generator
    calls `fn` once per distinct value and looks the rest up (`of`)."""
    def derive(row: Any, rng: random.Random) -> Any:
        return fn(row.get(source_field))

    derive.of = (source_field, fn)  # type: ignore[attr-defined]
    return derive


def _meaning(source_field: str, meanings: dict[Any, str]) -> Derive:
    return lookup_derive(source_field, meanings, "Other")


_AADSTS = {"0": "", "50126": "Invalid username or password or Invalid on-premise username or "
           "password.", "50053": "Account is locked because user tried to sign in too many "
           "times with an incorrect user ID or password.", "50074": "Strong Authentication is "
           "required.", "50076": "Due to a configuration change made by your administrator, or "
           "because you moved to a new location, you must use multi-factor authentication to "
           "access.", "50057": "User account is disabled.", "50055": "The password is expired.",
           "50034": "The user account does not exist in the directory.",
           "53003": "Access has been blocked by Conditional Access policies.",
           "500121": "Authentication failed during strong authentication request.",
           "50140": "This error occurred due to 'Keep me signed in' interrupt when the user was "
           "signing in."}

_WIN_EVENTS = {4624: "An account was successfully logged on", 4625: "An account failed to log on",
               4634: "An account was logged off", 4672: "Special privileges assigned to new logon",
               4688: "A new process has been created", 4720: "A user account was created",
               4740: "A user account was locked out", 4768: "A Kerberos authentication ticket "
               "(TGT) was requested", 4769: "A Kerberos service ticket was requested",
               4776: "The computer attempted to validate the credentials for an account"}

_PERF_RANGES = {"% Processor Time": (2.0, 98.0), "Available MBytes": (300.0, 16000.0),
                "% Committed Bytes In Use": (20.0, 95.0), "% Free Space": (3.0, 80.0),
                "Disk Reads/sec": (0.0, 400.0), "Disk Writes/sec": (0.0, 300.0),
                "Bytes Total/sec": (1e3, 5e7)}
_PERF_OBJECT = {"% Processor Time": "Processor", "Available MBytes": "Memory",
                "% Committed Bytes In Use": "Memory", "% Free Space": "LogicalDisk",
                "Disk Reads/sec": "LogicalDisk", "Disk Writes/sec": "LogicalDisk",
                "Bytes Total/sec": "Network Adapter"}


def _perf_value(row: dict[str, Any], rng: random.Random) -> float:
    lo, hi = _PERF_RANGES.get(row.get("counter") or "", (0.0, 100.0))
    # A triangular draw: most samples sit low, a few spike (the ones a threshold finds).
    return round(rng.triangular(lo, hi, lo + (hi - lo) * 0.25), 3)


def _win_activity_of(eid: Any) -> str:
    return f"{eid} - {_WIN_EVENTS.get(eid, 'Other event')}"


_win_activity = value_derive("event_id", _win_activity_of)


_FAILED_4625 = ("event_id", frozenset({4625}))
_PROCESS_4688 = ("event_id", frozenset({4688}))
_LOGONS = ("event_id", frozenset({4624, 4625, 4634, 4672, 4648}))

PROFILES: dict[str, SourceProfile] = {
    "signin_logs": SourceProfile(
        weights={"result_code": {"0": 82, "50126": 7, "50053": 2, "50074": 3, "50076": 2,
                                 "50057": 0.6, "50055": 0.5, "50034": 0.8, "53003": 0.8,
                                 "500121": 0.6, "50140": 0.7},
                 "conditional_access_status": {"success": 55, "notApplied": 40, "failure": 5},
                 "risk_level": {"none": 88, "low": 7, "medium": 4, "high": 1}},
        pools={"app": {"Microsoft Office 365 Portal": 20, "Microsoft Teams": 18,
                       "Office 365 Exchange Online": 15, "Azure Portal": 10,
                       "Microsoft Azure CLI": 3, "OneDrive SyncEngine": 6, "Salesforce": 4,
                       "Windows Sign In": 12, "Azure Virtual Desktop Client": 2},
               "resource": {"Microsoft Graph": 30, "Office 365 Exchange Online": 20,
                            "Windows Azure Service Management API": 10,
                            "Microsoft Teams Services": 15, "SharePoint Online": 12},
               "client_app": {"Browser": 55, "Mobile Apps and Desktop clients": 38,
                              "Exchange ActiveSync": 2, "IMAP4": 1, "Authenticated SMTP": 1.5,
                              "POP3": 0.5, "Other clients": 2},
               "location": {"US": 40, "GB": 15, "DE": 12, "NL": 8, "IN": 8, "FR": 6, "CA": 5,
                            "BR": 2, "RU": 1, "CN": 1, "NG": 1}},
        missing={"location": 0.02, "user_agent": 0.03, "src_ip": 0.01},
        derive={"result_description": _meaning("result_code", _AADSTS)}),
    "windows_security_events": SourceProfile(
        weights={"event_id": {4624: 40, 4634: 18, 4672: 10, 4625: 8, 4688: 9, 4768: 4,
                              4769: 5, 4776: 3, 4648: 1.5, 4740: 0.3, 4720: 0.15, 4726: 0.1,
                              4728: 0.1, 4732: 0.15, 1102: 0.05},
                 "logon_type": {3: 50, 2: 12, 10: 8, 5: 14, 4: 6, 7: 4, 11: 3, 8: 1, 9: 1},
                 "status": {"0xC000006D": 80, "0xC000006E": 8, "0xC0000234": 6,
                            "0xC0000072": 4, "0xC0000193": 2},
                 "sub_status": {"0xC000006A": 60, "0xC0000064": 25, "0xC0000234": 5,
                                "0xC0000072": 4, "0xC000006F": 2, "0xC0000070": 2,
                                "0xC0000071": 1, "0xC0000224": 1}},
        rest_weight=0.05, user_format="sam",
        pools={"logon_process": {"NtLmSsp": 40, "Kerberos": 45, "User32": 10, "Advapi": 5},
               "auth_package": {"Kerberos": 50, "NTLM": 35, "Negotiate": 15},
               "user_domain": {"CONTOSO": 85, "contoso": 5, "NT AUTHORITY": 8, "WORKGROUP": 2}},
        present_when={"status": _FAILED_4625, "sub_status": _FAILED_4625,
                      "process": _PROCESS_4688, "command_line": _PROCESS_4688,
                      "parent_process": _PROCESS_4688, "logon_type": _LOGONS,
                      "logon_process": _LOGONS, "auth_package": _LOGONS},
        missing={"src_ip": 0.15, "workstation": 0.1},
        derive={"activity": _win_activity}),
    "web_requests": SourceProfile(
        weights={"method": {"GET": 78, "POST": 15, "PUT": 2, "DELETE": 1, "HEAD": 2,
                            "OPTIONS": 2},
                 "status": {200: 78, 304: 5, 301: 1.5, 302: 3, 404: 6, 401: 1.5, 403: 1,
                            400: 1, 429: 0.5, 500: 1.5, 502: 0.5, 503: 0.7, 504: 0.3}},
        user_format="sam", missing={"user": 0.6, "uri_query": 0.55, "referer": 0.3}),
    "firewall_events": SourceProfile(
        weights={"dest_port": {443: 55, 80: 12, 53: 14, 22: 3, 445: 3, 3389: 2, 25: 1,
                               1433: 1, 5985: 0.5, 23: 0.2},
                 "action": {"allow": 80, "deny": 12, "drop": 6, "reset-both": 2},
                 "severity": {"Low": 80, "Medium": 15, "High": 4, "Very-High": 1}},
        user_format="sam",
        pools={"protocol": {"TCP": 80, "UDP": 18, "ICMP": 2},
               "app": {"ssl": 50, "web-browsing": 15, "dns": 14, "ssh": 3, "ms-rdp": 2,
                       "msrpc": 3, "smb": 3, "incomplete": 5, "not-applicable": 5},
               "vendor": {"Palo Alto Networks": 70, "Fortinet": 30},
               "product": {"PAN-OS": 70, "Fortigate": 30}},
        missing={"url": 0.6, "user": 0.45}),
    "dns_events": SourceProfile(
        weights={"query_type": {"A": 60, "AAAA": 18, "CNAME": 5, "PTR": 6, "MX": 2,
                                "TXT": 4, "SRV": 4, "NS": 1},
                 "result_code": {0: 88, 3: 9, 2: 2, 5: 1}},
        missing={"answer": 0.1}),
    "syslog": SourceProfile(
        weights={"severity": {"info": 60, "notice": 12, "warning": 12, "err": 8, "debug": 5,
                              "crit": 2, "alert": 0.6, "emerg": 0.4},
                 "facility": {"auth": 20, "authpriv": 15, "daemon": 25, "cron": 12,
                              "kern": 8, "mail": 5, "local0": 10, "local7": 5}},
        user_format="sam",
        pools={"process": {"sshd": 30, "sudo": 8, "CRON": 12, "systemd": 20, "kernel": 8,
                           "postfix/smtpd": 5, "nginx": 10, "dockerd": 7}}),
    "process_creation": SourceProfile(
        weights={"integrity_level": {"Medium": 70, "High": 15, "System": 12, "Low": 3}},
        user_format="sam",
        pools={"user_domain": {"CONTOSO": 85, "NT AUTHORITY": 12, "contoso": 3}}),
    "perf_counters": SourceProfile(
        weights={"counter": {"% Processor Time": 30, "Available MBytes": 20,
                             "% Committed Bytes In Use": 10, "% Free Space": 15,
                             "Disk Reads/sec": 8, "Disk Writes/sec": 8, "Bytes Total/sec": 9}},
        pools={"instance": {"_Total": 60, "C:": 25, "D:": 10, "0": 5}},
        missing={"instance": 0.0},
        derive={"value": _perf_value,
                "object": lambda row, rng: _PERF_OBJECT.get(row.get("counter") or "", "System")}),
    "azure_activity": SourceProfile(
        weights={"result": {"Succeeded": 40, "Started": 25, "Accepted": 15, "Success": 10,
                            "Failure": 4, "Failed": 6},
                 "category": {"Administrative": 80, "Policy": 10, "Security": 6,
                              "ServiceHealth": 4},
                 "level": {"Informational": 85, "Warning": 8, "Error": 6, "Critical": 1}},
        pools={"operation": {"Microsoft.Compute/virtualMachines/write": 10,
                             "Microsoft.Compute/virtualMachines/start/action": 8,
                             "Microsoft.Compute/virtualMachines/delete": 2,
                             "Microsoft.Storage/storageAccounts/listKeys/action": 6,
                             "Microsoft.Authorization/roleAssignments/write": 2,
                             "Microsoft.Network/networkSecurityGroups/write": 4,
                             "Microsoft.KeyVault/vaults/secrets/read": 5,
                             "Microsoft.Resources/deployments/write": 7},
               "resource_group": {"rg-prod": 40, "RG-Shared": 20, "rg-dev": 25, "rg-sec": 15},
               "resource_provider": {"Microsoft.Compute": 45, "Microsoft.Storage": 20,
                                     "Microsoft.Network": 15, "Microsoft.KeyVault": 10,
                                     "Microsoft.Authorization": 10}}),
    "audit_logs": SourceProfile(
        weights={"category": {"UserManagement": 45, "GroupManagement": 25,
                              "RoleManagement": 8, "ApplicationManagement": 15, "Policy": 7},
                 "result": {"success": 94, "failure": 6}},
        pools={"operation": {"Update user": 30, "Add member to group": 15, "Add user": 6,
                             "Reset password (by admin)": 5, "Change user password": 4,
                             "Add member to role": 2, "Consent to application": 1.5,
                             "Update application": 8, "Delete user": 1.5},
               "service": {"Core Directory": 80, "Self-service Password Management": 12,
                           "Invited Users": 8}},
        missing={"result_reason": 0.9}),
    "office_activity": SourceProfile(
        weights={"workload": {"SharePoint": 30, "OneDrive": 25, "Exchange": 35,
                              "AzureActiveDirectory": 6, "MicrosoftTeams": 4},
                 "operation": {"FileAccessed": 35, "MailItemsAccessed": 20, "FileModified": 10,
                               "FileDownloaded": 8, "UserLoggedIn": 8, "Send": 6,
                               "FileUploaded": 5, "FileSyncDownloadedFull": 2, "FileDeleted": 2,
                               "SharingSet": 1.5, "UserLoginFailed": 1.5,
                               "AnonymousLinkCreated": 0.4, "New-InboxRule": 0.2,
                               "Set-InboxRule": 0.2}},
        pools={"result": {"Succeeded": 90, "Failed": 5, "PartiallySucceeded": 5}}),
    "security_alerts": SourceProfile(
        weights={"severity": {"Medium": 40, "Low": 30, "High": 15, "Informational": 15},
                 "status": {"New": 55, "InProgress": 15, "Resolved": 25, "Dismissed": 5}},
        pools={"alert_name": {"Suspicious PowerShell command line": 10,
                              "Multiple failed sign-in attempts": 14, "Impossible travel": 6,
                              "Mass download": 3, "Malware detected": 5,
                              "Suspicious inbox forwarding rule": 2, "Password spray": 4},
               "product": {"Microsoft Defender for Endpoint": 45,
                           "Microsoft Entra ID Protection": 25,
                           "Microsoft Defender for Cloud Apps": 15,
                           "Microsoft Sentinel": 15},
               "tactics": {"InitialAccess": 20, "CredentialAccess": 25, "Execution": 20,
                           "Persistence": 10, "Exfiltration": 8, "LateralMovement": 10}}),
    "heartbeat": SourceProfile(
        weights={"os_type": {"Windows": 65, "Linux": 35},
                 "category": {"Azure Monitor Agent": 70, "Direct Agent": 22, "SCOM Agent": 6,
                              "SCOM Management Server": 2}},
        pools={"environment": {"Azure": 75, "Non-Azure": 25},
               "resource_group": {"rg-prod": 50, "rg-dev": 30, "RG-Shared": 20}}),
}


def profile_for(source_id: str) -> SourceProfile:
    """The source's profile, or an empty one: every source gets catalog-driven defaults."""
    return PROFILES.get(source_id, SourceProfile())


# ---------------------------------------------------------------------- entity pools

_FIRST = ["alice", "bob", "carol", "david", "erin", "frank", "grace", "heidi", "ivan", "judy",
          "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
          "yusuf", "zoe", "amir", "bianca", "chen", "dmitri", "esther", "fatima", "gustav",
          "hana", "igor", "jamal", "kenji", "lena", "mateo", "nora", "omar", "priya", "quinn"]
_LAST = ["smith", "jones", "garcia", "muller", "rossi", "kowalski", "nguyen", "okafor",
         "tanaka", "larsen", "dubois", "silva", "novak", "haddad", "khan", "fischer",
         "ivanova", "moreau", "santos", "weber"]
HOSTS = ["DC01", "WEB01", "web02", "SRV-FILE01", "ws-fin-023", "SRV-SQL01", "WS-HR-007",
         "app-prod-01", "LAPTOP-7GQK2", "db01", "lb01", "mail01", "Jump01", "k8s-node-3",
         "Build-Agent-02", "WS-DEV-114", "srv-backup", "VPN-GW01", "ws-mkt-042", "DC02"]
PROCESS_NAMES = ["svchost.exe", "chrome.exe", "explorer.exe", "msedge.exe", "powershell.exe",
                 "cmd.exe", "outlook.exe", "teams.exe", "winword.exe", "excel.exe",
                 "conhost.exe", "rundll32.exe", "taskhostw.exe", "wmiprvse.exe", "lsass.exe",
                 "python.exe", "git.exe", "code.exe", "mshta.exe", "certutil.exe", "psexec.exe",
                 "wscript.exe"]
_DIRS = {"chrome.exe": "C:\\Program Files\\Google\\Chrome\\Application",
         "msedge.exe": "C:\\Program Files (x86)\\Microsoft\\Edge\\Application",
         "outlook.exe": "C:\\Program Files\\Microsoft Office\\root\\Office16",
         "winword.exe": "C:\\Program Files\\Microsoft Office\\root\\Office16",
         "excel.exe": "C:\\Program Files\\Microsoft Office\\root\\Office16",
         "teams.exe": "C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams",
         "python.exe": "C:\\Python311", "git.exe": "C:\\Program Files\\Git\\cmd",
         "code.exe": "C:\\Program Files\\Microsoft VS Code",
         "psexec.exe": "C:\\Users\\Public\\Downloads"}
URL_PATHS = ["/", "/index.html", "/login", "/api/v1/orders", "/api/v1/users", "/static/app.js",
             "/static/style.css", "/favicon.ico", "/search", "/checkout", "/api/v1/health",
             "/wp-login.php", "/admin", "/.env", "/images/logo.png", "/Account/Login",
             "/api/v2/Reports/export", "/cgi-bin/test.cgi", "/robots.txt", "/docs/index"]
DOMAINS = ["login.microsoftonline.com", "outlook.office365.com", "www.google.com",
           "graph.microsoft.com", "contoso.sharepoint.com", "github.com", "api.slack.com",
           "update.microsoft.com", "Teams.Microsoft.com", "s3.amazonaws.com", "wpad.contoso.local",
           "dc01.contoso.local", "cdn.jsdelivr.net", "x7f3k9q2.xyz", "pastebin.com",
           "docs.python.org", "zoom.us", "AKAMAI.NET", "qz81lmw0a.top", "ntp.ubuntu.com"]
APPS = ["Microsoft Teams", "Office 365 Exchange Online", "Azure Portal", "SharePoint Online",
        "Salesforce", "Microsoft Azure CLI", "OneDrive", "GitHub Enterprise", "ServiceNow"]
FILES = ["Q3-report.xlsx", "budget_2026.xlsx", "invoice-4471.pdf", "passwords.txt",
         "Project Plan.docx", "setup.exe", "payload.ps1", "team-photo.png", "contract.pdf",
         "Customer_List.csv", "notes.md", "backup.zip", "HR-Salaries.xlsx", "readme.txt"]
RESOURCES = ["vm-web-01", "sa-logs-prod", "kv-secrets", "sql-prod-01", "aks-cluster",
             "nsg-dmz", "func-billing", "vnet-hub"]


def zipf_cum(n: int, s: float = 1.1, boost_first: float = 1.0) -> list[float]:
    """Cumulative Zipf weights for `random.choices(cum_weights=…)` (rank 1 most common)."""
    weights = [1.0 / (i + 1) ** s for i in range(n)]
    weights[0] *= boost_first
    return list(accumulate(weights))


@dataclass(frozen=True)
class Identity:
    upn: str
    sam: str
    display: str
    object_id: str
    home_ips: tuple[str, ...]


@dataclass(frozen=True)
class Pools:
    identities: tuple[Identity, ...]
    identity_cum: tuple[float, ...]
    victim: int  # most failed sign-ins / logons target this identity
    admin: int  # the rare admin account
    hosts: tuple[str, ...]
    host_cum: tuple[float, ...]
    ips: tuple[str, ...]
    ip_cum: tuple[float, ...]
    attacker_ips: tuple[str, ...]


def _ipv4_private(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.55:
        return f"10.{rng.randrange(0, 8)}.{rng.randrange(0, 40)}.{rng.randrange(2, 254)}"
    if kind < 0.8:
        return f"192.168.{rng.randrange(0, 5)}.{rng.randrange(2, 254)}"
    return f"172.{rng.randrange(16, 32)}.{rng.randrange(0, 10)}.{rng.randrange(2, 254)}"


def _ipv4_public(rng: random.Random) -> str:
    first = rng.choice([20, 40, 51, 52, 81, 92, 104, 145, 151, 176, 185, 193, 212])
    return f"{first}.{rng.randrange(1, 255)}.{rng.randrange(0, 255)}.{rng.randrange(1, 254)}"


def _ipv6(rng: random.Random) -> str:
    groups = ":".join(f"{rng.getrandbits(16):x}" for _ in range(4))
    return f"2001:db8:{rng.getrandbits(16):x}::{groups.split(':', 1)[1]}"


@lru_cache(maxsize=16)
def pools_for(seed: int) -> Pools:
    """The entity pools of one seed (cached: generation of every source shares them)."""
    rng = random.Random(f"lexiquery-pools:{seed}")
    ips = [_ipv4_private(rng) for _ in range(34)] + [_ipv4_public(rng) for _ in range(20)] + \
        [_ipv6(rng) for _ in range(6)]
    ips = list(dict.fromkeys(ips))
    rng.shuffle(ips)
    names = [(f, la) for f in _FIRST for la in _LAST]
    rng.shuffle(names)
    people: list[Identity] = []
    for first, last in names[:36]:
        homes = tuple(rng.sample(ips[:40], rng.randint(1, 3)))
        people.append(Identity(f"{first}.{last}@contoso.com", f"{first[0]}{last}",
                               f"{first.title()} {last.title()}",
                               str(uuid.UUID(int=rng.getrandbits(128), version=4)), homes))
    service = [Identity("svc_backup@contoso.com", "svc_backup", "Backup Service",
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)), (ips[0],)),
               Identity("svc_sql@contoso.com", "svc_sql", "SQL Service",
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)), (ips[1],))]
    admin = Identity("adm-jsmith@contoso.com", "adm-jsmith", "Admin J Smith",
                     str(uuid.UUID(int=rng.getrandbits(128), version=4)), (ips[2],))
    identities = people[:3] + service + people[3:] + [admin]
    cum = zipf_cum(len(identities) - 1)
    # The admin account is rare: a tenth of the least common user's share.
    cum.append(cum[-1] + (cum[-1] - cum[-2]) * 0.1)
    hosts = list(HOSTS)
    rng.shuffle(hosts)
    attackers = ("203.0.113.45", "198.51.100.23", "185.220.101.7")
    return Pools(tuple(identities), tuple(cum), victim=7, admin=len(identities) - 1,
                 hosts=tuple(hosts), host_cum=tuple(zipf_cum(len(hosts), 1.0, boost_first=3.0)),
                 ips=tuple(ips), ip_cum=tuple(zipf_cum(len(ips), 0.9)), attacker_ips=attackers)


@lru_cache(maxsize=512)
def process_path(name: str) -> str:
    """A plausible full path for a Windows process image name (cached: the names come from a
    small pool and every row asks)."""
    return _DIRS.get(name, "C:\\Windows\\System32") + "\\" + name
