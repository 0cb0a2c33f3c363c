"""Symmetric InfoNCE: the L_batch term of CMER (Eq. 19-21), with several positives per row allowed."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rsbench.train.losses.config import InfoNCEConfig


class InfoNCE:
    def __init__(self, config: InfoNCEConfig) -> None:
        self.config = config

    def __call__(
        self,
        image_emb: torch.Tensor,
        text_emb: torch.Tensor,
        logit_scale: torch.Tensor,
        same_image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Loss for B aligned (image_i, text_i) pairs.

        ``same_image[i, j]`` is True where image i and text j belong to the same image; such
        off-diagonal pairs are removed from both softmax denominators, so captions of one image
        are never each other's negatives.
        """
        image_emb = F.normalize(image_emb.float(), dim=-1)
        text_emb = F.normalize(text_emb.float(), dim=-1)
        scale = 1.0 / self.config.temperature if self.config.temperature is not None else logit_scale.float()
        logits = scale * image_emb @ text_emb.t()  # S(I, T) / tau, images x texts
        if same_image is not None:
            eye = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
            logits = logits.masked_fill(same_image & ~eye, float("-inf"))
        target = torch.arange(len(logits), device=logits.device)
        # CMER Eq. (21): L_batch = -1/2 E[log p_i2t + log p_t2i]; Eq. (19)/(20) are the two softmaxes.
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def build(config: InfoNCEConfig) -> InfoNCE:
    """Symmetric InfoNCE over in-batch negatives (CMER Eq. 19-21)."""
    return InfoNCE(config)
