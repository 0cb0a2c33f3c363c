"""Every registered backbone builds from its default config and encodes images and captions.

Parametrized over the backbone registry, so a backbone is smoke-tested the moment it is registered;
also checks the fallback that accepts any open_clip architecture name.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from rsbench.errors import UnknownComponentError
from rsbench.hooks import get_registry
from rsbench.options import build_options

BACKBONE_NAMES = get_registry("backbone").names()


def default_config(name: str):
    """The component's default config, given the component's name when it declares one (as runs do)."""
    component = get_registry("backbone").get(name)
    declares_name = "name" in {f.name for f in dataclasses.fields(component.config_cls)}
    return build_options(component.config_cls, {"name": name} if declares_name else {}, "backbone.")


@pytest.mark.parametrize("name", BACKBONE_NAMES)
def test_registered_backbone_builds_and_encodes(name: str) -> None:
    torch.manual_seed(0)
    backbone = get_registry("backbone").get(name).build(default_config(name))
    assert backbone.name == name
    model = backbone.model.eval()
    images = torch.randn(1, 3, backbone.image_size, backbone.image_size)
    tokens = backbone.tokenizer(["a red bridge crosses the river"])
    assert tokens.shape == (1, backbone.context_length)
    with torch.no_grad():
        image_emb = model.encode_image(images)
        text_emb = model.encode_text(tokens)

    assert image_emb.shape == (1, backbone.embed_dim)
    assert text_emb.shape == (1, backbone.embed_dim)
    assert torch.isfinite(image_emb).all() and torch.isfinite(text_emb).all()
    assert image_emb.abs().sum() > 0 and text_emb.abs().sum() > 0


def test_open_clip_names_fall_back_to_open_clip() -> None:
    component = get_registry("backbone").get("ViT-B-32")
    assert component.kind == "backbone" and component.name == "ViT-B-32"
    assert "ViT-B-32" not in get_registry("backbone").names()  # found by the fallback, not registered


def test_misspelt_backbone_suggests_the_open_clip_name() -> None:
    with pytest.raises(UnknownComponentError) as err:
        get_registry("backbone").get("ViT-B-322")
    assert "ViT-B-32" in str(err.value)
