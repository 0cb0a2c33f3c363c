"""Focus-Adapter training throughput from the second epoch, with and without the feature cache, on CPU.

Two epochs of the real training loop (``rsbench.train.trainer.train``) over PNG files on disk, through the
deterministic evaluation transform; the second epoch is timed whole, data loading included (the cache skips
image decoding as well as the frozen tower). ``RSBENCH_BENCH_BACKBONE`` and ``RSBENCH_BENCH_BATCH`` choose the
model and batch (see conftest.py); ``RSBENCH_BENCH_IMAGES`` the number of training images (default 32).

    RSBENCH_BENCH_BACKBONE=rsbench-tiny-vit16 RSBENCH_BENCH_BATCH=8 \\
        pytest benchmarks/test_feature_cache.py -o addopts="" -s
"""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console

from rsbench.config import TrainConfig, build_config
from rsbench.data.record import Record
from rsbench.engine import build
from rsbench.train.feature_cache import plan
from rsbench.train.pairs import TrainPairs
from rsbench.train.trainer import train

BACKBONE = os.environ.get("RSBENCH_BENCH_BACKBONE", "ViT-B-16")
BATCH = int(os.environ.get("RSBENCH_BENCH_BATCH", "2"))
IMAGES = int(os.environ.get("RSBENCH_BENCH_IMAGES", "32"))


def second_epoch_rate(folder, cached: bool) -> dict:
    """Pairs per second of the second training epoch, and whether the cache was used."""
    cfg = build_config(None, {"device": "cpu", "backbone": {"name": BACKBONE}, "adapter": {"name": "focus"}})
    torch.manual_seed(0)
    backbone = build(cfg, "backbone")
    adapter = build(cfg, "adapter", backbone)
    sampler = build(cfg, "sampler", build(cfg, "loss"))
    size = backbone.image_size
    rng = np.random.default_rng(0)
    records = []
    for i in range(IMAGES):
        path = folder / f"{size}-{i}.png"
        if not path.exists():
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)
        records.append(Record(path, path.name, (f"scene number {i} seen from above",), "airport", "train"))
    pairs = TrainPairs(records, backbone.preprocess_eval, lambda caption, record, r: caption, ["airport"])
    cache = None
    if cached:
        chosen = plan(adapter, sampler, backbone.preprocess_eval, records, f"bench-{IMAGES}", lambda: pairs.image(0))
        assert chosen.used, chosen.reason
        cache = chosen.cache
    ends: list[float] = []

    def validate() -> dict[str, float]:
        ends.append(time.perf_counter())
        return {"mR": 0.0}

    config = TrainConfig(epochs=2, batch_size=BATCH, warmup_ratio=0.0)
    outcome, _, _ = train(adapter, sampler, pairs, backbone.tokenizer, config, torch.device("cpu"), validate,
                          Console(file=io.StringIO()), seed=0, feature_cache=cache)
    per_epoch = outcome.steps // 2 * BATCH
    return {"pairs_per_s": per_epoch / (ends[1] - ends[0]), "epoch_seconds": ends[1] - ends[0],
            "pairs_per_epoch": per_epoch}


@pytest.mark.benchmark(group=f"focus epoch 2 {BACKBONE} batch {BATCH}")
@pytest.mark.parametrize("cached", [False, True], ids=["tower", "feature-cache"])
def test_focus_second_epoch(benchmark, tmp_path_factory, cached):
    folder = tmp_path_factory.getbasetemp() / "bench-images"
    folder.mkdir(exist_ok=True)
    figures = benchmark.pedantic(second_epoch_rate, args=(folder, cached), rounds=1, iterations=1)
    benchmark.extra_info.update(backbone=BACKBONE, batch_size=BATCH, images=IMAGES, cached=cached, **figures)
    print(f"\nfocus {BACKBONE} batch {BATCH}, {'with' if cached else 'without'} the feature cache: "
          f"{figures['pairs_per_s']:.1f} pairs/s in epoch 2 ({figures['epoch_seconds']:.1f} s)")
    assert figures["pairs_per_s"] > 0
