"""One training step of every adapter on a ViT-B/16-shaped model at a small batch, on CPU.

pytest-benchmark times ``ProfiledStep.step`` (the trainer's own step: forward, loss, backward,
clipping, AdamW) and stores next to the timing the device-independent figures that decide memory:
bytes saved for backward and trainable parameters (``extra_info``; ``--benchmark-json`` keeps them).

    pytest benchmarks -o addopts="" --benchmark-json bench.json
"""

from __future__ import annotations

import os

import pytest

from rsbench.config import build_config
from rsbench.hooks import get_registry
from rsbench.profile.cost import count_parameters
from rsbench.profile.profiler import ProfiledStep

# The model and batch (see conftest.py). Read here, not imported from conftest: `pytest tests benchmarks` would
# import tests' conftest under the same module name.
BACKBONE = os.environ.get("RSBENCH_BENCH_BACKBONE", "ViT-B-16")
BATCH = int(os.environ.get("RSBENCH_BENCH_BATCH", "2"))

# Variants worth timing besides each adapter's defaults: CMER Table 3 reports CLIP-Adapter with the
# frozen backbone's forward recorded for backward, which rsbench names backprop_through_backbone.
VARIANTS = {"clip-adapter[full-backprop]": ("clip-adapter", ["adapter.backprop_through_backbone=true"])}


def adapter_cases() -> list[tuple[str, str, list[str]]]:
    names = [n for n in get_registry("adapter").names() if n != "frozen"]  # frozen has nothing to step
    return [(n, n, []) for n in names] + [(label, name, sets) for label, (name, sets) in VARIANTS.items()]


@pytest.mark.benchmark(group=f"train-step {BACKBONE} batch {BATCH}")
@pytest.mark.parametrize(("label", "adapter", "sets"), adapter_cases(), ids=[c[0] for c in adapter_cases()])
def test_training_step(benchmark, label, adapter, sets):
    layer = {"backbone": {"name": BACKBONE}, "adapter": {"name": adapter}, "train": {"batch_size": BATCH},
             "device": "cpu"}
    run = ProfiledStep(build_config(None, layer, sets))
    trainable, total = count_parameters(run.adapter)
    saved = run.saved_bytes()
    benchmark.extra_info.update(
        backbone=BACKBONE, batch_size=BATCH, adapter=label, trainable_params=trainable, total_params=total,
        saved_activation_bytes=saved, saved_activation_mib=round(saved / 2**20, 2),
    )
    logs = benchmark.pedantic(run.step, rounds=3, warmup_rounds=1, iterations=1)
    assert trainable > 0 and saved > 0
    assert logs["loss"] == logs["loss"]  # finite, not NaN
