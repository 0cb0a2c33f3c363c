"""Result records built by the tests themselves."""

from __future__ import annotations

import pytest

from rsbench.results.record import make_record


def base_config(**changes: object) -> dict:
    config = {
        "dataset": {"name": "synthrs", "root": "/data/synthrs"},
        "backbone": {"name": "rsbench-tiny", "pretrained": None},
        "adapter": {"name": "full"},
        "sampler": {"name": "batch"},
        "augmenter": "none",
        "strategy": {"name": "dual_stream"},
        "loss": {"name": "infonce"},
        "train": {"lr": 1e-4, "epochs": 2},
        "eval": {"batch_size": 64},
        "seed": 0,
        "device": "cpu",
        "results_dir": "leaderboard/results",
    }
    config.update(changes)
    return config


def metrics_with(mR: float, **changes: float) -> dict:
    """Six recalls all equal to ``mR`` (so their mean is ``mR``), then ``changes`` applied as given."""
    metrics = {k: mR for k in ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10")} | {"mR": mR}
    return metrics | changes


@pytest.fixture
def build_record():
    def build(
        *,
        seed: int = 0,
        config_changes: dict | None = None,
        mR: float = 50.0,
        metrics: dict | None = None,
        trainable_params: int | None = 1000,
        synthetic: bool = True,
        dataset_name: str = "synthrs",
        selected_on: str = "val",
    ) -> dict:
        config = base_config(**(config_changes or {}))
        config["seed"] = seed
        return make_record(
            config=config,
            seed=seed,
            selected_on=selected_on,
            dataset={
                "name": dataset_name,
                "synthetic": synthetic,
                "content_hash": f"hash-{dataset_name}",
                "split_sizes": {"train": 8, "val": 2, "test": 2},
                "scene_at_eval": False,
            },
            backbone={"name": "rsbench-tiny", "pretrained": None},
            metrics=metrics or metrics_with(mR),
            cost={
                "trainable_params": trainable_params,
                "total_params": 5000,
                "saved_activation_bytes": 2**20,
                "peak_memory_bytes": None,
                "throughput_pairs_per_s": 100.0,
                "train_seconds": 3.0,
            },
            env={"device": "cpu"},
        )

    return build
