"""A `Join` stage in SPL: the right-hand plan rendered with its own source as a subsearch.

    inner / left → | join type=inner|left max=0 k… [search … | rename rk AS k]
    semi         → | search [search … | rename rk AS k | table k…]
    anti         → | search NOT [search … | rename rk AS k | table k…]

Semantics an analyst should know:
* `join` compares the keys exactly (case-sensitively), as KQL and SQL do; `max=0` joins every
  matching right row (Splunk's default `max=1` keeps only the first). Its subsearch returns at
  most 50,000 rows and runs at most 60 s (limits.conf `[join] subsearch_maxout`,
  `subsearch_maxtime`): beyond that the right side is silently cut;
* semi and anti joins are Splunk's idiom: the subsearch's rows become `(k="v1") OR (k="v2")…`
  search terms, so they match case-insensitively and a `*` in a right-hand value is a
  wildcard; a subsearch returns at most 10,000 rows (limits.conf `[subsearch] maxout`). A
  subsearch with no rows matches nothing (`search`) or everything (`NOT`), as the plan says;
* a subsearch without `earliest`/`latest` reads the search job's time range, as a search
  without a time range does.
"""

from __future__ import annotations

from typing import Callable

from lexiquery.catalog.model import Source
from lexiquery.dialects.base import plan_error
from lexiquery.dialects.scope import Context, Scope, right_scope
from lexiquery.dialects.spl.text import search_field
from lexiquery.ir import Join, JoinKind, QueryPlan


def command_lines(text: str) -> list[str]:
    """A rendered search's lines: split at the line breaks between commands, not at one inside
    a quoted value (`"a\\nb"` keeps its line break; joined with a space it would be another
    value)."""
    lines, start, quote, i = [], 0, "", 0
    while i < len(text):
        ch = text[i]
        if quote and ch == "\\":
            i += 2
            continue
        if ch in "\"'" and (not quote or ch == quote):
            quote = "" if quote else ch
        elif ch == "\n" and not quote:
            lines.append(text[start:i])
            start = i + 1
        i += 1
    return [*lines, text[start:]]


def subsearch(lines: list[str]) -> str:
    """A rendered search as `[search …]` (`[| tstats …]` when generating), on one line."""
    head = lines[0].strip()
    body = " ".join([head, *lines[1:]])
    return f"[{body}]" if head.startswith("|") else f"[search {body}]"


def render_join(stage: Join, ctx: Context, scope: Scope,
                render: Callable[[QueryPlan, Source], str]) -> list[str]:
    """The stage's commands; `render` writes the right-hand plan over its own source."""
    source = ctx.right_source(stage)
    right = right_scope(stage, ctx)
    lines = command_lines(render(stage.right, source))
    keys: list[str] = []
    for k in stage.on:
        left_col, right_col = scope[k.left].column, right[k.right].column
        if right_col != left_col:
            lines.append(f"| rename {search_field(right_col)} AS {search_field(left_col)}")
        keys.append(search_field(left_col))
    if stage.how in (JoinKind.semi, JoinKind.anti):
        table = f"| table {' '.join(keys)}"
        lines += [] if lines[-1] == table else [table]
        neg = "NOT " if stage.how is JoinKind.anti else ""
        return [f"| search {neg}{subsearch(lines)}"]
    left_cols = {o.column for o in scope.values()}
    key_names = {k.right for k in stage.on}
    for name, out in right.items():
        if name not in key_names and out.column in left_cols:
            raise plan_error("unsupported", f"the right side's '{name}' is the column "
                             f"'{out.column}' on SPL, which the left side has too (join would "
                             "overwrite it); rename it in the right-hand query", name)
    return [f"| join type={stage.how.value} max=0 {' '.join(keys)} {subsearch(lines)}"]
