"""Gallery indexes for large-scale search, a registered kind (``index``): built-ins ``exact`` (chunked matrix
products) and faiss's ``flat``, ``hnsw`` and ``ivfpq``; plugins add more through ``register_indexes``.

``make_index(name, dim, **options)`` builds an empty one by its registered name; every index answers
``search(queries, k) -> (scores, ids)`` over normalised embeddings, best first (rsbench.hooks.specs.GalleryIndex).
"""

from __future__ import annotations

from typing import Any


def index_names() -> list[str]:
    """The registered index names (built-in and plugins')."""
    from rsbench.registry import get_registry

    return get_registry("index").names()


def index_config(name: str, **options: Any) -> tuple[Any, Any]:
    """The registered index ``name`` and its options dataclass, ``options`` over the defaults, checked without
    building anything. An unknown name or option is an ``RsbenchError`` naming what is registered or accepted."""
    from rsbench.config import resolve_component
    from rsbench.registry import get_registry

    component = get_registry("index").get(name)  # an unknown name: UnknownComponentError, as it always was
    return component, resolve_component("index", {"name": name, **options})[1]


def make_index(name: str, dim: int, **options: Any):
    """An empty index of the registered ``name`` for ``dim``-d vectors, with ``options`` over its defaults:
    ``rsbench.components.build("index", ...)`` under its older name."""
    from rsbench.components import build

    return build("index", {"name": name, **options}, int(dim))
