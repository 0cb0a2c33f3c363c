"""Gallery indexes for large-scale search, a registered kind (``index``): built-ins ``exact`` (chunked matrix
products) and faiss's ``flat``, ``hnsw`` and ``ivfpq``; plugins add more through ``register_indexes``.

``make_index(name, dim, **options)`` builds an empty one by its registered name; every index answers
``search(queries, k) -> (scores, ids)`` over normalised embeddings, best first (rsbench.hooks.specs.GalleryIndex).
"""

from __future__ import annotations

import dataclasses
from typing import Any


def index_names() -> list[str]:
    """The registered index names (built-in and plugins')."""
    from rsbench.hooks import get_registry

    return get_registry("index").names()


def index_config(name: str, **options: Any) -> tuple[Any, Any]:
    """The registered index ``name`` and its options dataclass, ``options`` over the defaults, checked without
    building anything. An unknown name or option is an ``RsbenchError`` naming what is registered or accepted."""
    from rsbench.config import build_dataclass
    from rsbench.hooks import get_registry

    component = get_registry("index").get(name)
    check = getattr(component.config_cls, "check_options", None)
    if check is not None:  # one config class serving several indexes says which options each reads
        check(name, set(options))
    data = dict(options)
    if "name" in {f.name for f in dataclasses.fields(component.config_cls)}:
        data["name"] = name  # one config class may serve several names (the faiss indexes)
    return component, build_dataclass(component.config_cls, data, "index.")


def make_index(name: str, dim: int, **options: Any):
    """An empty index of the registered ``name`` for ``dim``-d vectors, with ``options`` over its defaults."""
    component, config = index_config(name, **options)
    return component.build(config, int(dim))
