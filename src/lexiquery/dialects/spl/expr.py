"""SPL's eval language mapped onto the IR: `| where` conditions as filters, `| eval`
expressions as computed-field expressions.

* `| where f=="x"` compares exactly (case-sensitive), `lower(f)=="x"` does not;
* `match(f, "(?i)^x")` on a literal is the renderer's startswith (contains / endswith / eq for
  the other anchorings), any other pattern a regex; `like()` patterns map the same way;
* the renderer's compound forms (`isnotnull(f) AND NOT in(f, …)`, `isnull(f) OR f==""`) read
  back as one condition;
* `cidrmatch("10.0.0.0/8", f)` is the regex of exactly the dotted-quad IPv4 addresses of the
  range (the IR has no network-range operator; IPv6 ranges are refused);
* `case()` becomes nested `if`s, `floor(tonumber(x))` is to_int, `substr` counts from 1 in SPL
  and from 0 in the IR.

Anything else raises `Unsupported` at its position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lexiquery.dialects.base import coerce, has_letters
from lexiquery.dialects.spl.bind import (
    CMP_OPS,
    FLIP,
    Ref,
    Scope,
    Unsupported,
    epoch_to_iso,
    fold_and,
    fold_or,
    like_condition,
    regex_condition,
    regex_literal,
)
from lexiquery.dialects.spl.eval import EBin, ECall, EField, EIn, ELit, ENode, EUnary
from lexiquery.dialects.spl.functions import cidr_regex, read_call, read_time_diff
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
)

# ------------------------------------------------------------------ where → filters


def and_items(node: ENode) -> list[ENode]:
    """The AND operands of a where expression, flattened (iteratively: a long chain of ANDs
    is a deep left-leaning tree)."""
    return _flatten(node, "AND")


def _or_items(node: ENode) -> list[ENode]:
    return _flatten(node, "OR")


def _flatten(node: ENode, op: str) -> list[ENode]:
    out: list[ENode] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, EBin) and n.op == op and (n is node or not n.paren):
            stack += [n.right, n.left]
        else:
            out.append(n)
    return out


def fold_where(read: list[tuple[ENode, Any]]) -> list[Any]:
    """ANDed `| where` terms (each with its filter) with the renderer's compound forms folded
    (`bind.fold_and`): only a bare `isnotnull(f)` pairs with a negation or `f!=""` — a whole
    `(isnotnull(f) AND f!="")` is an exists of its own, which excludes empty values too."""
    guards = [f for n, f in read if isinstance(n, ECall) and n.name == "isnotnull"]
    return fold_and([f for _, f in read], guards)


def where_filter(node: ENode, scope: Scope) -> Any:
    """A `| where` condition as an IR filter (raises `Unsupported`)."""
    if isinstance(node, EBin) and node.op == "AND":
        items = fold_where([(i, where_filter(i, scope)) for i in and_items(node)])
        return items[0] if len(items) == 1 else And(items=items)
    if isinstance(node, EBin) and node.op == "OR":
        items = fold_or([where_filter(i, scope) for i in _or_items(node)])
        return items[0] if len(items) == 1 else Or(items=items)
    if isinstance(node, EBin) and node.op == "XOR":
        raise Unsupported(node.pos, "XOR")
    if isinstance(node, EUnary) and node.op == "NOT":
        inner = where_filter(node.operand, scope)
        if isinstance(inner, Condition) and inner.op in {Operator.exists, Operator.not_exists}:
            return inner.model_copy(update={"op": Operator.not_exists if inner.op is
                                            Operator.exists else Operator.exists})
        return Not(item=inner)
    if isinstance(node, EBin) and node.op in CMP_OPS:
        return _comparison(node, scope)
    if isinstance(node, EBin) and node.op == "LIKE":
        return _like(node.left, node.right, scope, node.pos)
    if isinstance(node, EIn):
        return _in(node.left, node.values, scope, node.pos)
    if isinstance(node, ECall):
        return _where_call(node, scope)
    raise Unsupported(_npos(node), "this where condition", "a filter compares a field with "
                      "a value")


def _npos(node: ENode) -> int:
    return node.pos


def _subject(node: ENode, scope: Scope) -> tuple[Ref, bool] | None:
    """(field, case-folded) for `f`, `lower(f)`, `upper(f)`; None for other expressions."""
    if isinstance(node, EField):
        return field_ref(node, scope), False
    if isinstance(node, ECall) and node.name in {"lower", "upper"} and len(node.args) == 1 \
            and isinstance(node.args[0], EField):
        return field_ref(node.args[0], scope), True
    return None


def field_ref(node: EField, scope: Scope) -> Ref:
    return scope.resolve(node.name, node.pos)


def _literal(node: ENode) -> ELit | None:
    return node if isinstance(node, ELit) else None


def _value(lit: ELit, ref: Ref) -> object:
    if ref.epoch:
        return epoch_to_iso(lit.value)
    return coerce(lit.value, ref.ftype) if lit.value is not None else None  # type: ignore


def _comparison(node: EBin, scope: Scope) -> Condition:
    op = CMP_OPS[node.op]
    left, right = node.left, node.right
    subj, lit = _subject(left, scope), _literal(right)
    if subj is None or lit is None:  # `5 < f` reads as `f > 5`
        subj2, lit2 = _subject(right, scope), _literal(left)
        if subj2 is not None and lit2 is not None:
            subj, lit, op = subj2, lit2, FLIP[op]
    if subj is None or lit is None or lit.value is None:
        raise Unsupported(node.pos, "this comparison", "the IR compares a field with a value; "
                          "compute other expressions with eval first")
    ref, folded = subj
    value = _value(lit, ref)
    # Case only matters for text: an epoch time compared as ISO text has letters (T, Z) too.
    cs = not folded and op in {Operator.eq, Operator.ne} and has_letters(value) and not ref.epoch
    return Condition(field=ref.name, op=op, value=value, case_sensitive=cs)  # type: ignore


def _in(left: ENode, values: list[ENode], scope: Scope, pos: int) -> Condition:
    subj = _subject(left, scope)
    lits = [_literal(v) for v in values]
    if subj is None or not lits or any(v is None or v.value is None for v in lits):
        raise Unsupported(pos, "this in() test", "in() needs a field and plain values")
    ref, folded = subj
    vals = [_value(v, ref) for v in lits]  # type: ignore[arg-type]
    cs = not folded and any(has_letters(v) for v in vals)
    return Condition(field=ref.name, op=Operator.in_, value=vals,  # type: ignore[arg-type]
                     case_sensitive=cs)


def _like(left: ENode, pattern: ENode, scope: Scope, pos: int) -> Condition:
    subj, lit = _subject(left, scope), _literal(pattern)
    if subj is None or lit is None or not isinstance(lit.value, str):
        raise Unsupported(pos, "this like() test", "like() needs a field and a text pattern")
    return like_condition(subj[0].name, lit.value, subj[1])


def _where_call(node: ECall, scope: Scope) -> Condition:
    name, args = node.name, node.args
    if name in {"isnull", "isnotnull"} and len(args) == 1 and isinstance(args[0], EField):
        ref = field_ref(args[0], scope)
        return Condition(field=ref.name,
                         op=Operator.not_exists if name == "isnull" else Operator.exists)
    if name == "like" and len(args) == 2:
        return _like(args[0], args[1], scope, node.pos)
    if name == "match" and len(args) == 2:
        subj, lit = _subject(args[0], scope), _literal(args[1])
        if subj is not None and lit is not None and isinstance(lit.value, str):
            cond = regex_condition(subj[0].name, lit.value)
            return cond.model_copy(update={"case_sensitive": False}) if subj[1] else cond
    if name == "in" and len(args) >= 2:
        return _in(args[0], args[1:], scope, node.pos)
    if name == "cidrmatch" and len(args) == 2 and isinstance(args[0], ELit) \
            and isinstance(args[0].value, str) and isinstance(args[1], EField):
        regex = cidr_regex(args[0].value)
        if regex is not None:  # an IPv4 range: exactly the addresses a regex can list
            return Condition(field=field_ref(args[1], scope).name, op=Operator.regex,
                             value=regex, case_sensitive=False)
    if name in {"searchmatch", "cidrmatch"}:
        why = {"searchmatch": "it runs a search expression on the raw event",
               "cidrmatch": "the IR has no network-range operator; an IPv4 range in "
                            "a literal is read as the regex of its addresses"}[name]
        raise Unsupported(node.pos, f"{name}()", why)
    raise Unsupported(node.pos, f"{name}() in a where condition")


# ------------------------------------------------------------------ eval → expressions

_SIMPLE = {"lower": Function.lower, "upper": Function.upper, "len": Function.length,
           "coalesce": Function.coalesce, "tostring": Function.to_string,
           "tonumber": Function.to_real}
_ARITH = {"+": Function.add, "-": Function.sub, "*": Function.mul, "/": Function.div,
          "%": Function.mod, ".": Function.concat}
_ARITY = {"lower": 1, "upper": 1, "len": 1, "tostring": 1, "tonumber": 1}


@dataclass
class ExprBinder:
    """Eval expressions → IR expressions over the scope before the aggregation."""

    scope: Scope

    def expr(self, node: ENode) -> Any:
        if isinstance(node, ELit):
            return Literal_(value=node.value)
        if isinstance(node, EField):
            return self._field(node)
        if isinstance(node, EBin) and node.op in _ARITH:
            diff = read_time_diff(self, node)
            if diff is not None:
                return diff
            return Call(fn=_ARITH[node.op], args=[self.expr(a) for a in _chain(node)])
        if isinstance(node, EUnary) and node.op == "-":
            return Call(fn=Function.sub, args=[Literal_(value=0), self.expr(node.operand)])
        if isinstance(node, ECall):
            return self._call(node)
        raise Unsupported(_npos(node), "a true/false value in eval",
                          "the IR's if() takes one comparison")

    def _field(self, node: EField) -> Any:
        ref = self.scope.lookup(node.name)
        if ref is None and "." in node.name and not node.quoted:
            parts = node.name.split(".")
            if all(self.scope.lookup(p) is not None for p in parts):  # `a.b` = a . b
                return Call(fn=Function.concat, args=[
                    FieldRef(name=self.scope.lookup(p).name) for p in parts])  # type: ignore
        if ref is None or ref.opaque:
            ref = self.scope.resolve(node.name, node.pos)
        return FieldRef(name=ref.name)

    def _call(self, node: ECall) -> Any:
        name, args = node.name, node.args
        if name in _ARITY and len(args) != _ARITY[name]:
            raise Unsupported(node.pos, f"{name}() with {len(args)} arguments")
        if name in _SIMPLE:
            if not args:
                raise Unsupported(node.pos, f"{name}() without arguments")
            return Call(fn=_SIMPLE[name], args=[self.expr(a) for a in args])
        if name == "floor" and len(args) == 1:
            inner = args[0]
            if isinstance(inner, ECall) and inner.name == "tonumber" and len(inner.args) == 1:
                inner = inner.args[0]
            return Call(fn=Function.to_int, args=[self.expr(inner)])
        if name == "substr" and len(args) in {2, 3}:
            return self._substr(node)
        if name == "if" and len(args) == 3 and all(
                isinstance(a, ELit) for a in args[1:]) and \
                [a.value for a in args[1:]] == ["true", "false"]:  # type: ignore[union-attr]
            return self.compare(args[0])  # a true/false value, as the renderer writes it
        if name == "if" and len(args) == 3:
            return Call(fn=Function.if_, args=[self.compare(args[0]), self.expr(args[1]),
                                               self.expr(args[2])])
        if name == "case" and len(args) >= 2 and len(args) % 2 == 0:
            return self._case(args)
        if name == "null" and not args:
            return Literal_(value=None)
        if name in {"true", "false"} and not args:
            return Literal_(value=name == "true")
        read = read_call(self, node)
        if read is not None:
            return read
        raise Unsupported(node.pos, f"the eval function {name}()")

    def _substr(self, node: ECall) -> Any:
        text, start = node.args[0], node.args[1]
        rest = [self.expr(a) for a in node.args[2:]]
        if isinstance(start, ELit) and isinstance(start.value, int):
            if start.value < 1:
                raise Unsupported(start.pos, "substr() counting from the end")
            first: Any = Literal_(value=start.value - 1)  # SPL counts from 1, the IR from 0
        elif isinstance(start, EBin) and start.op == "+" and isinstance(start.right, ELit) \
                and start.right.value == 1:
            first = self.expr(start.left)  # the renderer's `x + 1`
        else:
            first = Call(fn=Function.sub, args=[self.expr(start), Literal_(value=1)])
        return Call(fn=Function.substring, args=[self.expr(text), first, *rest])

    def _case(self, args: list[ENode]) -> Any:
        pairs = list(zip(args[0::2], args[1::2]))
        default: Any = Literal_(value=None)
        last_cond = pairs[-1][0]
        if _always_true(last_cond):
            default = self.expr(pairs[-1][1])
            pairs = pairs[:-1]
        out = default
        for cond, val in reversed(pairs):
            out = Call(fn=Function.if_, args=[self.compare(cond), self.expr(val), out])
        return out

    def compare(self, node: ENode) -> Compare:
        """The condition of `if`/`case`: one comparison (the IR's `Compare`). The renderer's
        `isnotnull(x) AND x!=""` is exists, `isnull(x) OR x==""` not_exists."""
        pair = _emptiness_pair(node)
        if pair is not None:
            op, subject = pair
            return Compare(left=self.expr(subject), op=op)
        if isinstance(node, EBin) and node.op in CMP_OPS:
            return Compare(left=self.expr(node.left), op=CMP_OPS[node.op],
                           right=self.expr(node.right))
        if isinstance(node, ECall) and node.name in {"isnull", "isnotnull"} \
                and len(node.args) == 1:
            return Compare(left=self.expr(node.args[0]), op=Operator.not_exists
                           if node.name == "isnull" else Operator.exists)
        if isinstance(node, ECall) and node.name == "match" and len(node.args) == 2 \
                and isinstance(node.args[1], ELit) and isinstance(node.args[1].value, str):
            lit = regex_literal(node.args[1].value)
            op, value = lit if lit else (Operator.regex, node.args[1].value)
            return Compare(left=self.expr(node.args[0]), op=op, right=Literal_(value=value))
        if isinstance(node, EUnary) and node.op == "NOT":
            inner = self.compare(node.operand)
            flipped = {Operator.eq: Operator.ne, Operator.ne: Operator.eq,
                       Operator.exists: Operator.not_exists,
                       Operator.not_exists: Operator.exists,
                       Operator.contains: Operator.not_contains,
                       Operator.in_: Operator.not_in}.get(inner.op)
            if flipped is not None:
                return inner.model_copy(update={"op": flipped})
        raise Unsupported(_npos(node), "this if()/case() condition",
                          "the IR's if() takes one comparison, not AND/OR")


def _emptiness_pair(node: ENode) -> tuple[Operator, ENode] | None:
    """`isnotnull(x) AND x!=""` → (exists, x); `isnull(x) OR x==""` → (not_exists, x)."""
    if not (isinstance(node, EBin) and node.op in {"AND", "OR"}):
        return None
    left, right = node.left, node.right
    fn, cmp = ("isnotnull", "!=") if node.op == "AND" else ("isnull", "==")
    if isinstance(left, ECall) and left.name == fn and len(left.args) == 1 \
            and isinstance(right, EBin) and right.op == cmp and isinstance(right.right, ELit) \
            and right.right.value == "" and _same(left.args[0], right.left):
        return (Operator.exists if node.op == "AND" else Operator.not_exists), left.args[0]
    return None


def _same(a: ENode, b: ENode) -> bool:
    """The same expression, wherever it is written."""
    return _shape(a) == _shape(b)


def _shape(n: Any) -> Any:
    if isinstance(n, list):
        return [_shape(i) for i in n]
    if hasattr(n, "__dataclass_fields__"):
        return (type(n).__name__, *(_shape(getattr(n, k)) for k in n.__dataclass_fields__
                                    if k not in {"pos", "end", "paren"}))
    return n


def _always_true(node: ENode) -> bool:
    if isinstance(node, ECall) and node.name == "true" and not node.args:
        return True
    return isinstance(node, EBin) and node.op == "==" and isinstance(node.left, ELit) \
        and isinstance(node.right, ELit) and node.left.value == node.right.value


def _chain(node: EBin) -> list[ENode]:
    """`a + b + c` (unparenthesised, same operator) as one n-ary call's operands."""
    operands = [node.right]
    left = node.left
    while isinstance(left, EBin) and left.op == node.op and not left.paren:
        operands.append(left.right)
        left = left.left
    return [left, *reversed(operands)]
