"""Conditions and computed-field expressions as sqlglot nodes (a mixin of `SqlBuilder`).

Case-insensitive string equality lowers the column (`LOWER(col) = 'value'`, value lowered) unless
the value has no letters; contains/startswith/endswith use `ILIKE` where the dialect has it,
else `LOWER(col) LIKE`, with `%`, `_` (and T-SQL's `[`) in the value escaped and an explicit
`ESCAPE '!'`, which also disarms the backslash that postgres, mysql, snowflake and spark escape
with by default; BigQuery and ClickHouse have no ESCAPE clause and escape with a backslash.
Case-sensitive conditions add what the dialect needs to compare exactly (T-SQL `COLLATE
Latin1_General_CS_AS`, MySQL `CAST(col AS BINARY)`, SQLite `GLOB`). "Exists" means present and
not empty. `NOT (a = b)` is written `a <> b`: under SQL's three-valued logic they are the same.
"""

from __future__ import annotations

from sqlglot import exp

from lexiquery.catalog.model import FieldType
from lexiquery.dialects.base import (
    Names,
    coerce,
    expr_type,
    has_letters,
    parse_datetime,
    plan_error,
)
from lexiquery.dialects.sql.functions import NEW_FUNCTIONS
from lexiquery.dialects.sql.idioms import Idiom, lit
from lexiquery.dialects.sql.text import literal
from lexiquery.ir import (
    ORDER_COMPLEMENT,
    And,
    Call,
    Compare,
    Condition,
    FieldRef,
    Function,
    Literal_,
    Not,
    Operator,
    Or,
)

_CMP = {Operator.eq: exp.EQ, Operator.ne: exp.NEQ, Operator.gt: exp.GT, Operator.ge: exp.GTE,
        Operator.lt: exp.LT, Operator.le: exp.LTE}
_LIKE_KIND = {Operator.contains: "contains", Operator.not_contains: "contains",
              Operator.has: "contains", Operator.startswith: "startswith",
              Operator.endswith: "endswith"}


class SqlPredicates:
    """Needs from the class it is mixed into: `idiom`, `names`, `dialect`, and `ref(name)` /
    `agg_ref(name)` giving a name's expression before / after the aggregation."""

    idiom: Idiom
    names: Names
    dialect: str | None

    def ref(self, name: str) -> exp.Expression:
        raise NotImplementedError

    def agg_ref(self, name: str) -> exp.Expression:
        raise NotImplementedError

    def _value(self, v: object, ftype: FieldType | None) -> exp.Expression:
        if ftype is FieldType.datetime:
            at = parse_datetime(v)
            if at is not None:
                return self.idiom.absolute(at)
        return literal(v)

    def condition(self, c: Condition, *, after_agg: bool = False) -> exp.Expression:
        col = self.agg_ref(c.field) if after_agg else self.ref(c.field)
        if isinstance(col, (exp.Predicate, exp.Connector, exp.Not)):
            col = exp.paren(col, copy=False)  # `(a > b) = TRUE`: a chained `a > b = TRUE` fails
        ftype = self.names.output_type(c.field) if after_agg else self.names.field_type(c.field)
        op, cs = c.op, c.case_sensitive
        text_like = ftype in {FieldType.string, None}
        if op in {Operator.exists, Operator.not_exists}:
            return self._exists(col, text_like, op is Operator.exists)
        if op is Operator.regex or op in _LIKE_KIND:
            if self._needs_text(ftype):
                col = self.idiom.text(col)  # a pattern reads text: convert numbers, dates
            if op is Operator.regex:
                node = self.idiom.regex(col, str(c.value), cs)
                if node is None:
                    raise plan_error("unsupported", f"regular expressions are not available in "
                                     f"{self.dialect}", c.field)
                return node
            return self._like(col, op, str(c.value), cs)
        vals = c.value if isinstance(c.value, list) else [c.value]
        typed = [coerce(v, ftype) for v in vals]  # type: ignore[arg-type]
        letters = any(has_letters(v) for v in typed) and ftype is not FieldType.datetime
        if letters and not cs:
            typed = [v.lower() if isinstance(v, str) else v for v in typed]
            if not (ftype is FieldType.guid and self.idiom.native_uuid):
                col = exp.Lower(this=col)
        elif letters and cs:
            col = self.idiom.exact(col)
        rhs = [self._value(v, ftype) for v in typed]
        if op in {Operator.in_, Operator.not_in}:
            e: exp.Expression = exp.In(this=col, expressions=rhs)
            return exp.Not(this=e) if op is Operator.not_in else e
        return _CMP[op](this=col, expression=rhs[0])

    def _needs_text(self, ftype: FieldType | None) -> bool:
        """Must a pattern (LIKE, regex) convert the value to text first? Numbers and dates,
        always; a GUID where the dialect stores it in a native UUID type, on which postgres,
        DuckDB, Trino and ClickHouse refuse LIKE (where GUIDs are text, no cast is needed)."""
        if ftype in {FieldType.string, None}:
            return False
        return ftype is not FieldType.guid or self.idiom.native_uuid

    def _exists(self, col: exp.Expression, text: bool, exists: bool) -> exp.Expression:
        null = exp.Is(this=col, expression=exp.null(), negate=exists or None)
        if not text:
            return null
        empty = (exp.NEQ if exists else exp.EQ)(this=col.copy(), expression=lit(""))
        return exp.And(this=null, expression=empty) if exists \
            else exp.paren(exp.Or(this=null, expression=empty))

    def _like(self, col: exp.Expression, op: Operator, value: str, cs: bool) -> exp.Expression:
        i, negate = self.idiom, op is Operator.not_contains
        kind = _LIKE_KIND[op]
        if cs and has_letters(value):
            node = i.glob(col, value, kind)
            if node is not None:
                return exp.Not(this=node) if negate else node
            col = i.exact(col)
        fold = not cs and has_letters(value)
        if fold and not i.ilike:
            col, value = exp.Lower(this=col), value.lower()
        escaped, needs_escape = self._like_escape(value)
        pattern = {"contains": f"%{escaped}%", "startswith": f"{escaped}%",
                   "endswith": f"%{escaped}"}[kind]
        cls = exp.ILike if fold and i.ilike else exp.Like
        node: exp.Expression = cls(this=col, expression=lit(pattern), negate=negate or None)
        if needs_escape:
            node = exp.Escape(this=node, expression=lit(i.like_escape or ""))
        return node

    def _like_escape(self, value: str) -> tuple[str, bool]:
        """`value` with LIKE's wildcards made literal, and whether an ESCAPE clause must follow.

        With an explicit ``ESCAPE '!'`` a backslash is an ordinary character even in postgres and
        mysql, where it is the default escape — so a Windows path needs no doubling."""
        esc = self.idiom.like_escape
        special = "%_" + ("[" if self.idiom.like_brackets else "")
        if esc is None:  # the backslash escapes, itself included
            out = value.replace("\\", "\\\\")
            for ch in special:
                out = out.replace(ch, "\\" + ch)
            return out, False
        triggers = special + esc + ("\\" if self.idiom.like_backslash else "")
        if not any(ch in value for ch in triggers):
            return value, False
        out = value.replace(esc, esc * 2)
        for ch in special:
            out = out.replace(ch, esc + ch)
        return out, True

    def filter(self, f: object, *, after_agg: bool = False) -> exp.Expression:
        if isinstance(f, Condition):
            return self.condition(f, after_agg=after_agg)
        if isinstance(f, And):
            return all_of([self.filter(i, after_agg=after_agg) for i in f.items])
        if isinstance(f, Or):
            return any_of([self.filter(i, after_agg=after_agg) for i in f.items])
        if isinstance(f, Not):
            flipped = negated(f.item)
            if flipped is not None:  # NOT (a = b) is a <> b, NULLs included: say it plainly
                return self.condition(flipped, after_agg=after_agg)
            return exp.Not(this=exp.paren(self.filter(f.item, after_agg=after_agg)))
        raise TypeError(f"not a filter: {f!r}")

    # ------------------------------------------------------------------ expressions

    def expr(self, e: object) -> exp.Expression:
        if isinstance(e, FieldRef):
            return self.ref(e.name)
        if isinstance(e, Literal_):
            return literal(e.value)
        if isinstance(e, Compare):
            left = self.expr(e.left)
            if e.op in {Operator.exists, Operator.not_exists}:
                return exp.Is(this=left, expression=exp.null(),
                              negate=(e.op is Operator.exists) or None)
            if e.op in _CMP and e.right is not None:
                return _CMP[e.op](this=left, expression=self.expr(e.right))
            if e.op in {Operator.in_, Operator.not_in} and e.right is not None:
                node: exp.Expression = exp.In(this=left, expressions=[self.expr(e.right)])
                return exp.Not(this=node) if e.op is Operator.not_in else node
            if isinstance(e.right, Literal_) and (e.op in _LIKE_KIND or e.op is Operator.regex) \
                    and self._needs_text(expr_type(e.left, self.names)):
                left = self.idiom.text(left)
            if isinstance(e.right, Literal_) and e.op in _LIKE_KIND:
                return self._like(left, e.op, str(e.right.value), True)
            if isinstance(e.right, Literal_) and e.op is Operator.regex:
                regex = self.idiom.regex(left, str(e.right.value), True)
                if regex is not None:
                    return regex
            raise plan_error("unsupported", f"'{e.op.value}' inside a computed field is not "
                             f"available in {self.dialect or 'SQL'}")
        if isinstance(e, Call):
            if e.fn in NEW_FUNCTIONS:
                return self.function(e)  # type: ignore[attr-defined]  (sql.functions mixin)
            a = [self.expr(x) for x in e.args]
            binop = {Function.add: exp.Add, Function.sub: exp.Sub, Function.mul: exp.Mul,
                     Function.div: exp.Div, Function.mod: exp.Mod}
            if e.fn in binop:
                # An untyped exp.Div divides as reals in every dialect (sqlglot adds a cast
                # where `/` would divide integers); with a real operand no cast is needed.
                real = any(expr_type(x, self.names) is FieldType.real for x in e.args)
                out = a[0]
                for x in a[1:]:
                    out = binop[e.fn](this=_wrap(out, exp.Binary), expression=_wrap(x, exp.Binary))
                    if e.fn is Function.div and real:
                        out.set("typed", True)
                return out
            simple = {Function.lower: exp.Lower, Function.upper: exp.Upper,
                      Function.length: exp.Length}
            if e.fn in simple:
                return simple[e.fn](this=a[0])
            if e.fn is Function.concat:
                return exp.Concat(expressions=a)
            if e.fn is Function.substring:  # the IR counts from 0; SQL SUBSTRING from 1
                start = e.args[1]
                first = exp.Literal.number(start.value + 1) if isinstance(start, Literal_) and \
                    isinstance(start.value, int) else exp.Add(this=a[1], expression=literal(1))
                return exp.Substring(this=a[0], start=first, length=a[2] if len(a) > 2 else None)
            if e.fn is Function.coalesce:
                return exp.Coalesce(this=a[0], expressions=a[1:])
            if e.fn is Function.if_:
                return exp.If(this=a[0], true=a[1], false=a[2] if len(a) > 2 else exp.null())
            if e.fn is Function.to_string:
                return self.idiom.text(a[0])
            return self.idiom.number(a[0], integer=e.fn is Function.to_int)
        raise TypeError(f"not an expression: {e!r}")


def all_of(items: list[exp.Expression]) -> exp.Expression:
    """`a AND b AND …`, an OR among them parenthesised (built directly: sqlglot's `and_`
    would also parenthesise an AND that needs none)."""
    out = _wrap(items[0], exp.Or) if len(items) > 1 else items[0]
    for e in items[1:]:
        out = exp.And(this=out, expression=_wrap(e, exp.Or))
    return out


def any_of(items: list[exp.Expression]) -> exp.Expression:
    """`(a OR b OR …)`; an AND among them is parenthesised too, for the reader."""
    if len(items) == 1:
        return items[0]
    out = _wrap(items[0], exp.And)
    for e in items[1:]:
        out = exp.Or(this=out, expression=_wrap(e, exp.And))
    return out


def negated(f: object) -> Condition | None:
    """The condition that means NOT `f`, when one operator says it exactly."""
    if not isinstance(f, Condition) or f.op not in ORDER_COMPLEMENT:
        return None
    return f.model_copy(update={"op": ORDER_COMPLEMENT[f.op]})


def _wrap(e: exp.Expression, kind: type[exp.Expression]) -> exp.Expression:
    """Parenthesise `e` when it is a `kind` (an OR inside an AND, a sum inside a product…)."""
    return exp.paren(e, copy=False) if isinstance(e, kind) else e
