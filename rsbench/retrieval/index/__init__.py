"""Gallery indexes for large-scale search: ``exact`` (chunked matrix products) and ``faiss`` (flat, HNSW, IVF-PQ).

``make_index(name, dim, config)`` builds one; both answer ``search(queries, k) -> (scores, ids)`` over
normalised embeddings, best first.
"""

from __future__ import annotations

from typing import Any

INDEX_KINDS = ("exact", "flat", "hnsw", "ivfpq")


def make_index(kind: str, dim: int, **options: Any):
    """An empty index: ``exact`` or one of faiss's ``flat``, ``hnsw``, ``ivfpq`` with its options."""
    from rsbench.errors import RsbenchError

    if kind == "exact":
        from rsbench.retrieval.index.config import ExactIndexConfig
        from rsbench.retrieval.index.exact import ExactIndex

        return ExactIndex(dim, ExactIndexConfig(**options))
    if kind in INDEX_KINDS:
        from rsbench.retrieval.index.config import FaissIndexConfig
        from rsbench.retrieval.index.faiss_index import FaissIndex

        return FaissIndex(dim, FaissIndexConfig(kind=kind, **options))
    raise RsbenchError(f"unknown index {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
