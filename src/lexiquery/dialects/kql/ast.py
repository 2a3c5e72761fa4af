"""The KQL syntax tree `kql.parse` builds and `kql.bind`/`kql.stages` read, and the operator
vocabulary both sides share.

Expressions are small nodes (`Name`, `Lit`, `Call`, `Bin`, `InList`, `Between`, `Opaque`), each
with the offset of its token so later errors point at the right place; a query is a table
and one `Stage` per `| operator`. `UNSUPPORTED` says why each operator the IR cannot hold is
refused: the parser keeps such a stage as `Stage("skip")` and the binder reports that reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

# ---------------------------------------------------------------------- syntax nodes


@dataclass
class Name:
    """A column reference; `path` has one part, or several for a dynamic path."""

    path: tuple[str, ...]
    offset: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass
class Lit:
    """`kind`: string, number, bool, timespan (value in seconds, `unit` as written),
    datetime (value is the raw text), list (value is a list of nodes), null."""

    kind: str
    value: Any
    offset: int
    unit: str = ""


@dataclass
class Call:
    name: str  # lower-cased
    args: list["Node"]
    offset: int


@dataclass
class Bin:
    op: str  # and, or, comparison/string operator (lower-cased), + - * / %
    left: "Node"
    right: "Node"
    offset: int  # of the operator
    paren: bool = False  # written in parentheses (a group of its own)


@dataclass
class InList:
    op: str  # in, !in, in~, !in~, has_any, has_all
    left: "Node"
    items: list["Node"]
    offset: int
    subquery: "Query | None" = None  # `in (T | … | project x)`


@dataclass
class Between:
    negated: bool
    left: "Node"
    low: "Node"
    high: "Node"
    offset: int


@dataclass
class Member:
    """`obj.key` / `obj["key"]` on an expression that is not a plain column path
    (`parse_json(x).y`); a column path stays a `Name`."""

    obj: "Node"
    key: str
    offset: int


@dataclass
class Index:
    """`obj[i]` on an expression (`split(x, ".")[-1]`), or with an index that is not a literal."""

    obj: "Node"
    index: "Node"
    offset: int


@dataclass
class Opaque:
    """A use of a `let` the parser cannot substitute (a function, a materialized table)."""

    name: str
    offset: int


Node = Union[Name, Lit, Call, Bin, InList, Between, Member, Index, Opaque]


@dataclass
class Assign:
    alias: str | None
    expr: Node
    offset: int


@dataclass
class SortKey:
    expr: Node
    descending: bool
    offset: int
    nulls: str | None = None  # "first"/"last" when written


@dataclass
class Stage:
    """One `| operator`. `kind` is the operator (`where`, `project`, `summarize`, `sort`,
    `top`, `take`, `distinct`, `count`, `extend`, `project-away`, `project-rename`,
    `mv-expand`, `join`, `parse`) or ``skip`` for one the IR cannot hold (`name` says which).
    `parse` keeps its source in `expr` and its pattern in `items` (literals and names)."""

    kind: str
    offset: int
    name: str = ""
    expr: Node | None = None
    items: list[Assign] = field(default_factory=list)
    by: list[Assign] = field(default_factory=list)
    keys: list[SortKey] = field(default_factory=list)
    count: int | None = None
    display_only: bool = False
    query: "Query | None" = None  # join: the right-hand query
    join_kind: str = ""  # join: the kind as written ("" when left to the default)
    on: list[tuple[Node, Node]] = field(default_factory=list)  # join: (left, right) keys


@dataclass
class Query:
    table: str
    table_offset: int
    stages: list[Stage]
    # Found while reading: (offset, construct, why, changes the results).
    issues: list[tuple[int, str, str, bool]] = field(default_factory=list)


def node_offset(e: Node) -> int:
    """Where an expression starts (its leftmost token)."""
    if isinstance(e, (Member, Index)):
        return node_offset(e.obj)
    return e.offset if not isinstance(e, (Bin, InList, Between)) else node_offset(e.left)


# ---------------------------------------------------------------------- operator tables

SUPPORTED = ("where", "filter", "project", "project-away", "project-rename", "extend",
             "summarize", "top", "sort", "order", "take", "limit", "distinct", "count", "render",
             "mv-expand", "mvexpand", "join", "lookup", "parse")
# Operators the IR cannot hold: skipped and reported with their position.
UNSUPPORTED = {
    "union": "the IR reads one table",
    "mv-apply": "the IR has no array expansion",
    "parse-where": "the IR has no text extraction",
    "parse-kv": "the IR has no text extraction",
    "make-series": "use summarize … by bin(TimeGenerated, …) instead",
    "evaluate": "plugins cannot be expressed in the IR",
    "invoke": "stored functions are not expanded",
    "render": "it only changes how the results are drawn",
    "as": "it only names the result",
    "project-reorder": "it only changes the column order",
    "serialize": "row-order functions are not in the IR",
    "scan": "sequence matching is not in the IR",
    "fork": "the IR has one result", "facet": "the IR has one result",
    "partition": "the IR has one result",
    "sample": "random samples are not in the IR",
    "sample-distinct": "random samples are not in the IR",
    "top-nested": "use summarize and top", "top-hitters": "use summarize and top",
    "project-keep": "use project", "getschema": "the IR returns rows",
    "reduce": "the IR has no clustering", "consume": "the IR returns rows",
    "search": "use where … has …", "find": "use where … has …",
    "datatable": "the IR reads a catalog table", "print": "the IR reads a catalog table",
    "range": "the IR reads a catalog table",
}
DISPLAY_ONLY = frozenset({"render", "as", "project-reorder"})
