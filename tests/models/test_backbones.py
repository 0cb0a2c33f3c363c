"""Backbones: building open_clip CLIPs, hooking their blocks, and loading checkpoints of every kind offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rsbench.errors import ConfigError, RsbenchError, UnknownComponentError
from rsbench.models.backbones import (
    BackboneConfig,
    build_backbone,
    builtin_model_names,
    is_backbone_name,
    known_model_names,
    named_factory,
)
from rsbench.models.backbones.checkpoints import read_checkpoint, release_quick_gelu, save_checkpoint
from rsbench.models.backbones.open_clip_backbone import resolve_quick_gelu

TINY_GRID = 64 // 8


def embeddings(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Image and text embeddings of fixed inputs: equal exactly when weights and activation are equal."""
    gen = torch.Generator().manual_seed(1)
    size = model.visual.image_size
    size = size if isinstance(size, int) else size[0]
    images = torch.randn(3, 3, size, size, generator=gen)
    tokens = torch.randint(1, 49000, (3, model.context_length), generator=gen)
    model.eval()
    with torch.no_grad():
        return model.encode_image(images), model.encode_text(tokens)


def assert_same_outputs(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for x, y in zip(embeddings(a), embeddings(b), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_backbone(BackboneConfig())


@pytest.fixture(scope="module")
def tiny_quick_gelu():
    torch.manual_seed(1)
    return build_backbone(BackboneConfig(force_quick_gelu=True))


# --- config -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"precision": "fp8"}, "precision"),
        ({"image_size": 0}, "image_size"),
        ({"image_size": True}, "image_size"),
        ({"name": " "}, "name"),
        ({"pretrained": ""}, "pretrained"),
        ({"name": "hf-hub:org/repo", "pretrained": "openai"}, "brings its own weights"),
        ({"pretrained": "weights/model.npz"}, ".npz"),
        ({"force_quick_gelu": "yes"}, "force_quick_gelu"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        BackboneConfig(**kwargs)


def test_config_package_is_light():
    code = (
        "import sys, rsbench.models.backbones as b; b.BackboneConfig('ViT-B/32', pretrained='x.pt');"
        "assert 'torch' not in sys.modules and 'open_clip' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_known_names():
    assert builtin_model_names() == ["rsbench-tiny", "rsbench-tiny-vit16"]
    names = known_model_names()
    assert names[:2] == builtin_model_names() and "ViT-B-32" in names and "RN50" in names
    assert is_backbone_name("ViT-B/32") and is_backbone_name("hf-hub:org/repo") and is_backbone_name("rsbench-tiny")
    assert not is_backbone_name("ViT-B-33") and not is_backbone_name("hf-hub:")


# --- building and hooking -----------------------------------------------------------------------------


def test_tiny_encodes_with_expected_shapes(tiny):
    from PIL import Image

    assert (tiny.name, tiny.image_size, tiny.embed_dim, tiny.context_length) == ("rsbench-tiny", 64, 128, 32)
    assert (tiny.width_visual, tiny.width_text, len(tiny.visual_blocks), len(tiny.text_blocks)) == (128, 64, 4, 4)
    assert tiny.visual_blocks[0] is tiny.model.visual.transformer.resblocks[0]
    assert tiny.text_blocks[-1] is tiny.model.transformer.resblocks[-1]
    photo = Image.new("RGB", (120, 90), (40, 120, 60))
    images = torch.stack([tiny.preprocess_eval(photo), tiny.preprocess_train(photo)])
    assert images.shape == (2, 3, 64, 64)
    tokens = tiny.tokenizer(["a runway next to the terminal", "dense residential area", "a river"])
    assert tokens.shape == (3, 32) and tokens.dtype == torch.long
    with torch.no_grad():
        assert tiny.model.encode_image(images).shape == (2, 128)
        assert tiny.model.encode_text(tokens).shape == (3, 128)
    assert tiny.info() == {"name": "rsbench-tiny", "pretrained": None, "precision": "fp32", "quick_gelu": False,
                           "image_size": 64, "embed_dim": 128}


def test_capture_blocks_returns_block_outputs_and_removes_hooks(tiny):
    images, tokens = torch.randn(2, 3, 64, 64), tiny.tokenizer(["a bridge", "a port", "a forest"])
    with torch.no_grad(), tiny.capture_blocks("visual", [0, -1]) as visual, tiny.capture_blocks("text") as text:
        image_emb = tiny.model.encode_image(images)
        tiny.model.encode_text(tokens)
    assert sorted(visual) == [-1, 0] and sorted(text) == [0, 1, 2, 3]
    assert all(v.shape == (2, 1 + TINY_GRID**2, 128) for v in visual.values())
    assert all(t.shape == (3, 32, 64) for t in text.values())
    # the last block's CLS token, through ln_post and proj, is the image embedding
    visual_tower = tiny.model.visual
    with torch.no_grad():
        torch.testing.assert_close(visual_tower.ln_post(visual[-1][:, 0]) @ visual_tower.proj, image_emb)
    blocks = tiny.visual_blocks + tiny.text_blocks
    assert all(not block._forward_hooks for block in blocks)


def test_capture_blocks_removes_hooks_when_the_body_raises(tiny):
    with pytest.raises(ValueError), tiny.capture_blocks("text", 1):
        assert tiny.text_blocks[1]._forward_hooks
        raise ValueError("boom")
    assert not tiny.text_blocks[1]._forward_hooks


@pytest.mark.parametrize("tower, indices, message", [("visual", [4], "block 4"), ("audio", None, "tower")])
def test_capture_blocks_rejects_bad_requests(tiny, tower, indices, message):
    with pytest.raises(RsbenchError, match=message), tiny.capture_blocks(tower, indices):
        pass
    assert all(not block._forward_hooks for block in tiny.visual_blocks)


def test_vit16_shaped_model_via_named_factory():
    backbone = named_factory("rsbench-tiny-vit16")(BackboneConfig())  # the config's own name is replaced
    assert (backbone.name, backbone.image_size, backbone.embed_dim, backbone.width_visual) == (
        "rsbench-tiny-vit16", 224, 512, 768)
    with torch.no_grad(), backbone.capture_blocks("visual", -1) as out:
        backbone.model.encode_image(torch.randn(1, 3, 224, 224))
    assert out[-1].shape == (1, 1 + 14**2, 768)


def test_paper_vit_b_32_builds():
    backbone = build_backbone(BackboneConfig("ViT-B/32"))
    assert (backbone.name, backbone.embed_dim, backbone.width_visual, backbone.width_text) == (
        "ViT-B-32", 512, 768, 512)
    assert (len(backbone.visual_blocks), len(backbone.text_blocks), backbone.context_length) == (12, 12, 77)


@pytest.mark.slow
def test_paper_vit_l_14_builds():
    backbone = build_backbone(BackboneConfig("ViT-L-14"))
    assert (backbone.embed_dim, backbone.width_visual, len(backbone.visual_blocks)) == (768, 1024, 24)


def test_resnet_backbone_has_no_visual_blocks():
    backbone = build_backbone(BackboneConfig("RN50"))
    assert backbone.visual_blocks == [] and len(backbone.text_blocks) == 12 and backbone.width_visual == 2048
    with pytest.raises(RsbenchError, match="no open_clip transformer blocks"), backbone.capture_blocks("visual"):
        pass


@pytest.mark.parametrize("name, suggestion", [("ViT-B-33", "ViT-B-32"), ("vit-b-32", "ViT-B-32"),
                                              ("rsbench-tine", "rsbench-tiny")])
def test_unknown_name_suggests_close_ones(name, suggestion):
    with pytest.raises(UnknownComponentError, match=suggestion):
        build_backbone(BackboneConfig(name))


# --- local checkpoints --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".pt", ".bin", ".safetensors"])
def test_plain_state_dict_round_trip(tiny, tmp_path, suffix):
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(tiny.model.state_dict(), str(path))
    else:
        torch.save(tiny.model.state_dict(), path)
    loaded = build_backbone(BackboneConfig(pretrained=str(path)))
    assert loaded.pretrained == str(path) and not loaded.quick_gelu
    assert_same_outputs(tiny.model, loaded.model)


def test_nested_training_checkpoint_is_unwrapped(tiny, tmp_path):
    path = tmp_path / "epoch_3.pt"
    wrapped = {f"module.{k}": v for k, v in tiny.model.state_dict().items()}  # DistributedDataParallel keys
    torch.save({"epoch": 3, "name": "run", "state_dict": wrapped, "optimizer": {"state": {}}}, path)
    assert_same_outputs(tiny.model, build_backbone(BackboneConfig(pretrained=str(path))).model)


def test_checkpoint_of_another_architecture_names_keys_and_the_fitting_one(tiny, tmp_path):
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(tiny.model, path)
    with pytest.raises(RsbenchError) as info:
        build_backbone(BackboneConfig("rsbench-tiny-vit16", pretrained=str(path)))
    message = str(info.value)
    assert "does not fit architecture 'rsbench-tiny-vit16'" in message
    assert "unexpected keys (transformer.resblocks.2.attn.in_proj_bias" in message  # vit16 has 2 blocks, not 4
    assert "visual.positional_embedding: file (65, 128) vs model (197, 768)" in message
    assert "fit: rsbench-tiny;" in message


def test_missing_and_unexpected_keys_are_listed(tiny, tmp_path):
    state = dict(tiny.model.state_dict())
    del state["ln_final.weight"]
    state["adapter.up.weight"] = torch.zeros(2, 2)
    path = tmp_path / "edited.pt"
    torch.save(state, path)
    with pytest.raises(RsbenchError, match=r"1 missing keys \(ln_final.weight\); 1 unexpected keys \(adapter.up"):
        build_backbone(BackboneConfig(pretrained=str(path)))


def test_image_size_override_interpolates_position_embeddings(tiny, tmp_path):
    path = save_checkpoint(tiny.model, tmp_path / "tiny.pt")
    backbone = build_backbone(BackboneConfig(pretrained=str(path), image_size=96))
    assert backbone.image_size == 96
    torch.testing.assert_close(backbone.model.visual.conv1.weight, tiny.model.visual.conv1.weight)
    with torch.no_grad(), backbone.capture_blocks("visual", 0) as out:
        backbone.model.encode_image(torch.randn(1, 3, 96, 96))
    assert out[0].shape == (1, 1 + 12**2, 128)


def test_bf16_weights_keep_layer_norms_in_fp32(tiny, tmp_path):
    path = save_checkpoint(tiny.model, tmp_path / "tiny.safetensors")
    low = build_backbone(BackboneConfig(pretrained=str(path), precision="bf16")).model
    assert (low.visual.conv1.weight.dtype, low.visual.ln_pre.weight.dtype) == (torch.bfloat16, torch.float32)
    torch.testing.assert_close(low.visual.conv1.weight, tiny.model.visual.conv1.weight.bfloat16(), rtol=0, atol=0)


class _RunsCodeWhenUnpickled:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_objects_are_refused_without_running_them(tiny, tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "suspicious.pt"
    torch.save({"state_dict": tiny.model.state_dict(), "extra": _RunsCodeWhenUnpickled(marker)}, path)
    with pytest.raises(RsbenchError, match=r"not a safe tensor file: it holds Python objects") as info:
        build_backbone(BackboneConfig(pretrained=str(path)))
    assert "weights_only=False" not in str(info.value) and ".safetensors" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "not found"),
        (lambda p: p.mkdir() or p, "local-dir:"),
        (lambda p: p.write_bytes(b"not a checkpoint") and p, "weights.pt is not a safe tensor file: it is not a PyT"),
    ],
    ids=["missing", "folder", "garbage"],
)
def test_unreadable_checkpoint_paths(tmp_path, make, message):
    path = make(tmp_path / "weights.pt")
    with pytest.raises(RsbenchError, match=message):
        build_backbone(BackboneConfig(pretrained=str(path)))


# --- QuickGELU --------------------------------------------------------------------------------------


def test_openai_layout_state_dict_builds_quick_gelu(tiny_quick_gelu, tmp_path):
    half = {k: v.half() for k, v in tiny_quick_gelu.model.state_dict().items()}  # OpenAI ships fp16 weights
    path = tmp_path / "ViT-tiny.pt"
    torch.save({**half, "input_resolution": torch.tensor(64), "context_length": torch.tensor(32),
                "vocab_size": torch.tensor(49408)}, path)
    inferred = build_backbone(BackboneConfig(pretrained=str(path)))
    assert inferred.quick_gelu and "OpenAI" in inferred.quick_gelu_reason
    reference = build_backbone(BackboneConfig(force_quick_gelu=True))
    reference.model.load_state_dict({k: v.float() for k, v in half.items()})
    assert_same_outputs(reference.model, inferred.model)
    as_gelu = build_backbone(BackboneConfig(pretrained=str(path), force_quick_gelu=False))
    assert not as_gelu.quick_gelu
    assert not torch.allclose(embeddings(as_gelu.model)[0], embeddings(inferred.model)[0], atol=1e-3)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:.*torch.jit.trace:FutureWarning")
def test_openai_torchscript_archive_loads_as_quick_gelu(tiny_quick_gelu, tmp_path):
    model = tiny_quick_gelu.model.eval()
    example = (torch.zeros(1, 3, 64, 64), torch.zeros(1, 32, dtype=torch.long))
    traced = torch.jit.trace_module(
        model, {"encode_image": example[:1], "encode_text": example[1:]}, check_trace=False
    )
    path = tmp_path / "ViT-tiny-openai.pt"
    traced.save(str(path))
    assert read_checkpoint(path).layout == "openai"
    loaded = build_backbone(BackboneConfig(pretrained=str(path)))
    assert loaded.quick_gelu
    assert_same_outputs(model, loaded.model)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_quick_gelu_flag_stored_by_rsbench_is_used(tiny_quick_gelu, tmp_path, suffix):
    path = save_checkpoint(tiny_quick_gelu.model, tmp_path / f"best{suffix}", quick_gelu=True, architecture="x")
    checkpoint = read_checkpoint(path)
    assert (checkpoint.quick_gelu, checkpoint.architecture, checkpoint.layout) == (True, "x", "open_clip")
    inferred = build_backbone(BackboneConfig(pretrained=str(path)))
    assert inferred.quick_gelu and "stores quick_gelu=True" in inferred.quick_gelu_reason
    assert_same_outputs(tiny_quick_gelu.model, inferred.model)
    as_gelu = build_backbone(BackboneConfig(pretrained=str(path), force_quick_gelu=False))
    assert not as_gelu.quick_gelu
    assert not torch.allclose(embeddings(as_gelu.model)[0], embeddings(inferred.model)[0], atol=1e-3)


def test_known_releases_by_file_name(tiny_quick_gelu, tmp_path):
    assert release_quick_gelu(Path("RemoteCLIP-ViT-L-14.pt"))[0] is True
    assert release_quick_gelu(Path("RS5M_ViT-B-32.pt"))[0] is True
    assert release_quick_gelu(Path("RS5M_ViT-H-14.pt"))[0] is False
    assert release_quick_gelu(Path("epoch_10.pt")) is None
    path = tmp_path / "RemoteCLIP-rsbench-tiny.pt"
    torch.save(tiny_quick_gelu.model.state_dict(), path)  # RemoteCLIP files are plain state dicts
    loaded = build_backbone(BackboneConfig(pretrained=str(path)))
    assert loaded.quick_gelu and "RemoteCLIP" in loaded.quick_gelu_reason
    assert_same_outputs(tiny_quick_gelu.model, loaded.model)


def test_quick_gelu_rule_order(tiny_quick_gelu, tmp_path):
    path = save_checkpoint(tiny_quick_gelu.model, tmp_path / "RS5M_ViT-H-14.pt", quick_gelu=True)
    flagged, plain_release = read_checkpoint(path), read_checkpoint(path)
    plain_release.quick_gelu = None
    cfg, forced = BackboneConfig(), BackboneConfig(force_quick_gelu=False)
    # an explicit setting beats everything; then a -quickgelu name, a tag, the file's flag, its layout, its name
    assert resolve_quick_gelu(forced, "ViT-B-32-quickgelu", True, {}, flagged)[0] is False
    assert resolve_quick_gelu(cfg, "ViT-B-32-quickgelu", True, {"quick_gelu": False}, None)[0] is True
    assert resolve_quick_gelu(cfg, "ViT-B-32", False, {"quick_gelu": True}, None)[0] is True
    assert resolve_quick_gelu(cfg, "ViT-B-32", False, {}, None)[0] is False
    assert resolve_quick_gelu(cfg, "ViT-H-14", False, None, flagged)[0] is True
    assert resolve_quick_gelu(cfg, "ViT-H-14", False, None, plain_release) == release_quick_gelu(path)
    assert resolve_quick_gelu(cfg, "ViT-H-14", False, None, None) == (False, "the default of 'ViT-H-14' (GELU)")


# --- pretrained tags and hub names (open_clip's real code paths, network replaced) -------------------------


def test_pretrained_tag_goes_through_open_clip_download(tiny_quick_gelu, tmp_path, monkeypatch):
    import open_clip.pretrained

    from rsbench.models.backbones import hub

    path = save_checkpoint(tiny_quick_gelu.model, tmp_path / "open_clip_model.safetensors")
    tag_cfg = {"hf_hub": "org/tiny/", "quick_gelu": True, "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}
    calls = []
    monkeypatch.setattr(open_clip.pretrained, "get_pretrained_cfg",
                        lambda name, tag: tag_cfg if (name, tag) == ("rsbench-tiny", "rs_tag") else {})

    def download(cfg, cache_dir=None):
        calls.append((cfg, cache_dir))
        return str(path)

    monkeypatch.setattr(open_clip.pretrained, "download_pretrained", download)
    monkeypatch.setattr(hub, "reachable", lambda url, timeout=None: None)  # the host answers
    backbone = build_backbone(BackboneConfig(pretrained="rs_tag", cache_dir=str(tmp_path)))
    assert calls == [(tag_cfg, str(tmp_path))]
    assert backbone.quick_gelu and "pretrained table" in backbone.quick_gelu_reason
    assert_same_outputs(tiny_quick_gelu.model, backbone.model)
    normalize = backbone.preprocess_eval.transforms[-1]
    assert tuple(normalize.mean) == (0.5, 0.5, 0.5) and tuple(normalize.std) == (0.25, 0.25, 0.25)


def test_pretrained_tag_offline_says_what_to_do(monkeypatch, tmp_path):
    import open_clip.pretrained

    from rsbench.models.backbones import hub

    def no_network(cfg, cache_dir=None):
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(open_clip.pretrained, "download_pretrained", no_network)
    monkeypatch.setattr(hub, "reachable", lambda url, timeout=None: None)  # it answers, then the download fails
    with pytest.raises(RsbenchError, match=r"ViT-B-32 / openai.*Network is unreachable.*no network.*pass its path"):
        build_backbone(BackboneConfig("ViT-B-32", pretrained="openai", cache_dir=str(tmp_path)))


@pytest.mark.parametrize(
    "name, tag, message",
    [("ViT-B-32", "opneai", "Did you mean: openai"), ("rsbench-tiny", "laion2b", "no pretrained weights for")],
)
def test_unknown_pretrained_tag(name, tag, message):
    with pytest.raises(ConfigError, match=message):
        build_backbone(BackboneConfig(name, pretrained=tag))


def test_hf_hub_offline_says_what_to_do(monkeypatch):
    import open_clip.factory

    def no_network(*args, **kwargs):
        raise FileNotFoundError("Failed to download file (open_clip_config.json): offline")

    monkeypatch.setattr(open_clip.factory, "download_pretrained_from_hf", no_network)
    with pytest.raises(RsbenchError, match=r"Hugging Face Hub.*no network.*local-dir:DIR"):
        build_backbone(BackboneConfig("hf-hub:chendelong/RemoteCLIP-tiny"))


def test_local_dir_in_hub_layout_loads_offline(tiny, tmp_path):
    model_cfg = json.loads((Path(__file__).parents[2] / "rsbench/models/backbones/model_configs/rsbench-tiny.json")
                           .read_text())
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg, "preprocess_cfg": {}}))
    save_checkpoint(tiny.model, tmp_path / "open_clip_model.safetensors")
    backbone = build_backbone(BackboneConfig(f"local-dir:{tmp_path}"))
    assert backbone.tokenizer(["a lake"]).shape == (1, 32)
    assert_same_outputs(tiny.model, backbone.model)
