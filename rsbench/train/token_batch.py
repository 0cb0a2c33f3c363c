"""The token features of one training batch, for losses that score tokens (``loss.token_level``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class TokenBatch:
    """``patches`` (B, P, E) and ``words`` (B, L, E) in the joint space; ``mask`` (B, L) marks real words."""

    patches: torch.Tensor
    words: torch.Tensor
    mask: torch.Tensor


def wants_tokens(sampler: Any) -> bool:
    """Whether the sampler's loss scores tokens (samplers expose ``loss``, or a ``batch`` sampler that does)."""
    loss = getattr(sampler, "loss", None) or getattr(getattr(sampler, "batch", None), "loss", None)
    return bool(getattr(loss, "token_level", False))


def encode_batch(adapter: Any, sampler: Any, images: torch.Tensor | dict[str, torch.Tensor], tokens: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, dict[str, TokenBatch]]:
    """The adapter's embeddings of a batch, and ``{"tokens": TokenBatch}`` for the sampler when its loss wants them.

    ``images`` may be a dict of the frozen tower's features (``Adapter.frozen_image_features``, from the
    feature cache), which the adapter finishes with ``encode_image_from_features``.
    """
    if isinstance(images, dict):  # the frozen tower's features, from the feature cache
        return adapter.encode_image_from_features(images), adapter.encode_text(tokens), {}
    if not wants_tokens(sampler):
        return adapter.encode_image(images), adapter.encode_text(tokens), {}
    image_emb, patches = adapter.encode_image_tokens(images)
    text_emb, words, mask = adapter.encode_text_tokens(tokens)
    return image_emb, text_emb, {"tokens": TokenBatch(patches, words, mask)}
