"""Fast-then-fine's token interaction (rsbench/retrieval/strategies/fast_then_fine.py explains the variants):
score math on the ground floor, so that a training loss (multi-granular) uses the very score evaluation uses
without importing the evaluation stage."""

from __future__ import annotations

import torch


def fine_scores(
    words: torch.Tensor, mask: torch.Tensor, patches: torch.Tensor, interaction: str = "balanced"
) -> torch.Tensor:
    """Token interaction of captions and images, broadcast over leading dimensions.

    ``words`` (..., L, E) and ``patches`` (..., P, E) are L2-normalised tokens, ``mask`` (..., L) marks real
    words (at least one per caption). Returns (...): see the module docstring for the variants.
    """
    cosines = words @ patches.transpose(-1, -2)  # (..., L, P)
    mask = mask.expand(cosines.shape[:-1])
    weights = mask.to(cosines.dtype)
    words_to_patches = (cosines.amax(dim=-1) * weights).sum(dim=-1) / weights.sum(dim=-1)
    if interaction == "words":
        return words_to_patches
    patches_to_words = cosines.masked_fill(~mask[..., None], float("-inf")).amax(dim=-2).mean(dim=-1)
    if interaction == "patches":
        return patches_to_words
    return (words_to_patches + patches_to_words) / 2
