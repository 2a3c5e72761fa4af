"""QueryPlan → Splunk SPL.

Style: the binding's search prefix, the time range as `earliest=`/`latest=`, then every filter
the base search can express exactly (the fastest place to filter: it uses the index), then
`| where` for the rest, `| eval`, `| bin _time span=…` + `| stats … by`, `| where` for
thresholds, `| sort N …`, `| head`, `| table` last so a sort key need not be shown.

Semantics an analyst should know:
* base-search matching is case-insensitive, like the other platforms' defaults; a
  case-sensitive condition goes to `| where`, which compares exactly;
* `field!=value`, `NOT field IN (…)` and "does not contain" are written so that events missing
  the field are excluded (`field!=…`, `field=* NOT …`), as SQL's `<>` and KQL's `!=` exclude
  NULL/empty; a plan-level `not (…)` group is written `NOT (…)` and, as in every Splunk search,
  keeps events that lack the field;
* `*` is always a wildcard in the base search and cannot be escaped there, so a value holding a
  literal `*` is matched with `| where match(…)` and the value regex-escaped;
* absolute times are epoch seconds (`earliest=1709251200`): Splunk reads them without a
  `timeformat` and without the user's time-zone preference, which `"03/01/2024:00:00:00"` would
  depend on; relative times snap (`-1d@d`) in the user's time zone, as `bin _time span=1d` does;
* `stats … by f` drops events where `f` is missing (KQL and SQL keep an empty/NULL group);
* first_seen/last_seen stay epoch numbers (so sorting, thresholds and exported results compare
  as times) and are shown as ISO times with `| fieldformat`;
* a computed true/false value is the text "true"/"false" (`eval` cannot assign a boolean:
  `if(cond, "true", "false")`), which is what a filter on it compares with;
* every `sort` carries a count (`sort 0` = all rows): a bare `sort` silently stops at 10,000;
* `values(f)` and `list(f)` are multivalue fields that skip events without `f`; `values` sorts
  its distinct values lexicographically (so "10" before "9"), `list` keeps at most 100 values
  (limits.conf `list_maxsize`) in the order events arrive, duplicates kept.
"""

from __future__ import annotations

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.base import (
    Names,
    coerce,
    format_number,
    has_letters,
    parenthesised,
    parse_datetime,
    plan_error,
    walk_filter,
)
from lexiquery.dialects.spl.functions import (
    GROUP_NAME,
    NEW_FUNCTIONS,
    array_fields,
    is_json_path,
    multivalue,
    render_call,
    rex_pattern,
    rex_target,
)
from lexiquery.dialects.spl.text import (
    TIME_FORMAT,
    epoch,
    eval_field,
    has_control,
    plain_search_field,
    quote,
    regex_escape,
    search_field,
    single_term,
    span,
    time_modifier,
    value,
)
from lexiquery.ir import (
    Call,
    Compare,
    Condition,
    FieldRef,
    Function,
    Literal_,
    Metric,
    MetricFn,
    Not,
    Operator,
    Or,
    QueryPlan,
    iter_expr_fields,
)

_CMP = {Operator.eq: "=", Operator.ne: "!=", Operator.gt: ">", Operator.ge: ">=",
        Operator.lt: "<", Operator.le: "<="}
# Conditions whose search-form is several terms: they need parentheses inside OR / NOT.
_COMPOUND = {Operator.not_in, Operator.not_contains}


class SplRenderer:
    def __init__(self, plan: QueryPlan, source: Source) -> None:
        self.plan = plan
        self.source = source
        self.names: Names = Names(plan, source, Platform.spl)
        # Columns holding epoch seconds, when a stage knows them (None: the first part's rule).
        self.epoch_cols: set[str] | None = None
        # Computed JSON members a later stage uses as arrays (`spath(x, "a{}")`: its elements).
        self.arrays: set[str] = array_fields(plan)

    # -------------------------------------------------------------- base-search form

    def _search_ok(self, f: object) -> bool:
        """Can this filter be written exactly (same meaning as KQL/SQL) in the base search?"""
        if self.names.uses_computed(f):
            return False
        if not isinstance(f, Condition):
            items = [f.item] if isinstance(f, Not) else f.items  # type: ignore[attr-defined]
            return all(self._search_ok(i) for i in items)
        if f.op is Operator.regex or f.case_sensitive:
            return False
        if not plain_search_field(self.names.column(f.field)):
            return False  # odd field names are only reliably quoted in where/eval ('name')
        ftype = self.names.field_type(f.field)
        if ftype is FieldType.datetime:
            return False
        vals = f.value if isinstance(f.value, list) else [f.value]
        if any(isinstance(v, str) and ("*" in v or v == "" or has_control(v)) for v in vals):
            return False  # `*` is always a wildcard there; line breaks would split the search
        if f.op in {Operator.gt, Operator.ge, Operator.lt, Operator.le}:
            # The base search compares numbers numerically; anything else goes to where.
            return isinstance(coerce(f.value, ftype), (int, float))  # type: ignore[arg-type]
        return True

    def search_cond(self, c: Condition) -> str:
        ref = search_field(self.names.column(c.field))
        ftype = self.names.field_type(c.field)
        op = c.op
        if op is Operator.exists:
            return f"{ref}=*"
        if op is Operator.not_exists:
            return f"NOT {ref}=*"
        if op in {Operator.in_, Operator.not_in}:
            vals = ", ".join(value(coerce(v, ftype)) for v in c.value)  # type: ignore[union-attr]
            return f"{ref} IN ({vals})" if op is Operator.in_ else \
                f"{ref}=* NOT {ref} IN ({vals})"
        if op in _CMP:
            return f"{ref}{_CMP[op]}{value(coerce(c.value, ftype))}"  # type: ignore[arg-type]
        s = str(c.value)
        pattern = {Operator.contains: f"*{s}*", Operator.not_contains: f"*{s}*",
                   Operator.has: f"*{s}*", Operator.startswith: f"{s}*",
                   Operator.endswith: f"*{s}"}[op]
        if op is Operator.not_contains:
            return f"{ref}=* NOT {ref}={quote(pattern)}"
        return f"{ref}={quote(pattern)}"

    def search_filter(self, f: object) -> str:
        top_leaf = isinstance(f, Condition)

        def leaf(c: Condition) -> str:
            text = self.search_cond(c)
            return f"({text})" if c.op in _COMPOUND and not top_leaf else text

        text = walk_filter(f, leaf, " ", " OR ",
                           lambda t: f"NOT {t}" if single_term(t) else f"NOT ({t})")
        # A top-level OR shares the line with other terms: parenthesise it for the reader
        # (Splunk binds OR tighter than the implicit AND, but few people remember that).
        return f"({text})" if isinstance(f, Or) and len(f.items) > 1 else text

    # -------------------------------------------------------------- where/eval form

    def where_cond(self, c: Condition, *, after_agg: bool = False) -> str:
        col = self.names.output(c.field) if after_agg else self.names.column(c.field)
        ref = eval_field(col)
        ftype = self.names.output_type(c.field) if after_agg else self.names.field_type(c.field)
        op, cs = c.op, c.case_sensitive
        if op is Operator.exists:
            return f'isnotnull({ref}) AND {ref}!=""'
        if op is Operator.not_exists:
            return f'isnull({ref}) OR {ref}=""'
        vals = c.value if isinstance(c.value, list) else [c.value]
        # _time and first_seen/last_seen hold epoch seconds: an ISO value becomes one.
        epoch_valued = self.epoch_valued(col, ftype, after_agg)
        typed = [self._typed(v, ftype, epoch_valued) for v in vals]  # type: ignore[arg-type]
        fold = not cs and any(has_letters(v) for v in typed) and ftype is not FieldType.datetime
        lhs = f"lower({ref})" if fold else ref
        typed = [v.lower() if fold and isinstance(v, str) else v for v in typed]
        if op in {Operator.in_, Operator.not_in}:
            text = f"in({lhs}, {', '.join(value(v) for v in typed)})"
            return text if op is Operator.in_ else f"isnotnull({ref}) AND NOT {text}"
        if op in {Operator.eq, Operator.ne} and has_control(c.value):
            # A line break cannot be written in an SPL string: match it as `\n` in a regex.
            pattern = ("" if cs else "(?i)") + "^" + regex_escape(str(c.value)) + "$"
            text = f"match({ref}, {quote(pattern)})"
            return text if op is Operator.eq else f"isnotnull({ref}) AND NOT {text}"
        if op in _CMP:
            sym = "==" if op is Operator.eq else _CMP[op]
            return f"{lhs}{sym}{value(typed[0])}"
        flags = "" if cs else "(?i)"
        raw = str(c.value)
        regex = {Operator.regex: raw, Operator.contains: regex_escape(raw),
                 Operator.not_contains: regex_escape(raw), Operator.has: regex_escape(raw),
                 Operator.startswith: "^" + regex_escape(raw),
                 Operator.endswith: regex_escape(raw) + "$"}[op]
        text = f"match({ref}, {quote(flags + regex)})"
        return f"isnotnull({ref}) AND NOT {text}" if op is Operator.not_contains else text

    def epoch_valued(self, col: str, ftype: FieldType | None, after_agg: bool) -> bool:
        """Does this column hold epoch seconds in SPL (`_time`, first/last seen, a bucket)?"""
        if self.epoch_cols is not None:
            return col in self.epoch_cols or (after_agg and ftype is FieldType.datetime)
        tf = self.source.time_field
        return (tf is not None and col == self.source.column(Platform.spl, tf)) or (
            after_agg and ftype is FieldType.datetime)

    def _typed(self, v: object, ftype: FieldType | None, epoch_valued: bool) -> object:
        if ftype is FieldType.datetime and epoch_valued:
            at = parse_datetime(v)
            if at is not None:
                return int(at.timestamp()) if not at.microsecond else at.timestamp()
        return coerce(v, ftype)  # type: ignore[arg-type]

    def where_filter(self, f: object, *, after_agg: bool = False) -> str:
        def leaf(c: Condition) -> str:
            text = self.where_cond(c, after_agg=after_agg)
            compound = " AND " in text or " OR " in text
            return f"({text})" if compound and not isinstance(f, Condition) else text

        return walk_filter(f, leaf, " AND ", " OR ",
                           lambda t: f"NOT {t}" if parenthesised(t) else f"NOT ({t})")

    def expr(self, e: object, *, nested: bool = False) -> str:
        if isinstance(e, FieldRef):
            return eval_field(self.names.column(e.name))
        if isinstance(e, Literal_):
            return "null()" if e.value is None else value(e.value)
        if isinstance(e, Compare):
            left = self.expr(e.left, nested=True)
            if e.op is Operator.exists:
                return f'isnotnull({left}) AND {left}!=""'
            if e.op is Operator.not_exists:
                return f'isnull({left}) OR {left}=""'
            sym = {Operator.eq: "==", Operator.ne: "!=", Operator.gt: ">", Operator.ge: ">=",
                   Operator.lt: "<", Operator.le: "<="}.get(e.op)
            right = self.expr(e.right, nested=True)
            if sym:
                return f"{left}{sym}{right}"
            if e.op in {Operator.in_, Operator.not_in}:
                text = f"in({left}, {right})"
                return text if e.op is Operator.in_ else f"NOT {text}"
            if isinstance(e.right, Literal_) and e.op is not Operator.regex:
                raw = regex_escape(str(e.right.value))
                pat = {Operator.startswith: f"^{raw}", Operator.endswith: f"{raw}$"}.get(e.op, raw)
                text = f"match({left}, {quote(pat)})"
            else:
                text = f"match({left}, {right})"
            return f"NOT {text}" if e.op is Operator.not_contains else text
        if isinstance(e, Call) and e.fn in NEW_FUNCTIONS:
            text = render_call(e, self.expr)
            return f"({text})" if nested and e.fn is Function.time_diff else text
        if isinstance(e, Call):
            a = [self.expr(x, nested=True) for x in e.args]
            arith = {Function.add: "+", Function.sub: "-", Function.mul: "*",
                     Function.div: "/", Function.mod: "%"}
            if e.fn in arith:
                text = f" {arith[e.fn]} ".join(a)
                return f"({text})" if nested else text
            if e.fn is Function.concat:
                return f"({' . '.join(a)})" if nested else " . ".join(a)
            a = [self.expr(x) for x in e.args]
            if e.fn is Function.substring:  # the IR counts from 0; SPL substr from 1
                start = e.args[1]
                first = str(start.value + 1) if isinstance(start, Literal_) and \
                    isinstance(start.value, int) else f"{a[1]} + 1"
                return f"substr({a[0]}, {first}" + (f", {a[2]})" if len(a) > 2 else ")")
            if e.fn is Function.to_int:
                return f"floor(tonumber({a[0]}))"
            name = {Function.lower: "lower", Function.upper: "upper", Function.length: "len",
                    Function.coalesce: "coalesce", Function.if_: "if",
                    Function.to_string: "tostring", Function.to_real: "tonumber"}[e.fn]
            return f"{name}({', '.join(a)})"
        raise TypeError(f"not an expression: {e!r}")

    # -------------------------------------------------------------- stages

    def metric(self, m: Metric) -> str:
        f = search_field(self.names.column(m.field)) if m.field else ""
        t = search_field(self.names.time_column()) \
            if m.fn in {MetricFn.first_seen, MetricFn.last_seen} else ""
        body = {
            MetricFn.count: f"count({f})" if m.field else "count",
            MetricFn.count_distinct: f"dc({f})",
            MetricFn.sum: f"sum({f})",
            MetricFn.avg: f"avg({f})",
            MetricFn.min: f"min({f})",
            MetricFn.max: f"max({f})",
            MetricFn.percentile: f"perc{format_number(m.percentile or 0)}({f})",
            MetricFn.first_seen: f"min({t})",
            MetricFn.last_seen: f"max({t})",
            MetricFn.values: f"values({f})",
            MetricFn.list: f"list({f})",
        }[m.fn]
        return f"{body} AS {search_field(m.name)}"

    def search(self) -> tuple[list[str], list[str]]:
        """The first line(s) and the `| where` lines for filters the base search cannot hold.

        A prefix that starts with a generating command (`| tstats …`, `| datamodel …`) cannot
        take search terms or time modifiers: they follow as `| search` and `| where`."""
        binding = self.source.bindings.spl
        assert binding is not None
        generating = binding.search.lstrip().startswith("|")
        terms, wheres, lines = [], [], [binding.search.strip()]
        tr = self.plan.time_range
        if tr is not None:
            self.names.time_column()
            start = time_modifier(tr.start)
            end = time_modifier(tr.end) if tr.end else "now"
            if generating:
                cond = f"_time>={epoch(start)}"
                if tr.end:
                    cond += f" AND _time<{epoch(end)}"
                wheres.append(f"| where {cond}")
            else:
                terms += [f"earliest={start}", f"latest={end}"]
        for f in self.plan.filters:
            if self.names.uses_computed(f):
                continue
            if self._search_ok(f):
                terms.append(self.search_filter(f))
            else:
                wheres.append(f"| where {self.where_filter(f)}")
        if generating:
            lines += ([f"| search {' '.join(terms)}"] if terms else [])
        elif terms:
            lines[0] += " " + " ".join(terms)
        return lines, wheres

    def eval(self) -> list[str]:
        """`| eval` lines; a field reading one computed in the same line starts a new one, and
        an extract() field is its own `| rex` (see `spl.functions`)."""
        lines: list[str] = []
        group: list[str] = []
        defined: set[str] = set()
        for c in self.plan.computed:
            rex = self.rex(c.name, c.expr)
            if rex is not None or (group and set(iter_expr_fields(c.expr)) & defined):
                lines += ["| eval " + ", ".join(group)] if group else []
                group, defined = [], set()
            if rex is not None:
                lines.append(rex)
                continue
            value = multivalue(c.expr, self.expr) if c.name in self.arrays and \
                is_json_path(c.expr) else self.expr(c.expr)
            if isinstance(c.expr, Compare):  # eval cannot hold a boolean: true/false as text
                value = f'if({value}, "true", "false")'
            group.append(f"{eval_field(c.name)}={value}")
            defined.add(c.name)
        return lines + (["| eval " + ", ".join(group)] if group else [])

    def rex(self, name: str, e: object) -> str | None:
        target = rex_target(e)
        if target is None:
            return None
        field, regex, group = target
        pattern = rex_pattern(regex, group, name) if GROUP_NAME.match(name) else None
        if pattern is None:
            raise plan_error("unsupported", f"extract() into '{name}' cannot be written in SPL: "
                             "rex needs a plain field name and an existing group", name)
        return f"| rex field={search_field(self.names.column(field))} {quote(pattern)}"

    def stats(self) -> list[str]:
        agg = self.plan.aggregation
        assert agg is not None
        lines = []
        keys = [search_field(self.names.column(g)) for g in agg.group_by]
        if agg.time_bucket:
            tcol = search_field(self.names.time_column())
            lines.append(f"| bin {tcol} span={span(agg.time_bucket.amount, agg.time_bucket.unit)}")
            keys.append(tcol)
        by = f" by {', '.join(keys)}" if keys else ""
        if not agg.metrics:  # distinct values
            return lines + [f"| stats count{by}", "| fields - count"]
        lines.append(f"| stats {', '.join(self.metric(m) for m in agg.metrics)}{by}")
        lines += [f"| fieldformat {search_field(m.name)}=strftime({eval_field(m.name)}, "
                  f"{quote(TIME_FORMAT)})" for m in agg.metrics
                  if m.fn in {MetricFn.first_seen, MetricFn.last_seen}]
        return lines

    def sort(self) -> list[str]:
        plan = self.plan
        if not plan.sort:
            return [f"| head {plan.limit}"] if plan.limit else []
        keys = " ".join(("- " if s.descending else "+ ") + search_field(self.names.output(s.field))
                        for s in plan.sort)
        return [f"| sort {plan.limit or 0} {keys}"]

    def render(self) -> str:
        return "\n".join(self.lines())

    def lines(self) -> list[str]:
        """The first part: the search, then the pipeline."""
        self.names.check_all()
        lines, wheres = self.search()
        return lines + wheres + self.pipeline(first=True)

    def pipeline(self, *, first: bool) -> list[str]:
        """Everything after the search; a later stage (`first` false) filters with `| where`."""
        lines = [] if first else [f"| where {self.where_filter(f)}" for f in self.plan.filters
                                  if not self.names.uses_computed(f)]
        lines += self.eval()
        lines += [f"| where {self.where_filter(f)}" for f in self.plan.filters
                  if self.names.uses_computed(f)]
        if self.plan.aggregation:
            lines += self.stats()
        lines += [f"| where {self.where_filter(h, after_agg=True)}" for h in self.plan.having]
        lines += self.sort()
        if self.plan.project:
            lines.append("| table " + " ".join(search_field(self.names.output(p))
                                                 for p in self.plan.project))
        return lines
