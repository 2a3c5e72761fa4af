"""Reading a runbook's code blocks and binding its definition sentences to the catalog.

    query_language(fence label, text, lexicon) → (language, dialect, labelled) | None
    read_query(…) → EmbeddedQuery           (parsed with our parser; never raises)
    bind_definitions(shape, sentence, …) → [Definition]   (exactly one field, or none)

Split from `extract.py`, which decides what a procedure is; the rules are in its docstring.
"""

from __future__ import annotations

import re
from dataclasses import replace

from lexiquery.catalog.model import Catalog, FieldDef, FieldType, Source
from lexiquery.dialects import parse
from lexiquery.dialects.guard import check_read_only
from lexiquery.dialects.reading import guess_platform
from lexiquery.errors import InputError
from lexiquery.ir import Operator, Scalar, Severity
from lexiquery.knowledge.extract import definitions as defs
from lexiquery.knowledge.extract import rules
from lexiquery.knowledge.extract.names import _Lexicon
from lexiquery.knowledge.model import Definition, DefinitionClause, EmbeddedQuery

MAX_QUERY_CHARS = 20_000  # a code block longer than this is recorded, not parsed

# ------------------------------------------------------------------------ embedded queries

_KQL_LANGS = {"kql", "kusto", "csl", "kusto-query", "kustoql", "sentinel", "azure-kql"}
_SPL_LANGS = {"spl", "splunk", "splunk-spl", "spl2"}
_SQL_LANGS = {  # fence label → the dialect our SQL parser reads it in
    "sql": "postgres", "postgres": "postgres", "postgresql": "postgres", "psql": "postgres",
    "pgsql": "postgres", "plpgsql": "postgres", "tsql": "tsql", "t-sql": "tsql",
    "mssql": "tsql", "sqlserver": "tsql", "transact-sql": "tsql", "mysql": "mysql",
    "mariadb": "mysql", "sqlite": "sqlite", "sqlite3": "sqlite", "duckdb": "duckdb",
    "bigquery": "bigquery", "bq": "bigquery", "snowflake": "snowflake", "trino": "trino",
    "presto": "trino", "spark": "spark", "sparksql": "spark", "spark-sql": "spark",
    "databricks": "databricks", "clickhouse": "clickhouse", "redshift": "redshift",
    # SQL dialects our parser has no idiom for: read as postgres, the closest common ground
    "oracle": "postgres", "plsql": "postgres", "pl/sql": "postgres", "hive": "postgres",
    "hiveql": "postgres", "db2": "postgres", "ansi": "postgres",
}
_UNLABELLED = {"", "text", "txt", "plain", "plaintext", "none", "code", "query"}
_SQL_LIKE = re.compile(r"""\bselect\b[\s\S]*\bfrom\b
    | ^\s*(?:insert\s+into|update\s+\S+\s+set|delete\s+from|drop\s+(?:table|view|database|schema
           |index)|truncate\s+table|alter\s+table|create\s+(?:or\s+replace\s+)?(?:table|view)
           |merge\s+into|grant\s|exec(?:ute)?\s)""", re.IGNORECASE | re.VERBOSE)


def query_language(lang: str | None, text: str, lex: _Lexicon) -> tuple[str, str, bool] | None:
    """(language, SQL dialect or the language, labelled) of a code block; None when the block
    is not a query (bash, JSON, a log sample, a one-word command)."""
    label = re.sub(r"^(?:language-|lang-)|[{}.]", "", (lang or "").strip().lower())
    label = re.split(r"[\s,;]", label, maxsplit=1)[0]
    if label in _KQL_LANGS:
        return "kql", "kql", True
    if label in _SPL_LANGS:
        return "spl", "spl", True
    if label in _SQL_LANGS:
        return "sql", _SQL_LANGS[label], True
    if label not in _UNLABELLED:
        return None

    try:
        guess = guess_platform(text)
    except InputError:
        return None
    body = re.sub(r"^(\s*(//|--|#)[^\n]*\n)+", "", text).strip()
    if guess == "kql":
        # guess_platform takes any lone word for a KQL table; outside a kql fence ask for more:
        # a pipe, a let, a control command, or a table the catalog knows.
        first = re.match(r"[A-Za-z_]\w*", body)
        if not ("|" in body or body.startswith((".", "let ")) or (
                first and first.group(0).lower() in lex.source_idents)):
            return None
    if guess == "sql" and not _SQL_LIKE.search(body):
        return None  # "With the account disabled, …" in an indented block is prose
    return guess, "postgres" if guess == "sql" else guess, False


def read_query(text: str, language: str, dialect: str, labelled: bool, path: list[str],
               catalog: Catalog, lex: _Lexicon) -> EmbeddedQuery:
    """The block read with our parser. Never raises: failures are recorded in `error`."""
    q = EmbeddedQuery(language=language, text=text, labelled=labelled,  # type: ignore[arg-type]
                      heading_path=list(path))
    if len(text) > MAX_QUERY_CHARS:
        q.error = f"the query is {len(text)} characters long; only {MAX_QUERY_CHARS} are read"
    else:
        try:
            refused = check_read_only(language, text, sql_dialect=dialect)
            if refused:
                q.error = "refused, not read-only: " + "; ".join(i.message for i in refused)
            else:
                parsed = parse(text, language, catalog, sql_dialect=dialect)
                q.parses, q.source = True, parsed.source.id
                if not parsed.faithful:
                    q.error = "parsed without: " + "; ".join(
                        i.message for i in parsed.plan.issues if i.severity is Severity.error)
        except Exception as exc:  # noqa: BLE001 — a runbook's query must never stop ingestion
            q.error = str(exc) or type(exc).__name__
    if q.source is None:  # it did not parse: the table or search prefix may still say
        named = lex.sources("", text)
        if len(named) == 1:
            q.source = named[0]
    return q


# ----------------------------------------------------------------------------- definitions

_FILLER = frozenset(rules.stem(w) for w in defs.FILLER_WORDS)


def typed_value(raw: str, f: FieldDef) -> Scalar | None:
    """`raw` as a value of the field's type, in the field's own spelling when it is a known
    value ("notapplied" → "notApplied"); None when it cannot be one (text for an int field)."""
    if f.type in {FieldType.int, FieldType.long}:
        try:
            return int(raw, 0) if raw.lower().startswith("0x") else int(raw)
        except ValueError:
            return None
    if f.type is FieldType.real:
        try:
            return float(raw)
        except ValueError:
            return None
    if f.type is FieldType.bool:
        return {"true": True, "yes": True, "1": True, "false": False, "no": False,
                "0": False}.get(raw.lower())
    for kv in f.known_values:
        if str(kv.value).lower() == raw.lower():
            return str(kv.value)
    return raw


def _known(f: FieldDef, values: list[str]) -> bool:
    known = {str(kv.value).lower() for kv in f.known_values}
    return bool(known) and all(v.lower() in known for v in values)


def concept_of(source: Source, term: str) -> str | None:
    """The concept of `source` the term names: its name or a synonym, compared stemmed; else
    the longest concept phrase of two or more words the term opens with ("failed sign-in
    attempts" refines "failed sign-in"). A phrase after other words is a narrower kind ("network
    logon failure" is not every "logon failure"): it refines no concept."""
    words = tuple(w for w in rules.phrase_words(term) if w not in {"a", "an", "the"})
    best: tuple[int, str] | None = None
    for c in source.concepts:
        for name in [c.name, *c.synonyms]:
            cw = rules.phrase_words(name)
            if cw == words:
                return c.name
            if len(cw) >= 2 and words[:len(cw)] == cw:
                if best is None or len(cw) > best[0]:
                    best = (len(cw), c.name)
    return best[1] if best else None


def bind_definitions(shape: defs.DefinitionShape, sentence: str, sources: list[str],
                     catalog: Catalog, lex: _Lexicon) -> list[Definition]:
    """The definition the sentence makes, bound to exactly one catalog field; [] when none.

    The field is the one the value side names (name, synonym, platform column), among the
    procedure's sources first and the whole catalog second; with none named, the one field of
    those sources (else of the catalog) whose known values hold every value. Several
    candidates left → []: a definition is never guessed. The one exception is a head noun that
    names an entity on every source alike ("an account whose name starts with svc_"): one
    definition per source that has exactly one such field (`_bind_per_source`)."""
    if _names_a_field(shape.term, lex):
        return []  # "ResultType: 50126" filters a field; it defines no term
    head, clauses = defs.split_clauses(shape.value_side)
    if head or len(clauses) > 1:
        found = _bind_clauses(shape, head, clauses, sentence, sources, catalog, lex)
        if found is not None:
            return found
    readings = [(shape.value_side, sources)]
    where = _TRAILING_WHERE.match(shape.value_side)
    if where:  # "event 4740 in the Security log": the tail says where, the head what
        readings.append((where.group("head"),
                         [*lex.sources(where.group("where"), ""), *sources]))
    for text, scope in readings:
        side = defs.split_value_side(text)
        d = _bind(shape, side, sentence, scope, catalog, lex) if side else None
        if d:
            return [d]
    return []


def _bind_clauses(shape: defs.DefinitionShape, head: str, clauses: list[str], sentence: str,
                  sources: list[str], catalog: Catalog,
                  lex: _Lexicon) -> list[Definition] | None:
    """A definition of several conditions ("a 4625 event whose sub status is 0xC000006A"):
    every condition binds, all on one source, or there is no definition. The head noun
    ("an account") may name the field a clause leaves vague ("whose name starts with svc_").
    None: the side is no clause list after all, try it whole."""
    valued = defs.head_has_values(head)
    noun = "" if valued else re.sub(r"^(?:an?|any|every|all|the)\s+", "", head.strip(),
                                    flags=re.IGNORECASE)
    if noun and len(clauses) == 1:
        side = defs.split_value_side(clauses[0])
        if side is None:
            return None
        if side.field_words:
            owned = replace(side, field_words=f"{noun} {side.field_words}")
            d = _bind(shape, owned, sentence, sources, catalog, lex)
            if d is not None:
                return [d]
            each = _bind_per_source(shape, owned, sentence, sources, catalog, lex)
            if each or _names_a_field(noun, lex) or noun.lower() in lex.field_idents:
                return each  # the noun says whose field it is: no other field is guessed
        d = _bind(shape, side, sentence, sources, catalog, lex)
        return [d] if d else None
    bound: list[Definition] = []
    scope = sources
    for text in ([head] if valued else []) + clauses:
        side = defs.split_value_side(text)
        if side is None:
            return None
        d = None
        if noun and side.field_words:
            d = _bind(shape, replace(side, field_words=f"{noun} {side.field_words}"),
                      sentence, scope, catalog, lex)
        if d is None:
            d = _bind(shape, side, sentence, scope, catalog, lex)
        if d is None or (bound and d.source != bound[0].source):
            return None
        bound.append(d)
        scope = [d.source]
    if not bound:
        return None
    return [bound[0].model_copy(update={"also": [
        DefinitionClause(field=d.field, op=d.op, values=d.values) for d in bound[1:]]})]


def _bind(shape: defs.DefinitionShape, side: defs.ValueSide, sentence: str,
          sources: list[str], catalog: Catalog, lex: _Lexicon) -> Definition | None:
    side = _unprefixed(side, lex)
    found = _fields_for(side, sources, catalog, lex)
    if found is None or len(found[0]) != 1:
        return None
    (src, f), = found[0]
    return _definition(shape, side, sentence, src, f, named=found[1])


def _bind_per_source(shape: defs.DefinitionShape, side: defs.ValueSide, sentence: str,
                     sources: list[str], catalog: Catalog, lex: _Lexicon) -> list[Definition]:
    """"A service account is an account whose name starts with svc_": the account name of
    every source that has one, when the named field is one entity kind (user) with exactly one
    such field per source. Anything less clear binds nothing."""
    side = _unprefixed(side, lex)
    found = _fields_for(side, sources, catalog, lex)
    if found is None or not found[1] or len(found[0]) < 2:
        return []
    pairs = found[0]
    kinds = {f.entity for _, f in pairs}
    if len(kinds) != 1 or None in kinds or len({s.id for s, _ in pairs}) != len(pairs):
        return []
    out = [_definition(shape, side, sentence, src, f, named=True) for src, f in pairs]
    return [d for d in out if d is not None]


def _fields_for(side: defs.ValueSide, sources: list[str], catalog: Catalog,
                lex: _Lexicon) -> tuple[list[tuple[Source, FieldDef]], bool] | None:
    """The catalog fields the value side can mean, and whether its words named them (else they
    were found by known values); None when the side says more than "field op values"."""
    named: set[tuple[str, str]] = set()
    leftover = set(rules.phrase_words(side.field_words))
    for tok in rules.tokens(side.field_words):
        if tok.lower() in lex.field_idents:
            named |= lex.field_idents[tok.lower()]
        elif tok.lower() not in lex.source_idents:
            continue
        leftover.discard(rules.stem(tok.replace("-", "")))
    for words, hit, _ in lex.phrases(side.field_words, lex.field_phrases):
        named |= hit
        leftover -= set(words)
    for words, _, _ in lex.phrases(side.field_words, lex.source_phrases):
        leftover -= set(words)
    if leftover - _FILLER:
        return None  # the value side says more than "field op values": not a definition
    in_scope = [(sid, fname) for sid, fname in named if sid in sources]
    candidates = in_scope or sorted(named)
    if not named:
        candidates = _by_known_values(side.values, sources, catalog) or \
            _by_known_values(side.values, catalog.ids(), catalog)
    pairs = []
    for sid, fname in candidates:
        src = catalog.get(sid)
        f = src.field(fname) if src else None
        if src and f:
            pairs.append((src, f))
    if len(pairs) > 1:
        known = [(s, f) for s, f in pairs if _known(f, side.values)]
        pairs = known or ([] if not named or side.pattern is None else pairs)
    return pairs, bool(named)


def _definition(shape: defs.DefinitionShape, side: defs.ValueSide, sentence: str,
                src: Source, f: FieldDef, *, named: bool) -> Definition | None:
    if side.bare and not _known(f, side.values):
        return None  # bare words are values only when the field knows them
    concept = concept_of(src, shape.term)
    if not named and concept is None and any(len(v) < 3 for v in side.values):
        return None  # "The limit is 10": 10 is a logon type, but nothing says so
    values = [typed_value(v, f) for v in side.values]
    if any(v is None for v in values):
        return None
    many = len(values) > 1
    if side.pattern is not None:
        if side.negated or many:
            return None  # no operator says "does not start with"; a definition is never guessed
        op = Operator(side.pattern)
    else:
        op = ((Operator.not_in if many else Operator.ne) if side.negated
              else (Operator.in_ if many else Operator.eq))
    return Definition(term=shape.term, source=src.id, field=f.name, op=op,
                      values=[v for v in values if v is not None], concept=concept,
                      text=sentence)


# A value side that ends by saying where the values are logged ("… in SecurityEvent", "… in
# the Security log"): at most five words after in/from/on.
_TRAILING_WHERE = re.compile(r"^(?P<head>.+?)\s+(?:in|from|on)\s+(?:the\s+)?"
                             r"(?P<where>[\w.:=\"-]+(?:\s+[\w.:=\"-]+){0,4})$", re.IGNORECASE)


_PREFIXED = re.compile(r"(?P<prefix>[A-Za-z]{2,10})(?P<digits>\d{2,})")


def _unprefixed(side: defs.ValueSide, lex: _Lexicon) -> defs.ValueSide:
    """"AADSTS50126 and AADSTS50053" read as result codes 50126 and 50053: values written with
    a prefix that is itself a field's synonym ("aadsts") are that field's bare numbers."""
    if not side.bare:
        return side
    parts = [_PREFIXED.fullmatch(v) for v in side.values]
    prefixes = {m.group("prefix").lower() for m in parts if m}
    if not all(parts) or len(prefixes) != 1 or \
            rules.phrase_words(next(iter(prefixes))) not in lex.field_phrases:
        return side
    return defs.ValueSide(f"{side.field_words} {next(iter(prefixes))}".strip(),
                           [m.group("digits") for m in parts if m], False, side.negated)


def _names_a_field(term: str, lex: _Lexicon) -> bool:
    toks = rules.tokens(term)
    if len(toks) == 1 and toks[0].lower() in lex.field_idents:
        return True
    return lex.field_phrases.get(rules.phrase_words(term)) is not None


def _by_known_values(values: list[str], source_ids: list[str],
                     catalog: Catalog) -> list[tuple[str, str]]:
    out = []
    for sid in source_ids:
        src = catalog.get(sid)
        for f in src.fields if src else ():
            if _known(f, values):
                out.append((sid, f.name))
    return out
