"""Token features in the joint space for every registered adapter, and the encoder view strategies get."""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext

import pytest
import torch
from PIL import Image

from rsbench.data.record import Record
from rsbench.hooks import get_registry
from rsbench.models.backbones import BackboneConfig, build_backbone
from rsbench.models.joint_tokens import word_mask
from rsbench.retrieval.encoder import EncoderView

CAPTIONS = ["a baseball field", "two tennis courts beside a long river bend", "a parking lot", ""]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_backbone(BackboneConfig(name="rsbench-tiny"))


def build_adapter(name: str, backbone):
    component = get_registry("adapter").get(name)
    fields = {f.name for f in dataclasses.fields(component.config_cls)}
    config = component.config_cls(**({"name": name} if "name" in fields else {}))
    adapter = component.build(config, backbone)
    with torch.no_grad():  # move every adapter off its identity start, so its own modules show in the tokens
        for p in adapter.trainable_parameters():
            p.add_(0.05 * torch.randn_like(p))
    return adapter.eval()


@pytest.mark.parametrize("name", get_registry("adapter").names())
def test_every_adapter_gives_joint_space_tokens(name, tiny):
    import copy

    adapter = build_adapter(name, copy.deepcopy(tiny))
    images = torch.randn(2, 3, tiny.image_size, tiny.image_size)
    tokens = tiny.tokenizer(CAPTIONS)
    with torch.no_grad():
        pooled, patches = adapter.encode_image_tokens(images)
        text_pooled, words, mask = adapter.encode_text_tokens(tokens)
        assert torch.allclose(pooled, adapter.encode_image(images), atol=1e-5)
        assert torch.allclose(text_pooled, adapter.encode_text(tokens), atol=1e-5)
    grid = tiny.image_size // 8
    assert patches.shape == (2, grid * grid, tiny.embed_dim)
    assert words.shape == (len(CAPTIONS), tokens.shape[1], tiny.embed_dim)
    # CLIP pools the end-of-text token: the word token there, through the same norm, projection (and the
    # adapter's own map), is the caption's embedding.
    eot = tokens.argmax(dim=1)
    assert torch.allclose(words[torch.arange(len(CAPTIONS)), eot], text_pooled, atol=1e-5)
    assert torch.equal(mask, word_mask(tokens))


def test_word_mask_drops_start_end_and_padding(tiny):
    tokens = tiny.tokenizer(CAPTIONS)
    mask = word_mask(tokens)
    lengths = (tokens != 0).sum(dim=1)
    assert mask[:3].sum(dim=1).tolist() == (lengths[:3] - 2).tolist()  # start and end left out
    assert not mask[:, 0].any()
    eot = int(tokens[3].argmax())
    assert mask[3].nonzero().flatten().tolist() == [eot]  # an empty caption keeps its end-of-text token


def test_focus_tokens_carry_the_side_branch(tiny):
    import copy

    from rsbench.models.adapters.focus.config import FocusConfig
    from rsbench.models.adapters.focus.model import build

    frozen = get_registry("adapter").get("frozen")
    reference = frozen.build(frozen.config_cls(), copy.deepcopy(tiny)).eval()
    focus = build(FocusConfig(), copy.deepcopy(tiny)).eval()
    images = torch.randn(2, 3, tiny.image_size, tiny.image_size)
    with torch.no_grad():
        base_pooled, base_tokens = reference.encode_image_tokens(images)
        pooled, tokens = focus.encode_image_tokens(images)
        assert torch.allclose(tokens, base_tokens, atol=1e-6)  # W_up starts at zero: the frozen model
        focus.up.weight.normal_()
        pooled, tokens = focus.encode_image_tokens(images)
    assert not torch.allclose(tokens, base_tokens, atol=1e-3)
    assert not torch.allclose(pooled, base_pooled, atol=1e-3)


def test_encoder_view_normalises_trims_and_remembers(tiny, tmp_path):
    records = []
    for i in range(3):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (40, 40), (60 * i, 90, 30)).save(path)
        records.append(Record(image=path, image_id=str(i), captions=("x",), scene=None, split="test"))
    adapter = build_adapter("frozen", tiny)
    view = EncoderView(adapter, tiny.tokenizer, tiny.preprocess_eval, torch.device("cpu"), nullcontext, batch_size=2)
    images = view.images(records, tokens=True)
    assert images.embeddings.shape == (3, tiny.embed_dim) and images.tokens.shape[:2] == (3, 64)
    assert torch.allclose(images.embeddings.norm(dim=-1), torch.ones(3))
    assert torch.allclose(images.tokens.norm(dim=-1), torch.ones(3, 64))
    texts = view.texts(CAPTIONS[:3], tokens=True)
    assert texts.tokens.shape[1] == texts.mask.shape[1] == int(tiny.tokenizer(CAPTIONS[:3]).argmax(dim=1).max())
    assert view.images(records).embeddings is images.embeddings  # encoded once
    assert view.texts(CAPTIONS[:3]).embeddings is texts.embeddings
