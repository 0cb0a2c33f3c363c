"""Shared fixtures: a small SynthRS cache, the overrides that make a run take seconds, a watch on training; and
the ``combinations`` marker, which runs an all-pairs selection of a combination space by default and the rest
of it under ``-m matrix``."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass

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


def pytest_configure(config):
    """Under pytest-xdist each worker (and what it starts) runs torch on one thread: the workers fill the cores, and
    two threads each on two cores would only contend. Set before torch is imported (the test modules import it)."""
    if hasattr(config, "workerinput"):
        os.environ.setdefault("OMP_NUM_THREADS", "1")


def all_pairs(*factors: Sequence) -> list[tuple]:
    """Rows that hold every pair of values of every two factors at least once (a strength-2 covering array).

    Greedy and deterministic: each row starts from the first pair still missing, and every other factor takes the
    value that covers the most missing pairs with the values already chosen (ties: the value listed first)."""
    values = [list(f) for f in factors]
    if len(values) < 2:  # no pairs to cover: each value once
        return list(itertools.product(*values))
    missing = {(i, a, j, b) for i, j in itertools.combinations(range(len(values)), 2)
               for a in range(len(values[i])) for b in range(len(values[j]))}
    rows: list[dict[int, int]] = []
    while missing:
        i, a, j, b = min(missing)
        row = {i: a, j: b}  # factor -> index of its value
        for k in range(len(values)):
            if k not in row:
                row[k] = max(range(len(values[k])), key=lambda v, k=k, row=row: (
                    sum(((m, w, k, v) if m < k else (k, v, m, w)) in missing for m, w in row.items()), -v))
        rows.append(row)
        missing -= {(m, row[m], n, row[n]) for m, n in itertools.combinations(range(len(values)), 2)}
    return [tuple(values[k][row[k]] for k in range(len(values))) for row in rows]


def pytest_generate_tests(metafunc):
    """``@pytest.mark.combinations(factors, matrix=rows)``: parametrize the test's arguments named by ``factors``
    (a dict of name -> values) with ``all_pairs`` of them, plus the rows of ``matrix`` (default: the full product)
    that the pairs left out, marked ``matrix`` so that only ``pytest -m matrix`` runs them."""
    marker = metafunc.definition.get_closest_marker("combinations")
    if marker is None:
        return
    (factors,) = marker.args
    pairwise = all_pairs(*factors.values())
    matrix = marker.kwargs.get("matrix", list(itertools.product(*factors.values())))
    rest = [row for row in matrix if row not in set(pairwise)]
    metafunc.parametrize(list(factors), [*pairwise, *(pytest.param(*row, marks=pytest.mark.matrix) for row in rest)],
                         ids=["-".join(map(str, row)) for row in [*pairwise, *rest]])


@pytest.fixture(autouse=True)
def fixed_seeds():
    """Every test starts from the same state of Python's, NumPy's and torch's global generators, so a test that
    draws without a generator of its own draws the same numbers in every run and in every xdist worker."""
    import random

    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="session")
def rsbench_cache(tmp_path_factory, worker_id):
    """Keep SynthRS builds of the test run out of the user's ~/.cache. Under pytest-xdist the workers share one
    folder of the run's temporary tree, so each small SynthRS is painted once (builds are renamed into place, so
    two workers painting the same one at once is safe)."""
    mp = pytest.MonkeyPatch()
    if worker_id == "master":
        path = tmp_path_factory.mktemp("rsbench-cache")
    else:  # the run's folder, above each worker's own
        path = tmp_path_factory.getbasetemp().parent / "rsbench-cache"
        path.mkdir(exist_ok=True)
    mp.setenv("RSBENCH_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(name="all_pairs", scope="session")
def all_pairs_fixture():
    """``all_pairs`` itself, for the tests of the test suite (a conftest is not imported by name)."""
    return all_pairs


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    """pytest-xdist's name for this process ("gw0", ...), or "master" without it (xdist defines the same)."""
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


@pytest.fixture
def quiet_console() -> Console:
    return Console(file=io.StringIO(), width=120)


@pytest.fixture
def small_run(tmp_path) -> list[str]:
    """``--set`` overrides for a seconds-long run writing records (and checkpoints) under tmp_path."""
    return [*SMALL_RUN, f"results_dir={tmp_path / 'results'}", f"checkpoint_dir={tmp_path / 'checkpoints'}"]


@dataclass
class TrainingCall:
    """One call of ``rsbench.train.trainer.train`` seen by ``training_calls``: what it started from and ended with."""

    before: dict  # trainable tensors (CPU copies) when the call began: the initial weights, even when resuming
    after: dict  # the same tensors when it returned or was interrupted
    loss_before: float  # the sampler's loss on the first training batch, before and after
    loss_after: float

    def unchanged(self) -> list[str]:
        import torch

        return sorted(k for k in self.before if torch.equal(self.before[k], self.after[k]))


@pytest.fixture
def training_calls(monkeypatch) -> list[TrainingCall]:
    """Watch every training run of the test: the trainable weights before and after, and the loss on one
    fixed batch (the first ``batch_size`` pairs) before and after. The measurement leaves the global RNG and
    the sampler's state as it found them, so the watched run trains exactly as an unwatched one."""
    import torch

    from rsbench.train import trainer
    from rsbench.train.pairs import collate_pairs
    from rsbench.train.token_batch import encode_batch

    calls: list[TrainingCall] = []
    original = trainer.train

    def loss_on(adapter, sampler, batch, device, sampler_state) -> float:
        """The loss with the sampler in ``sampler_state`` (its state when training began: an empty queue)."""
        images, tokens, image_ids, scene_ids = (t.to(device) for t in batch)
        state, rng = sampler.state_dict(), torch.get_rng_state()
        was_training = adapter.training
        adapter.train()
        sampler.load_state_dict(sampler_state)
        try:
            with torch.no_grad():
                image_emb, text_emb, extra = encode_batch(adapter, sampler, images, tokens)  # tokens if the loss asks
                loss, _ = sampler(image_emb, text_emb, adapter.logit_scale, image_ids, scene_ids, **extra)
        finally:
            adapter.train(was_training)
            sampler.load_state_dict(state)
            torch.set_rng_state(rng)
        return loss.item()

    def watched(adapter, sampler, pairs, tokenizer, config, device, *args, **kwargs):
        rng = torch.get_rng_state()
        batch = collate_pairs(tokenizer)([pairs[i] for i in range(min(config.batch_size, len(pairs)))])
        torch.set_rng_state(rng)
        initial = sampler.state_dict()
        before, loss_before = trainer.trainable_state(adapter), loss_on(adapter, sampler, batch, device, initial)
        try:
            return original(adapter, sampler, pairs, tokenizer, config, device, *args, **kwargs)
        finally:
            calls.append(TrainingCall(before, trainer.trainable_state(adapter), loss_before,
                                      loss_on(adapter, sampler, batch, device, initial)))

    monkeypatch.setattr(trainer, "train", watched)
    return calls
