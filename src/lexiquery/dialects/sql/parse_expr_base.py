"""What every part of the SQL reader shares: the refusal of a piece (`Untranslatable`) and the
small readers of literal nodes (`unparen`, `number`)."""

from __future__ import annotations

from sqlglot import exp


class Untranslatable(Exception):
    """A piece of the query the IR cannot hold, at `offset` in the text."""

    def __init__(self, offset: int, construct: str, why: str = "") -> None:
        super().__init__(construct)
        self.offset = offset
        self.construct = construct
        self.why = why


def unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def number(node: exp.Expression | None) -> int | float | None:
    """The value of a numeric literal (also `-5` and `'5'`), else None."""
    if node is None:
        return None
    node = unparen(node)
    if isinstance(node, exp.Neg):
        v = number(node.this)
        return -v if v is not None else None
    if isinstance(node, exp.Literal):
        if node.this.isascii() and node.this.isdigit():  # exact: float() rounds 23 digits
            return int(node.this)
        try:
            f = float(node.this)
        except ValueError:
            return None
        return int(f) if f.is_integer() and "." not in node.this and "e" not in \
            node.this.lower() else f
    return None
