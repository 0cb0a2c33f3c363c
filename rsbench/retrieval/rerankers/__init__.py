"""The built-in rerankers: rescoring a strategy's scores after the fact, one module each."""

from __future__ import annotations

from typing import Any


def make_reranker(name: str, **options: Any):
    """The registered reranker ``name`` with ``options`` over its defaults (an unknown name or option is an
    ``RsbenchError`` naming what is registered or accepted)."""
    from rsbench.config import resolve_component
    from rsbench.hooks import get_registry

    name, config = resolve_component("reranker", {"name": name, **options})
    return get_registry("reranker").get(name).build(config)
