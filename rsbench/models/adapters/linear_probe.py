"""Linear probe: only the projections into the joint embedding space train."""

from __future__ import annotations

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


def build(config: LinearProbeConfig, backbone) -> LinearProbe:
    """Train only the visual and text projections."""
    return LinearProbe(config, backbone)
