"""CMER baselines CLIP-BitFit and CLIP-Adapter: what trains, how many parameters, what the forward computes."""

from __future__ import annotations

import open_clip
import pytest
import torch
import torch.nn.functional as F

from rsbench.errors import ConfigError
from rsbench.models.adapters import bitfit, clip_adapter
from rsbench.models.adapters.config import BitFitConfig, ClipAdapterConfig
from rsbench.models.backbones import Backbone, BackboneConfig, build_backbone
from rsbench.profile.cost import count_parameters, saved_for_backward_bytes

TINY_EMBED = 128  # embed_dim of rsbench-tiny.json


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return build_backbone(BackboneConfig(name="rsbench-tiny"))


@pytest.fixture
def batch(tiny):
    torch.manual_seed(1)
    images = torch.randn(4, 3, tiny.image_size, tiny.image_size)
    tokens = tiny.tokenizer(["a baseball field", "two tennis courts", "a river bend", "a parking lot"])
    return images, tokens


def meta_backbone(name: str) -> Backbone:
    """A real architecture's shapes without its 100 M+ weights: parameters on the meta device."""
    with torch.device("meta"):
        model = open_clip.CLIP(**open_clip.get_model_config(name))
    return Backbone(model, None, None, None, name, None)


def contrastive_loss(adapter, images, tokens) -> torch.Tensor:
    image_emb = F.normalize(adapter.encode_image(images), dim=-1)
    text_emb = F.normalize(adapter.encode_text(tokens), dim=-1)
    logits = adapter.logit_scale * image_emb @ text_emb.T
    target = torch.arange(len(images))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def trainable_names(adapter) -> set[str]:
    return {name for name, p in adapter.named_parameters() if p.requires_grad}


# --- BitFit -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arch", "expected", "design_m", "table_m"),
    [("ViT-B-32", 171_008, 0.171, 0.17), ("ViT-B-16", 171_008, 0.171, 0.17), ("ViT-L-14", 374_528, 0.375, 0.37)],
)
def test_bitfit_counts_match_cmer_tables(arch, expected, design_m, table_m):
    adapter = bitfit.build(BitFitConfig(), meta_backbone(arch))
    trainable, total = count_parameters(adapter)
    assert trainable == expected
    assert round(trainable / 1e6, 3) == design_m  # DESIGN.md's figures
    assert round(trainable / 1e6, 2) == table_m  # CMER Tables 1-3 print two decimals
    assert trainable < total


def test_bitfit_trains_every_bias_and_nothing_else(tiny):
    adapter = bitfit.build(BitFitConfig(), tiny)
    names = trainable_names(adapter)
    assert names == {n for n, _ in adapter.named_parameters() if n.endswith("bias")}
    # the convention that reproduces the paper's counts: attention in_proj and LayerNorm biases included
    assert "model.visual.transformer.resblocks.0.attn.in_proj_bias" in names
    assert {"model.visual.ln_pre.bias", "model.visual.ln_post.bias", "model.ln_final.bias"} <= names
    assert "model.logit_scale" not in names
    with_scale = bitfit.build(BitFitConfig(train_logit_scale=True), build_backbone(BackboneConfig(name="rsbench-tiny")))
    assert trainable_names(with_scale) == names | {"model.logit_scale"}


def test_bitfit_config_rejects_non_bool():
    with pytest.raises(ConfigError, match="train_logit_scale"):
        BitFitConfig(train_logit_scale="yes")


# --- CLIP-Adapter: parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, 2 * (128 * 32 + 32 * 128)),  # both towers, hidden 128 // 4 = 32
        ({"towers": "visual"}, 128 * 32 + 32 * 128),
        ({"towers": "text"}, 128 * 32 + 32 * 128),
        ({"reduction": 3}, 2 * (128 * 42 + 42 * 128)),  # 128 // 3 = 42: the hidden width rounds down
        ({"reduction": 128}, 2 * (128 * 1 + 1 * 128)),
    ],
)
def test_clip_adapter_count_on_tiny(tiny, overrides, expected):
    adapter = clip_adapter.build(ClipAdapterConfig(**overrides), tiny)
    assert tiny.embed_dim == TINY_EMBED
    assert count_parameters(adapter)[0] == expected


@pytest.mark.parametrize(("arch", "expected"), [("ViT-B-32", 2 * (512 * 128 + 128 * 512)),
                                                ("ViT-L-14", 2 * (768 * 192 + 192 * 768))])
def test_clip_adapter_count_on_real_architectures(arch, expected):
    # Gao et al.'s adapter on the 512-/768-wide embeddings: 0.26 M / 0.59 M, not CMER's 3.04 M / 6.82 M
    # (see the clip_adapter module docstring).
    adapter = clip_adapter.build(ClipAdapterConfig(), meta_backbone(arch))
    assert count_parameters(adapter)[0] == expected


@pytest.mark.parametrize(
    ("overrides", "prefixes"),
    [
        ({}, ("visual_adapter.", "text_adapter.")),
        ({"towers": "visual"}, ("visual_adapter.",)),
        ({"towers": "text", "train_logit_scale": True}, ("text_adapter.", "model.logit_scale")),
    ],
)
def test_clip_adapter_trains_only_its_adapters(tiny, overrides, prefixes):
    adapter = clip_adapter.build(ClipAdapterConfig(**overrides), tiny)
    names = trainable_names(adapter)
    expected = {n for n, _ in adapter.named_parameters() if n.startswith(prefixes)}
    assert names == expected and names
    assert adapter.trainable_parameters() == [p for n, p in adapter.named_parameters() if n in names]
    # the adapters are bias-free bottlenecks, as in Gao et al.
    assert all("bias" not in n for n in names)


# --- CLIP-Adapter: forward -----------------------------------------------------------------------------------


def test_ratio_zero_is_the_frozen_backbone(tiny, batch):
    images, tokens = batch
    adapter = clip_adapter.build(ClipAdapterConfig(ratio=0.0), tiny)
    assert torch.equal(adapter.encode_image(images), tiny.model.encode_image(images))
    assert torch.equal(adapter.encode_text(tokens), tiny.model.encode_text(tokens))


def test_ratio_one_is_the_adapter_mlp(tiny, batch):
    images, tokens = batch
    adapter = clip_adapter.build(ClipAdapterConfig(ratio=1.0), tiny)
    with torch.no_grad():
        image_features, text_features = tiny.model.encode_image(images), tiny.model.encode_text(tokens)
        expected_image = adapter.visual_adapter.mlp(image_features)
        expected_text = adapter.text_adapter.mlp(text_features)
    assert torch.equal(adapter.encode_image(images), expected_image)
    assert torch.equal(adapter.encode_text(tokens), expected_text)
    assert (expected_image >= 0).all()  # the trailing ReLU of the original design


def test_mixing_by_ratio_and_untouched_tower(tiny, batch):
    images, tokens = batch
    adapter = clip_adapter.build(ClipAdapterConfig(ratio=0.2, towers="visual"), tiny)
    with torch.no_grad():
        f = tiny.model.encode_image(images)
        expected = 0.2 * adapter.visual_adapter.mlp(f) + 0.8 * f
    torch.testing.assert_close(adapter.encode_image(images), expected, rtol=0, atol=1e-6)
    assert torch.equal(adapter.encode_text(tokens), tiny.model.encode_text(tokens))


# --- CLIP-Adapter: memory and gradients ---------------------------------------------------------------------


def test_no_grad_backbone_keeps_fewer_bytes_than_backprop_through_it(batch):
    images, tokens = batch
    saved = {}
    for through in (False, True):
        adapter = clip_adapter.build(
            ClipAdapterConfig(backprop_through_backbone=through), build_backbone(BackboneConfig(name="rsbench-tiny"))
        )
        adapter.train()
        saved[through] = saved_for_backward_bytes(adapter, lambda a=adapter: contrastive_loss(a, images, tokens))
    assert 0 < saved[False] < saved[True]
    # only the adapters' inputs and hidden activations remain: over an order of magnitude less on rsbench-tiny
    assert saved[False] * 10 < saved[True]


def test_backprop_through_backbone_gives_the_same_gradients(batch):
    images, tokens = batch
    grads = {}
    for through in (False, True):
        torch.manual_seed(0)
        backbone = build_backbone(BackboneConfig(name="rsbench-tiny"))
        adapter = clip_adapter.build(ClipAdapterConfig(backprop_through_backbone=through), backbone)
        contrastive_loss(adapter, images, tokens).backward()
        grads[through] = [p.grad.clone() for p in adapter.trainable_parameters()]
        assert all(p.grad is None for p in backbone.model.parameters())
    for a, b in zip(grads[False], grads[True], strict=True):
        torch.testing.assert_close(a, b)


def tower_inputs(tiny):
    """Watch what the frozen towers are handed: whether the image batch asks for a gradient, and whether the
    token embedding carries a hook that makes the text tower record (the backprop variant's anchors)."""
    seen = {}

    def visual(_module, inputs):
        seen["image_input_requires_grad"] = inputs[0].requires_grad

    def text(_module, _inputs):
        seen["token_embedding_hooked"] = bool(tiny.model.token_embedding._forward_hooks)

    handles = [tiny.model.visual.register_forward_pre_hook(visual),
               tiny.model.transformer.register_forward_pre_hook(text)]
    return seen, handles


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_backprop_variant_records_the_backbone_only_when_gradients_are_on(tiny, batch, mode):
    # Evaluation runs under no_grad (Experiment.encode_*, the strategies): there the variant must hand the
    # towers plain inputs, as the default does. With gradients on, it anchors autograd at both towers'
    # inputs whatever the module mode, which is what makes it record (and keep) the backbone's activations.
    images, tokens = batch
    adapter = clip_adapter.build(ClipAdapterConfig(backprop_through_backbone=True), tiny)
    adapter.train(mode == "train")
    seen, handles = tower_inputs(tiny)
    try:
        with torch.no_grad():
            adapter.encode_image(images), adapter.encode_text(tokens)
        assert seen == {"image_input_requires_grad": False, "token_embedding_hooked": False}
        image_emb, text_emb = adapter.encode_image(images), adapter.encode_text(tokens)
        assert seen == {"image_input_requires_grad": True, "token_embedding_hooked": True}
    finally:
        for handle in handles:
            handle.remove()
    assert not tiny.model.token_embedding._forward_hooks  # the anchor is removed after each forward
    # and with gradients on the backbone's forward is recorded: many more bytes saved than by the default path
    recorded = saved_for_backward_bytes(adapter, lambda: contrastive_loss(adapter, images, tokens))
    adapter.backprop_through_backbone = False
    assert recorded > 10 * saved_for_backward_bytes(adapter, lambda: contrastive_loss(adapter, images, tokens))
    assert image_emb.requires_grad and text_emb.requires_grad


# --- both: one optimiser step --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "config"),
    [
        (bitfit.build, BitFitConfig()),
        (clip_adapter.build, ClipAdapterConfig()),
        (clip_adapter.build, ClipAdapterConfig(backprop_through_backbone=True, towers="text")),
    ],
    ids=["bitfit", "clip-adapter", "clip-adapter-backprop-text"],
)
def test_one_step_changes_only_trainable_parameters(tiny, batch, factory, config):
    images, tokens = batch
    adapter = factory(config, tiny)
    adapter.train()
    before = {n: p.detach().clone() for n, p in adapter.named_parameters()}
    trainable = trainable_names(adapter)
    optimizer = torch.optim.SGD(adapter.trainable_parameters(), lr=0.5)
    contrastive_loss(adapter, images, tokens).backward()
    optimizer.step()
    changed = {n for n, p in adapter.named_parameters() if not torch.equal(p, before[n])}
    assert changed and changed <= trainable
    if factory is clip_adapter.build:
        assert changed == trainable  # every adapter weight gets a gradient


# --- configs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ratio": -0.1}, "ratio"),
        ({"ratio": 1.5}, "ratio"),
        ({"ratio": float("nan")}, "ratio"),
        ({"reduction": 0}, "reduction"),
        ({"reduction": 2.5}, "reduction"),
        ({"reduction": True}, "reduction"),
        ({"towers": "image"}, "towers"),
        ({"backprop_through_backbone": 1}, "backprop_through_backbone"),
    ],
)
def test_clip_adapter_config_rejects(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ClipAdapterConfig(**kwargs)


def test_clip_adapter_config_fields_have_help():
    import dataclasses

    for cls in (ClipAdapterConfig, BitFitConfig):
        assert all(f.metadata.get("help") for f in dataclasses.fields(cls))
    assert ClipAdapterConfig(ratio=1).ratio == 1.0 and isinstance(ClipAdapterConfig(ratio=1).ratio, float)


def test_reduction_wider_than_the_embedding_is_refused(tiny):
    with pytest.raises(ConfigError, match="no hidden unit"):
        clip_adapter.build(ClipAdapterConfig(reduction=TINY_EMBED + 1), tiny)
