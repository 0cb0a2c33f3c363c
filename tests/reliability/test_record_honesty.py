"""Records and the leaderboard tell the truth: one seed counts once, plugin versions stay apart, a NaN
record is skipped with a warning, a resumed run says so and reports the peak of both halves, and a
checkpoint write killed midway leaves nothing behind."""

from __future__ import annotations

import json

import pytest

from rsbench.config import build_config
from rsbench.engine import checkpoint_path, run_experiment
from rsbench.results.leaderboard import leaderboard, one_per_seed
from rsbench.results.record import make_record
from rsbench.train import pairs as pairs_module
from rsbench.train.checkpoint import load_checkpoint, save_checkpoint

METRICS = ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mR")
COSTS = ("trainable_params", "total_params", "saved_activation_bytes", "peak_memory_bytes",
         "throughput_pairs_per_s", "train_seconds")


def record(seed: int, mR: float, loss_version: str | None = None) -> dict:
    components = {"loss": {"name": "sigmoid", "provider": "siglip-plugin", "version": loss_version}} \
        if loss_version else {}
    return make_record(
        config={"adapter": {"name": "full"}, "sampler": {"name": "batch"}, "augmenter": {"name": "none"},
                "loss": {"name": "sigmoid"}, "seed": seed},
        seed=seed, selected_on="val",
        dataset={"name": "synthrs", "synthetic": True, "content_hash": "h", "split_sizes": {}, "scene_at_eval": "none"},
        backbone={"name": "rsbench-tiny", "pretrained": None}, metrics=dict.fromkeys(METRICS, mR),
        cost=dict.fromkeys(COSTS, 1), components=components,
    )


def test_a_repeated_seed_counts_once():
    first, repeat, other = record(0, 10.0), record(0, 30.0), record(1, 20.0)
    kept, repeats = one_per_seed([first, repeat, other])
    assert repeats == [first] and kept == [repeat, other]  # the newest record of seed 0 is used
    row = leaderboard([first, repeat, other]).iloc[0]
    assert row["n"] == 2 and row["seeds"] == "0,1" and row["mR_mean"] == pytest.approx(25.0)


def test_two_versions_of_a_plugin_component_are_two_rows():
    rows = leaderboard([record(0, 10.0, "1.0"), record(1, 12.0, "1.0"), record(0, 20.0, "2.0")])
    assert sorted(rows["n"]) == [1, 2]


def test_leaderboard_skips_a_nan_record_with_a_warning(cli, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    good = record(0, 10.0)
    (results / "good.json").write_text(json.dumps(good))
    (results / "nan.json").write_text(json.dumps(record(1, 10.0)).replace('"mR": 10.0', '"mR": NaN'))
    (results / "repeat.json").write_text(json.dumps(record(0, 12.0)))
    out = cli("leaderboard", "--results-dir", str(results), "--out-dir", str(tmp_path / "tables"), "--json")
    assert out.returncode == 0, out.output
    assert "Traceback" not in out.output
    notes = " ".join(out.stderr.split())
    assert "warning: skipped nan.json" in notes and "NaN" in notes
    assert "repeats seed 0" in notes
    assert [row["n"] for row in json.loads(out.stdout)] == [1]


CHEAP = {"adapter": {"name": "linear-probe"}, "sampler": {"name": "batch"}, "augmenter": {"name": "none"}}


def test_a_resumed_run_says_so_and_reports_the_peak_of_both_halves(small_run, quiet_console, monkeypatch):
    sets = [*small_run, "train.epochs=2", "train.max_steps=null", "train.keep_checkpoint=true"]
    cfg = build_config(None, CHEAP, sets)
    original = pairs_module.TrainPairs.set_epoch

    def interrupt(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(self, epoch)

    with monkeypatch.context() as m:
        m.setattr(pairs_module.TrainPairs, "set_epoch", interrupt)
        with pytest.raises(KeyboardInterrupt):
            run_experiment(cfg, quiet_console)
    path = checkpoint_path(cfg)
    state = load_checkpoint(path, cfg.run_key())
    assert state["outcome"]["peak_memory_bytes"] is not None
    first_half_peak = 10**12  # far above anything the second half reaches: the record must keep it
    state["outcome"]["peak_memory_bytes"] = first_half_peak
    save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    stale = path.parent / f".{path.name}.killed.tmp"  # what a write killed midway leaves
    stale.write_bytes(b"partial")

    resumed, _ = run_experiment(cfg, quiet_console, resume=True)
    assert resumed["extra"]["training"]["resumed_after_epoch"] == 1
    assert resumed["cost"]["peak_memory_bytes"] == first_half_peak
    assert load_checkpoint(path)["outcome"]["peak_memory_bytes"] == first_half_peak  # kept across the resume
    assert not stale.exists()

