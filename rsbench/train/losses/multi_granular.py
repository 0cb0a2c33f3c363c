"""Multi-granular loss: fast-then-fine's training side (Chen et al., arXiv 2604.20429, 2026), as we read it.

FTF's abstract names "an inter- plus intra-modal loss over multi-granular representations"; its formulas are
not public (../shared/papers/METHODS.md). Our reading, for a batch of B aligned pairs:

    L = InfoNCE(S) + token_weight · InfoNCE(F) + intra_weight · C

- ``S``: image × text cosines of the global embeddings (CMER Eq. 19-21, as the ``infonce`` loss);
- ``F``: image × text token scores, the same parameter-free word-patch interaction fast-then-fine reranks
  with (rsbench/fine_scores.py, which the strategy imports too), so training sees the score evaluation uses;
- ``C``: intra-modal consistency after TGDT (LCFractal/TGDT): the mean over pairs i ≠ j of
  [|S_tt(i, j) − S_ii(i, j)| − margin]+, with S_tt the caption–caption and S_ii the image–image cosines of
  the global embeddings: two captions are as alike as their images are.

Captions of one image are never each other's negatives (``same_image``), in both InfoNCE terms, and such
pairs are left out of C. The trainer hands this loss the batch's token features (``token_level``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rsbench.fine_scores import fine_scores
from rsbench.train.losses.config import MultiGranularConfig
from rsbench.train.token_batch import TokenBatch


def symmetric_cross_entropy(logits: torch.Tensor, same_image: torch.Tensor | None) -> torch.Tensor:
    """CMER Eq. (21) on an images × texts logit matrix whose diagonal holds the positives."""
    eye = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
    if same_image is not None:
        logits = logits.masked_fill(same_image & ~eye, float("-inf"))
    target = torch.arange(len(logits), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def token_scores(tokens: TokenBatch, interaction: str) -> torch.Tensor:
    """Images × texts (B, B) token scores of one batch; word positions no caption uses are dropped first."""
    used = int(tokens.mask.any(dim=0).nonzero().max()) + 1
    words = F.normalize(tokens.words[:, :used].float(), dim=-1)
    patches = F.normalize(tokens.patches.float(), dim=-1)
    return fine_scores(words[None], tokens.mask[None, :, :used], patches[:, None], interaction)


class MultiGranular:
    """Global and token-level InfoNCE plus intra-modal consistency (see the module docstring)."""

    token_level = True  # the trainer passes ``tokens=TokenBatch(...)``

    def __init__(self, config: MultiGranularConfig) -> None:
        self.config = config

    def __call__(
        self,
        image_emb: torch.Tensor,
        text_emb: torch.Tensor,
        logit_scale: torch.Tensor,
        same_image: torch.Tensor | None = None,
        tokens: TokenBatch | None = None,
    ) -> torch.Tensor:
        c = self.config
        if tokens is None:
            raise TypeError("the multi-granular loss needs the batch's token features (tokens=TokenBatch(...))")
        image_emb = F.normalize(image_emb.float(), dim=-1)
        text_emb = F.normalize(text_emb.float(), dim=-1)
        scale = 1.0 / c.temperature if c.temperature is not None else logit_scale.float()
        loss = symmetric_cross_entropy(scale * image_emb @ text_emb.t(), same_image)
        if c.token_weight:
            loss = loss + c.token_weight * symmetric_cross_entropy(scale * token_scores(tokens, c.interaction),
                                                                   same_image)
        if c.intra_weight:
            gap = ((text_emb @ text_emb.t()) - (image_emb @ image_emb.t())).abs() - c.margin
            pairs = ~torch.eye(len(gap), dtype=torch.bool, device=gap.device)
            if same_image is not None:
                pairs &= ~same_image
            if pairs.any():
                loss = loss + c.intra_weight * F.relu(gap[pairs]).mean()
        return loss


def build(config: MultiGranularConfig) -> MultiGranular:
    """Global + token-level InfoNCE + intra-modal consistency (FTF's training side, our reading)."""
    return MultiGranular(config)
