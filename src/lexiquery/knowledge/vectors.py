"""The dense index of the SOP chunks: an embedded, persistent Chroma collection.

One collection per embedding model (vectors of different models are not comparable), named
``chunks-<model>``. Chroma never embeds anything itself here: vectors come from our `Embedder` and
the collection is created without an embedding function, so Chroma's default ONNX model (which
downloads on first use) is never touched. Telemetry is off.

Chroma is imported only when a vector index is opened (it costs ~1.5 s), i.e. when an embedder is
reachable or when a delete must clean an existing collection.

Chroma writes its own files (a SQLite file, HNSW segment files) whenever it likes, so the
directory is 0700 and every call that may write runs under `private_umask` (files 0600); a
directory written by an older version is narrowed when it is opened.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from lexiquery.private_files import narrow_tree, private_dir, private_umask

COLLECTION_PREFIX = "chunks-"


def collection_name(model: str) -> str:
    """A Chroma-legal name for `model` (3–512 chars of [a-zA-Z0-9._-], alphanumeric ends)."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", model).strip("-._") or "model"
    return (COLLECTION_PREFIX + slug)[:512]


class VectorIndex:
    def __init__(self, path: Path, model: str) -> None:
        # deferred: chromadb (~1 s) loads only when the dense index is opened
        import chromadb

        # deferred: chromadb (~1 s) loads only when the dense index is opened
        from chromadb.config import Settings as ChromaSettings

        private_dir(path)
        narrow_tree(path)
        with private_umask():
            self._client = chromadb.PersistentClient(
                path=str(path), settings=ChromaSettings(anonymized_telemetry=False,
                                                        allow_reset=False))
            self.model = model
            self._col = self._client.get_or_create_collection(
                collection_name(model), embedding_function=None,
                metadata={"hnsw:space": "cosine", "model": model})

    def add(self, ids: Sequence[str], vectors: Sequence[Sequence[float]],
            metadatas: Sequence[dict[str, Any]]) -> None:
        if ids:
            with private_umask():
                self._col.upsert(ids=list(ids), embeddings=[list(v) for v in vectors],
                                 metadatas=list(metadatas))

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        if document_ids:
            with private_umask():
                self._col.delete(where={"document_id": {"$in": list(document_ids)}})

    def document_ids(self) -> set[str]:
        """The documents that have vectors here (from the chunk ids, "<document id>:<index>")."""
        return {cid.split(":", 1)[0] for cid in self._col.get(include=[])["ids"]}

    def count(self) -> int:
        return int(self._col.count())

    def query(self, vector: Sequence[float], k: int, *,
              document_ids: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """Nearest (chunk id, cosine distance), closest first, among `document_ids` if given."""
        n = min(k, self.count())
        if n <= 0 or document_ids is not None and not document_ids:
            return []
        where = {"document_id": {"$in": list(document_ids)}} if document_ids is not None else None
        res = self._col.query(query_embeddings=[list(vector)], n_results=n, where=where,
                              include=["distances"])
        ids = (res.get("ids") or [[]])[0]
        dist = (res.get("distances") or [[]])[0]
        return list(zip(ids, map(float, dist)))


def delete_from_all(path: Path, document_ids: Sequence[str]) -> None:
    """Remove the documents' vectors from every model's collection under `path` (a removed
    document leaves no trace, whichever model embedded it)."""
    if not path.exists() or not document_ids:
        return
    # deferred: chromadb (~1 s) loads only when the dense index is opened
    import chromadb

    # deferred: chromadb (~1 s) loads only when the dense index is opened
    from chromadb.config import Settings as ChromaSettings

    with private_umask():
        client = chromadb.PersistentClient(path=str(path),
                                           settings=ChromaSettings(anonymized_telemetry=False))
        for col in client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(COLLECTION_PREFIX):
                client.get_collection(name, embedding_function=None).delete(
                    where={"document_id": {"$in": list(document_ids)}})


__all__ = ["VectorIndex", "collection_name", "delete_from_all"]
