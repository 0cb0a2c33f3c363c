"""The feature cache of frozen image towers (``train.cache_features``): from the second epoch the tower does not
run, and training is what it is without the cache (within fp16 rounding); where the cache cannot apply, the
plan says why."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console

from rsbench.config import TrainConfig, build_config
from rsbench.data.record import Record
from rsbench.engine import build
from rsbench.hooks import get_registry
from rsbench.train.feature_cache import plan
from rsbench.train.pairs import TrainPairs
from rsbench.train.trainer import train, trainable_state

SCENES = ("airport", "harbor", "meadow")
CACHED = ["clip-adapter", "focus", "focus-visual", "linear-probe"]  # the adapters whose frozen tower it caches


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> list[Record]:
    """Ten small PNGs: with batches of four, two images are left out of each epoch (``drop_last``)."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    out = []
    for i in range(10):
        path = folder / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(path)
        scene = SCENES[i % 3]
        out.append(Record(path, f"{i}.png", (f"a {scene} number {i}", f"the {scene} seen from above"), scene,
                          "train"))
    return out


def parts(adapter: str = "focus", loss: str = "infonce"):
    cfg = build_config(None, {"device": "cpu", "adapter": {"name": adapter}, "loss": {"name": loss}})
    torch.manual_seed(0)
    backbone = build(cfg, "backbone")
    model = build(cfg, "adapter", backbone)
    return model, build(cfg, "sampler", build(cfg, "loss")), backbone


def train_twice(records, cached: bool, adapter: str):
    """Two epochs; the tower's forward calls in each epoch, the final weights and the loss of the last step."""
    model, sampler, backbone = parts(adapter)
    pairs = TrainPairs(records, backbone.preprocess_eval, lambda caption, record, rng: caption, SCENES, seed=0)
    cache = None
    if cached:
        chosen = plan(model, sampler, backbone.preprocess_eval, records, "test-data", lambda: pairs.image(0))
        assert chosen.used, chosen.reason
        cache = chosen.cache
    calls, per_epoch = [0], []
    model.model.visual.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))

    def validate():  # called after each epoch: count that epoch's tower calls
        per_epoch.append(calls[0] - sum(per_epoch))
        return {"mR": 0.0}

    config = TrainConfig(epochs=2, batch_size=4, lr=1e-3, warmup_ratio=0.0)
    outcome, _, _ = train(model, sampler, pairs, backbone.tokenizer, config, torch.device("cpu"), validate,
                          Console(file=io.StringIO()), seed=0, feature_cache=cache)
    return per_epoch, trainable_state(model), outcome.final_loss, cache


def test_the_cache_applies_to_exactly_the_adapters_tested_with_it(records):
    """A new adapter that offers frozen_image_features joins CACHED, and so the training test below."""
    used = set()
    for name in get_registry("adapter").names():
        model, sampler, backbone = parts(name)
        chosen = plan(model, sampler, backbone.preprocess_eval, records, "test-data", lambda: torch.zeros(1))
        assert chosen.used or chosen.reason, name  # where it cannot apply, the plan says why
        used |= {name} if chosen.used else set()
    assert used == set(CACHED)


@pytest.mark.parametrize("adapter", CACHED)
def test_from_the_second_epoch_the_tower_is_skipped_and_training_is_unchanged(records, tmp_path, monkeypatch,
                                                                             adapter):
    # the contract tests (rsbench.testing.check_adapter) also check, for every adapter that offers it, that
    # encode_image_from_features(frozen_image_features(x)) equals encode_image(x)
    monkeypatch.setenv("RSBENCH_CACHE", str(tmp_path))
    plain_calls, plain_weights, plain_loss, _ = train_twice(records, cached=False, adapter=adapter)
    calls, weights, loss, cache = train_twice(records, cached=True, adapter=adapter)
    assert plain_calls[1] > 0  # the counter sees the tower when it runs
    assert calls[0] > 0 and calls[1] == 0, calls
    assert cache.complete() and str(cache.folder).startswith(str(tmp_path))
    assert {a.dtype for a in cache.arrays.values()} == {np.dtype(np.float16)}
    assert loss == pytest.approx(plain_loss, rel=2e-3)
    for name, value in plain_weights.items():
        torch.testing.assert_close(weights[name], value, rtol=1e-3, atol=2e-4, msg=lambda m, n=name: f"{n}: {m}")
    # A second run of the same setting finds the cache full and never runs the tower.
    again, _, _, _ = train_twice(records, cached=True, adapter=adapter)
    assert again == [0, 0]


@pytest.mark.parametrize(("adapter", "loss", "transform", "says"), [
    ("clip-lora", "infonce", "eval", "image tower trains"),
    ("full", "infonce", "eval", "image tower trains"),
    ("clip-bitfit", "infonce", "eval", "image tower trains"),
    ("focus", "infonce", "train", "RandomResizedCrop"),
    ("focus", "multi-granular", "eval", "patch tokens"),
])
def test_where_the_cache_cannot_apply_the_plan_says_why(records, adapter, loss, transform, says):
    model, sampler, backbone = parts(adapter, loss)
    chosen_transform = backbone.preprocess_eval if transform == "eval" else backbone.preprocess_train
    chosen = plan(model, sampler, chosen_transform, records, "test-data", lambda: torch.zeros(1))
    assert not chosen.used and chosen.cache is None
    assert says in chosen.reason
    assert chosen.describe() == {"used": False, "reason": chosen.reason}
