"""Hook specifications. A plugin implements any of these with ``@rsbench.hooks.hookimpl``.

Each ``register_<kind>s`` hook receives ``register(name, factory, config=..., description=...)``;
``factory`` is a callable or a lazy ``"module:attr"`` string, ``config`` a dataclass of options.
"""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

hookspec = pluggy.HookspecMarker("rsbench")


class Register(Protocol):
    def __call__(self, name: str, factory: Any, config: type = ..., description: str | None = None) -> Any: ...


@hookspec
def register_backbones(register: Register) -> None:
    """Register backbones: ``factory(config) -> Backbone`` (an open_clip model with its tokenizer)."""


@hookspec
def register_adapters(register: Register) -> None:
    """Register adapters: ``factory(config, backbone) -> Adapter`` deciding what trains and what is frozen."""


@hookspec
def register_samplers(register: Register) -> None:
    """Register samplers: ``factory(config, loss) -> Sampler`` choosing the negatives each step's loss sees."""


@hookspec
def register_augmenters(register: Register) -> None:
    """Register caption augmenters: ``factory(config, dataset) -> Augmenter`` rewriting captions."""


@hookspec
def register_strategies(register: Register) -> None:
    """Register retrieval strategies: ``factory(config) -> Strategy`` with ``retrieve(split, encoder)`` -> scores."""


@hookspec
def register_rerankers(register: Register) -> None:
    """Register rerankers: ``factory(config) -> Reranker`` with ``rerank(scores, context)`` applied after a strategy."""


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets: ``factory(config) -> RetrievalDataset`` of image/caption/scene records."""


@hookspec
def register_losses(register: Register) -> None:
    """Register losses: ``factory(config) -> Loss`` scoring image/text embeddings against their negatives."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``rsbench`` CLI; ``cli`` is the root ``typer.Typer`` app."""
