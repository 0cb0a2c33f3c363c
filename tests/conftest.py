"""Shared fixtures: a small SynthRS cache, the overrides that make a run take seconds, a watch on training."""

from __future__ import annotations

import io
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
