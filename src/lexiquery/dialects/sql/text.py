"""How the SQL tree becomes text: identifier quoting, literals and sqlglot's pretty printer.

Identifiers are quoted when they must be: not a plain name, a reserved word, or (in postgres and
redshift, which fold unquoted names to lower case) a name with capitals. Snowflake folds unquoted
names to UPPER case, so a quoted lower-case name would miss a column created unquoted: there only
Snowflake's own reserved words are quoted.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Reserved in at least one supported dialect (quoting one needlessly is harmless there), plus
# the type names experts quote out of habit.
_RESERVED = frozenset("""all alter and any array as asc between both by case cast check collate
column constraint create cross current current_date current_time current_timestamp current_user
database default delete desc distinct div drop else end except exists false fetch for foreign
from full function grant group groups having in index inner insert intersect interval into is
join key keys left like limit localtime localtimestamp natural not null of offset on or order
outer over partition primary range rank references right row rows select session_user set some
table then time timestamp date to top true union unique update user using values view when
where window with""".split())
_SNOWFLAKE_RESERVED = frozenset("""account all alter and any as between by case cast check column
connect connection constraint create cross current current_date current_time current_timestamp
current_user database delete distinct drop else exists false following for from full grant group
gscluster having ilike in increment inner insert intersect into is issue join lateral left like
localtime localtimestamp minus natural not null of on or order organization qualify regexp revoke
right rlike row rows sample schema select set some start table tablesample then to trigger true
try_cast union unique update using values view when whenever where with""".split())
_FOLDS_TO_LOWER = {None, "postgres", "redshift"}


def identifier(name: str, dialect: str | None) -> exp.Identifier:
    if not _PLAIN.match(name):
        quoted = True
    elif dialect == "snowflake":
        quoted = name.lower() in _SNOWFLAKE_RESERVED
    else:
        quoted = name.lower() in _RESERVED or (name != name.lower() and dialect in _FOLDS_TO_LOWER)
    return exp.to_identifier(name, quoted=quoted)


def literal(v: object) -> exp.Expression:
    if v is None:
        return exp.null()
    if isinstance(v, bool):
        return exp.true() if v else exp.false()
    if isinstance(v, (int, float)):
        return exp.Literal.number(v)
    return exp.Literal.string(str(v))


def emit(tree: exp.Expression, dialect: str) -> str:
    """sqlglot's pretty printer, with two readability fixes: `x NOT IN (…)` rather than
    `NOT x IN (…)`, and `WITHIN GROUP (ORDER BY x)` kept on one line."""
    d = sqlglot.Dialect.get_or_raise(dialect)
    return _generator_class(dialect)(dialect=d, pretty=True).generate(tree)


_GENERATORS: dict[str, type[sqlglot.Generator]] = {}


def _generator_class(dialect: str) -> type[sqlglot.Generator]:
    """The dialect's generator, subclassed the way sqlglot documents custom dialects."""
    if dialect not in _GENERATORS:
        base = sqlglot.Dialect.get_or_raise(dialect).generator_class

        def not_sql(self: sqlglot.Generator, e: exp.Not) -> str:
            inner = e.this
            if isinstance(inner, exp.In) and not any(
                    inner.args.get(k) for k in ("query", "unnest", "field", "is_global")):
                return f"{self.sql(inner, 'this')} NOT IN ({self.expressions(inner, flat=True)})"
            return base.not_sql(self, e)

        def withingroup_sql(self: sqlglot.Generator, e: exp.WithinGroup) -> str:
            keys = ", ".join(self.sql(o) for o in e.expression.expressions)
            return f"{self.sql(e, 'this')} WITHIN GROUP (ORDER BY {keys})"

        def filter_sql(self: sqlglot.Generator, e: exp.Filter) -> str:
            # One line, as people write it: `ARRAY_AGG(x) FILTER (WHERE x IS NOT NULL)`.
            return f"{self.sql(e, 'this')} FILTER (WHERE {self.sql(e.expression, 'this')})"

        _GENERATORS[dialect] = type(f"LexiQuery{base.__name__}", (base,),
                                    {"not_sql": not_sql, "withingroup_sql": withingroup_sql,
                                     "filter_sql": filter_sql})
    return _GENERATORS[dialect]
