"""Training does what it is for, for every registered adapter: overfitting one fixed tiny batch.

A few epochs of the real training loop (``rsbench.train.trainer.train``: AdamW, schedule, clipping) on a
dataset of exactly one batch must change every parameter the adapter declares trainable, leave every other
tensor of the model bit-identical, and lower the loss on that batch. Weight decay is off, so a parameter that
changed is one that received a gradient.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch.utils.data import Dataset

from rsbench.config import TrainConfig, build_config
from rsbench.engine import build
from rsbench.hooks import get_registry
from rsbench.train.pairs import collate_pairs
from rsbench.train.trainer import train

CAPTIONS = [
    "two white planes parked on the apron",
    "a green meadow with a few trees",
    "three grey storage tanks in a row",
    "cars in a parking lot next to a road",
    "a small pond surrounded by grass",
]
# Variants whose code path differs from the adapter's defaults; every registered adapter runs with its defaults.
VARIANTS = {
    "clip-adapter[backprop]": ("clip-adapter", {"backprop_through_backbone": True}),
    "focus[gate]": ("focus", {"fusion": "gate"}),
}
CASES = [(name, name, {}) for name in get_registry("adapter").names()] + [
    (label, name, options) for label, (name, options) in VARIANTS.items()
]


class OneBatch(Dataset):
    """A fixed set of (image, caption, image id, scene id) pairs, the same every epoch (two share a scene)."""

    def __init__(self, images: torch.Tensor) -> None:
        self.items = [(images[i], caption, i, i % 3) for i, caption in enumerate(CAPTIONS)]

    def set_epoch(self, epoch: int) -> None:
        return None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        return self.items[index]


@pytest.fixture(scope="module")
def pristine_backbone():
    """The default backbone (rsbench-tiny with its shipped weights), built once; each case trains a copy."""
    cfg = build_config(None, {"device": "cpu"})
    return build(cfg, "backbone")


def batch_loss(adapter, sampler, batch) -> float:
    images, tokens, image_ids, scene_ids = batch
    with torch.no_grad():
        loss, _ = sampler(adapter.encode_image(images), adapter.encode_text(tokens), adapter.logit_scale,
                          image_ids, scene_ids)
    return loss.item()


@pytest.mark.parametrize(("label", "name", "options"), CASES, ids=[c[0] for c in CASES])
def test_training_changes_exactly_what_the_adapter_trains_and_lowers_the_loss(
    label, name, options, pristine_backbone, quiet_console
):
    cfg = build_config(None, {"adapter": {"name": name, **options}, "sampler": {"name": "batch"},
                              "loss": {"name": "infonce"}, "device": "cpu"})
    torch.manual_seed(0)
    backbone = copy.deepcopy(pristine_backbone)
    adapter = build(cfg, "adapter", backbone)
    sampler = build(cfg, "sampler", build(cfg, "loss"))
    trainable = {id(p) for p in adapter.trainable_parameters()}
    if not adapter.trains:
        assert not trainable  # an adapter that does not train declares nothing trainable
        return
    assert trainable
    trainable_names = {n for n, p in adapter.named_parameters() if id(p) in trainable}
    before = {n: t.detach().clone() for n, t in adapter.state_dict(keep_vars=True).items()}

    generator = torch.Generator().manual_seed(1)
    images = torch.randn(len(CAPTIONS), 3, backbone.image_size, backbone.image_size, generator=generator)
    pairs = OneBatch(images)
    batch = collate_pairs(backbone.tokenizer)([pairs[i] for i in range(len(pairs))])
    adapter.train()
    loss_before = batch_loss(adapter, sampler, batch)

    config = TrainConfig(epochs=4, batch_size=len(CAPTIONS), lr=1e-3, weight_decay=0.0, warmup_ratio=0.0)
    outcome, _, _ = train(adapter, sampler, pairs, backbone.tokenizer, config, torch.device("cpu"),
                          lambda: {"mR": 0.0}, quiet_console, seed=0)
    assert outcome.steps == 4

    after = adapter.state_dict(keep_vars=True)
    assert set(after) == set(before)
    unchanged = sorted(n for n in trainable_names if torch.equal(after[n].detach(), before[n]))
    assert not unchanged, f"{label}: declared trainable but never changed: {unchanged[:5]}"
    moved = sorted(n for n in set(before) - trainable_names if not torch.equal(after[n].detach(), before[n]))
    assert not moved, f"{label}: frozen but changed: {moved[:5]}"
    adapter.train()
    loss_after = batch_loss(adapter, sampler, batch)
    assert loss_after < loss_before, f"{label}: loss on the trained batch went {loss_before:.4f} -> {loss_after:.4f}"
