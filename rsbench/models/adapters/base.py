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

    def encode_image_tokens(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(embedding (B, E), patch tokens (B, P, E))``, unnormalised, both in the joint space.

        The tokens are the image tower's last-layer patch tokens through ``ln_post`` and ``visual.proj``
        (see rsbench/models/joint_tokens.py); adapters that add to the embedding add to them as well.
        """
        from rsbench.models.joint_tokens import capture_final_norm, project_patch_tokens

        with capture_final_norm(self.model, "visual") as normed:
            pooled = self.encode_image(images)
        return pooled, project_patch_tokens(self.model, normed["tokens"])

    def encode_text_tokens(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(embedding (B, E), word tokens (B, L, E), word mask (B, L))``; the mask drops start, end and padding."""
        from rsbench.models.joint_tokens import capture_final_norm, project_word_tokens, word_mask

        with capture_final_norm(self.model, "text") as normed:
            pooled = self.encode_text(tokens)
        return pooled, project_word_tokens(self.model, normed["tokens"]), word_mask(tokens)

    @property
    def logit_scale(self) -> torch.Tensor:
        """exp of CLIP's learnable log-temperature, capped at 100 as in CLIP."""
        return self.model.logit_scale.exp().clamp(max=100.0)

    def freeze_backbone(self) -> None:
        for p in self.model.parameters():
            p.requires_grad_(False)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]
