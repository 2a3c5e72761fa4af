"""SQL through sqlglot (PostgreSQL, T-SQL, DuckDB, BigQuery, Snowflake and more): lexer
(`parse_lex`), parser (`parse`, `parse_select`, `parse_where`, `parse_expr`, `parse_agg`,
`parse_time`), renderer (`render` + `filters`), what each dialect writes its own way (`idioms*`),
text helpers (`text`) and the read-only guard (`guard`, `guard_functions`)."""
