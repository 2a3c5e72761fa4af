"""WHERE / HAVING conditions → IR filters, inverting `sql.filters` dialect by dialect.

Case sensitivity is read the way each dialect compares by default, and the way the renderer
asks for the other behaviour:

* `LOWER(col) = 'x'`, `LOWER(col) LIKE …`, `ILIKE`, `~*`, a `(?i)` regex flag, REGEXP_LIKE(…,
  'i') and REGEXP_INSTR(…, 'i') > 0 are case-insensitive everywhere;
* a plain `=`/`<>`/`IN` is case-sensitive except in T-SQL and MySQL, whose default collations
  ignore case (there `col COLLATE …_CS_…` and `CAST(col AS BINARY)`/`BINARY col` are the exact
  forms); a plain LIKE is case-insensitive in T-SQL, MySQL and SQLite, exact elsewhere; SQLite's
  GLOB is exact; a GUID compares without case where the dialect stores it natively.

LIKE patterns are decoded with the ESCAPE character when there is one, else with the dialect's
default (a backslash in postgres, mysql, snowflake, spark, bigquery, clickhouse, redshift; T-SQL's
`[x]` brackets): `%x%` → contains, `x%` → startswith, `%x` → endswith, no wildcard → eq; any
other pattern (`_`, `%` inside) becomes an anchored regex with the same meaning. `NOT LIKE '%x%'`
is not_contains. `IS NOT NULL AND <> ''` on one column is `exists`, `IS NULL OR = ''` is
`not_exists` (the renderer's forms for text); a lone `IS [NOT] NULL` is `[not_]exists`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from lexiquery.catalog.model import FieldType
from lexiquery.dialects.base import has_letters, iso_seconds
from lexiquery.dialects.sql.parse_agg import AggReader
from lexiquery.dialects.sql.parse_expr import (
    TEXT_TYPES,
    Untranslatable,
    fn_name,
    number,
    type_name,
    unparen,
)
from lexiquery.dialects.sql.parse_like import default_escape_note, like_parts
from lexiquery.dialects.sql.parse_time import absolute_time
from lexiquery.dialects.sql.render import idiom_for
from lexiquery.ir import And, Compare, Condition, FieldRef, Literal_, Not, Operator, Or

_EQ_IGNORES_CASE = {"tsql", "mysql"}
_LIKE_IGNORES_CASE = {"tsql", "mysql", "sqlite"}
_REGEX_IGNORES_CASE = {"mysql"}
_BACKSLASH_LIKE = {"postgres", "redshift", "mysql", "snowflake", "spark", "databricks",
                   "bigquery", "clickhouse"}
_ANCHORED_REGEX = {"snowflake"}  # REGEXP_LIKE / RLIKE match the whole string there
_CMP = {exp.EQ: Operator.eq, exp.NEQ: Operator.ne, exp.GT: Operator.gt, exp.GTE: Operator.ge,
        exp.LT: Operator.lt, exp.LTE: Operator.le}
_COMPARE_OPS = {Operator.contains, Operator.startswith, Operator.endswith, Operator.regex,
                Operator.not_contains}
_FLIP = {Operator.gt: Operator.lt, Operator.lt: Operator.gt, Operator.ge: Operator.le,
         Operator.le: Operator.ge, Operator.eq: Operator.eq, Operator.ne: Operator.ne}


class WhereReader(AggReader):
    """Conditions for WHERE (`after_agg=False`) and HAVING (`after_agg=True`)."""

    def output_field(self, node: exp.Expression) -> str:
        """HAVING's left side: an output name (metric, group-by field). Set by the statement."""
        raise NotImplementedError

    def compare(self, node: exp.Expression) -> Compare:
        """A boolean test inside CASE WHEN: comparisons (the base), and the renderer's pattern
        and regex forms of contains / startswith / endswith / regex."""
        try:
            return super().compare(node)
        except Untranslatable:
            inner = unparen(node)
            if not isinstance(inner, (exp.Like, exp.ILike, exp.Escape, exp.Glob, exp.RegexpLike,
                                      exp.RegexpILike, exp.Anonymous, exp.GT)):
                raise
        saved = self.computed  # read it as a filter on a stand-in field, then rebuild
        self.computed = dict(saved)
        try:
            cond = self.filter(inner)
        finally:
            added = {k: v for k, v in self.computed.items() if k not in saved}
            self.computed = saved
        if not isinstance(cond, Condition) or cond.op not in _COMPARE_OPS:
            raise Untranslatable(self.offset(node), f"the condition {node.sql(self.dialect)} "
                                 f"inside an expression")
        left = added[cond.field].expr if cond.field in added else FieldRef(name=cond.field)
        return Compare(left=left, op=cond.op, right=Literal_(value=cond.value))

    # ------------------------------------------------------------------ tree

    def filter(self, node: exp.Expression, after_agg: bool = False) -> Any:
        node = unparen(node)
        if isinstance(node, exp.And):
            items = self.conjuncts(node, after_agg)
            return items[0] if len(items) == 1 else And(items=items)
        if isinstance(node, exp.Or):
            parts = _flatten(node, exp.Or)
            items = self._pair_empty(parts, after_agg, exp.Or)
            return items[0] if len(items) == 1 else Or(items=items)
        if isinstance(node, exp.Not):
            inner = unparen(node.this)
            if isinstance(inner, (exp.Like, exp.ILike)) or (
                    isinstance(inner, exp.Escape) and isinstance(inner.this, (exp.Like,
                                                                              exp.ILike))):
                return self._like(inner, after_agg, negate=True)
            if isinstance(inner, exp.Is):
                return self._is_null(inner, after_agg, negate=True)
            if isinstance(inner, exp.In):
                return self._in(inner, after_agg, negate=True)
            return Not(item=self.filter(inner, after_agg))
        return self.condition(node, after_agg)

    def conjuncts(self, node: exp.Expression, after_agg: bool = False) -> list[Any]:
        return self._pair_empty(_flatten(node, exp.And), after_agg, exp.And)

    def _pair_empty(self, parts: list[exp.Expression], after_agg: bool,
                    kind: type[exp.Expression]) -> list[Any]:
        """Read `col IS NOT NULL AND col <> ''` (in an AND) and `col IS NULL OR col = ''` (in
        an OR) as one exists / not_exists, as the renderer writes them for text."""
        empty_cls = exp.NEQ if kind is exp.And else exp.EQ
        nulls: dict[str, int] = {}
        for i, p in enumerate(parts):
            col = _null_test(p, want_not_null=kind is exp.And)
            if col is not None:
                nulls.setdefault(col, i)
        used: set[int] = set()
        for i, p in enumerate(parts):
            if type(p) is empty_cls and \
                    isinstance(p.expression, exp.Literal) and p.expression.this == "" and \
                    p.expression.is_string and unparen(p.this).sql() in nulls:
                used.add(i)
        out: list[Any] = []
        for i, p in enumerate(parts):
            if i in used:
                continue
            out.append(self.filter(p, after_agg))
        return out

    # ------------------------------------------------------------------ leaves

    def condition(self, node: exp.Expression, after_agg: bool = False) -> Any:
        if isinstance(node, exp.Between):
            low = self._compare(node.this, node.args["low"], Operator.ge, after_agg, node)
            high = self._compare(node.this, node.args["high"], Operator.le, after_agg, node)
            return And(items=[low, high])
        for cls, op in _CMP.items():
            if type(node) is cls:
                return self._compare(node.this, node.expression, op, after_agg, node)
        if isinstance(node, exp.In):
            return self._in(node, after_agg)
        if isinstance(node, exp.Is):
            return self._is_null(node, after_agg)
        if isinstance(node, (exp.Like, exp.ILike, exp.Escape)):
            return self._like(node, after_agg)
        if isinstance(node, exp.Glob):
            return self._glob(node, after_agg)
        if isinstance(node, (exp.RegexpLike, exp.RegexpILike)) or (
                isinstance(node, exp.Anonymous) and fn_name(node) in {
                    "REGEXP_LIKE", "REGEXP_MATCHES", "REGEXP_CONTAINS", "MATCH", "RLIKE"}):
            return self._regex(node, after_agg)
        if isinstance(node, exp.Column) and self.field_type(self.column(node)) is \
                FieldType.bool:
            return Condition(field=self.column(node), op=Operator.eq, value=True)
        if isinstance(node, (exp.Subquery, exp.Exists)):
            raise Untranslatable(self.offset(node), "a subquery")
        raise Untranslatable(self.offset(node), f"the condition {node.sql(self.dialect)}")

    def _subject(self, node: exp.Expression, after_agg: bool) -> tuple[str, bool | None]:
        """The field a condition tests and what its wrapping says about case: True (exact),
        False (case folded) or None (the dialect's default)."""
        node = unparen(node)
        cs: bool | None = None
        if isinstance(node, (exp.Lower, exp.Upper)):
            node, cs = unparen(node.this), False
        elif isinstance(node, exp.Collate):
            coll = node.expression.name.upper()
            node, cs = unparen(node.this), "_CS" in coll or "BIN" in coll
        elif isinstance(node, exp.Cast) and type_name(node.to) in {"BINARY", "VARBINARY"}:
            node, cs = unparen(node.this), True
        if after_agg:
            return self.output_field(node), cs
        if isinstance(node, exp.Column):
            return self.column(node), cs
        return self.computed_for(self.expr(node)), cs

    def _text_subject(self, node: exp.Expression, after_agg: bool) -> tuple[str, bool | None]:
        """Like `_subject`, but a pattern's CAST(col AS TEXT) (the renderer's way of matching a
        number or a date as text) is the column itself."""
        inner = unparen(node)
        if isinstance(inner, (exp.Lower, exp.Upper)):
            inner = unparen(inner.this)
        if isinstance(inner, (exp.Cast, exp.TryCast)) and type_name(inner.to) in TEXT_TYPES \
                and (after_agg or isinstance(unparen(inner.this), exp.Column)):
            if after_agg:  # CAST(COUNT(*) AS TEXT) LIKE …: the output read as text
                return self.output_field(unparen(inner.this)), None
            return self.column(unparen(inner.this)), None
        if isinstance(inner, exp.Anonymous) and fn_name(inner) == "TOSTRING" and \
                len(inner.expressions) == 1 and isinstance(inner.expressions[0], exp.Column):
            return self.column(inner.expressions[0]), None
        return self._subject(node, after_agg)

    def _case_sensitive(self, field: str, cs: bool | None, default_ignores: bool,
                        after_agg: bool) -> bool:
        ftype = self.field_type(field) if not after_agg else None
        if ftype is FieldType.guid and idiom_for(self.dialect).native_uuid:
            return False
        if ftype not in {FieldType.string, FieldType.guid, None}:
            return False
        if cs is not None:
            return cs
        return not default_ignores

    def _value(self, node: exp.Expression, field: str, after_agg: bool) -> Any:
        node = unparen(node)
        ftype = None if after_agg else self.field_type(field)
        plain_string = isinstance(node, exp.Literal) and node.is_string
        if ftype is FieldType.datetime or not plain_string:
            at = absolute_time(node)  # CAST('…' AS TIMESTAMP) & co. are times on any side
            if at is not None:
                return iso_seconds(at) + "Z"
        if isinstance(node, exp.Boolean):
            return bool(node.this)
        n = number(node)
        if n is not None and not (isinstance(node, exp.Literal) and node.is_string):
            if ftype is FieldType.bool and n in (0, 1):
                return bool(n)
            return n
        if isinstance(node, exp.Literal):
            return node.this
        if isinstance(node, exp.Null):
            raise Untranslatable(self.offset(node.parent), "a comparison with NULL",
                                 "write IS NULL / IS NOT NULL")
        if isinstance(node, exp.Column):
            other = self.column(node)  # an unknown name fails here, with its hint
            raise Untranslatable(self.offset(node), f"comparing with the column {other!r}",
                                 "the IR compares a field with a constant")
        raise Untranslatable(self.offset(node), f"a comparison with {node.sql(self.dialect)}",
                             "the IR compares a field with a constant")

    def _compare(self, left: exp.Expression, right: exp.Expression, op: Operator,
                 after_agg: bool, node: exp.Expression) -> Any:
        if _is_constant(left) and not _is_constant(right):
            left, right, op = right, left, _FLIP[op]
        # Snowflake's search: REGEXP_INSTR(col, p, 1, 1, 0, flags) > 0
        if op is Operator.gt and number(right) == 0 and fn_name(unparen(left)) in {
                "REGEXP_INSTR", "REGEXPINSTR"}:
            return self._regex(unparen(left), after_agg)
        field, cs = self._subject(left, after_agg)
        value = self._value(right, field, after_agg)
        folder = unparen(left)
        if isinstance(value, str) and cs is False and isinstance(folder, (exp.Lower, exp.Upper)):
            folded = value.lower() if isinstance(folder, exp.Lower) else value.upper()
            if value != folded or not has_letters(value):
                # Not the case-folding idiom (it compares with a folded literal that has
                # letters): the function is part of the expression, compared exactly, as SQL
                # runs it.
                if isinstance(folder, exp.Lower):
                    self.notes.append(f"LOWER({field}) is compared with {value!r}, which has "
                                      f"capitals: it can never match")
                field = self.output_field(folder) if after_agg else \
                    self.computed_for(self.expr(folder))
                cs = True
        sensitive = self._case_sensitive(field, cs, self.dialect in _EQ_IGNORES_CASE, after_agg)
        return Condition(field=field, op=op, value=value, case_sensitive=sensitive and
                         op in {Operator.eq, Operator.ne} and has_letters(value))

    def _in(self, node: exp.In, after_agg: bool, negate: bool = False) -> Any:
        if node.args.get("query") is not None:
            raise Untranslatable(self.offset(node.args["query"]), "IN (subquery)")
        field, cs = self._subject(node.this, after_agg)
        values = [self._value(v, field, after_agg) for v in node.expressions]
        folder = unparen(node.this)
        if cs is False and isinstance(folder, (exp.Lower, exp.Upper)) and not after_agg and \
                any(isinstance(v, str) and v != (v.lower() if isinstance(folder, exp.Lower)
                                                 else v.upper()) for v in values):
            # a value the fold could never produce: not the case-folding idiom, but the
            # function's result compared exactly (as `_compare` reads it)
            field, cs = self.computed_for(self.expr(folder)), True
        sensitive = self._case_sensitive(field, cs, self.dialect in _EQ_IGNORES_CASE, after_agg)
        return Condition(field=field, op=Operator.not_in if negate else Operator.in_,
                         value=values, case_sensitive=sensitive and any(has_letters(v)
                                                                        for v in values))

    def _is_null(self, node: exp.Is, after_agg: bool, negate: bool = False) -> Any:
        if not isinstance(node.expression, exp.Null):
            raise Untranslatable(self.offset(node), f"IS {node.expression.sql(self.dialect)}")
        subject = unparen(node.this)
        if isinstance(subject, (exp.Lower, exp.Upper)) and not after_agg:
            field = self.computed_for(self.expr(subject))  # a computed field's test, not a fold
        else:
            field, _ = self._subject(node.this, after_agg)
        not_null = negate != bool(node.args.get("negate"))  # `IS NOT NULL` may be either
        return Condition(field=field, op=Operator.exists if not_null else Operator.not_exists)

    # ------------------------------------------------------------------ patterns

    def _like(self, node: exp.Expression, after_agg: bool, negate: bool = False) -> Any:
        escape: str | None = None
        if isinstance(node, exp.Escape):
            escape = node.expression.this
            node = node.this
        if isinstance(node, exp.Not):  # `x NOT LIKE … ESCAPE …`
            negate, node = not negate, node.this
        if node.args.get("negate"):  # sqlglot's `x NOT LIKE y` in some dialects
            negate = not negate
        pattern_node = unparen(node.expression)
        if not isinstance(pattern_node, exp.Literal) or not pattern_node.is_string:
            raise Untranslatable(self.offset(node), "LIKE with a pattern that is not a string")
        default_escape = escape is None and self.dialect in _BACKSLASH_LIKE
        if default_escape:
            escape = "\\"
        text = str(pattern_node.this)
        if escape and text.endswith(escape) and (len(text) - len(text.rstrip(escape))) % 2:
            raise Untranslatable(self.offset(pattern_node), "a LIKE pattern that ends in its "
                                 "escape character", f"{self.dialect} refuses it")
        if default_escape:
            note = default_escape_note(text, self.dialect)
            if note:
                self.notes.append(note)
        parts = like_parts(pattern_node.this, escape, self.dialect == "tsql" and
                            not isinstance(node, exp.ILike))
        if parts is None:
            raise Untranslatable(self.offset(pattern_node), "this LIKE pattern",
                                 "a [set] of characters has no IR form")
        field, cs = self._text_subject(node.this, after_agg)
        ignores = isinstance(node, exp.ILike) or self.dialect in _LIKE_IGNORES_CASE
        sensitive = self._case_sensitive(field, False if isinstance(node, exp.ILike) else cs,
                                         ignores, after_agg)
        return self._pattern(field, parts, sensitive, negate, "%", "_")

    def _glob(self, node: exp.Glob, after_agg: bool) -> Any:
        pattern = unparen(node.expression)
        if not isinstance(pattern, exp.Literal):
            raise Untranslatable(self.offset(node), "GLOB with a pattern that is not a string")
        parts: list[str] = []
        text, i = pattern.this, 0
        while i < len(text):
            m = re.match(r"\[(.)\]", text[i:])
            if m:
                parts.append("=" + m.group(1))
                i += 3
            elif text[i] in "*?":
                parts.append(text[i])
                i += 1
            elif text[i] == "[":
                raise Untranslatable(self.offset(pattern), "a GLOB character set")
            else:
                parts.append("=" + text[i])
                i += 1
        field, _ = self._text_subject(node.this, after_agg)
        sensitive = self._case_sensitive(field, True, False, after_agg)
        return self._pattern(field, parts, sensitive, False, "*", "?")

    def _pattern(self, field: str, parts: list[str], cs: bool, negate: bool, many: str,
                 one: str) -> Any:
        """Decoded wildcard `parts` ("=c" a literal character, else a wildcard) as a condition."""
        def literal(ps: list[str]) -> str | None:
            return "".join(p[1] for p in ps) if all(p.startswith("=") for p in ps) else None

        op: Operator | None = None
        value: str | None = None
        cs = cs and any(has_letters(p[1:]) for p in parts if p.startswith("="))
        if len(parts) >= 2 and parts[0] == many and parts[-1] == many and \
                literal(parts[1:-1]) is not None and len(parts) > 2:
            op, value = Operator.contains, literal(parts[1:-1])
        elif parts and parts[-1] == many and literal(parts[:-1]) and parts[0] != many:
            op, value = Operator.startswith, literal(parts[:-1])
        elif parts and parts[0] == many and literal(parts[1:]):
            op, value = Operator.endswith, literal(parts[1:])
        elif literal(parts) is not None:
            op, value = Operator.eq, literal(parts)
        if op is None:
            rx = "".join(re.escape(p[1]) if p.startswith("=") else ".*" if p == many else "."
                         for p in parts)
            cond = Condition(field=field, op=Operator.regex, value=f"^{rx}$",
                             case_sensitive=cs)
            return Not(item=cond) if negate else cond
        if negate and op is Operator.contains:
            return Condition(field=field, op=Operator.not_contains, value=value,
                             case_sensitive=cs)
        cond = Condition(field=field, op=op, value=value, case_sensitive=cs)
        return Not(item=cond) if negate else cond

    def _regex(self, node: exp.Expression, after_agg: bool) -> Any:
        flags = ""
        if isinstance(node, exp.RegexpInstr):
            for key in ("position", "occurrence"):
                if node.args.get(key) is not None and number(node.args[key]) != 1:
                    raise Untranslatable(self.offset(node), "this REGEXP_INSTR form")
            if node.args.get("option") is not None and number(node.args["option"]) != 0:
                raise Untranslatable(self.offset(node), "this REGEXP_INSTR form")
            params = node.args.get("parameters")
            flags = params.this if isinstance(params, exp.Literal) else ""
            node = exp.RegexpLike(this=node.this, expression=node.expression, full_match=False)
        if isinstance(node, exp.Anonymous):
            args = node.expressions
            if fn_name(node) == "REGEXP_INSTR":
                if len(args) < 2 or (len(args) >= 5 and number(args[4]) != 0):
                    raise Untranslatable(self.offset(node), "this REGEXP_INSTR form")
                flags = args[5].this if len(args) >= 6 and isinstance(args[5], exp.Literal) \
                    else ""
            elif len(args) >= 3 and isinstance(args[2], exp.Literal):
                flags = args[2].this
            subject, pattern = args[0], args[1]
        else:
            subject, pattern = node.this, node.expression
            flag = node.args.get("flag")
            if isinstance(flag, exp.Literal):
                flags = flag.this
        pattern = unparen(pattern)
        if isinstance(pattern, exp.RawString):  # BigQuery r'…'
            pattern = exp.Literal.string(pattern.this)
        if not isinstance(pattern, exp.Literal) or not pattern.is_string:
            raise Untranslatable(self.offset(node), "a regex that is not a string")
        value = pattern.this
        field, cs = self._text_subject(subject, after_agg)
        sensitive = self.dialect not in _REGEX_IGNORES_CASE if cs is None else cs
        if isinstance(node, exp.RegexpILike) or "i" in flags:
            sensitive = False
        elif "c" in flags:
            sensitive = True
        if value.startswith("(?i)"):
            value, sensitive = value[4:], False
        anchored = node.args.get("full_match") if isinstance(node, exp.RegexpLike) else False
        if anchored or (self.dialect in _ANCHORED_REGEX and isinstance(node, exp.RegexpLike)
                        and node.args.get("full_match") is None):
            value = f"^(?:{value})$"
        return Condition(field=field, op=Operator.regex, value=value,
                         case_sensitive=self._case_sensitive(field, sensitive, False, after_agg)
                         and has_letters(value))


def _null_test(p: exp.Expression, want_not_null: bool) -> str | None:
    """What `p` tests with IS NOT NULL (`want_not_null`) or IS NULL — a column or a computed
    expression — as SQL text, so that its `<> ''` / `= ''` partner can be found."""
    negated = False
    if isinstance(p, exp.Not):
        negated, p = True, unparen(p.this)
    if not isinstance(p, exp.Is) or not isinstance(p.expression, exp.Null):
        return None
    not_null = bool(p.args.get("negate")) != negated
    col = unparen(p.this)
    if not_null != want_not_null:
        return None
    return col.sql()


def _flatten(node: exp.Expression, kind: type[exp.Expression]) -> list[exp.Expression]:
    node = unparen(node)
    if type(node) is kind:
        return _flatten(node.this, kind) + _flatten(node.expression, kind)
    return [node]


def _is_constant(node: exp.Expression) -> bool:
    node = unparen(node)
    return isinstance(node, (exp.Literal, exp.Boolean, exp.Null, exp.Neg)) and \
        not node.find(exp.Column)
