"""In-batch negatives: the classic CLIP sampler."""

from __future__ import annotations

from typing import Any

import torch

from rsbench.train.samplers.config import BatchConfig


class BatchSampler:
    """Negatives are the other pairs of the same mini-batch (captions of one image excluded)."""

    def __init__(self, config: BatchConfig, loss) -> None:
        self.config = config
        self.loss = loss

    def __call__(
        self,
        image_emb: torch.Tensor,
        text_emb: torch.Tensor,
        logit_scale: torch.Tensor,
        image_ids: torch.Tensor,
        scene_ids: torch.Tensor,
        **extra: Any,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """``extra`` (``tokens`` for a token-level loss) goes to the loss as it is."""
        same_image = image_ids[:, None] == image_ids[None, :] if self.config.exclude_same_image else None
        loss = self.loss(image_emb, text_emb, logit_scale, same_image, **extra)
        return loss, {"loss": float(loss.detach())}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


def build(config: BatchConfig, loss) -> BatchSampler:
    """In-batch negatives; captions of the same image are never negatives of each other."""
    return BatchSampler(config, loss)
