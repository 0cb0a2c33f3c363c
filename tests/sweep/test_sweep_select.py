"""Sweeps do what they show: --set of a swept key refused, --only and --seeds select runs, the dry run lists
exactly what runs, and an interrupted sweep resumes its interrupted run from its checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rsbench.cli import app
from rsbench.errors import ConfigError
from rsbench.results.record import load_records
from rsbench.sweep.launchers import LocalLauncher
from rsbench.sweep.plan import load_sweep
from rsbench.sweep.runner import SweepRunner

TINY = {"dataset": {"num_images": 51, "image_size": 32},
        "train": {"epochs": 2, "max_steps": 4, "batch_size": 8}, "eval": {"batch_size": 64}, "device": "cpu"}
BODY = {"variants": [{"adapter.name": "frozen"}, {"adapter.name": "clip-bitfit"}],
        "grid": {"train.lr": ["1e-3", 1.0e-2]}, "seeds": [0, 1, 2]}


def write_sweep(tmp_path: Path, body: dict = BODY) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": TINY, **body}))
    return path


def dry_run(path: Path, *args: str) -> list[dict]:
    result = CliRunner().invoke(app, ["sweep", str(path), "--dry-run", "--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(path: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["sweep", str(path), "--dry-run", *args])
    assert isinstance(result.exception, ConfigError), result.output
    return str(result.exception)


@pytest.mark.parametrize(("key", "axis"), [("adapter.name", "variants"), ("train.lr", "grid"), ("adapter", "variants")])
def test_set_of_a_swept_key_is_refused_naming_its_axis(tmp_path, key, axis):
    message = refused(write_sweep(tmp_path), "--set", f"{key}=x")
    assert f"varies {key if '.' in key else 'adapter.name'} (its {axis} axis)" in message and "--only" in message


@pytest.mark.parametrize("assignment", ["seed=3", "seeds=[0]"])
def test_set_of_the_seeds_points_at_the_seeds_option(tmp_path, assignment):
    assert "--seeds 0,1" in refused(write_sweep(tmp_path), "--set", assignment)


def test_set_of_a_key_the_sweep_does_not_vary_reaches_every_run(tmp_path):
    rows = dry_run(write_sweep(tmp_path), "--set", "train.epochs=1", "--results-dir", str(tmp_path / "r"))
    assert len(rows) == 12
    plain = dry_run(write_sweep(tmp_path), "--results-dir", str(tmp_path / "r"))
    assert {r["config_id"] for r in rows}.isdisjoint({r["config_id"] for r in plain})  # another config


def test_only_and_seeds_select_exactly_the_runs_the_dry_run_lists(tmp_path):
    path = write_sweep(tmp_path)
    rows = dry_run(path, "--only", "adapter.name=clip-bitfit", "--only", "train.lr=0.001", "--seeds", "2,5",
                   "--results-dir", str(tmp_path / "r"))
    bitfit = {"adapter.name": "clip-bitfit", "train.lr": "1e-3"}
    assert [(r["varied"], r["seed"]) for r in rows] == [(bitfit, 2), (bitfit, 5)]
    either = dry_run(path, "--only", "train.lr=1e-3", "--only", "train.lr=0.01", "--only", "adapter.name=frozen",
                     "--results-dir", str(tmp_path / "r"))
    assert {(r["varied"]["adapter.name"], r["varied"]["train.lr"]) for r in either} == {("frozen", "1e-3"),
                                                                                        ("frozen", 0.01)}
    assert len(either) == 6
    # the runner plans the same runs the dry run listed
    sweep = load_sweep(path).select(["adapter.name=clip-bitfit", "train.lr=0.001"], [2, 5])
    steps = SweepRunner(sweep, tmp_path / "r", [], None).plan()
    assert [s.run.config_id for s in steps] == [r["config_id"] for r in rows]


@pytest.mark.parametrize(("args", "message"), [
    (["--only", "train.epochs=3"], "does not vary train.epochs"),
    (["--only", "train.lr=0.5"], "its values are 0.001, 0.01"),
    (["--only", "adapter.name"], "KEY=VALUE"),
    (["--seeds", "1,1"], "repeat"),
])
def test_a_selection_the_sweep_cannot_give_is_refused(tmp_path, args, message):
    assert message in refused(write_sweep(tmp_path), *args)


def test_seeds_that_leave_out_the_tuning_seed_tune_with_the_first_selected_one(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, {**BODY, "tune": {"grid": {"train.weight_decay": [0.0, 0.1]}}}))
    assert sweep.select([], [4, 5]).tune.seed == 4 and sweep.select([], [0]).tune.seed == 0


def interrupt_second_epoch_once(monkeypatch) -> None:
    from rsbench.train import pairs as pairs_module

    original, fired = pairs_module.TrainPairs.set_epoch, []

    def set_epoch(self, epoch):
        if epoch == 2 and not fired:
            fired.append(epoch)
            raise KeyboardInterrupt
        return original(self, epoch)

    monkeypatch.setattr(pairs_module.TrainPairs, "set_epoch", set_epoch)


@pytest.mark.slow
def test_an_interrupted_sweep_resumes_its_run_from_the_checkpoint_and_ends_with_the_same_records(
        tmp_path, quiet_console, monkeypatch):
    def sweep_in(folder: str) -> tuple[SweepRunner, Path]:
        body = {"base": {**TINY, "checkpoint_dir": str(tmp_path / folder / "checkpoints")},
                "variants": [{"adapter.name": "clip-bitfit"}], "seeds": [0, 1]}
        path = tmp_path / f"{folder}.yaml"
        path.write_text(yaml.safe_dump(body))
        return SweepRunner(load_sweep(path), tmp_path / folder / "results", [], quiet_console), tmp_path / folder

    straight, _ = sweep_in("straight")
    straight.execute(LocalLauncher(quiet_console))
    stopped, folder = sweep_in("stopped")
    with monkeypatch.context() as m:
        interrupt_second_epoch_once(m)
        with pytest.raises(KeyboardInterrupt):
            stopped.execute(LocalLauncher(quiet_console))
    assert not list((folder / "results").glob("*.json")) and len(list((folder / "checkpoints").glob("*.pt"))) == 1
    counts = sweep_in("stopped")[0].execute(LocalLauncher(quiet_console))
    assert counts["ran"] == 2
    expected = {r["seed"]: r for r in load_records(tmp_path / "straight" / "results")}
    got = {r["seed"]: r for r in load_records(folder / "results")}
    assert got.keys() == expected.keys() == {0, 1}
    assert got[0]["extra"]["training"]["resumed_after_epoch"] == 1  # continued, not started over
    assert got[1]["extra"]["training"]["resumed_after_epoch"] is None
    for seed, record in got.items():
        assert record["metrics"] == expected[seed]["metrics"]
        assert record["extra"]["training"]["history"] == expected[seed]["extra"]["training"]["history"]
    assert not list((folder / "checkpoints").glob("*.pt"))  # served, then removed


def test_an_interrupted_sweep_says_running_it_again_resumes(tmp_path, monkeypatch, capsys):
    from rsbench.cli import main
    from rsbench.sweep import runner

    def stop(self, launcher):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.SweepRunner, "execute", stop)
    with pytest.raises(SystemExit) as ended:
        main(["sweep", str(write_sweep(tmp_path)), "--results-dir", str(tmp_path / "r")])
    assert ended.value.code == 130
    err = " ".join(capsys.readouterr().err.split())
    assert "running the same sweep again" in err and "resumes" in err


def test_a_sweep_of_an_unreasonable_run_count_is_refused_with_the_count_unless_allowed(tmp_path):
    body = {"grid": {f"train.{key}": list(range(1, 11)) for key in ("epochs", "batch_size", "max_steps")},
            "seeds": [0, 1]}
    path = write_sweep(tmp_path, body)
    message = refused(path)
    assert "plans 2,000 runs, more than --max-runs 1,000" in message and "--max-runs 2000" in message
    assert "plans 2,000 runs" in refused(path, "--max-runs", "1999")
    assert len(dry_run(path, "--max-runs", "2000", "--only", "train.epochs=1", "--only", "train.batch_size=2",
                       "--results-dir", str(tmp_path / "r"))) == 20
    with_exclusions = write_sweep(tmp_path, {**body, "exclude": [{"train.epochs": 1}]})
    assert "more than 1,000 runs (up to 2,000)" in refused(with_exclusions)
    excluded = write_sweep(tmp_path, {**body, "exclude": [{"train.epochs": e} for e in range(1, 7)]})  # 800 left
    assert load_sweep(excluded).runs_beyond(1000) is None
