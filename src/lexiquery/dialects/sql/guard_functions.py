"""The SQL functions the read-only guard refuses, listed per dialect and by what they do.

A SELECT can still write, read the server's files, call out to the network, change server state
or run code through a function: `pg_read_file`, `lo_export`, `dblink`, `set_config`,
`nextval`, MySQL `LOAD_FILE`, SQLite `load_extension`, Snowflake `SYSTEM$…`, ClickHouse
`file()`, T-SQL `xp_cmdshell`… Each dialect lists its own, because the same name is harmless in
one database and dangerous in another (`file` is only a ClickHouse table function; `query` only
runs SQL text in DuckDB and Trino). A dialect this module does not know gets every list.

Names are matched lower-cased against the function's name, its full dotted name
(`pg_catalog.pg_read_file`, `utl_http.request`) and each part of it, so a schema or package
qualifier, a quoted name or an unusual case changes nothing. A rule is an exact name or a
prefix (`lo_`, `dblink`, `system$`, `xp_`, `dbms_`).

Decisions:
* ``dos``: sleeps and benchmarks only hold a connection busy, but no analytics query needs
  them, and on a shared server they are a denial of service: refused.
* reading server settings (`current_setting`, `@@datadir`) discloses but does not change or
  send anything; it is not refused, except in DuckDB, whose settings name the sandbox's paths.
"""

from __future__ import annotations

from dataclasses import dataclass

# What each kind of function does, as the refusal says it.
WHY = {
    "file": "reads or writes files on the database server",
    "network": "connects to another server, URL or service",
    "admin": "changes server settings, sessions or locks",
    "state": "changes a sequence or other database state",
    "code": "runs code or SQL text it is given",
    "dos": "keeps the server busy on purpose (sleep, benchmark)",
}


@dataclass(frozen=True)
class Danger:
    """Functions of one `kind` (a key of `WHY`): exact lower-case `names` and name `prefixes`."""

    kind: str
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def matches(self, name: str) -> bool:
        return name in self.names or name.startswith(self.prefixes)


def _d(kind: str, names: str = "", prefixes: str = "") -> Danger:
    return Danger(kind, frozenset(names.split()), tuple(prefixes.split()))


# `NEXT VALUE FOR s` (sqlglot's NextValueFor) advances a sequence in every dialect that has it.
_COMMON = (_d("state", "next_value_for nextvaluefor"),)

_POSTGRES = (
    _d("file", "pg_stat_file pg_logdir_ls pg_file_write pg_file_rename pg_file_unlink "
               "pg_file_sync pg_file_read", "pg_read_ pg_ls_ lo_"),
    _d("network", "pg_notify", "dblink"),
    _d("admin", "set_config pg_terminate_backend pg_cancel_backend pg_reload_conf "
                "pg_rotate_logfile pg_promote pg_switch_wal pg_switch_xlog "
                "pg_create_restore_point pg_start_backup pg_stop_backup pg_backup_start "
                "pg_backup_stop pg_wal_replay_pause pg_wal_replay_resume "
                "pg_log_backend_memory_contexts pg_import_system_collations",
       "pg_advisory_ pg_try_advisory_ pg_stat_reset pg_replication_ pg_create_ pg_drop_ "
       "pg_copy_ pg_logical_"),
    _d("state", "nextval setval"),
    _d("code", "query_to_xml query_to_xml_and_xmlschema query_to_xmlschema cursor_to_xml "
               "cursor_to_xmlschema"),
    _d("dos", "pg_sleep pg_sleep_for pg_sleep_until"),
)
_MYSQL = (  # MySQL and MariaDB (and the servers that speak their dialect)
    _d("file", "load_file"),
    _d("code", "sys_exec sys_eval sys_get sys_set"),
    _d("admin", "get_lock release_lock release_all_locks master_pos_wait source_pos_wait "
                "wait_for_executed_gtid_set wait_until_sql_thread_after_gtids"),
    _d("state", "nextval setval lastval"),
    _d("dos", "sleep benchmark"),
)
_SQLITE = (
    _d("file", "readfile writefile fsdir edit zipfile sqlite_dbpage sqlite_dbdata"),
    _d("code", "load_extension eval fts3_tokenizer"),
)
_TSQL = (
    _d("file", "fn_xe_file_target_read_file fn_get_audit_file fn_trace_gettable"),
    _d("network", "openrowset opendatasource openquery"),
    _d("code", "", "xp_ sp_"),
)
_SNOWFLAKE = (
    _d("admin", "", "system$"),
    _d("file", "get_presigned_url build_scoped_file_url build_stage_file_url "
               "get_stage_location get_relative_path get_absolute_path infer_schema directory"),
)
_CLICKHOUSE = (
    _d("file", "file input filesystem catboostevaluate modelevaluate", "hdfs"),
    _d("network", "url urlcluster remote remotesecure cluster clusterallreplicas mysql "
                  "postgresql mongodb redis sqlite odbc jdbc gcs",
       "s3 azureblobstorage deltalake iceberg hudi"),
    _d("code", "executable executablepool"),
    _d("dos", "sleep sleepeachrow"),
)
_BIGQUERY = (
    _d("network", "external_query external_object_transform generatetext generate_text "
                  "generateembedding generate_embedding generatetable generate_table "
                  "generatebool generate_bool generateint generate_int generatedouble "
                  "generate_double aigenerate ai_generate mltranslate m_l_translate",
       "ml.generate ml.understand_text ml.translate ml.process_document ml.transcribe "
       "ml.annotate_image ai."),
)
_ORACLE = (
    _d("network", "utl_http utl_tcp utl_smtp utl_mail utl_inaddr httpuritype",
       "ctxsys."),
    _d("file", "utl_file"),
    _d("code", "kupp$proc", "dbms_"),
)
_DUCKDB = (
    _d("file", "glob sniff_csv getenv st_read st_read_meta st_readosm st_readshp delta_scan "
               "readcsv readparquet",
       "read_ parquet_ iceberg_ sqlite_"),
    _d("network", "", "postgres_ mysql_ http_"),
    _d("code", "query query_table json_execute_serialized_sql"),
    _d("admin", "current_setting duckdb_settings duckdb_secrets which_secret "
                "duckdb_extensions"),
    _d("state", "nextval setval"),
)
_SPARK = (  # Spark, Databricks, Hive
    _d("code", "reflect java_method try_reflect"),
    _d("file", "", "read_"),
    _d("network", "http_request secret list_secrets try_secret", "ai_"),
)
_TRINO = (
    _d("network", "query raw_query"),
)

DANGERS: dict[str, tuple[Danger, ...]] = {
    "postgres": _POSTGRES, "redshift": _POSTGRES, "materialize": _POSTGRES,
    "risingwave": _POSTGRES,
    "mysql": _MYSQL, "mariadb": _MYSQL, "singlestore": _MYSQL, "doris": _MYSQL,
    "starrocks": _MYSQL,
    "sqlite": _SQLITE,
    "tsql": _TSQL, "fabric": _TSQL,
    "snowflake": _SNOWFLAKE,
    "clickhouse": _CLICKHOUSE,
    "bigquery": _BIGQUERY,
    "oracle": _ORACLE,
    "duckdb": _DUCKDB,
    "spark": _SPARK, "spark2": _SPARK, "databricks": _SPARK, "hive": _SPARK,
    "trino": _TRINO, "presto": _TRINO, "athena": _TRINO,
}
_EVERY = tuple(d for group in dict.fromkeys(DANGERS.values()) for d in group)

# Spark reads a file named as a table of a file-format "database": csv.`/etc/passwd`.
SPARK_FILE_FORMATS = frozenset({"csv", "json", "parquet", "orc", "text", "avro", "binaryfile",
                                "delta", "xml", "jdbc"})
SPARK_DIALECTS = frozenset({"spark", "spark2", "databricks", "hive"})


def dangerous(names: list[str], dialect: str) -> str | None:
    """Why a function called by any of `names` (lower-case) is refused in `dialect`, or None."""
    for danger in DANGERS.get(dialect, _EVERY) + _COMMON:
        for name in names:
            if danger.matches(name):
                return WHY[danger.kind]
    return None
