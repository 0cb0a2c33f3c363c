"""Hook specifications and the types of what plugins register; implement hooks with ``@rsbench.hooks.hookimpl``.

Each kind of ``rsbench.kinds.KIND_TABLE`` names its hook here. Each ``register_<kind>s`` hook receives
``register(name, factory, config=..., description=...)``;
``factory`` is a callable or a lazy ``"module:attr"`` string, ``config`` a dataclass of options, ``description``
(optional) one line for ``rsbench list``, by default the first line of the config's docstring.
The protocols below are what the engine calls; docs/plugins.md says when, with what, and
``rsbench.testing`` checks a component against them. (Types are imported for checkers only, so
loading the hooks never imports torch.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import torch
    import typer

    from rsbench.captioning.base import CaptionFailure
    from rsbench.captioning.prompt import Prompt
    from rsbench.data.record import Record, RetrievalDataset
    from rsbench.models.adapters.base import Adapter
    from rsbench.models.backbones.open_clip_backbone import Backbone
    from rsbench.registry import Component
    from rsbench.retrieval.base import Strategy
    from rsbench.text.augmenters.base import Augmenter
    from rsbench.text.encoders.base import TextEncoder

hookspec = pluggy.HookspecMarker("rsbench")


def __getattr__(name: str) -> Any:
    """``Strategy``, defined once with the retrieval stage (``rsbench.retrieval.base``), imported on first use."""
    if name == "Strategy":
        from rsbench.retrieval.base import Strategy

        return Strategy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Register(Protocol):
    """The callback every ``register_<kind>s`` hook receives."""

    def __call__(self, name: str, factory: Callable[..., Any] | str, config: type = ...,
                 description: str | None = None) -> Component | None: ...


class Loss(Protocol):
    """Scores a batch of B aligned pairs; row i of both embeddings is one (image, caption) pair.

    ``image_emb``/``text_emb``: (B, E) as the adapter returns them, NOT normalised. ``logit_scale``:
    a positive 0-d tensor, already exponentiated (CLIP's exp(t), at most 100). ``same_image``:
    None or a (B, B) bool tensor, True at [i, j] where image i and caption j belong to the same
    image (the diagonal is always True); such off-diagonal pairs are not negatives.
    """

    def __call__(self, image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor,
                 same_image: torch.Tensor | None = None) -> torch.Tensor: ...


class Sampler(Protocol):
    """Chooses each step's negatives and returns (scalar loss, logs with a float ``"loss"``).

    ``image_ids``/``scene_ids``: (B,) long tensors; equal ids mean the same image / scene class
    (scene id -1: no scene). The state must hold tensors and plain values only (checkpoints are
    read with ``weights_only=True``); ``load_state_dict({})`` must be accepted and change nothing.
    """

    def __call__(self, image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor,
                 image_ids: torch.Tensor, scene_ids: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class GalleryIndex(Protocol):
    """A searchable gallery of L2-normalised ``dim``-d embeddings; the inner product it maximises is the cosine.

    ``add(vectors)`` appends (N, dim) float32 rows, numbered 0, 1, … in the order they arrive, over all calls;
    ``ntotal`` counts them. ``search(queries, k)`` returns (Q, k) float32 scores and (Q, k) int64 gallery ids,
    best first (k at most ``ntotal``). ``nbytes()`` is the index's size in bytes; ``save(path)`` writes it
    atomically; ``load(path)``, on an empty index built with the same options, reads it back and returns it.
    """

    dim: int

    @property
    def ntotal(self) -> int: ...

    def add(self, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def nbytes(self) -> int: ...

    def save(self, path: Path) -> None: ...

    def load(self, path: Path) -> GalleryIndex: ...


class Captioner(Protocol):
    """Describes images in words: one reply per record, each a ``str`` (the model's text, which the prompt's
    parser turns into caption variants), a ``list[str]`` (variants already made, used as they are) or a
    ``CaptionFailure(reason)`` (that image failed; the others go on).

    ``describe()`` returns JSON-able facts naming what makes the captions (``model``: str, ``oracle``: bool, any
    ``settings`` that change replies); with the prompt's digest it keys the caption cache and goes into records,
    so it must not change between calls. ``uses_prompt`` False: replies do not depend on the prompt (captions
    from a file). ``retry_failures``: whether a failed image is asked once more. Raise ``RsbenchError`` for what
    stops every image (a missing model, a refused key); the cache keeps the batches finished before. An optional
    ``check(records)`` is called once with every record before any caption, to refuse them all at once.
    """

    uses_prompt: bool
    retry_failures: bool

    def describe(self) -> dict[str, Any]: ...

    def caption(self, records: list[Record], prompt: Prompt, *, device: str = "cpu",
                retry: bool = False) -> list[str | list[str] | CaptionFailure]: ...


# What ``factory`` must be for each kind (``config`` is an instance of the registered dataclass).
BackboneFactory = Callable[[Any], "Backbone"]
AdapterFactory = Callable[[Any, "Backbone"], "Adapter"]
SamplerFactory = Callable[[Any, Loss], Sampler]
AugmenterFactory = Callable[[Any, "RetrievalDataset"], "Augmenter"]
StrategyFactory = Callable[[Any], "Strategy"]
IndexFactory = Callable[[Any, int], GalleryIndex]
DatasetFactory = Callable[[Any], "RetrievalDataset"]
LossFactory = Callable[[Any], Loss]
TextEncoderFactory = Callable[[Any], "TextEncoder"]
CaptionerFactory = Callable[[Any], Captioner]


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
def register_indexes(register: Register) -> None:
    """Register gallery indexes: ``factory(config, dim) -> GalleryIndex``, empty, searched by ``strategy.index``."""


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets: ``factory(config) -> RetrievalDataset`` of image/caption/scene records."""


@hookspec
def register_losses(register: Register) -> None:
    """Register losses: ``factory(config) -> Loss`` scoring image/text embeddings against their negatives."""


@hookspec
def register_text_encoders(register: Register) -> None:
    """Register text encoders: ``factory(config) -> TextEncoder`` mapping strings to sentence embeddings."""


@hookspec
def register_captioners(register: Register) -> None:
    """Register captioners: ``factory(config) -> Captioner`` writing caption variants for images (VLMs, files)."""


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add commands to the ``rsbench`` CLI: ``cli`` is a ``typer.Typer``; names rsbench has are refused."""
