"""SQL through sqlglot (PostgreSQL, T-SQL, DuckDB, BigQuery, Snowflake and more): lexer
(`parse_lex`), parser (`parse`, `parse_select`, `parse_where`, `parse_expr`, `parse_agg`,
`parse_time`), renderer (`render` + `filters`), what each dialect writes its own way (`idioms*`),
text helpers (`text`) and the read-only guard (`guard`, `guard_functions`)."""

from lexiquery.catalog.model import Platform
from lexiquery.dialects.language import Language
from lexiquery.dialects.sql.guard import check_sql
from lexiquery.dialects.sql.parse import parse_sql
from lexiquery.dialects.sql.render import render_sql

LANGUAGE = Language(platform=Platform.sql, render=render_sql,
                    parse=lambda text, catalog, dialect: parse_sql(text, catalog, dialect=dialect),
                    check=check_sql)
