"""Build the development set's workspace schema fixtures from the reference facts.

    python tests/devset/build_fixtures.py [--reference DIR]

Writes, under tests/devset/workspaces/:

* defender_xdr.json   — Kusto `.show database schema as json` of a Defender XDR advanced-hunting
                        database: the Device*/Email*/Identity*/Alert*/Behavior* tables,
                        CloudAppEvents and UrlClickEvents, without the Log-Analytics-only columns
                        and with `Timestamp` (datetime) as every table's time column.
* sentinel.json       — Kusto schema of a Sentinel workspace: ~60 real tables as Log Analytics
                        has them (with TimeGenerated) plus three custom `_CL` tables.
* splunk_inventory.csv — `| tstats count where index=* by index, sourcetype, source` export.
* warehouse.sql       — PostgreSQL DDL of an analytics / security warehouse.

Deterministic: the same reference files give byte-identical output (tables and columns keep
the reference's order; no timestamps). The reference directory is found at --reference, at
$LEXIQUERY_REFERENCE_DIR, or at ../shared/reference beside the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import OrderedDict
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "workspaces"
REPO = HERE.parent.parent

# Kusto CslType -> CLR type as `.show database schema as json` reports it.
CLR = {"string": "System.String", "int": "System.Int32", "long": "System.Int64",
       "real": "System.Double", "bool": "System.SByte", "datetime": "System.DateTime",
       "dynamic": "System.Object", "guid": "System.Guid", "timespan": "System.TimeSpan",
       "decimal": "System.Data.SqlTypes.SqlDecimal"}

# ---- Defender XDR advanced hunting -------------------------------------------------------------

# Prefixes the brief names; the exclusions below are tables the reference lists under the same
# prefixes that are NOT advanced-hunting tables (Teams Rooms device telemetry, Sentinel custom
# device logs, Azure Monitor's `Alert`, the Log Analytics copies of the behavior tables).
XDR_PREFIXES = ("Device", "Email", "Identity", "Alert")
XDR_EXTRA = ("CloudAppEvents", "UrlClickEvents", "AADSignInEventsBeta", "AADSpnSignInEventsBeta",
             "BehaviorInfo", "BehaviorEntities")
XDR_EXCLUDE = {
    "Alert", "AlertHistory",
    "DeviceAppCrash", "DeviceAppLaunch", "DeviceCalendar", "DeviceCleanup",
    "DeviceConnectSession", "DeviceEtw", "DeviceHardwareHealth", "DeviceHealth",
    "DeviceHeartbeat", "DeviceSkypeHeartbeat", "DeviceSkypeSignIn",
    "DeviceBehaviorEntities", "DeviceBehaviorInfo",
    "DeviceCustomFileEvents", "DeviceCustomImageLoadEvents", "DeviceCustomNetworkEvents",
    "DeviceCustomProcessEvents", "DeviceCustomRegistryEvents", "DeviceCustomScriptEvents",
}
LA_ONLY_COLUMNS = {"TenantId", "_ResourceId", "Type", "SourceSystem", "MachineGroup",
                   "_BilledSize", "_IsBillable", "TimeGenerated", "_SubscriptionId"}

# ---- Sentinel ----------------------------------------------------------------------------------

SENTINEL_TABLES = [
    # identity
    "SigninLogs", "AADNonInteractiveUserSignInLogs", "AADServicePrincipalSignInLogs",
    "AADManagedIdentitySignInLogs", "AADUserRiskEvents", "AADRiskyUsers", "AuditLogs",
    "IdentityInfo", "BehaviorAnalytics",
    # Azure / cloud
    "AzureActivity", "AzureDiagnostics", "AzureMetrics", "StorageBlobLogs",
    "AZFWNetworkRule", "AZFWApplicationRule", "AZFWDnsQuery", "AppServiceHTTPLogs",
    "AWSCloudTrail", "AWSGuardDuty", "AWSVPCFlow", "GCPAuditLogs",
    # Windows / Linux hosts
    "SecurityEvent", "Event", "WindowsEvent", "Syslog", "Heartbeat", "Perf", "DnsEvents",
    "W3CIISLog", "Update", "ConfigurationChange", "VMConnection", "ContainerLog", "KubeEvents",
    # network appliances
    "CommonSecurityLog",
    # Microsoft 365
    "OfficeActivity",
    # Defender XDR streamed into Sentinel
    "DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents", "DeviceRegistryEvents",
    "DeviceLogonEvents", "DeviceEvents", "DeviceInfo", "DeviceImageLoadEvents",
    "EmailEvents", "EmailAttachmentInfo", "EmailUrlInfo", "UrlClickEvents", "CloudAppEvents",
    "IdentityLogonEvents", "IdentityDirectoryEvents", "IdentityQueryEvents",
    "AlertInfo", "AlertEvidence",
    # Sentinel itself
    "SecurityAlert", "SecurityIncident", "ThreatIntelligenceIndicator", "Watchlist",
    "Anomalies", "SentinelHealth", "LAQueryLogs", "Usage",
]

CUSTOM_TABLES: dict[str, list[tuple[str, str]]] = {
    "VpnLogs_CL": [
        ("TimeGenerated", "datetime"), ("UserName_s", "string"), ("SrcIP_s", "string"),
        ("Result_s", "string"), ("Gateway_s", "string"), ("BytesIn_d", "real"),
        ("BytesOut_d", "real"), ("Country_s", "string"), ("SessionDuration_d", "real"),
    ],
    "ProxyLogs_CL": [
        ("TimeGenerated", "datetime"), ("user_s", "string"), ("src_ip_s", "string"),
        ("url_s", "string"), ("domain_s", "string"), ("action_s", "string"),
        ("bytes_out_d", "real"), ("bytes_in_d", "real"), ("category_s", "string"),
        ("status_d", "real"),
    ],
    # The columns the classic Okta System Log connector (HTTP Data Collector API) writes: the
    # Okta event's JSON paths flattened with `_`, suffixed by the Log Analytics type letter.
    "OktaSystemLog_CL": [
        ("TimeGenerated", "datetime"), ("published_t", "datetime"), ("uuid_s", "string"),
        ("eventType_s", "string"), ("legacyEventType_s", "string"),
        ("displayMessage_s", "string"), ("severity_s", "string"),
        ("outcome_result_s", "string"), ("outcome_reason_s", "string"),
        ("actor_id_s", "string"), ("actor_type_s", "string"),
        ("actor_alternateId_s", "string"), ("actor_displayName_s", "string"),
        ("client_ipAddress_s", "string"), ("client_userAgent_rawUserAgent_s", "string"),
        ("client_userAgent_browser_s", "string"), ("client_userAgent_os_s", "string"),
        ("client_device_s", "string"), ("client_zone_s", "string"),
        ("client_geographicalContext_city_s", "string"),
        ("client_geographicalContext_state_s", "string"),
        ("client_geographicalContext_country_s", "string"),
        ("client_geographicalContext_geolocation_lat_d", "real"),
        ("client_geographicalContext_geolocation_lon_d", "real"),
        ("authenticationContext_authenticationStep_d", "real"),
        ("authenticationContext_externalSessionId_s", "string"),
        ("authenticationContext_credentialType_s", "string"),
        ("securityContext_asNumber_d", "real"), ("securityContext_asOrg_s", "string"),
        ("securityContext_isp_s", "string"), ("securityContext_domain_s", "string"),
        ("securityContext_isProxy_b", "bool"),
        ("debugContext_debugData_requestUri_s", "string"),
        ("debugContext_debugData_threatSuspected_s", "string"),
        ("debugContext_debugData_behaviors_s", "string"),
        ("transaction_id_s", "string"), ("transaction_type_s", "string"),
        ("target_s", "string"),
    ],
}

# ---- Splunk --------------------------------------------------------------------------------------

SPLUNK_ROWS = [  # index, sourcetype, source, count
    ("wineventlog", "WinEventLog:Security", "WinEventLog:Security", 48213377),
    ("wineventlog", "WinEventLog:System", "WinEventLog:System", 2210458),
    ("wineventlog", "WinEventLog:Application", "WinEventLog:Application", 1733102),
    ("wineventlog", "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
     "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", 61877023),
    ("wineventlog", "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational",
     "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational", 3310987),
    ("linux", "linux_secure", "/var/log/secure", 912334),
    ("linux", "syslog", "/var/log/messages", 7450219),
    ("linux", "linux:audit", "/var/log/audit/audit.log", 15022871),
    ("pan", "pan:traffic", "udp:514", 133870412),
    ("pan", "pan:threat", "udp:514", 402211),
    ("pan", "pan:system", "udp:514", 88120),
    ("proxy", "bluecoat:proxysg:access:syslog", "tcp:1514", 98312006),
    ("proxy", "zscalernss-web", "tcp:10514", 55410993),
    ("o365", "o365:management:activity", "o365", 6120334),
    ("aws", "aws:cloudtrail", "aws_cloudtrail", 9844107),
    ("aws", "aws:cloudwatchlogs:vpcflow", "aws_cloudwatchlogs_vpcflow", 41200981),
    ("azure", "azure:aad:signin", "azure_aad_signin", 2874410),
    ("azure", "azure:aad:audit", "azure_aad_audit", 412096),
    ("dns", "stream:dns", "stream:dns", 210554087),
    ("web", "iis", "C:\\inetpub\\logs\\LogFiles\\W3SVC1\\u_ex.log", 12033871),
    ("web", "access_combined", "/var/log/nginx/access.log", 8822130),
    ("edr", "crowdstrike:events:sensor", "crowdstrike", 77120044),
    ("okta", "OktaIM2:log", "Okta", 1204877),
]

# ---- SQL warehouse -----------------------------------------------------------------------------

WAREHOUSE_DDL = """\
-- Security & analytics warehouse (PostgreSQL 15), schema dump of the `analytics` database.
-- pg_dump --schema-only --no-owner --no-privileges analytics

CREATE TABLE proxy_logs (
    id          bigserial PRIMARY KEY,
    event_time  timestamp NOT NULL,
    username    text,
    src_ip      text NOT NULL,
    url         text,
    domain      text,
    action      text,            -- allowed | blocked | warned
    bytes_out   bigint,
    bytes_in    bigint,
    status      int,
    category    text,
    user_agent  text
);
COMMENT ON TABLE proxy_logs IS 'Web proxy access log, one row per request';

CREATE TABLE vpn_sessions (
    session_id      uuid PRIMARY KEY,
    started_at      timestamp NOT NULL,
    ended_at        timestamp,
    username        text NOT NULL,
    src_ip          inet,
    assigned_ip     inet,
    gateway         text,
    country         char(2),
    result          text,        -- success | failure
    failure_reason  text,
    bytes_in        bigint,
    bytes_out       bigint,
    client_version  text
);

CREATE TABLE auth_events (
    event_id      bigserial PRIMARY KEY,
    event_time    timestamp NOT NULL,
    username      text,
    src_ip        text,
    app_name      text,
    auth_method   text,          -- password | mfa_push | sso | api_key
    result        text,          -- success | failure
    failure_reason text,
    mfa_used      boolean,
    country       text,
    user_agent    text
);

CREATE TABLE web_requests (
    request_time     timestamp NOT NULL,
    host             text,
    client_ip        text,
    method           varchar(10),
    path             text,
    query_string     text,
    status_code      smallint,
    response_bytes   bigint,
    response_time_ms integer,
    user_agent       text,
    referrer         text
);

CREATE TABLE customers (
    customer_id  bigint PRIMARY KEY,
    email        text UNIQUE,
    full_name    text,
    country      text,
    segment      text,
    signup_date  date,
    is_active    boolean DEFAULT true,
    created_at   timestamp NOT NULL
);

CREATE TABLE orders (
    order_id         bigint PRIMARY KEY,
    customer_id      bigint REFERENCES customers(customer_id),
    order_date       timestamp NOT NULL,
    status           text,       -- pending | paid | shipped | refunded | cancelled
    total_amount     numeric(12,2),
    currency         char(3),
    payment_method   text,
    shipping_country text,
    coupon_code      text
);

CREATE TABLE endpoint_alerts (
    alert_id     uuid PRIMARY KEY,
    detected_at  timestamp NOT NULL,
    hostname     text,
    username     text,
    severity     text,           -- low | medium | high | critical
    rule_name    text,
    mitre_tactic text,
    file_name    text,
    file_sha256  char(64),
    process_cmdline text,
    status       text            -- new | in_progress | resolved | false_positive
);

CREATE TABLE firewall_flows (
    flow_start   timestamp NOT NULL,
    src_ip       inet,
    src_port     integer,
    dst_ip       inet,
    dst_port     integer,
    protocol     text,
    action       text,           -- allow | deny | drop
    bytes_sent   bigint,
    bytes_recv   bigint,
    rule_name    text,
    zone_src     text,
    zone_dst     text
);
"""


def find_reference(arg: str | None) -> Path:
    for cand in (arg, os.environ.get("LEXIQUERY_REFERENCE_DIR"),
                 str(REPO.parent / "shared" / "reference"), "/work/shared/reference"):
        if cand and (Path(cand) / "log_analytics_tables.csv").is_file():
            return Path(cand)
    sys.exit("reference facts not found: pass --reference DIR (holding log_analytics_tables.csv)")


# The reference's AzureDiagnostics rows are written differently (CLR-ish type names, "abc ..."
# placeholder rows, repeated columns, no TimeGenerated): normalise them.
TYPE_ALIASES = {"bigint": "long", "double": "real", "boolean": "bool"}
PLACEHOLDERS = {"abc", "..."}


def read_tables(ref: Path) -> "OrderedDict[str, list[tuple[str, str]]]":
    tables: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()
    with open(ref / "log_analytics_tables.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name, col = row["table_name"], row["column_name"]
            typ = row["column_type"].lower()
            typ = TYPE_ALIASES.get(typ, typ)
            if col in PLACEHOLDERS or typ not in CLR:
                continue
            cols = tables.setdefault(name, [])
            if all(c != col for c, _ in cols):  # the first spelling of a repeated column wins
                cols.append((col, typ))
    for name, cols in tables.items():
        if name == "AzureDiagnostics" and all(c != "TimeGenerated" for c, _ in cols):
            cols.insert(0, ("TimeGenerated", "datetime"))
    return tables


def kusto_doc(db: str, tables: "OrderedDict[str, list[tuple[str, str]]]") -> dict:
    return {"Databases": {db: {
        "Name": db,
        "Tables": {name: {"Name": name, "OrderedColumns": [
            {"Name": c, "Type": CLR[t], "CslType": t} for c, t in cols]}
            for name, cols in tables.items()},
        "MaterializedViews": {},
        "Functions": {},
    }}}


def defender_tables(ref_tables) -> "OrderedDict[str, list[tuple[str, str]]]":
    out: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()
    names = sorted(n for n in ref_tables
                   if (n.startswith(XDR_PREFIXES) or n in XDR_EXTRA) and n not in XDR_EXCLUDE)
    for name in names:
        cols = [(c, t) for c, t in ref_tables[name] if c not in LA_ONLY_COLUMNS]
        if not any(c == "Timestamp" for c, _ in cols):
            cols.insert(0, ("Timestamp", "datetime"))
        else:  # the reference sometimes types it otherwise; advanced hunting has a datetime
            cols = [(c, "datetime" if c == "Timestamp" else t) for c, t in cols]
        out[name] = cols
    return out


def sentinel_tables(ref_tables) -> "OrderedDict[str, list[tuple[str, str]]]":
    missing = [t for t in SENTINEL_TABLES if t not in ref_tables]
    if missing:
        sys.exit(f"tables missing from the reference: {missing}")
    out: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()
    for name in SENTINEL_TABLES:
        cols = list(ref_tables[name])
        if not any(c == "TimeGenerated" for c, _ in cols):
            sys.exit(f"{name} has no TimeGenerated in the reference")
        out[name] = cols
    for name, cols in CUSTOM_TABLES.items():
        out[name] = list(cols)
    return out


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {path.relative_to(REPO)} ({len(text):,} bytes)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", help="directory holding log_analytics_tables.csv")
    args = ap.parse_args(argv)
    ref_tables = read_tables(find_reference(args.reference))
    OUT.mkdir(parents=True, exist_ok=True)

    xdr = defender_tables(ref_tables)
    write(OUT / "defender_xdr.json",
          json.dumps(kusto_doc("hunting", xdr), indent=1, ensure_ascii=False) + "\n")
    sen = sentinel_tables(ref_tables)
    write(OUT / "sentinel.json",
          json.dumps(kusto_doc("soc-sentinel-prod", sen), indent=1, ensure_ascii=False) + "\n")

    lines = ["index,sourcetype,source,count"]
    for index, st, source, count in SPLUNK_ROWS:
        cells = [index, st, source, str(count)]
        lines.append(",".join(f'"{c}"' if ("," in c or '"' in c) else c for c in cells))
    write(OUT / "splunk_inventory.csv", "\n".join(lines) + "\n")

    write(OUT / "warehouse.sql", WAREHOUSE_DDL)
    print(f"defender_xdr: {len(xdr)} tables; sentinel: {len(sen)} tables; "
          f"splunk: {len(SPLUNK_ROWS)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
