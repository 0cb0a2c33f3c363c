"""Full fine-tuning: every backbone weight trains (the most expensive baseline)."""

from __future__ import annotations

from rsbench.models.adapters.base import Adapter
from rsbench.models.adapters.config import FullConfig


class FullFineTune(Adapter):
    def __init__(self, config: FullConfig, backbone) -> None:
        super().__init__(backbone)
        for p in self.model.parameters():
            p.requires_grad_(True)
        self.model.logit_scale.requires_grad_(config.train_logit_scale)


def build(config: FullConfig, backbone) -> FullFineTune:
    """Fine-tune every parameter of both towers."""
    return FullFineTune(config, backbone)
