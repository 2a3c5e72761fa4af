"""KQL (Azure Data Explorer / Log Analytics / Microsoft Sentinel): lexer (`lex`, `lex_strings`),
parser (`parse`, `parse_expr`, `ast`, `stages`, `time`), binder (`bind`), renderer (`render`) and
text helpers (`text`)."""
