"""Train once, evaluate many: sweep variants that differ only in evaluation-side keys share one training."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from rsbench.cli import app
from rsbench.eval.keys import training_identity
from rsbench.results.record import load_records
from rsbench.sweep.launchers import LocalLauncher
from rsbench.sweep.plan import load_sweep
from rsbench.sweep.runner import SweepRunner


def reranker_sweep(tmp_path: Path) -> Path:
    base = {"dataset": {"num_images": 51, "image_size": 32}, "train": {"epochs": 1, "max_steps": 2, "batch_size": 8},
            "eval": {"batch_size": 64}, "device": "cpu", "checkpoint_dir": str(tmp_path / "checkpoints")}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": base, "variants": [{"reranker.name": "none"}, {"reranker.name": "csls"},
                                                               {"reranker.name": "dual-softmax"}],
                                    "seeds": [0, 1]}))
    return path


def test_evaluation_side_keys_leave_the_training_identity_alone():
    from rsbench.config import build_config

    plain = build_config(None, None, []).to_dict()
    other = build_config(None, None, ["reranker.name=csls", "augmenter.at_eval=none",
                                      "strategy.name=fast-then-fine"]).to_dict()
    assert training_identity(plain) == training_identity(other)
    assert training_identity(plain) != training_identity(build_config(None, None, ["train.lr=0.01"]).to_dict())


def test_three_variants_differing_only_in_reranker_train_once_per_seed(tmp_path, quiet_console, training_calls):
    path = reranker_sweep(tmp_path)
    results = tmp_path / "results"
    dry = CliRunner().invoke(app, ["sweep", str(path), "--results-dir", str(results), "--dry-run", "--json"])
    statuses = [row["status"] for row in json.loads(dry.stdout)]
    assert statuses.count("to train") == 2 and statuses.count("to evaluate (shared training)") == 4
    counts = SweepRunner(load_sweep(path), results, [], quiet_console).execute(LocalLauncher(quiet_console))
    assert counts["ran"] == 6
    assert len(training_calls) == 2  # one training per seed, not one per variant
    records = load_records(results)
    trained = {r["run_id"]: r for r in records if r["parent_run_id"] is None}
    assert sorted(r["seed"] for r in trained.values()) == [0, 1]
    for record in records:
        if record["parent_run_id"] is not None:
            parent = trained[record["parent_run_id"]]  # the training of the same seed
            assert parent["seed"] == record["seed"] and parent["config"]["reranker"]["name"] == "none"
            assert record["extra"]["retrieval"]["reranker"] != "none"
            assert record["cost"] == parent["cost"]
    assert sorted(r["config"]["reranker"]["name"] for r in records) == ["csls"] * 2 + ["dual-softmax"] * 2 + [
        "none"] * 2
    assert not (tmp_path / "checkpoints" / "sweep-models").exists()  # the shared models are removed at the end


def test_an_evaluate_only_run_resumes_from_a_kept_model(tmp_path, quiet_console, training_calls):
    from rsbench.sweep.sharing import model_folder

    path = reranker_sweep(tmp_path)
    results = tmp_path / "results"
    sweep = load_sweep(path)
    runner = SweepRunner(sweep, results, [], quiet_console)
    # the training of seed 0 finished and kept its model, then the sweep stopped
    trainer = runner.plan()[0]
    from rsbench.engine import run_experiment

    run_experiment(trainer.run.config, quiet_console, extra={"sweep": {"name": sweep.name}},
                   save_model=model_folder(trainer.run.config.to_dict()))
    assert len(training_calls) == 1
    plan = SweepRunner(sweep, results, [], quiet_console).plan()
    assert [s.note for s in plan if s.run.seed == 0 and not s.done] == ["to evaluate (kept model)"] * 2
    SweepRunner(sweep, results, [], quiet_console).execute(LocalLauncher(quiet_console))
    assert len(training_calls) == 2  # seed 1 only
