"""LoRA: every targeted weight acts as W + (alpha/r)·B·A, merges exactly, trains alone, counts as in CMER's table."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
from types import SimpleNamespace

import open_clip
import pytest
import torch
from open_clip.model import convert_weights_to_lp
from open_clip.transformer import ResidualAttentionBlock

from rsbench.errors import ConfigError, RsbenchError
from rsbench.models.adapters.lora.config import TARGETS, LoraConfig, TextLoraConfig
from rsbench.models.adapters.lora.model import (
    LoraAdapter,
    build,
    inject_lora,
    lora_factors,
    merge_lora,
    unmerge_lora,
)
from rsbench.models.backbones import BackboneConfig, build_backbone
from rsbench.models.backbones.open_clip_backbone import Backbone
from rsbench.options import build_options
from rsbench.profile.cost import count_parameters
from rsbench.train.trainer import trainable_state

WIDTH, HEADS, LENGTH = 32, 4, 7
# rank 4, alpha 8: scale 2, so a missing scale or an update applied twice (peft 0.21's out_proj) shows.
RANK, ALPHA = 4, 8.0
TARGET_SETS = [[t] for t in TARGETS] + [list(TARGETS)]


def plain_weight(block: torch.nn.Module, target: str) -> torch.Tensor:
    """The weight ``target`` names in an open_clip ResidualAttentionBlock without LoRA."""
    return {
        "in_proj": block.attn.in_proj_weight,
        "out_proj": block.attn.out_proj.weight,
        "c_fc": block.mlp.c_fc.weight,
        "c_proj": block.mlp.c_proj.weight,
    }[target]


def stored_weight(block: torch.nn.Module, target: str) -> torch.Tensor:
    """Where the adapted block keeps W itself (merge writes into it)."""
    return {
        "in_proj": lambda: block.attn.parametrizations.in_proj_weight.original,
        "out_proj": lambda: block.attn.out_proj.parametrizations.weight.original,
        "c_fc": lambda: block.mlp.c_fc.base_layer.weight,
        "c_proj": lambda: block.mlp.c_proj.base_layer.weight,
    }[target]()


def reference(plain: torch.nn.Module, factors: dict, scale: float) -> torch.nn.Module:
    """A copy of the plain block whose weights are overwritten by hand with W + scale·B·A."""
    ref = copy.deepcopy(plain)
    with torch.no_grad():
        for target, (a, b) in factors.items():
            plain_weight(ref, target).add_(scale * b @ a)
    return ref


def randomize(factors: dict) -> None:
    with torch.no_grad():
        for a, b in factors.values():
            a.normal_(0.0, 0.2)
            b.normal_(0.0, 0.2)


def block_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens and a causal float mask, as open_clip's text tower passes them."""
    x = torch.randn(3, LENGTH, WIDTH)
    mask = torch.full((LENGTH, LENGTH), float("-inf")).triu(1)
    return x, mask


def lora_block(targets: list[str], dropout: float = 0.0):
    torch.manual_seed(0)
    plain = ResidualAttentionBlock(WIDTH, HEADS)
    block = copy.deepcopy(plain)
    config = LoraConfig(rank=RANK, alpha=ALPHA, dropout=dropout, targets=targets)
    params = inject_lora([block], config)
    factors = lora_factors(block)
    randomize(factors)
    return plain, block, config, params, factors


@pytest.mark.parametrize("mode", ["train", "eval", "eval-no-grad"])
@pytest.mark.parametrize("targets", TARGET_SETS, ids="+".join)
def test_every_targeted_weight_acts_as_w_plus_scaled_ba(targets, mode):
    plain, block, config, params, factors = lora_block(targets)
    assert set(factors) == set(targets)
    assert config.scale == ALPHA / RANK
    ref = reference(plain, factors, config.scale)
    for module in (plain, block, ref):
        module.train(mode == "train")
    x, mask = block_inputs()
    with torch.set_grad_enabled(mode != "eval-no-grad"):
        out, expected, unadapted = block(x, attn_mask=mask), ref(x, attn_mask=mask), plain(x, attn_mask=mask)
    assert (expected - unadapted).abs().max() > 1e-2  # the update is large enough to be seen
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_reference_check_catches_peft_on_multihead_attention():
    """Documents peft 0.21: the same check fails on naive peft (skips once a peft release fixes it)."""
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    plain = ResidualAttentionBlock(WIDTH, HEADS).eval()
    x, mask = block_inputs()

    def naive(target_modules):
        config = peft.LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=target_modules)
        return peft.inject_adapter_in_model(config, copy.deepcopy(plain)).eval()

    def factors_of(layer):
        return layer.lora_A["default"].weight, layer.lora_B["default"].weight

    alone = naive(["out_proj"])
    factors = {"out_proj": factors_of(alone.attn.out_proj)}
    randomize(factors)
    with torch.no_grad():
        out, expected = alone(x, attn_mask=mask), reference(plain, factors, ALPHA / RANK)(x, attn_mask=mask)
        if torch.allclose(out, expected, atol=1e-5):
            pytest.skip(f"peft {peft.__version__} applies LoRA on a targeted out_proj correctly")
        # out_proj targeted alone: the update is silently ignored
        torch.testing.assert_close(out, plain(x, attn_mask=mask), atol=1e-6, rtol=0)

    whole = naive(["attn"])
    factors = {"in_proj": factors_of(whole.attn), "out_proj": factors_of(whole.attn.base_layer.out_proj)}
    randomize(factors)
    with torch.no_grad():
        out, expected = whole(x, attn_mask=mask), reference(plain, factors, ALPHA / RANK)(x, attn_mask=mask)
        if torch.allclose(out, expected, atol=1e-5):
            pytest.skip(f"peft {peft.__version__} applies LoRA on nn.MultiheadAttention correctly")
        # the whole attention targeted: the out_proj update counts twice
        (a_in, b_in), (a_out, b_out) = factors["in_proj"], factors["out_proj"]
        doubled = reference(plain, {"in_proj": (a_in, b_in), "out_proj": (a_out, 2 * b_out)}, ALPHA / RANK)
        torch.testing.assert_close(out, doubled(x, attn_mask=mask), atol=1e-5, rtol=0)


def test_merge_keeps_outputs_and_unmerge_restores_the_weights():
    plain, block, config, _, factors = lora_block(list(TARGETS))
    ref = reference(plain, factors, config.scale)
    block.eval()
    x, mask = block_inputs()
    with torch.no_grad():
        before = block(x, attn_mask=mask)
        merge_lora(block)
        merge_lora(block)  # idempotent: the update is folded in once
        for target in TARGETS:
            torch.testing.assert_close(stored_weight(block, target), plain_weight(ref, target), atol=1e-6, rtol=0)
        torch.testing.assert_close(block(x, attn_mask=mask), before, atol=1e-5, rtol=0)
        unmerge_lora(block)
        unmerge_lora(block)
        for target in TARGETS:
            torch.testing.assert_close(stored_weight(block, target), plain_weight(plain, target), atol=1e-6, rtol=0)
        torch.testing.assert_close(block(x, attn_mask=mask), before, atol=1e-5, rtol=0)


def test_dropout_is_random_in_training_and_off_in_eval():
    plain, block, config, _, factors = lora_block(list(TARGETS), dropout=0.5)
    ref = reference(plain, factors, config.scale).eval()
    x, mask = block_inputs()
    block.train()
    torch.manual_seed(1)
    first = block(x, attn_mask=mask)
    torch.manual_seed(2)
    second = block(x, attn_mask=mask)
    assert (first - second).abs().max() > 1e-3
    block.eval()
    torch.testing.assert_close(block(x, attn_mask=mask), ref(x, attn_mask=mask), atol=1e-5, rtol=0)


def test_inject_twice_or_into_other_blocks_is_refused():
    _, block, config, _, _ = lora_block(["c_fc"])
    with pytest.raises(RsbenchError, match="already carries LoRA"):
        inject_lora([block], config)
    with pytest.raises(ConfigError, match="MultiheadAttention"):
        inject_lora([torch.nn.Linear(4, 4)], LoraConfig(targets=["in_proj"]))


# --- the adapter on a backbone ---


@pytest.fixture(scope="module")
def tiny_backbone() -> Backbone:
    return build_backbone(BackboneConfig(name="rsbench-tiny"))


@pytest.fixture
def tiny(tiny_backbone) -> Backbone:
    """A fresh copy of the tiny backbone (the adapter changes its blocks in place)."""
    return dataclasses.replace(tiny_backbone, model=copy.deepcopy(tiny_backbone.model))


def batch(backbone: Backbone) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    images = torch.randn(2, 3, backbone.image_size, backbone.image_size)
    return images, backbone.tokenizer(["a harbour with boats", "dense residential area"])


def all_factors(backbone: Backbone) -> dict:
    blocks = backbone.visual_blocks + backbone.text_blocks
    return {(i, t): f for i, blk in enumerate(blocks) for t, f in lora_factors(blk).items()}


def expected_count(backbone: Backbone, rank: int, towers: str) -> int:
    # per block: in_proj r(d+3d) + out_proj r(d+d) + c_fc r(d+4d) + c_proj r(4d+d) = 16·r·d
    visual = len(backbone.visual_blocks) * 16 * rank * backbone.width_visual
    text = len(backbone.text_blocks) * 16 * rank * backbone.width_text
    return {"both": visual + text, "visual": visual, "text": text}[towers]


def test_fresh_adapter_computes_the_backbone_and_only_lora_trains(tiny):
    frozen_model = copy.deepcopy(tiny.model).eval()
    adapter = build(LoraConfig(rank=RANK), tiny).eval()
    images, tokens = batch(tiny)
    with torch.no_grad():
        # B = 0: the same function, up to float rounding
        torch.testing.assert_close(adapter.encode_image(images), frozen_model.encode_image(images), atol=1e-5, rtol=0)
        torch.testing.assert_close(adapter.encode_text(tokens), frozen_model.encode_text(tokens), atol=1e-5, rtol=0)
    trainable = {n for n, p in adapter.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert trainable == {n for n, _ in adapter.named_parameters() if "lora_" in n}
    assert count_parameters(adapter)[0] == expected_count(tiny, RANK, "both")
    for block in tiny.visual_blocks + tiny.text_blocks:
        for a, b in lora_factors(block).values():
            assert torch.count_nonzero(b) == 0
            bound = 1 / a.shape[1] ** 0.5  # kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            assert a.abs().max() <= bound and a.std() > bound / 3

    adapter.train()
    randomize(all_factors(tiny))
    loss = adapter.encode_image(images).square().mean() + adapter.encode_text(tokens).square().mean()
    loss.backward()
    for name, p in adapter.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert p.grad is None, name


@pytest.mark.parametrize("towers", ["visual", "text"])
def test_towers_option_adapts_only_that_tower(tiny, towers):
    adapter = build(LoraConfig(rank=RANK, towers=towers), tiny)
    trainable = [n for n, p in adapter.named_parameters() if p.requires_grad]
    in_visual = [n.startswith("model.visual.") for n in trainable]
    assert all(in_visual) if towers == "visual" else not any(in_visual)
    assert count_parameters(adapter)[0] == expected_count(tiny, RANK, towers)


def test_lora_defaults_to_the_text_tower_and_clip_lora_to_both():
    assert TextLoraConfig().towers == "text"
    default = LoraConfig()
    assert (default.rank, default.alpha, default.dropout, default.towers) == (16, 16.0, 0.0, "both")
    assert default.targets == ["in_proj", "out_proj", "c_fc", "c_proj"] and not default.train_logit_scale


def test_logit_scale_trains_only_when_asked(tiny, tiny_backbone):
    other = dataclasses.replace(tiny_backbone, model=copy.deepcopy(tiny_backbone.model))
    assert not build(LoraConfig(rank=RANK), tiny).model.logit_scale.requires_grad
    assert build(LoraConfig(rank=RANK, train_logit_scale=True), other).model.logit_scale.requires_grad


def test_adapter_merge_and_unmerge(tiny):
    adapter = build(LoraConfig(rank=RANK), tiny).eval()
    randomize(all_factors(tiny))
    images, tokens = batch(tiny)
    with torch.no_grad():
        before = adapter.encode_image(images), adapter.encode_text(tokens)
        base = {k: v.clone() for k, v in adapter.state_dict().items() if "lora_" not in k}
        adapter.merge()
        changed = [k for k, v in adapter.state_dict().items() if k in base and not torch.equal(v, base[k])]
        assert len(changed) == 4 * (len(tiny.visual_blocks) + len(tiny.text_blocks))
        # folding B·A into the weight reorders float32 sums: ~1e-5 apart on some draws; a wrong merge is ~1e-1
        torch.testing.assert_close(adapter.encode_image(images), before[0], atol=1e-4, rtol=0)
        torch.testing.assert_close(adapter.encode_text(tokens), before[1], atol=1e-4, rtol=0)
        adapter.unmerge()
        for key, value in adapter.state_dict().items():
            if key in base:
                torch.testing.assert_close(value, base[key], atol=1e-6, rtol=0)
        torch.testing.assert_close(adapter.encode_image(images), before[0], atol=1e-4, rtol=0)


def test_best_epoch_state_restores_into_a_fresh_adapter(tiny, tiny_backbone):
    adapter = build(LoraConfig(rank=RANK), tiny).eval()
    randomize(all_factors(tiny))
    state = trainable_state(adapter)  # what the trainer keeps of the best epoch
    fresh_backbone = dataclasses.replace(tiny_backbone, model=copy.deepcopy(tiny_backbone.model))
    fresh = build(LoraConfig(rank=RANK), fresh_backbone).eval()
    result = fresh.load_state_dict(state, strict=False)
    assert not result.unexpected_keys
    images, tokens = batch(tiny)
    with torch.no_grad():
        torch.testing.assert_close(fresh.encode_image(images), adapter.encode_image(images), atol=1e-6, rtol=0)
        torch.testing.assert_close(fresh.encode_text(tokens), adapter.encode_text(tokens), atol=1e-6, rtol=0)


def test_bf16_autocast_keeps_the_update_and_trains_the_factors():
    plain, block, config, params, factors = lora_block(list(TARGETS))
    ref = reference(plain, factors, config.scale)
    x, mask = block_inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = block(x, attn_mask=mask)
    expected, unadapted = ref(x, attn_mask=mask), plain(x, attn_mask=mask)
    error = (out.float() - expected).abs().max()
    # bf16 rounding shows (autocast was on), and stays far below the size of the update
    assert 1e-4 < error < 0.1 * (expected - unadapted).abs().max()
    out.float().square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in params)


def test_bf16_backbone_keeps_float32_factors(tiny_backbone):
    # what BackboneConfig(precision="bf16") builds: open_clip's low-precision weights, LayerNorm kept in fp32
    bf16 = dataclasses.replace(tiny_backbone, model=copy.deepcopy(tiny_backbone.model), precision="bf16")
    convert_weights_to_lp(bf16.model, dtype=torch.bfloat16)
    adapter = build(LoraConfig(rank=RANK), bf16).train()
    assert {p.dtype for p in adapter.trainable_parameters()} == {torch.float32}  # updates are not rounded away
    images, tokens = batch(bf16)
    loss = adapter.encode_image(images.bfloat16()).float().square().mean()
    loss = loss + adapter.encode_text(tokens).float().square().mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in adapter.trainable_parameters())
    with torch.no_grad():
        assert torch.isfinite(adapter.encode_text(tokens)).all()


def test_a_tower_without_open_clip_blocks_is_refused(tiny):
    resnet_like = SimpleNamespace(model=tiny.model, name="RN50-like", visual_blocks=[], text_blocks=tiny.text_blocks)
    with pytest.raises(ConfigError, match="visual tower"):
        LoraAdapter(LoraConfig(rank=RANK), resnet_like)


@pytest.mark.parametrize(("arch", "towers", "exact", "millions"), [
    # 16·r·(layers·width) per tower; r 16. ViT-B/32: visual 12×768, text 12×512; ViT-L/14: 24×1024, 12×768.
    ("ViT-B-32", "both", 3_932_160, 3.93),
    ("ViT-B-32", "visual", 2_359_296, 2.36),
    ("ViT-L-14", "both", 8_650_752, 8.65),
])
def test_clip_lora_trainable_parameters_match_cmer_table(arch, towers, exact, millions):
    # The architecture on the meta device: the same shapes as a random-init model, built in a fraction of the time.
    with torch.device("meta"):
        model = open_clip.CLIP(**open_clip.get_model_config(arch))
    backbone = Backbone(model=model, tokenizer=None, preprocess_train=None, preprocess_eval=None, name=arch,
                        pretrained=None)
    adapter = build(LoraConfig(towers=towers), backbone)
    trainable, _ = count_parameters(adapter)
    assert trainable == exact
    assert round(trainable / 1e6, 2) == millions


# --- config ---


@pytest.mark.parametrize("options", [
    {"rank": 0}, {"rank": -4}, {"rank": True}, {"rank": 2.5},
    {"alpha": 0}, {"alpha": -1.0},
    {"dropout": 1.0}, {"dropout": -0.1},
    {"towers": "image"},
    {"targets": []}, {"targets": ["q_proj"]}, {"targets": ["c_fc", "c_fc"]}, {"targets": "c_fc"},
    {"dropout": 0.1, "targets": ["in_proj", "out_proj"]},
    {"train_logit_scale": "yes"},
])
def test_config_refuses_bad_options(options):
    with pytest.raises(ConfigError):
        LoraConfig(**options)


def test_config_comes_through_the_config_system():
    config = build_options(LoraConfig, {"rank": 8, "alpha": 4, "targets": ["c_fc", "in_proj"]}, "adapter")
    assert (config.rank, config.alpha, config.scale, config.targets) == (8, 4.0, 0.5, ["c_fc", "in_proj"])
    with pytest.raises(ConfigError, match="targets"):
        build_options(LoraConfig, {"targets": ["k_proj"]}, "adapter")


def test_config_module_does_not_import_torch():
    code = "import sys, rsbench.models.adapters.lora.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
