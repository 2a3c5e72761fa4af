"""Schema narrowing: the few sources and fields a question needs, as compact prompt text.

    narrow(question, catalog, *, max_sources=3, hint=None) -> Narrowed
    full_text(catalog) -> str          # the whole catalog in the same format (the baseline)

Sending the whole catalog to a local model costs prompt tokens on every call and invites it to
pick fields of the wrong source. The published NL-to-KQL systems narrow first; so does this:

1. sources are ranked with the rules engine's own evidence score (`nl.source_select`: names,
   synonyms, concepts, known values, field names and synonyms, description words, value kinds),
   shelf tables (reference packs, big workspaces) retrieved by the same linker (`nl.linker`);
   the top `max_sources` with any evidence are kept (a hinted source always, and first);
2. within each source the fields kept are the ones the question touches (its phrases matched
   a field, an entity word, a known value or a concept reading the field) plus the key fields:
   the time field, the entity fields (from the schema graph), the fields its concepts read and
   its default projection;
3. entity links between the kept sources (schema graph) are listed as join hints.

Deterministic: same question and catalog, same text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lexiquery.catalog.graph import entity_fields, join_hints, schema_graph
from lexiquery.catalog.model import Catalog, FieldDef, Source
from lexiquery.ir import iter_conditions
from lexiquery.nl.examples import compact
from lexiquery.nl.index import catalog_index
from lexiquery.nl.match import build_stream
from lexiquery.nl.source_select import rank_sources, shelf_candidates
from lexiquery.nl.tokens import tokenize

MAX_KNOWN_VALUES = 8  # per field: enough for the model to pick codes, bounded for size
MAX_CHARS = 4000
RELATIVE_CUT = 0.35  # sources scoring below this share of the best are left out
MAX_HINTS = 6


@dataclass
class Narrowed:
    """`sources`: kept source ids, best first; `fields`: kept field names per source, in
    catalog order; `touched`: fields the question itself matched; `text`: the prompt text."""

    sources: list[str]
    fields: dict[str, list[str]]
    touched: dict[str, list[str]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    text: str = ""


def narrow(question: str, catalog: Catalog, *, max_sources: int = 3,
           hint: str | None = None) -> Narrowed:
    """The sources and fields of `catalog` that `question` needs (see the module doc)."""
    idx = catalog_index(catalog)
    tokens = tokenize(question[:MAX_CHARS])
    stream = build_stream(tokens)
    # The same linking as the rules engine: shelf tables (reference packs, a big workspace)
    # the question names compete with the catalog's own sources.
    ranked = rank_sources(idx, tokens, stream, shelf_candidates(catalog, idx, tokens, stream)) \
        if idx.sources or catalog.shelves else []
    best = ranked[0].score if ranked else 0.0
    # A runner-up far behind the best adds tokens, not meaning.
    keep = [c for c in ranked if c.score > 0 and c.score >= RELATIVE_CUT * best][:max_sources] \
        or ranked[:1]
    if hint is not None and hint in catalog:
        keep = [c for c in ranked if c.id == hint] + [c for c in keep if c.id != hint]
        keep = keep[:max(1, max_sources)]
    graph = schema_graph(catalog)
    out = Narrowed(sources=[c.id for c in keep], fields={},
                   scores={c.id: round(c.score, 3) for c in keep})
    for c in keep:
        src = c.si.source
        touched: list[str] = []
        for it in c.items:
            for t in it.targets:
                if t.kind in {"field", "entity", "known"}:
                    touched.append(t.name)
                elif t.kind == "concept":
                    con = src.concept(t.name)
                    touched += [x.field for x in iter_conditions(con.filters)] if con else []
        key = set(touched) | set(entity_fields(graph, src.id)) | set(src.default_fields)
        if src.time_field:
            key.add(src.time_field)
        for con in src.concepts:
            key |= {x.field for x in iter_conditions(con.filters)}
        out.fields[src.id] = [f.name for f in src.fields if f.name in key]
        out.touched[src.id] = list(dict.fromkeys(n for n in touched if src.field(n)))
    out.text = _text(catalog, out.sources, out.fields)
    return out


def full_text(catalog: Catalog) -> str:
    """Every source and field of `catalog`, in the prompt's format (the benchmark's baseline)."""
    ids = catalog.ids()
    return _text(catalog, ids, {i: [f.name for f in catalog.get(i).fields]  # type: ignore[union-attr]
                                for i in ids})


def _text(catalog: Catalog, ids: list[str], fields: dict[str, list[str]]) -> str:
    graph = schema_graph(catalog)
    blocks = [_source_text(catalog.get(i), fields[i]) for i in ids  # type: ignore[arg-type]
              if catalog.get(i) is not None]
    hints = []
    for i in ids:
        for f, other, of, entity in join_hints(graph, i, ids):
            if i < other and f in fields[i] and of in fields.get(other, []):
                hints.append(f"{i}.{f} ~ {other}.{of} ({entity})")
    if hints:
        blocks.append("shared entities (same values across sources): "
                      + "; ".join(hints[:MAX_HINTS]))
    return "\n\n".join(blocks)


def _source_text(src: Source, names: list[str]) -> str:
    lines = [f"source {src.id}: {src.name}" + (f" — {src.description}" if src.description
                                                  else "")]
    if src.synonyms:
        lines.append("  also called: " + ", ".join(src.synonyms))
    if src.time_field:
        lines.append(f"  time field: {src.time_field}")
    lines.append("  fields:")
    lines += ["    " + _field_text(f) for f in src.fields if f.name in names]
    omitted = len(src.fields) - len(names)
    if omitted > 0:
        lines.append(f"    ({omitted} more fields not needed for this question)")
    if src.concepts:
        lines.append("  concepts (use these filters for the words):")
        for con in src.concepts:
            filt = json.dumps([compact(f) for f in con.filters], separators=(",", ":"))
            lines.append(f"    {con.name}: {filt}")
    return "\n".join(lines)


def _field_text(f: FieldDef) -> str:
    head = f"{f.name} ({f.type.value}{', ' + f.entity.value if f.entity else ''})"
    parts = [head + (f": {f.description}" if f.description else "")]
    if f.synonyms:
        parts.append("aka " + ", ".join(f.synonyms))
    if f.known_values:
        vals = [f"{kv.value}={kv.meaning}" for kv in f.known_values[:MAX_KNOWN_VALUES]]
        more = len(f.known_values) - MAX_KNOWN_VALUES
        parts.append("values " + "; ".join(vals) + (f"; +{more} more" if more > 0 else ""))
    return ". ".join(parts)


__all__ = ["Narrowed", "full_text", "narrow"]
