"""KQL syntax (`kql.ast` nodes) → IR names, values, conditions and expressions.

The `Binder` holds one query's state while `kql.stages.Stages` applies its pipeline (what KQL
can see at each point, and the parts of the plan built so far), and maps each expression onto
the source's KQL binding: a name onto a field or an output, a literal onto a value, a `where`
term onto a `Condition`, an `extend` expression onto an IR expression. Anything the IR cannot
hold raises `Unsupported`, which the stage turns into an issue at that item's position.

The renderer's own wrappers read back as the plain field: `tostring(A.b.c)` for a dynamic path,
`toint(scStatus)` where the binding's `column_types` says the number is stored as a string,
`tostring(n)` before a string operator. Time-column bounds are `kql.time`'s; the stages and
their order, and `bind` (the whole query → plan), are `kql.stages`'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lexiquery.catalog.model import Catalog, FieldType, Platform
from lexiquery.dialects.base import (
    coerce,
    expr_type,
    has_letters,
    iso_seconds,
    parse_datetime,
)
from lexiquery.dialects.kql import ast as syn
from lexiquery.dialects.kql.bind_more import (  # noqa: F401 (Unsupported is this module's API)
    Unsupported,
    ago_seconds,
    column_compare,
    dynamic_expr,
    member_head,
    new_function,
    since_compare,
    temp_field,
)
from lexiquery.dialects.kql.bind_stages import StagedDraft
from lexiquery.dialects.kql.text import TO_SCALAR, is_path
from lexiquery.dialects.parsing import (
    line_col,
    reverse_columns,
    source_for_table,
    syntax_error,
    unknown_field_error,
    unknown_table_error,
    unsupported_issue,
)
from lexiquery.ir import (
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
    QueryPlan,
)

_CMP = {"==": (Operator.eq, True), "!=": (Operator.ne, True), "<>": (Operator.ne, True),
        "=~": (Operator.eq, False), "!~": (Operator.ne, False), "<": (Operator.lt, False),
        "<=": (Operator.le, False), ">": (Operator.gt, False), ">=": (Operator.ge, False)}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=", "=~": "=~",
           "!~": "!~", "<>": "<>"}
# word → (operator, case-sensitive, wrapped in not())
_STR: dict[str, tuple[Operator, bool, bool]] = {"matches regex": (Operator.regex, True, False)}
for _w, _op in (("has", Operator.has), ("contains", Operator.contains),
                ("startswith", Operator.startswith), ("endswith", Operator.endswith)):
    for _cs in (False, True):
        _word = _w + ("_cs" if _cs else "")
        _STR[_word] = (_op, _cs, False)
        if _op is Operator.contains:
            _STR["!" + _word] = (Operator.not_contains, _cs, False)
        else:
            _STR["!" + _word] = (_op, _cs, True)
_CONVERTERS = {"tostring": FieldType.string, "toint": FieldType.int, "tolong": FieldType.long,
               "toreal": FieldType.real, "todouble": FieldType.real, "tobool": FieldType.bool,
               "todatetime": FieldType.datetime, "totimespan": FieldType.timespan}
_FUNCS = {"tolower": Function.lower, "toupper": Function.upper, "strlen": Function.length,
          "strcat": Function.concat, "substring": Function.substring,
          "coalesce": Function.coalesce, "iff": Function.if_, "iif": Function.if_,
          "tostring": Function.to_string, "toint": Function.to_int, "tolong": Function.to_int,
          "toreal": Function.to_real, "todouble": Function.to_real}
_TIME_CALLS = frozenset({"ago", "now", "startofday", "startofweek", "startofmonth",
                         "startofyear", "endofday", "datetime", "todatetime"})
_NOW_CALLS = frozenset({"now", "startofday", "startofweek", "startofmonth", "startofyear"})
_ARITH = {"+": Function.add, "-": Function.sub, "*": Function.mul, "/": Function.div,
          "%": Function.mod}
_EXPR_CMP = {"==": Operator.eq, "!=": Operator.ne, "<": Operator.lt, "<=": Operator.le,
             ">": Operator.gt, ">=": Operator.ge, "contains": Operator.contains,
             "!contains": Operator.not_contains, "startswith": Operator.startswith,
             "endswith": Operator.endswith, "has": Operator.has, "matches regex": Operator.regex}


def iso_utc(at: datetime) -> str:
    """A UTC instant as the value of a condition: ``2024-03-01T08:00:00Z``."""
    return iso_seconds(at) + "Z"


class Binder(StagedDraft):
    """The state of one query while its stages are applied (`kql.stages.Stages`), and the
    mapping of expressions onto fields, filters and IR expressions.

    `ns` is what KQL can see at this point: a column or output name as written → the IR name
    (a logical field, a computed field, an aggregation output). Names a `project` removed or
    an aggregation dropped are remembered, so a later use gets a message that says why."""

    def __init__(self, text: str, query: syn.Query, catalog: Catalog) -> None:
        source = source_for_table(catalog, Platform.kql, query.table)
        if source is None:
            raise unknown_table_error(text, query.table_offset, catalog, Platform.kql,
                                      query.table)
        assert source.bindings.kql is not None
        super().__init__(source)
        self.text, self.query = text, query
        self.binding = source.bindings.kql
        self.ns: dict[str, str] = dict(reverse_columns(source, Platform.kql))
        self.removed: dict[str, int] = {}  # name → offset of the project that removed it
        self.dropped: dict[str, int] = {}  # name → offset of the aggregation that dropped it
        self.opaque: set[str] = set()
        self.unnamed = 0  # ColumnN names given so far
        self.schema_lost = False
        self.start: tuple[Any, int] | None = None  # time bounds (`kql.time`), with offsets
        self.end: tuple[Any, int] | None = None
        self.where_count = 0  # which `where` is being read (the start's is `start_where`)
        self.start_where = 0
        self.issues = [unsupported_issue(text, off, what, why, changes_results=ch)
                       for off, what, why, ch in query.issues]
        self.start_stages(catalog)

    # ------------------------------------------------------------------ names

    def resolve(self, n: syn.Name) -> str:
        key = n.text
        if key in self.ns:
            return self.ns[key]
        if key in self.opaque:
            raise Unsupported(n.offset, f"'{key}'", "it is computed by an expression that is "
                              "not supported")
        if key in self.removed:
            line, col = line_col(self.text, self.removed[key])
            raise Unsupported(n.offset, f"a use of '{key}'", f"the project at line {line}, "
                              f"column {col} removed it; move this stage before the project")
        if self.schema_lost:
            raise Unsupported(n.offset, f"the column '{key}'", "it comes from an unsupported "
                              "stage earlier in the query")
        if key in self.dropped:
            line, col = line_col(self.text, self.dropped[key])
            raise syntax_error(self.text, n.offset, f"'{key}' is not an output of the "
                               f"aggregation at line {line}, column {col}",
                               hint="after summarize only its outputs exist: "
                                    + ", ".join(self.ns), code="unknown_field")
        raise unknown_field_error(self.text, n.offset, self.source, Platform.kql, key,
                                  extra=list(self.ns))

    def ftype(self, name: str) -> FieldType | None:
        plan = QueryPlan(source=self.source.id, computed=self.computed)
        try:
            return self.names_for(plan).field_type(name)
        except Exception:
            return None

    def output_type(self, name: str) -> FieldType | None:
        plan = QueryPlan(source=self.source.id, computed=self.computed, aggregation=self.agg)
        try:
            return self.names_for(plan).output_type(name)
        except Exception:
            return None

    def field_of(self, e: syn.Node, *, text: bool = False, typed: bool = True) -> str | None:
        """The field an operand names, seeing through the renderer's conversions: a dynamic
        path's `tostring()`/`toint()`…, with `typed` the conversion of a number stored as a
        string (`toint(scStatus)`, which the renderer writes in comparisons and aggregates but
        not in computed expressions, where it is a real `toint`), with `text` any
        `tostring()` before a string operator."""
        if isinstance(e, syn.Opaque):
            raise Unsupported(e.offset, f"the let '{e.name}'", "functions and materialized "
                              "lets are not expanded")
        if isinstance(e, syn.Name):
            return None if member_head(self, e) else self.resolve(e)
        if isinstance(e, syn.Call) and e.name in _CONVERTERS and len(e.args) == 1 \
                and isinstance(e.args[0], syn.Name) and not member_head(self, e.args[0]):
            name = self.resolve(e.args[0])
            if text and e.name == "tostring":
                return name  # a string operator reads any column as text
            # After summarize only a group key is still the source's column.
            col = self.binding.columns.get(name) \
                if self.agg is None or name in self.agg.group_by else None
            ftype = self.ftype(name)
            if col is not None and ftype is not None:
                target = _CONVERTERS[e.name]
                if is_path(col) and TO_SCALAR.get(ftype) == TO_SCALAR.get(target):
                    return name
                if typed and self.binding.column_types.get(name) is FieldType.string \
                        and TO_SCALAR.get(ftype) == TO_SCALAR.get(target):
                    return name
        return None

    # ------------------------------------------------------------------ values

    def datetime_text(self, lit: syn.Lit) -> str:
        at = parse_datetime(str(lit.value).replace(" ", "T", 1))
        if at is None:
            raise syntax_error(self.text, lit.offset, f"'{lit.value}' is not a datetime",
                               expected="an ISO date such as datetime(2024-03-01T08:00:00Z)")
        return iso_utc(at)

    def const(self, e: syn.Node) -> Any:
        if isinstance(e, syn.Lit):
            if e.kind in ("string", "number", "bool"):
                return e.value
            if e.kind == "datetime":
                return self.datetime_text(e)
            if e.kind == "timespan":
                raise Unsupported(e.offset, "a timespan value", "the IR compares columns with "
                                  "text, numbers, booleans and datetimes")
            raise Unsupported(e.offset, "a null or list value here")
        if isinstance(e, syn.Call) and e.name in ("ago", "now", "startofday", "startofweek",
                                                  "startofmonth", "endofday"):
            raise Unsupported(e.offset, f"{e.name}() as a value", "only the time column's "
                              "range can be relative to now (TimeGenerated >= ago(1d)), "
                              "before summarize")
        if isinstance(e, syn.Name):
            raise Unsupported(e.offset, "comparing two columns", "extend a flag with iff() "
                              "and filter on it")
        if isinstance(e, syn.Opaque):
            self.field_of(e)
        raise Unsupported(syn.node_offset(e), "a computed value", "compare with a literal")

    def values(self, items: list[syn.Node]) -> list[Any]:
        out: list[Any] = []
        for it in items:
            if isinstance(it, syn.Lit) and it.kind == "list":
                out += self.values(it.value)
            else:
                out.append(self.const(it))
        return out

    # ------------------------------------------------------------------ filters

    def filt(self, e: syn.Node) -> Any:
        if isinstance(e, syn.Bin) and e.op in ("and", "or"):
            cls = And if e.op == "and" else Or
            items: list[Any] = []
            for side in (e.left, e.right):
                f = self.filt(side)
                items += f.items if isinstance(f, cls) else [f]
            return cls(items=items)
        if isinstance(e, syn.Call) and e.name == "not" and len(e.args) == 1:
            return Not(item=self.filt(e.args[0]))
        if isinstance(e, syn.Call) and e.name in ("isempty", "isnotempty", "isnull",
                                                  "isnotnull") and len(e.args) == 1:
            f = self.field_of(e.args[0])
            if f is None:
                raise Unsupported(e.offset, f"{e.name}() of an expression",
                                  "extend the expression into a column first")
            if e.name in ("isnull", "isnotnull") and self.ftype(f) in (FieldType.string, None):
                self.notes.append(f"{e.name}({f}) read as an emptiness test: Kusto strings are "
                                  "never null, only empty")
            op = Operator.not_exists if e.name in ("isempty", "isnull") else Operator.exists
            return Condition(field=f, op=op)
        if isinstance(e, syn.Bin) and (e.op in _CMP or e.op in _STR):
            return self.compare(e)
        if isinstance(e, syn.InList):
            return self.in_list(e)
        if isinstance(e, syn.Between):
            f = self.operand(e.left, e.offset, text=False)
            both = And(items=[self.cond(f, Operator.ge, self.const(e.low), False),
                              self.cond(f, Operator.le, self.const(e.high), False)])
            return Not(item=both) if e.negated else both
        if isinstance(e, syn.Bin) and e.op in ("hasprefix", "hassuffix", "like", "notlike") or \
                isinstance(e, syn.Bin) and e.op.lstrip("!").startswith(("hasprefix", "hassuffix")):
            raise Unsupported(e.offset, f"the {e.op} operator", "use startswith/endswith or has")
        if isinstance(e, syn.Opaque):
            self.field_of(e)
        raise Unsupported(syn.node_offset(e), "this filter", "a where clause compares "
                          "columns with values (==, has, in, between, isempty…)")

    def operand(self, e: syn.Node, offset: int, *, text: bool) -> str:
        f = self.field_of(e, text=text)
        return f if f is not None else temp_field(self, e)

    def cond(self, f: str, op: Operator, value: Any, cs: bool) -> Condition:
        ftype = self.ftype(f) if self.agg is None else self.output_type(f)
        cs = cs and ftype in (FieldType.string, FieldType.guid, None)  # case is about text
        if op not in (Operator.contains, Operator.not_contains, Operator.startswith,
                      Operator.endswith, Operator.has, Operator.regex):
            value = [coerce(v, ftype) for v in value] if isinstance(value, list) \
                else coerce(value, ftype)
        else:
            value = str(value) if not isinstance(value, bool) else str(value).lower()
        vals = value if isinstance(value, list) else [value]
        return Condition(field=f, op=op, value=value,
                         case_sensitive=cs and any(has_letters(v) for v in vals))

    def compare(self, e: syn.Bin) -> Any:
        left, right, op_text = e.left, e.right, e.op
        if op_text in _MIRROR and isinstance(left, syn.Lit) and not isinstance(right, syn.Lit):
            left, right, op_text = right, left, _MIRROR[op_text]
        if isinstance(right, (syn.Name, syn.Member, syn.Index)) or isinstance(right, syn.Bin) \
                and right.op in _ARITH and ago_seconds(right) is None \
                or isinstance(right, syn.Call) and right.name not in _TIME_CALLS \
                and right.name not in ("datetime", "dynamic"):
            return column_compare(self, e, _EXPR_CMP)
        seconds = ago_seconds(right)
        if seconds is not None and op_text == ">":
            return since_compare(self, left, seconds)
        if isinstance(right, syn.Call) and right.name in _NOW_CALLS:
            try:  # `Expiry > now()`, `t >= startofmonth(now())`: both sides are expressions
                return column_compare(self, syn.Bin(op_text, left, right, e.offset), _EXPR_CMP)
            except Unsupported:
                pass
        if op_text in _CMP:
            op, cs = _CMP[op_text]
            return self.cond(self.operand(left, e.offset, text=False), op, self.const(right), cs)
        op, cs, negate = _STR[op_text]
        f = self.operand(left, e.offset, text=True)
        value = self.const(right)
        if op is Operator.regex:
            value = str(value)
            cs = not value.startswith("(?i)")
            value = value[4:] if not cs else value
        c = self.cond(f, op, value, cs)
        return Not(item=c) if negate else c

    def in_list(self, e: syn.InList) -> Any:
        if e.subquery:
            raise Unsupported(e.offset, "in with a subquery", "list the values, or use a let "
                              "of dynamic([...])")
        vals = self.values(e.items)
        if not vals:
            raise Unsupported(e.offset, "an empty list")
        if e.op in ("has_any", "has_all"):
            f = self.operand(e.left, e.offset, text=True)
            items = [self.cond(f, Operator.has, v, False) for v in vals]
            if len(items) == 1:
                return items[0]
            return Or(items=items) if e.op == "has_any" else And(items=items)
        f = self.operand(e.left, e.offset, text=False)
        op = Operator.not_in if e.op.startswith("!") else Operator.in_
        return self.cond(f, op, vals, not e.op.endswith("~"))

    # ------------------------------------------------------------------ expressions

    def expr(self, e: syn.Node) -> Any:
        if isinstance(e, (syn.Member, syn.Index)) or isinstance(e, syn.Name) \
                and member_head(self, e):
            return dynamic_expr(self, e)
        if isinstance(e, syn.Name):
            return FieldRef(name=self.resolve(e))
        if isinstance(e, syn.Lit):
            if e.kind in ("string", "number", "bool"):
                return Literal_(value=e.value)
            raise Unsupported(e.offset, f"a {e.kind} literal in an expression")
        if isinstance(e, syn.Bin) and e.op in _EXPR_CMP:  # `extend flag = a > b`
            return self.test(e)
        if isinstance(e, syn.Bin) and e.op in _ARITH:
            args = [self.expr(e.left), self.expr(e.right)]
            call = Call(fn=_ARITH[e.op], args=args)
            if e.op == "/" and all(self.expr_type(a) in (FieldType.int, FieldType.long)
                                   for a in args):
                return Call(fn=Function.to_int, args=[call])  # KQL divides integers exactly
            return call
        if isinstance(e, syn.Call):
            f = self.field_of(e, typed=False)
            if f is not None:
                return FieldRef(name=f)
            new = new_function(self, e)
            if new is not None:
                return new
            fn = _FUNCS.get(e.name)
            if fn is None:
                why = "the IR has no text extraction" if e.name.startswith(("extract", "parse")) \
                    else "the IR computes with arithmetic, tostring/toint/toreal, iff, strlen, " \
                         "strcat, substring, tolower/toupper and coalesce"
                raise Unsupported(e.offset, f"the function {e.name}()", why)
            if fn is Function.if_:
                if len(e.args) != 3:
                    raise syntax_error(self.text, e.offset, f"{e.name}() takes 3 arguments",
                                       expected=f"{e.name}(condition, then, else)")
                return Call(fn=fn, args=[self.test(e.args[0]), self.expr(e.args[1]),
                                         self.expr(e.args[2])])
            return Call(fn=fn, args=[self.expr(a) for a in e.args])
        if isinstance(e, syn.Opaque):
            self.field_of(e)
        raise Unsupported(syn.node_offset(e), "this expression", "")

    def test(self, e: syn.Node) -> Compare:
        if isinstance(e, syn.Call) and e.name in ("isempty", "isnotempty") and len(e.args) == 1:
            op = Operator.exists if e.name == "isnotempty" else Operator.not_exists
            return Compare(left=self.expr(e.args[0]), op=op)
        if isinstance(e, syn.Bin) and e.op in _EXPR_CMP:
            return Compare(left=self.expr(e.left), op=_EXPR_CMP[e.op], right=self.expr(e.right))
        raise Unsupported(syn.node_offset(e), "this condition inside iff()", "the IR's iff "
                          "takes one comparison (==, !=, <, >, contains, startswith, has…)")

    def expr_type(self, e: Any) -> FieldType | None:
        plan = QueryPlan(source=self.source.id, computed=self.computed)
        return expr_type(e, self.names_for(plan))

    # ------------------------------------------------------------------ issues

    def issue(self, u: Unsupported) -> None:
        self.issues.append(unsupported_issue(self.text, u.offset, u.construct, u.why,
                                             changes_results=u.changes))
