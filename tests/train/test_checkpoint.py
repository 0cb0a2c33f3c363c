"""Checkpoints: an interrupted run resumed with --resume ends exactly where an uninterrupted one does."""

from __future__ import annotations

import pytest
import torch

from rsbench.config import build_config
from rsbench.engine import checkpoint_path, run_experiment
from rsbench.train import pairs as pairs_module
from rsbench.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

CMER = {"adapter": {"name": "focus"}, "sampler": {"name": "queue"}, "augmenter": {"name": "scene"}}
TWO_EPOCHS = ["train.epochs=2", "train.max_steps=null", "dataset.num_images=51", "train.batch_size=8"]


def config(small_run, *extra):
    return build_config(None, CMER, [*small_run, *TWO_EPOCHS, *extra])


def interrupt_at_epoch(monkeypatch, epoch: int) -> None:
    original = pairs_module.TrainPairs.set_epoch

    def set_epoch(self, e):
        if e == epoch:
            raise KeyboardInterrupt
        return original(self, e)

    monkeypatch.setattr(pairs_module.TrainPairs, "set_epoch", set_epoch)


def test_resumed_run_equals_uninterrupted_run(small_run, quiet_console, monkeypatch, tmp_path, training_calls):
    straight, _ = run_experiment(config(small_run, f"results_dir={tmp_path / 'a'}"), quiet_console)
    trained = training_calls[0]
    # The run to match demonstrably trained: every trainable tensor moved and the loss on its first batch fell.
    assert not trained.unchanged() and trained.loss_after < trained.loss_before

    cfg = config(small_run, f"results_dir={tmp_path / 'b'}", "train.keep_checkpoint=true")
    with monkeypatch.context() as m:
        interrupt_at_epoch(m, 2)
        with pytest.raises(KeyboardInterrupt):
            run_experiment(cfg, quiet_console)
    assert not (tmp_path / "b").exists()  # no record for the unfinished run
    saved = load_checkpoint(checkpoint_path(cfg), cfg.run_key())
    assert saved["epoch"] == 1
    assert saved["sampler"]["queue"]["filled"] > 0  # CMER's recycling queue travels with the checkpoint

    resumed, path = run_experiment(cfg, quiet_console, resume=True)
    assert path is not None and path.exists()
    assert resumed["metrics"] == straight["metrics"]
    assert resumed["extra"]["training"]["history"] == straight["extra"]["training"]["history"]
    assert resumed["extra"]["training"]["steps"] == straight["extra"]["training"]["steps"]
    assert resumed["extra"]["checkpoint"] == str(checkpoint_path(cfg))
    final = load_checkpoint(checkpoint_path(cfg))
    assert final["epoch"] == 2
    # and ends with the uninterrupted run's weights, bit for bit
    ended = training_calls[-1].after
    assert ended.keys() == trained.after.keys()
    assert all(torch.equal(ended[k], trained.after[k]) for k in ended)


def test_checkpoint_is_deleted_once_the_record_is_written(small_run, quiet_console):
    cfg = config(small_run)
    _, path = run_experiment(cfg, quiet_console)
    assert path.exists() and not checkpoint_path(cfg).exists()


def test_without_resume_a_leftover_checkpoint_is_announced_and_replaced(small_run, monkeypatch):
    import io

    from rich.console import Console

    cfg = config(small_run, "train.keep_checkpoint=true")
    save_checkpoint(checkpoint_path(cfg), {"run_key": cfg.run_key(), "epoch": 99})
    buffer = io.StringIO()
    run_experiment(cfg, Console(file=buffer, width=200))
    assert "--resume" in buffer.getvalue()
    assert load_checkpoint(checkpoint_path(cfg))["epoch"] == 2


def test_corrupt_or_foreign_checkpoints_are_clear_errors(tmp_path, small_run, quiet_console):
    path = tmp_path / "x.pt"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(path)
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not an rsbench training checkpoint"):
        load_checkpoint(path)
    save_checkpoint(path, {"run_key": "other"})
    with pytest.raises(CheckpointError, match="another configuration"):
        load_checkpoint(path, "mine")
    cfg = config(small_run)
    checkpoint_path(cfg).parent.mkdir(parents=True, exist_ok=True)
    checkpoint_path(cfg).write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="delete it"):
        run_experiment(cfg, quiet_console, resume=True)


def test_run_key_ignores_where_things_go_but_not_what_trains(small_run):
    a = config(small_run)
    assert a.run_key() == config(small_run, "results_dir=elsewhere", "checkpoint_dir=x", "device=cpu").run_key()
    assert a.run_key() != config(small_run, "train.lr=1e-3").run_key()
    assert a.run_key() != config(small_run, "seed=1").run_key()
    assert a.run_key().startswith("focus-queue-scene-seed0-")


def test_resume_state_is_packed_and_unpacked_in_one_place(tmp_path):
    from rsbench.train.checkpoint import ResumeState

    state = ResumeState(epoch=3, step=12, adapter={"w": torch.ones(2)}, optimizer={"state": {}}, scheduler={},
                        sampler={}, generator=torch.Generator().get_state(), torch_rng=torch.get_rng_state(),
                        best_epoch=2, best_score=41.5, history=[{"epoch": 1, "mR": 40.0}], final_loss=0.5,
                        timed_pairs=96, timed_seconds=1.5, elapsed=2.0, peak_memory_bytes=None,
                        best_state={"w": torch.zeros(2)}, best_sampler={})
    save_checkpoint(tmp_path / "run.pt", state.pack("key", {"seed": 0}))
    read = load_checkpoint(tmp_path / "run.pt", "key")
    assert read["outcome"]["best_score"] == 41.5 and read["config"] == {"seed": 0}  # the file format as before
    back = ResumeState.unpack(read)
    assert (back.epoch, back.step, back.history, back.timed_pairs) == (3, 12, [{"epoch": 1, "mR": 40.0}], 96)
    assert torch.equal(back.best_state["w"], torch.zeros(2)) and torch.equal(back.generator, state.generator)
    del read["outcome"]["history"], read["sampler"]
    with pytest.raises(CheckpointError, match="lacks sampler, outcome.history; delete it"):
        ResumeState.unpack(read)
