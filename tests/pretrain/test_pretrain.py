"""`rsbench pretrain`: weights and model card that load back as written, resume, and the shipped default."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from rsbench.config import build_config
from rsbench.models.backbones.config import SHIPPED_WEIGHTS_DIR, BackboneConfig, shipped_weights
from rsbench.models.backbones.open_clip_backbone import build_backbone
from rsbench.pretrain import pretrain as pretrain_module
from rsbench.pretrain.pretrain import MAX_WEIGHTS_BYTES, pretrain, zero_shot_metrics
from rsbench.pretrain.recipe import CARD_FILE, CARD_JSON, PRETRAIN_DEFAULTS, WEIGHTS_FILE, pretrain_layer
from rsbench.train import pairs as pairs_module

TINY_CORPUS = ["dataset.num_images=40", "dataset.overhead_tiles=8", "dataset.image_size=32", "train.batch_size=8",
               "train.epochs=2", "device=cpu"]
TINY_SYNTHRS = {"name": "synthrs", "num_images": 51, "image_size": 32}


def sha256(path) -> str:
    """The file's digest computed here, independently of rsbench's own ``file_sha256``."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tiny_pretrain_config(out_dir, *extra):
    return build_config(None, pretrain_layer(str(out_dir)), [*TINY_CORPUS, *extra])


def test_pretrain_writes_weights_and_card_that_load_back(tmp_path, quiet_console, training_calls):
    cfg = tiny_pretrain_config(tmp_path, "train.max_steps=3")
    card = pretrain(cfg, tmp_path, quiet_console, zero_shot_dataset=TINY_SYNTHRS)
    # Pretraining trains: every weight of the model moved from its random initialisation (`full` trains them
    # all, the logit scale included).
    (trained,) = training_calls
    assert len(trained.before) == len(list(build_backbone(BackboneConfig(name="rsbench-tiny")).model.parameters()))
    assert not trained.unchanged()
    weights = tmp_path / WEIGHTS_FILE
    assert weights.stat().st_size <= MAX_WEIGHTS_BYTES
    assert card["model"]["sha256"] == sha256(weights) and card["training"]["steps"] == 3
    assert card["training"]["final_loss"] > 0 and card["data"]["synthetic"] is True
    assert json.loads((tmp_path / CARD_JSON).read_text()) == card
    text = (tmp_path / CARD_FILE).read_text()
    assert "synthetic data only" in text and f"{card['zero_shot']['test']['mR']:.2f}" in text
    # and says where transfer stops: the zero-shot figure of `rsbench transfer` is the card's own
    assert "Where transfer stops" in text and card["transfer"]["corpus"] == "synthshapes"
    assert card["transfer"]["zero_shot_mR"] == pytest.approx(card["zero_shot"]["test"]["mR"], abs=1e-3)
    assert not list(tmp_path.glob("*.pt"))  # the checkpoint is gone once the weights are written
    backbone = build_backbone(BackboneConfig(name="rsbench-tiny", pretrained=str(weights)))
    assert all(p.dtype == torch.float32 for p in backbone.model.parameters())
    # the file holds the trained weights (to float16 precision), not the initial ones
    loaded = {f"model.{k}": v for k, v in backbone.model.state_dict().items()}
    for name, value in trained.after.items():
        torch.testing.assert_close(loaded[name], value.half().float(), rtol=0, atol=0)
    # The card's zero-shot figures are those of the file as a user loads it.
    again = zero_shot_metrics(weights, "rsbench-tiny", "cpu", quiet_console, TINY_SYNTHRS)
    assert again["test"] == card["zero_shot"]["test"]


def test_interrupted_pretraining_resumes_to_the_same_weights(tmp_path, quiet_console, monkeypatch, training_calls):
    straight = pretrain(tiny_pretrain_config(tmp_path / "a"), tmp_path / "a", quiet_console,
                        zero_shot_dataset=TINY_SYNTHRS)
    # The run to match trained: every weight moved, and two epochs lowered the loss on the first batch.
    trained = training_calls[0]
    assert not trained.unchanged() and trained.loss_after < trained.loss_before
    original = pairs_module.TrainPairs.set_epoch

    def stop_at_two(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(self, epoch)

    cfg = tiny_pretrain_config(tmp_path / "b")
    with monkeypatch.context() as m:
        m.setattr(pairs_module.TrainPairs, "set_epoch", stop_at_two)
        with pytest.raises(KeyboardInterrupt):
            pretrain(cfg, tmp_path / "b", quiet_console, zero_shot_dataset=TINY_SYNTHRS)
    assert len(list((tmp_path / "b").glob("*.pt"))) == 1 and not (tmp_path / "b" / WEIGHTS_FILE).exists()
    resumed = pretrain(cfg, tmp_path / "b", quiet_console, resume=True, zero_shot_dataset=TINY_SYNTHRS)
    assert resumed["model"]["tensors_sha256"] == straight["model"]["tensors_sha256"]
    assert resumed["zero_shot"]["test"] == straight["zero_shot"]["test"]


def test_oversized_weights_are_refused_and_removed(tmp_path, monkeypatch, quiet_console):
    monkeypatch.setattr(pretrain_module, "MAX_WEIGHTS_BYTES", 1000)
    model = build_backbone(BackboneConfig(name="rsbench-tiny")).model
    with pytest.raises(Exception, match="over the 0 MB"):
        pretrain_module.export_weights(model, tmp_path / WEIGHTS_FILE, "rsbench-tiny")
    assert not (tmp_path / WEIGHTS_FILE).exists()


def test_default_backbone_is_the_shipped_pretrained_tiny_model():
    cfg = build_config()
    assert (cfg.name("backbone"), cfg.options("backbone").pretrained) == ("rsbench-tiny", "synthetic")
    weights = shipped_weights("rsbench-tiny", "synthetic")
    assert weights is not None and weights.stat().st_size <= MAX_WEIGHTS_BYTES
    card = json.loads((SHIPPED_WEIGHTS_DIR / CARD_JSON).read_text())
    assert card["model"]["sha256"] == sha256(weights)
    # The shipped weights come from the recipe `rsbench pretrain` runs by default.
    recipe = build_config(None, pretrain_layer("pretrained")).to_dict()
    # resolved again, so options added since the card was written stand at their defaults (as they trained)
    shipped = build_config(None, card["training"]["recipe"]).to_dict()
    for section in ("dataset", "backbone", "adapter", "sampler", "loss", "train"):
        assert shipped[section] == recipe[section], section
    assert shipped["seed"] == PRETRAIN_DEFAULTS["seed"]
    # Naming another backbone drops the default's weights instead of loading them into the wrong model.
    assert build_config(None, {"backbone": {"name": "ViT-B-32"}}).options("backbone").pretrained is None


@pytest.mark.slow  # paints the full-size SynthRS and evaluates it twice: CI runs it with the matrix
def test_shipped_model_reproduces_its_card_zero_shot(quiet_console):
    card = json.loads((SHIPPED_WEIGHTS_DIR / CARD_JSON).read_text())
    metrics = zero_shot_metrics(shipped_weights("rsbench-tiny", "synthetic"), "rsbench-tiny", "cpu", quiet_console)
    for key, value in card["zero_shot"]["test"].items():
        assert metrics["test"][key] == pytest.approx(value, abs=0.5), key


def test_records_name_the_digest_of_the_weights_they_loaded(tmp_path):
    weights = shipped_weights("rsbench-tiny", "synthetic")
    backbone = build_backbone(BackboneConfig(name="rsbench-tiny", pretrained="synthetic"))
    assert backbone.weights_sha256 == sha256(weights)
    assert build_backbone(BackboneConfig(name="rsbench-tiny")).weights_sha256 is None
    # Other weights, another digest: the record names the file loaded, not a fixed value.
    with torch.no_grad():
        backbone.model.logit_scale += 1.0
    other = pretrain_module.export_weights(backbone.model, tmp_path / "other.safetensors", "rsbench-tiny")
    copy = build_backbone(BackboneConfig(name="rsbench-tiny", pretrained=str(other)))
    assert copy.weights_sha256 == sha256(other) != backbone.weights_sha256
