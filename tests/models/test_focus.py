"""CMER's Focus-Adapter: region attention against hand-written references, the side branch's isolation from the
frozen backbone's graph, Table 5's settings, Table 1's parameter counts and the activation-memory claim."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from torch import nn

from rsbench.errors import ConfigError
from rsbench.models.adapters.focus.config import FocusConfig, FocusVisualConfig
from rsbench.models.adapters.focus.focus_layer import FocusLayer, region_mask, window_partition, window_reverse
from rsbench.models.adapters.focus.model import FocusAdapter, build
from rsbench.models.adapters.focus.side_branch import SideBranch
from rsbench.models.backbones import BackboneConfig, build_backbone
from rsbench.profile.cost import count_parameters, saved_for_backward_bytes

PROJECTIONS = ["shared", "separate"]


# ---------------------------------------------------------------- references


def reference_mha(layer: FocusLayer) -> nn.MultiheadAttention:
    """torch's own MHA with the focus layer's projections as q/k/v and no output projection."""
    dim = layer.dim
    mha = nn.MultiheadAttention(dim, layer.heads, batch_first=True)
    with torch.no_grad():
        w, b = layer.proj.weight, layer.proj.bias
        if layer.projections == "shared":
            w, b = w.repeat(3, 1), b.repeat(3)
        mha.in_proj_weight.copy_(w)
        mha.in_proj_bias.copy_(b)
        mha.out_proj.weight.copy_(torch.eye(dim))
        mha.out_proj.bias.zero_()
    return mha


def reference_focus_layer(layer: FocusLayer, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Region by region with loops: each region's real tokens alone through MHA; CLS through MHA over all."""
    mha = reference_mha(layer)
    normed = layer.norm(x)
    out = torch.empty_like(x)
    out[:, :1] = mha(normed[:, :1], normed, normed, need_weights=False)[0]
    f = layer.focus_field
    patches = normed[:, 1:].reshape(x.shape[0], grid[0], grid[1], -1)
    result = torch.empty_like(patches)
    for r0 in range(0, grid[0], f):
        for c0 in range(0, grid[1], f):
            region = patches[:, r0 : r0 + f, c0 : c0 + f]
            h, w = region.shape[1:3]
            tokens = region.reshape(x.shape[0], h * w, -1)
            attended = mha(tokens, tokens, tokens, need_weights=False)[0]
            result[:, r0 : r0 + f, c0 : c0 + f] = attended.reshape(x.shape[0], h, w, -1)
    out[:, 1:] = result.reshape(x.shape[0], grid[0] * grid[1], -1)
    return x + out


def tokens_for(grid: tuple[int, int], dim: int = 64, batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 1 + grid[0] * grid[1], dim, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- the focus layer


@pytest.mark.parametrize("projections", PROJECTIONS)
@pytest.mark.parametrize("focus_field", [8, 16])  # the grid itself, and larger (padding, regions of padding only)
def test_focus_field_covering_the_grid_is_global_attention(projections, focus_field):
    torch.manual_seed(0)
    grid = (8, 8)
    layer = FocusLayer(64, heads=2, focus_field=focus_field, projections=projections)
    x = tokens_for(grid)
    with torch.no_grad():
        out = layer(x, grid)
        normed = layer.norm(x)
        mha = reference_mha(layer)
        patches = normed[:, 1:]
        expected_patches = x[:, 1:] + mha(patches, patches, patches, need_weights=False)[0]
        expected_cls = x[:, :1] + mha(normed[:, :1], normed, normed, need_weights=False)[0]
    torch.testing.assert_close(out[:, 1:], expected_patches, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out[:, :1], expected_cls, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("projections", PROJECTIONS)
@pytest.mark.parametrize(
    ("grid", "focus_field"), [((8, 8), 2), ((8, 8), 1), ((7, 7), 2), ((7, 7), 3), ((5, 7), 2), ((8, 8), 7)]
)
def test_region_attention_matches_a_per_region_loop(projections, grid, focus_field):
    torch.manual_seed(1)
    layer = FocusLayer(64, heads=2, focus_field=focus_field, projections=projections)
    x = tokens_for(grid)
    with torch.no_grad():
        out = layer(x, grid)
        expected = reference_focus_layer(layer, x, grid)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("grid", "focus_field", "cell"), [((8, 8), 2, (3, 4)), ((7, 7), 2, (6, 5)), ((8, 8), 7, (7, 7))]
)
def test_a_patch_influences_only_its_own_region_and_the_cls(grid, focus_field, cell):
    torch.manual_seed(2)
    layer = FocusLayer(64, heads=2, focus_field=focus_field)
    x = tokens_for(grid)
    moved = x.clone()
    moved[:, 1 + cell[0] * grid[1] + cell[1]] += 3.0 * torch.randn(64)  # not a constant: LayerNorm removes those
    with torch.no_grad():
        changed = (layer(moved, grid) - layer(x, grid)).abs().amax(dim=(0, 2)) > 1e-6
    rows, cols = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]), indexing="ij")
    same_region = (rows // focus_field == cell[0] // focus_field) & (cols // focus_field == cell[1] // focus_field)
    assert changed[0], "the CLS attends globally and must see the change"
    assert torch.equal(changed[1:], same_region.flatten())


def test_the_side_branch_keeps_regions_apart_through_all_its_blocks():
    torch.manual_seed(3)
    grid, width = (6, 6), 48
    branch = SideBranch(width, hidden_dim=64, heads=2, depth=3, focus_field=3)
    features = [tokens_for(grid, width, seed=s) for s in range(3)]
    moved = [f.clone() for f in features]
    moved[1][:, 1 + 0 * grid[1] + 4] += 5.0 * torch.randn(width)  # patch (0, 4) of the second block: region (0, 1)
    with torch.no_grad():
        changed = (branch(moved, grid) - branch(features, grid)).abs().amax(dim=(0, 2)) > 1e-6
    expected = torch.zeros(grid, dtype=torch.bool)
    expected[0:3, 3:6] = True
    assert changed[0]
    assert torch.equal(changed[1:], expected.flatten())


def test_window_partition_round_trips_and_masks_only_padding():
    tokens = torch.arange(2 * 7 * 5 * 3, dtype=torch.float32).reshape(2, 7, 5, 3)
    windows = window_partition(tokens, 2)
    assert windows.shape == (2 * 4 * 3, 4, 3)
    torch.testing.assert_close(windows[1, 0], tokens[0, 0, 2])  # region (0, 1) starts at column 2
    torch.testing.assert_close(window_reverse(windows, 2, (7, 5)), tokens)
    assert region_mask((8, 8), 2) is None
    mask = region_mask((7, 5), 2)
    real = window_partition(torch.ones(1, 7, 5, 1, dtype=torch.bool), 2).squeeze(-1)
    assert torch.equal(mask, real[:, None, :] | ~real[:, :, None])
    assert mask.any(dim=-1).all(), "every query row keeps at least one key"


# ---------------------------------------------------------------- the adapter on a tiny CLIP


@pytest.fixture(scope="module")
def tiny():
    return build_backbone(BackboneConfig(name="rsbench-tiny"))


def fresh(backbone):
    """The same weights in a new model, so that each adapter freezes and injects into its own copy."""
    return dataclasses.replace(backbone, model=copy.deepcopy(backbone.model))


def inputs(backbone, batch: int = 2):
    g = torch.Generator().manual_seed(0)
    images = torch.randn(batch, 3, backbone.image_size, backbone.image_size, generator=g)
    tokens = backbone.tokenizer(["a bridge across a river", "a pool among trees"][:batch])
    return images, tokens


@pytest.mark.parametrize("hidden_dim", [128, 192, 256])
@pytest.mark.parametrize("focus_field", [1, 2, 7])  # 7 does not divide rsbench-tiny's 8x8 grid: padded
def test_table5_settings_build_and_train(tiny, hidden_dim, focus_field):
    # The text tower's LoRA does not depend on these settings; the tests below cover it.
    adapter = build(FocusVisualConfig(hidden_dim=hidden_dim, focus_field=focus_field), fresh(tiny))
    assert adapter.side_branch.blocks[0].focus.heads == hidden_dim // 32  # Table 5: 4, 6, 8 heads
    assert len(adapter.side_branch.blocks) == len(tiny.visual_blocks)
    adapter.train()
    nn.init.normal_(adapter.up.weight, std=0.02)  # a zero W_up would stop every gradient before the branch
    image_emb = adapter.encode_image(inputs(tiny)[0])
    (image_emb @ torch.randn(tiny.embed_dim, 3)).logsumexp(dim=1).sum().backward()
    grads = [p.grad for p in adapter.trainable_parameters()]
    assert grads and all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("fusion", ["add", "gate"])
@pytest.mark.parametrize("factory", [FocusConfig, FocusVisualConfig])
def test_an_untrained_adapter_is_the_frozen_model(tiny, fusion, factory):
    backbone = fresh(tiny)
    model = copy.deepcopy(backbone.model).eval().requires_grad_(False)
    adapter = build(factory(fusion=fusion), backbone).train()
    images, tokens = inputs(tiny)
    with torch.no_grad():
        expected_image, expected_text = model.encode_image(images), model.encode_text(tokens)
    torch.testing.assert_close(adapter.encode_image(images), expected_image, rtol=0, atol=0)
    # LoRA's parametrized weights keep nn.MultiheadAttention off its fused path: equal up to rounding
    torch.testing.assert_close(adapter.encode_text(tokens), expected_text, rtol=1e-5, atol=1e-5)


def test_only_the_side_branch_and_text_lora_train_and_receive_gradients(tiny):
    adapter = build(FocusConfig(fusion="gate"), fresh(tiny))
    trainable = {n for n, p in adapter.named_parameters() if p.requires_grad}
    side = {n for n in trainable if n.startswith(("side_branch.", "up.")) or n == "gate"}
    lora = {n for n in trainable if "lora_" in n}
    assert side and lora and trainable == side | lora
    assert all(".transformer." in n and "visual" not in n for n in lora), "LoRA belongs to the text tower only"
    with torch.no_grad():
        adapter.gate.fill_(0.5)
        for n, p in adapter.named_parameters():
            if "lora_B" in n:
                p.normal_(std=0.02)  # LoRA's zero B would stop the gradient of A
    adapter.train()
    images, tokens = inputs(tiny)
    (adapter.encode_image(images) @ adapter.encode_text(tokens).T).logsumexp(dim=1).sum().backward()
    for n, p in adapter.named_parameters():
        if n in trainable:
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{n} got no gradient"
        else:
            assert p.grad is None, f"frozen {n} got a gradient"


def test_no_graph_runs_through_the_frozen_image_tower(tiny):
    adapter = build(FocusVisualConfig(), fresh(tiny))
    visual = list(adapter.model.visual.parameters())
    for p in visual:
        p.requires_grad_(True)  # even if someone unfroze it, the tower runs under no_grad
    nn.init.normal_(adapter.up.weight, std=0.02)
    images, tokens = inputs(tiny)
    adapter.encode_image(images).sum().backward()
    assert all(p.grad is None for p in visual)
    assert adapter.side_branch.down.weight.grad is not None
    assert not adapter.encode_text(tokens).requires_grad, "a frozen text tower runs under no_grad"


def test_train_mode_leaves_the_frozen_towers_in_eval(tiny):
    lora = build(FocusConfig(), fresh(tiny)).train()
    assert lora.side_branch.training and lora.up.training
    assert not any(m.training for m in lora.model.visual.modules())
    assert lora.model.transformer.training, "the LoRA text tower trains"
    frozen = build(FocusVisualConfig(), fresh(tiny)).train()
    assert frozen.side_branch.training and not any(m.training for m in frozen.model.modules())
    assert not any(m.training for m in frozen.eval().modules())


def test_blocks_choose_which_outputs_feed_the_side_branch(tiny, monkeypatch):
    adapter = build(FocusVisualConfig(blocks=[-1, 1]), fresh(tiny))
    assert adapter.block_indices == [1, 3] and len(adapter.side_branch.blocks) == 2
    captured = []
    original = adapter.backbone.capture_blocks

    def spy(tower, indices):
        captured.append((tower, list(indices)))
        return original(tower, indices)

    monkeypatch.setattr(adapter.backbone, "capture_blocks", spy)
    adapter.encode_image(inputs(tiny)[0])
    assert captured == [("visual", [1, 3])]
    with pytest.raises(ConfigError, match="block 4 does not exist"):
        build(FocusVisualConfig(blocks=[4]), fresh(tiny))
    with pytest.raises(ConfigError, match="twice"):
        build(FocusVisualConfig(blocks=[1, -3]), fresh(tiny))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hidden_dim": 100}, "multiple of the head width 32"),
        ({"hidden_dim": 192, "heads": 5}, "does not divide"),
        ({"focus_field": 0}, "focus_field must be >= 1; got 0"),
        ({"blocks": []}, "blocks must not be empty"),
        ({"text": "bitfit"}, "text must be"),
        ({"text_lora_alpha": 0}, "text_lora_alpha must be > 0"),
    ],
)
def test_config_rejects_bad_values(options, message):
    with pytest.raises(ConfigError, match=message):
        FocusConfig(**options)


# ---------------------------------------------------------------- CMER's claims


def meta_backbone(name: str):
    """An open_clip architecture on the meta device: shapes and counts without memory or time."""
    import open_clip

    from rsbench.models.backbones.open_clip_backbone import Backbone

    with torch.device("meta"):
        model = open_clip.CLIP(**open_clip.get_model_config(name))
    return Backbone(model, None, None, None, name, None)


@pytest.mark.parametrize(
    ("name", "side", "total"),
    [("ViT-B-32", 1_145_408, 2_718_272), ("ViT-B-16", 1_145_408, 2_718_272), ("ViT-L-14", 2_142_528, 4_501_824)],
)
def test_defaults_train_cmer_table1_parameter_counts(name, side, total):
    # CMER Table 1: 2.72 M (ViT-B/32, ViT-B/16) and 4.50 M (ViT-L/14), text-tower LoRA r16 included.
    with torch.device("meta"):
        visual_only = build(FocusVisualConfig(), meta_backbone(name))
        cmer = build(FocusConfig(), meta_backbone(name))
    assert count_parameters(visual_only)[0] == side
    assert count_parameters(cmer)[0] == total
    assert round(total / 1e6, 2) == {"ViT-L-14": 4.50}.get(name, 2.72)


def test_side_branch_keeps_at_most_half_the_bytes_for_backward_of_the_baselines():
    # The acceptance test on a ViT-B/16-shaped image tower (width 768, 224 px, patch 16, 2 blocks).
    from rsbench.models.adapters.clip_adapter import ClipAdapter
    from rsbench.models.adapters.config import ClipAdapterConfig, FullConfig
    from rsbench.models.adapters.full import FullFineTune
    from rsbench.models.adapters.lora.config import LoraConfig
    from rsbench.models.adapters.lora.model import LoraAdapter

    backbone = build_backbone(BackboneConfig(name="rsbench-tiny-vit16"))
    images = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))

    def image_bytes(adapter) -> int:
        adapter.train()
        return saved_for_backward_bytes(adapter, lambda: adapter.encode_image(images))

    # One model for all, measured in turn: each adapter sets requires_grad as it needs; LoRA, which
    # changes the blocks, comes last.
    focus = image_bytes(FocusAdapter(FocusVisualConfig(), backbone))
    baselines = {
        "CLIP-Adapter, full backprop": image_bytes(
            ClipAdapter(ClipAdapterConfig(towers="visual", backprop_through_backbone=True), backbone)
        ),
        "full fine-tune": image_bytes(FullFineTune(FullConfig(), backbone)),
        "CLIP-LoRA": image_bytes(LoraAdapter(LoraConfig(towers="visual"), backbone)),
    }
    # The side branch needs the 2 captured block outputs (1×197×768 floats each) for W_down's gradient.
    assert focus >= 2 * 197 * 768 * 4
    for name, baseline in baselines.items():
        assert focus <= baseline / 2, f"Focus-Adapter saves {focus} bytes, {name} {baseline}"
