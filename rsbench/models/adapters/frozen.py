"""Zero-shot evaluation: the backbone as loaded, nothing trained."""

from __future__ import annotations

from rsbench.models.adapters.base import Adapter
from rsbench.models.adapters.config import FrozenConfig


class Frozen(Adapter):
    trains = False

    def __init__(self, config: FrozenConfig, backbone) -> None:
        super().__init__(backbone)
        self.freeze_backbone()


def build(config: FrozenConfig, backbone) -> Frozen:
    """Zero-shot: nothing trains."""
    return Frozen(config, backbone)
