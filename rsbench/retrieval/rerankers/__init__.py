"""The built-in rerankers: rescoring a strategy's scores after the fact, one module each."""

from __future__ import annotations

from typing import Any


def make_reranker(name: str, **options: Any):
    """The registered reranker ``name`` with ``options`` over its defaults (an unknown name or option is an
    ``RsbenchError`` naming what is registered or accepted): ``rsbench.components.build("reranker", ...)``."""
    from rsbench.components import build

    return build("reranker", {"name": name, **options})
