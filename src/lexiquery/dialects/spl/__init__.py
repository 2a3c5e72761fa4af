"""SPL (Splunk): lexer (`lex`, `macros`), parser (`parse`, `search`, `source`, `stages`, `eval`,
`expr`, `aggregate`, `output`), binder (`bind`), renderer (`render`) and text helpers (`text`)."""
