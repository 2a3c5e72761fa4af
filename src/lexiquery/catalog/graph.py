"""The schema graph: sources and their fields as a networkx graph, built once per catalog.

Nodes are ``("source", id)`` and ``("field", source_id, field_name)``. Edges:

* ``kind="has"`` — a source to each of its fields;
* ``kind="entity"`` — two fields of *different* sources holding the same entity kind (user,
  host, ip, …): the places where one source's rows can be joined to another's, and what the
  schema narrowing keeps of a source besides the fields a question names.

Like `nl.index`, the graph is cached by catalog identity (a `WeakKeyDictionary`) and rebuilt
when the catalog's source objects change; mutating a `Source` in place is not detected.
"""

from __future__ import annotations

import threading
import weakref
from itertools import combinations

import networkx as nx

from lexiquery.catalog.model import Catalog, EntityKind

_CACHE: weakref.WeakKeyDictionary[Catalog, tuple[tuple[int, ...], nx.Graph]] = \
    weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def build_graph(catalog: Catalog) -> nx.Graph:
    """A fresh graph of `catalog` (use `schema_graph` for the cached one)."""
    g = nx.Graph()
    by_entity: dict[EntityKind, list[tuple[str, str, str]]] = {}
    for s in catalog:
        g.add_node(("source", s.id), kind="source", name=s.name)
        for f in s.fields:
            node = ("field", s.id, f.name)
            g.add_node(node, kind="field", type=f.type.value,
                       entity=f.entity.value if f.entity else None)
            g.add_edge(("source", s.id), node, kind="has")
            if f.entity is not None:
                by_entity.setdefault(f.entity, []).append(node)  # type: ignore[arg-type]
    for entity, nodes in by_entity.items():
        for a, b in combinations(nodes, 2):
            if a[1] != b[1]:
                g.add_edge(a, b, kind="entity", entity=entity.value)
    return g


def schema_graph(catalog: Catalog) -> nx.Graph:
    """The cached graph of `catalog`; rebuilt when its source objects change."""
    key = tuple(id(s) for s in catalog)
    with _LOCK:
        hit = _CACHE.get(catalog)
    if hit is not None and hit[0] == key:
        return hit[1]
    g = build_graph(catalog)
    with _LOCK:
        _CACHE[catalog] = (key, g)
    return g


def entity_fields(graph: nx.Graph, source_id: str) -> list[str]:
    """Fields of the source that hold an entity, in catalog order ([] for a source the graph
    does not hold: a shelf table, which is linked per question, not graphed)."""
    if ("source", source_id) not in graph:
        return []
    return [n[2] for n in graph.neighbors(("source", source_id))
            if graph.nodes[n].get("entity")]


def join_hints(graph: nx.Graph, source_id: str, others: list[str]) -> list[tuple[str, str, str, str]]:
    """(field, other source, other field, entity) for each entity link from `source_id` to a
    source in `others` — how the sources of one prompt relate."""
    out: list[tuple[str, str, str, str]] = []
    wanted = set(others) - {source_id}
    if ("source", source_id) not in graph:
        return out
    for fnode in graph.neighbors(("source", source_id)):
        for other in graph.neighbors(fnode):
            edge = graph.edges[fnode, other]
            if edge.get("kind") == "entity" and other[1] in wanted:
                out.append((fnode[2], other[1], other[2], edge["entity"]))
    return sorted(out)


__all__ = ["build_graph", "entity_fields", "join_hints", "schema_graph"]
