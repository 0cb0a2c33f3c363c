"""The adapter contract the trainer and the retrieval strategies rely on."""

from __future__ import annotations

import torch
from torch import nn


class Adapter(nn.Module):
    """Wraps a backbone; subclasses choose what trains and may add modules.

    ``encode_image``/``encode_text`` return unnormalised joint-space embeddings (B, E).
    ``trains`` is False for adapters with nothing to learn, so the trainer skips straight to
    evaluation.

    Feature cache (``train.cache_features``). An adapter that reads a frozen image tower may say what it
    reads: ``frozen_image_features(images)`` returns those tensors per image (a dict of (B, ...) tensors,
    computed without gradients), and ``encode_image_from_features(features)`` finishes ``encode_image``
    from them, so that ``encode_image(x) == encode_image_from_features(frozen_image_features(x))``. The
    trainer then stores the features in the first epoch and skips the tower from the second on.
    ``frozen_features_unavailable()`` returns None when the pair is implemented and valid for this
    configuration, else the reason the cache cannot be used (said in the log and kept in the record).
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

    def frozen_features_unavailable(self) -> str | None:
        """None if ``frozen_image_features`` serves this adapter as configured; else why not, in one phrase."""
        trainable = sum(1 for p in self.model.visual.parameters() if p.requires_grad)
        if trainable:
            return (f"the image tower trains ({trainable} trainable tensors in it), so its features change "
                    f"every step")
        return f"adapter {type(self).__name__} does not say what it reads from the image tower (frozen_image_features)"

    def frozen_image_features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """What ``encode_image`` reads from the frozen image tower: ``{name: (B, ...)}``, without gradients.

        Optional: an adapter that does not override it refuses with the reason (the feature cache checks
        ``frozen_features_unavailable`` first and then trains without the cache)."""
        self._refuse_cached_features()

    def encode_image_from_features(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """``encode_image`` finished from ``frozen_image_features``' output (B, E); optional like it."""
        self._refuse_cached_features()

    def _refuse_cached_features(self):
        from rsbench.errors import RsbenchError

        raise RsbenchError(f"no cached image features for adapter {type(self).__name__}: "
                           f"{self.frozen_features_unavailable()}")

    @property
    def logit_scale(self) -> torch.Tensor:
        """exp of CLIP's learnable log-temperature, capped at 100 as in CLIP."""
        return self.model.logit_scale.exp().clamp(max=100.0)

    def freeze_backbone(self) -> None:
        for p in self.model.parameters():
            p.requires_grad_(False)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]
