"""KQL (Azure Data Explorer / Log Analytics / Microsoft Sentinel): lexer (`lex`, `lex_strings`),
parser (`parse`, `parse_expr`, `parse_more`, `ast`), binder (`bind`, `bind_more`, `bind_stages`,
`stages`, `stages_more`, `joins`, `time`), renderer (`render`, `render_stages`, `functions`), text
helpers (`text`) and the read-only guard (`guard`)."""

from lexiquery.catalog.model import Platform
from lexiquery.dialects.kql.guard import check_kql
from lexiquery.dialects.kql.parse import parse_kql
from lexiquery.dialects.kql.render_stages import render_kql
from lexiquery.dialects.language import Language

LANGUAGE = Language(platform=Platform.kql,
                    render=lambda plan, source, _dialect, sources: render_kql(plan, source,
                                                                             sources),
                    parse=lambda text, catalog, _dialect: parse_kql(text, catalog),
                    check=lambda text, _dialect: check_kql(text))
