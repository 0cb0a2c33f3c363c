"""Backbones: open_clip CLIP models (built-in tiny ones, open_clip names, hf-hub ids, local checkpoints).

Importing this package stays light; ``Backbone`` and ``build_backbone`` load torch and open_clip when
first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rsbench.models.backbones.config import (
    BackboneConfig,
    builtin_model_names,
    is_backbone_name,
    known_model_names,
)

if TYPE_CHECKING:
    from rsbench.models.backbones.open_clip_backbone import Backbone, build_backbone, named_factory

__all__ = [
    "Backbone",
    "BackboneConfig",
    "build_backbone",
    "builtin_model_names",
    "is_backbone_name",
    "known_model_names",
    "named_factory",
]


def __getattr__(name: str) -> Any:
    if name in ("Backbone", "build_backbone", "named_factory"):
        from rsbench.models.backbones import open_clip_backbone

        return getattr(open_clip_backbone, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
