"""SPL (Splunk): lexer (`lex`, `macros`), parser (`parse`, `search`, `source`, `stages`,
`stages_more`, `subsearch`, `lookup`, `eval`, `expr`, `aggregate`, `output`), binder (`bind`),
renderer (`render` for the first part, `render_stages` for the stages and `render_spl`,
`join`), functions both ways (`functions`), text helpers (`text`) and the read-only guard
(`guard`)."""

from lexiquery.catalog.model import Platform
from lexiquery.dialects.language import Language
from lexiquery.dialects.spl.guard import check_spl
from lexiquery.dialects.spl.parse import parse_spl
from lexiquery.dialects.spl.render_stages import render_spl

LANGUAGE = Language(platform=Platform.spl,
                    render=lambda plan, source, _dialect, sources: render_spl(plan, source,
                                                                             sources),
                    parse=lambda text, catalog, _dialect: parse_spl(text, catalog),
                    check=lambda text, _dialect: check_spl(text))
