"""The built-in macro pack: the search macros of Splunk's ES Content Update detections
(`splunk/security_content`, `macros/*.yml`) with their published default definitions, so a
detection that calls them reads as a stock ESCU install runs it.

    escu_macros() → MacroTable   (the defaults; `Catalog.spl_macros()` lays the sources' own over it)

Three kinds of macro, each expanded with its published text and a note to the reader
(`SplMacro.note`), because every one of them is a site setting a customer may have edited:

* **input macros** (`wineventlog_security`, `sysmon`, `cloudtrail`, `azure_monitor_aad`, …):
  the index/source/sourcetype selector of a data source. ESCU says "replace the macro
  definition with configurations for your Splunk environment"; the definition here is ESCU's
  default, which is what the catalog's Splunk bindings recognise.
* **helpers** (`security_content_summariesonly`, `drop_dm_object_name(1)`,
  `security_content_ctime(1)`, `process_powershell`, `process_net`): fixed text. `ctime`
  converts a time field to text for display (`convert … ctime(x)`); whether that can be read
  is the SPL reader's to say, and it refuses it precisely when it cannot.
* **`<detection>_filter`**: every ESCU detection ends with its own tuning hook, shipped as
  ``search *`` (keep everything). There are thousands, one per detection, so they are not
  listed: any macro called without arguments whose name ends in ``_filter`` and that no source
  declares is this empty filter (`FILTER_PATTERN`). The note says so, since a site that tuned
  its filter to drop false positives gets more rows from the translation than from Splunk
  until it declares its definition (`SplBinding.macros`).

A macro neither declared nor matching a pattern stays unknown code: the read-only guard refuses
it, naming it.
"""

from __future__ import annotations

from functools import lru_cache

from lexiquery.catalog.macro_table import MacroTable, SplMacro

__all__ = ["ESCU_MACROS", "FILTER_PATTERN", "MacroTable", "escu_macros"]

_INPUT_NOTE = ("ESCU's default input macro; a site usually redefines it for its own indexes — "
               "if yours selects other data, declare its definition in the catalog")
_HELPER_NOTE = "ESCU's published definition"

# name (`name`, or `name(N)` for N arguments) → definition, or {definition, args}. Definitions
# are the published ones of splunk/security_content macros/*.yml (Apache-2.0).
ESCU_MACROS: dict[str, str | dict[str, object]] = {
    # input macros
    "wineventlog_security": "eventtype=wineventlog_security OR Channel=security "
                            "OR source=XmlWinEventLog:Security",
    "wineventlog_system": "eventtype=wineventlog_system OR Channel=system "
                          "OR source=XmlWinEventLog:System",
    "sysmon": "(sourcetype=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational OR "
              "source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational)",
    "powershell": "(source=XmlWinEventLog:Microsoft-Windows-PowerShell/Operational OR "
                  "source=WinEventLog:Microsoft-Windows-PowerShell/Operational)",
    "linux_auditd": "sourcetype=linux:audit",
    "cloudtrail": "sourcetype=aws:cloudtrail",
    "o365_management_activity": "sourcetype=o365:management:activity",
    "azure_monitor_aad": "sourcetype=azure:monitor:aad",
    "kube_audit": 'source="kubernetes"',  # ESCU's "Kubernetes Audit": sourcetype _json
    # helpers
    "security_content_summariesonly": "summariesonly=`summariesonly_config` "
                                      "allow_old_summaries=`oldsummaries_config` "
                                      "fillnull_value=`fillnull_config`",
    "summariesonly_config": "false",
    "oldsummaries_config": "true",
    "fillnull_config": "null",
    "drop_dm_object_name(1)": {"definition": "rename $object$.* AS *", "args": ["object"]},
    "security_content_ctime(1)": {"definition": 'convert timeformat="%Y-%m-%dT%H:%M:%S" '
                                                "ctime($field$)", "args": ["field"]},
    "process_powershell": "(Processes.process_name=pwsh.exe OR "
                          "Processes.process_name=powershell.exe OR "
                          "Processes.original_file_name=pwsh.dll OR "
                          "Processes.original_file_name=PowerShell.EXE OR "
                          "Processes.original_file_name=powershell_ise.EXE OR "
                          "Processes.process_name=powershell_ise.exe)",
    "process_net": '(Processes.process_name="net.exe" OR Processes.original_file_name="net.exe" '
                   'OR Processes.process_name="net1.exe" '
                   'OR Processes.original_file_name="net1.exe")',
}
_INPUTS = frozenset({"wineventlog_security", "wineventlog_system", "sysmon", "powershell",
                     "linux_auditd", "cloudtrail", "o365_management_activity",
                     "azure_monitor_aad", "kube_audit"})
_QUIET = frozenset({"summariesonly_config", "oldsummaries_config", "fillnull_config"})

FILTER_PATTERN = "*_filter"
FILTER_MACRO = SplMacro(
    definition="search *",
    note="ESCU ships every detection's `_filter` macro as `search *` (keep every event) and it "
         "is read so; if your site tuned it to drop false positives, declare its definition in "
         "the catalog, or the translation keeps the events your filter drops")


@lru_cache(maxsize=1)
def escu_macros() -> MacroTable:
    """The ESCU pack: every macro of `ESCU_MACROS` with its note, and the `_filter` pattern."""
    declared: dict[str, SplMacro] = {}
    for name, raw in ESCU_MACROS.items():
        macro = SplMacro.model_validate(raw)
        bare = name.split("(")[0]
        if bare not in _QUIET and not macro.note:
            macro = macro.model_copy(update={
                "note": _INPUT_NOTE if bare in _INPUTS else _HELPER_NOTE})
        declared[name] = macro
    return MacroTable(declared, {FILTER_PATTERN: FILTER_MACRO})
