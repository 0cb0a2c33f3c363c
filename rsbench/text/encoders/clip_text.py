"""The ``clip-text`` text encoder: a CLIP backbone's own text tower, so that text-to-text retrieval can be
compared in CLIP's joint space with a sentence encoder's space.

Embeddings are exactly the backbone's ``model.encode_text`` of its tokenizer's ids (prompt prepended),
normalised: what dual-stream retrieval gets for the same captions from a frozen backbone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from rsbench.config import DEFAULT_BACKBONE_WEIGHTS
from rsbench.errors import ConfigError
from rsbench.models.backbones.config import SCHEMA_PREFIXES, BackboneConfig, builtin_model_names, shipped_tags
from rsbench.runtime import resolve_device
from rsbench.text.encoders.base import Role, TextEncoder
from rsbench.text.encoders.config import ClipTextConfig

if TYPE_CHECKING:
    from rsbench.models.backbones.open_clip_backbone import Backbone


class ClipTextEncoder(TextEncoder):
    """A backbone's text tower as a text encoder; pass ``backbone`` to reuse one already built (it is moved to
    the config's device and put in eval mode)."""

    def __init__(self, config: ClipTextConfig, backbone: Backbone | None = None) -> None:
        super().__init__(config.batch_size, normalize=True)
        self.config = config
        self.device = resolve_device(config.device)
        if backbone is None:
            from rsbench.models.backbones import build_backbone

            backbone = build_backbone(backbone_config(config))
        self.backbone = backbone
        self.backbone.model.to(self.device).eval()

    @property
    def dim(self) -> int:
        return self.backbone.embed_dim

    def embed(self, texts: list[str], role: Role) -> torch.Tensor:
        prompt = self.config.query_prompt if role == "query" else self.config.document_prompt
        ids = self.backbone.tokenizer([prompt + text for text in texts]).to(self.device)
        return self.backbone.model.encode_text(ids)

    def describe(self) -> dict[str, Any]:
        return {
            "name": "clip-text",
            "model": self.backbone.name,
            "pretrained": self.backbone.pretrained,
            "weights_sha256": self.backbone.weights_sha256,
            "dim": self.dim,
            "normalized": True,
            "query_prompt": self.config.query_prompt,
            "document_prompt": self.config.document_prompt,
            "context_length": self.backbone.context_length,
        }


def backbone_config(config: ClipTextConfig) -> BackboneConfig:
    """The backbone ``config`` names, with the shipped weights when ``pretrained`` is null."""
    pretrained = config.pretrained
    if pretrained is None and not config.backbone.startswith(SCHEMA_PREFIXES):
        if config.backbone in builtin_model_names() and DEFAULT_BACKBONE_WEIGHTS in shipped_tags(config.backbone):
            pretrained = DEFAULT_BACKBONE_WEIGHTS
        else:
            raise ConfigError(
                f"text_encoder.pretrained is null, and rsbench ships no weights for backbone '{config.backbone}': "
                f"a random text tower gives meaningless embeddings. Set text_encoder.pretrained to an open_clip "
                f"tag (e.g. openai) or a checkpoint file"
            )
    return BackboneConfig(name=config.backbone, pretrained=pretrained)


def build(config: ClipTextConfig, backbone: Backbone | None = None) -> ClipTextEncoder:
    """A CLIP backbone's own text tower (default: the shipped rsbench-tiny), embeddings normalised."""
    return ClipTextEncoder(config, backbone)
