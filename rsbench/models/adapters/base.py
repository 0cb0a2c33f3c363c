"""The adapter contract the trainer and the retrieval strategies rely on."""

from __future__ import annotations

import torch
from torch import nn


class Adapter(nn.Module):
    """Wraps a backbone; subclasses choose what trains and may add modules.

    ``encode_image``/``encode_text`` return unnormalised joint-space embeddings (B, E).
    ``trains`` is False for adapters with nothing to learn, so the trainer skips straight to
    evaluation.
    """

    trains: bool = True

    def __init__(self, backbone) -> None:
        super().__init__()
        self.backbone = backbone
        self.model = backbone.model

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(images)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(tokens)

    @property
    def logit_scale(self) -> torch.Tensor:
        """exp of CLIP's learnable log-temperature, capped at 100 as in CLIP."""
        return self.model.logit_scale.exp().clamp(max=100.0)

    def freeze_backbone(self) -> None:
        for p in self.model.parameters():
            p.requires_grad_(False)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]
