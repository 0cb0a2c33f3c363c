"""Shared fixtures: a small SynthRS cache and the overrides that make a run take seconds."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

# A run small enough for the test suite: 60 images at 32 px, two steps of eight pairs.
SMALL_RUN = [
    "dataset.num_images=60",
    "dataset.image_size=32",
    "train.epochs=1",
    "train.max_steps=2",
    "train.batch_size=8",
    "eval.batch_size=64",
    "device=cpu",
]


@pytest.fixture(autouse=True, scope="session")
def rsbench_cache(tmp_path_factory):
    """Keep SynthRS builds of the test run out of the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("rsbench-cache")
    mp.setenv("RSBENCH_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture
def quiet_console() -> Console:
    return Console(file=io.StringIO(), width=120)


@pytest.fixture
def small_run(tmp_path) -> list[str]:
    """``--set`` overrides for a seconds-long run writing records (and checkpoints) under tmp_path."""
    return [*SMALL_RUN, f"results_dir={tmp_path / 'results'}", f"checkpoint_dir={tmp_path / 'checkpoints'}"]
