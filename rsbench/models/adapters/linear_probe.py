"""Linear probe: only the projections into the joint embedding space train."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from rsbench.models.adapters.base import Adapter
from rsbench.models.adapters.config import LinearProbeConfig


class LinearProbe(Adapter):
    def __init__(self, config: LinearProbeConfig, backbone) -> None:
        super().__init__(backbone)
        self.freeze_backbone()
        visual_proj = getattr(self.model.visual, "proj", None)
        text_proj = getattr(self.model, "text_projection", None)
        projections = [p for p in (visual_proj, text_proj) if p is not None]
        if not projections:
            from rsbench.errors import ConfigError

            raise ConfigError(f"backbone '{backbone.name}' has no projection layers for a linear probe")
        for proj in projections:
            params = proj.parameters() if isinstance(proj, nn.Module) else [proj]
            for p in params:
                p.requires_grad_(True)
        self.model.logit_scale.requires_grad_(config.train_logit_scale)

    def frozen_features_unavailable(self) -> str | None:
        proj = getattr(self.model.visual, "proj", None)
        if proj is not None and not isinstance(proj, nn.Parameter):
            return f"the image tower's projection is a {type(proj).__name__}, not the matrix the probe reads past"
        return None

    def frozen_image_features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The image tower's pooled output before ``visual.proj`` (B, width): all of the tower that is frozen."""
        with torch.no_grad(), _without_projection(self.model.visual):
            return {"pooled": self.model.encode_image(images)}

    def encode_image_from_features(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        proj = getattr(self.model.visual, "proj", None)
        pooled = features["pooled"]
        return pooled if proj is None else pooled @ proj.to(pooled.dtype)


@contextlib.contextmanager
def _without_projection(visual: nn.Module) -> Iterator[None]:
    """open_clip's VisionTransformer applies ``proj`` only when it is set: unset it for one forward."""
    proj = getattr(visual, "proj", None)
    if proj is None:
        yield
        return
    visual.proj = None
    try:
        yield
    finally:
        visual.proj = proj


def build(config: LinearProbeConfig, backbone) -> LinearProbe:
    """Train only the visual and text projections."""
    return LinearProbe(config, backbone)
