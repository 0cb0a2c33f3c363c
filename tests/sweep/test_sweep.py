"""rsbench sweep: the plan a file stands for, tuning on val, resuming from the records, the submitit launcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rsbench.cli import app
from rsbench.errors import ConfigError, RsbenchError
from rsbench.results.record import load_records
from rsbench.sweep.launchers import LocalLauncher, SubmititLauncher
from rsbench.sweep.plan import load_sweep
from rsbench.sweep.runner import SweepRunner, validation_score

REPO = Path(__file__).resolve().parents[2]
TINY = {"dataset": {"num_images": 51, "image_size": 32},
        "train": {"epochs": 2, "max_steps": 4, "batch_size": 8}, "eval": {"batch_size": 64}, "device": "cpu"}


def write_sweep(tmp_path: Path, body: dict) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": TINY, **body}))
    return path


def test_plan_is_the_product_of_variants_grid_and_zip_minus_exclusions_times_seeds(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, {
        "variants": [{"adapter.name": "frozen"}, {"adapter.name": "clip-bitfit"}],
        "grid": {"train.lr": [1e-3, 1e-2], "train.batch_size": [8, 16]},
        "zip": {"sampler.name": ["batch", "queue"], "loss.name": ["infonce", "dw-hinge"]},
        "exclude": [{"adapter.name": "frozen", "train.lr": 1e-2}],
        "seeds": [0, 3],
    }))
    points = sweep.points()
    assert len(points) == 2 * 2 * 2 * 2 - 4  # frozen at lr 1e-2: 2 batch sizes x 2 zipped pairs excluded
    assert {"adapter.name": "frozen", "train.lr": 1e-2, "train.batch_size": 8, "sampler.name": "batch",
            "loss.name": "infonce"} not in points
    zipped = {(p["sampler.name"], p["loss.name"]) for p in points}
    assert zipped == {("batch", "infonce"), ("queue", "dw-hinge")}  # zipped, never crossed
    runner = SweepRunner(sweep, tmp_path / "results", [], None)
    steps = runner.plan()
    assert len(steps) == len(points) * 2 and {s.run.seed for s in steps} == {0, 3}
    run = next(s.run for s in steps if s.run.varied == points[0])
    assert run.config.train.lr == points[0]["train.lr"] and run.config.name("adapter") == "frozen"
    # the same config at another seed has the same identity; another lr does not
    ids = {(tuple(sorted(s.run.varied.items())), s.run.config_id) for s in steps}
    assert len({cid for _, cid in ids}) == len(points)


@pytest.mark.parametrize(("body", "message"), [
    ({"grid": {"train.lr": []}}, "non-empty list"),
    ({"zip": {"train.lr": [1, 2], "train.epochs": [1]}}, "one length"),
    ({"seeds": [0, 0]}, "repeat"),
    ({"gird": {}}, "unknown sweep keys"),
    ({"grid": {"train.lr": [1e-3]}, "exclude": [{"train.lr": 1e-3}]}, "remove every run"),
    ({"tune": {"seed": 0}}, "tune must be"),
    ({"tune": {"grid": {"train.lr": [1e-3]}, "seed": 0, "seeds": [0, 1]}}, "seed .one. or seeds .a list., not both"),
    ({"tune": {"grid": {"train.lr": [1e-3]}, "seeds": [1, 1]}}, "tune.seeds repeat"),
])
def test_a_malformed_sweep_file_is_a_clear_error(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_sweep(write_sweep(tmp_path, body))


def test_an_unknown_config_key_in_a_run_names_the_run(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, {"grid": {"train.lrr": [1e-3]}}))
    with pytest.raises(ConfigError, match="train.lrr"):
        SweepRunner(sweep, tmp_path / "r", [], None).plan()


def test_tuning_picks_the_best_val_rate_then_runs_the_seeds_and_resumes(tmp_path, quiet_console):
    path = write_sweep(tmp_path, {
        "variants": [{"adapter.name": "clip-bitfit"}, {"adapter.name": "frozen"}],
        "seeds": [0, 1],
        "tune": {"grid": {"train.lr": [1e-5, 5e-2]}},
    })
    results = tmp_path / "results"
    runner = SweepRunner(load_sweep(path), results, [], quiet_console)
    counts = runner.execute(LocalLauncher(quiet_console))
    # bitfit: 2 tuning runs + seed 1 (seed 0 is its tuning run); frozen: 1 tuning run (it does not train) + seed 1
    assert counts == {"ran": 5, "skipped": 0, "copied": 2}
    tuning = load_records(results / "tuning")
    assert len(tuning) == 3
    bitfit = [r for r in tuning if r["config"]["adapter"]["name"] == "clip-bitfit"]
    best = max(bitfit, key=lambda r: validation_score(r, "mR"))
    assert validation_score(bitfit[0], "mR") != validation_score(bitfit[1], "mR")  # the rate mattered
    final = load_records(results)
    assert sorted((r["config"]["adapter"]["name"], r["seed"]) for r in final) == [
        ("clip-bitfit", 0), ("clip-bitfit", 1), ("frozen", 0), ("frozen", 1)]
    for record in final:
        if record["config"]["adapter"]["name"] == "clip-bitfit":
            assert record["config"]["train"]["lr"] == best["config"]["train"]["lr"]
            tuned = record["extra"]["sweep"]["tuned"]
            assert tuned["chosen"] == {"train.lr": best["config"]["train"]["lr"]}
            assert [s["val"] for s in tuned["scores"]] == [validation_score(r, "mR") for r in bitfit]
    seed0 = next(r for r in final if r["seed"] == 0 and r["config"]["adapter"]["name"] == "clip-bitfit")
    assert seed0["run_id"] == best["run_id"]  # the tuning run, not a second one
    # everything is on disk: a second execution runs nothing; a lost record is run again
    assert SweepRunner(load_sweep(path), results, [], quiet_console).execute(LocalLauncher(quiet_console))["ran"] == 0
    lost = next(p for p in results.glob("*.json") if json.loads(p.read_text())["seed"] == 1)
    lost.unlink()
    again = SweepRunner(load_sweep(path), results, [], quiet_console).execute(LocalLauncher(quiet_console))
    assert again["ran"] == 1 and len(load_records(results)) == 4


def test_a_variant_tunes_over_its_own_grid_and_the_others_over_the_sweeps(tmp_path, quiet_console):
    path = write_sweep(tmp_path, {
        "variants": [{"adapter.name": "clip-bitfit", "tune": {"grid": {"train.lr": [1e-5, 5e-2]}}},
                     {"adapter.name": "frozen"}],
        "tune": {"grid": {"train.lr": [1e-3, 1e-2, 5e-3]}},
    })
    sweep = load_sweep(path)
    assert sweep.points() == [{"adapter.name": "clip-bitfit"}, {"adapter.name": "frozen"}]  # no "tune" key in them
    runner = SweepRunner(sweep, tmp_path / "results", [], quiet_console)
    tuning = [(s.run.varied["adapter.name"], s.run.config.train.lr) for s in runner.plan() if s.phase == "tune"]
    assert tuning == [("clip-bitfit", 1e-5), ("clip-bitfit", 5e-2), ("frozen", 1e-3), ("frozen", 1e-2),
                      ("frozen", 5e-3)]
    assert sweep.runs_beyond(5) == 2 * (1 + 3)  # the bound counts the largest grid for every variant
    counts = runner.execute(LocalLauncher(quiet_console))
    assert counts == {"ran": 3, "skipped": 0, "copied": 2}  # bitfit's two rates, frozen's first; seed 0 copied
    final = {r["config"]["adapter"]["name"]: r for r in load_records(tmp_path / "results")}
    scores = final["clip-bitfit"]["extra"]["sweep"]["tuned"]["scores"]
    assert [s["values"] for s in scores] == [{"train.lr": 1e-5}, {"train.lr": 5e-2}]
    assert final["frozen"]["extra"]["sweep"]["tuned"]["chosen"] == {"train.lr": 1e-3}


@pytest.mark.parametrize(("body", "message"), [
    ({"variants": [{"adapter.name": "full", "tune": {"grid": {"train.lr": [1e-3]}}}]}, "no tune section"),
    ({"variants": [{"adapter.name": "full", "tune": {"grid": {"train.lr": [1e-3]}, "seed": 1}}],
      "tune": {"grid": {"train.lr": [1e-3]}}}, r"variants\[0\].tune must be a mapping with grid alone"),
    ({"variants": [{"adapter.name": "full", "tune": {"grid": {"train.lr": []}}}],
      "tune": {"grid": {"train.lr": [1e-3]}}}, r"variants\[0\].tune.grid.train.lr must be a non-empty list"),
    ({"variants": [{"tune": {"grid": {"train.lr": [1e-3]}}}], "tune": {"grid": {"train.lr": [1e-3]}}},
     "no overrides"),
])
def test_a_malformed_variant_grid_is_a_clear_error(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_sweep(write_sweep(tmp_path, body))


def test_tuning_over_several_seeds_chooses_the_best_mean_and_reuses_every_tuning_seeds_run(tmp_path, quiet_console):
    path = write_sweep(tmp_path, {
        "variants": [{"adapter.name": "clip-bitfit"}, {"adapter.name": "frozen"}],
        "seeds": [0, 1],
        "tune": {"grid": {"train.lr": [1e-5, 5e-2]}, "seeds": [0, 1]},
    })
    results = tmp_path / "results"
    assert ("12 runs in sweep sweep: 0 done, 8 to run (0 of them only evaluate a model another run trains), "
            "4 taken from tuning, 0 skipped") in sweep_cli(str(path), "--results-dir", str(results), "--dry-run")
    counts = SweepRunner(load_sweep(path), results, [], quiet_console).execute(LocalLauncher(quiet_console))
    # bitfit: 2 rates x 2 tuning seeds, both seeds copied; frozen: one tuning run (seed 0 copied), then seed 1
    assert counts == {"ran": 6, "skipped": 0, "copied": 3}
    tuning = [r for r in load_records(results / "tuning") if r["config"]["adapter"]["name"] == "clip-bitfit"]
    mean = {lr: sum(validation_score(r, "mR") for r in tuning if r["config"]["train"]["lr"] == lr) / 2
            for lr in (1e-5, 5e-2)}
    best = max(mean, key=mean.get)
    final = [r for r in load_records(results) if r["config"]["adapter"]["name"] == "clip-bitfit"]
    assert sorted(r["seed"] for r in final) == [0, 1]
    tuned_runs = {(r["seed"], r["config"]["train"]["lr"]): r["run_id"] for r in tuning}
    for record in final:
        tuned = record["extra"]["sweep"]["tuned"]
        assert record["config"]["train"]["lr"] == best and tuned["chosen"] == {"train.lr": best}
        assert tuned["seeds"] == [0, 1] and "seed" not in tuned
        assert [s["val"] for s in tuned["scores"]] == pytest.approx([mean[1e-5], mean[5e-2]])
        assert [len(s["per_seed"]) for s in tuned["scores"]] == [2, 2]
        assert record["run_id"] == tuned_runs[(record["seed"], best)]  # the tuning run itself, for both seeds


def sweep_cli(*args: str) -> str:
    result = CliRunner().invoke(app, ["sweep", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_dry_run_lists_runs_and_what_is_done(tmp_path):
    path = write_sweep(tmp_path, {"variants": [{"adapter.name": "frozen"}], "seeds": [0, 1]})
    results = tmp_path / "results"
    dry = [str(path), "--results-dir", str(results), "--dry-run", "--json"]
    rows = json.loads(sweep_cli(*dry))
    assert [(r["phase"], r["seed"], r["status"]) for r in rows] == [("seed", 0, "to train"), ("seed", 1, "to train")]
    assert not results.exists()  # a dry run writes nothing
    assert json.loads(sweep_cli(str(path), "--results-dir", str(results), "--json")) == {
        "ran": 2, "skipped": 0, "copied": 0}
    assert [r["status"] for r in json.loads(sweep_cli(*dry))] == ["done", "done"]


def test_tuning_values_of_a_variant_that_trains_nothing_are_skipped_in_the_plan_and_the_run(tmp_path, quiet_console):
    path = write_sweep(tmp_path, {"variants": [{"adapter.name": "frozen"}], "seeds": [0, 1],
                                  "tune": {"grid": {"train.lr": [1e-5, 1e-3, 5e-2]}}})
    results = tmp_path / "results"
    dry = [str(path), "--results-dir", str(results), "--dry-run"]
    # before any record nobody knows that frozen trains nothing: its first tuning run tells
    assert [r["status"] for r in json.loads(sweep_cli(*dry, "--json"))] == ["to train"] * 3 + [
        "after tuning (from its tuning run)", "after tuning"]  # seed 0 is the tuning seed: its run is copied
    counts = SweepRunner(load_sweep(path), results, [], quiet_console).execute(LocalLauncher(quiet_console))
    assert counts == {"ran": 2, "skipped": 0, "copied": 1}  # tuning lr 1e-5 (= seed 0), seed 1
    assert len(load_records(results / "tuning")) == 1
    # the progress total drops the two values the first record showed need no run: 3 of 3, not 3 of 5
    assert "3/3" in quiet_console.file.getvalue() and "/5" not in quiet_console.file.getvalue()
    rows = json.loads(sweep_cli(*dry, "--json"))
    assert [(r["phase"], r["status"]) for r in rows] == [
        ("tune", "done"), ("tune", "skipped (nothing to train)"), ("tune", "skipped (nothing to train)"),
        ("seed", "done"), ("seed", "done")]
    assert ("5 runs in sweep sweep: 3 done, 0 to run (0 of them only evaluate a model another run trains), "
            "0 taken from tuning, 2 skipped (nothing to train)") in sweep_cli(*dry)


@pytest.mark.slow  # processes of their own (torch imports in each): CI runs it with the slow tests
def test_submitit_local_executor_runs_the_jobs(tmp_path, quiet_console):
    pytest.importorskip("submitit")
    path = write_sweep(tmp_path, {"variants": [{"adapter.name": "frozen"}, {"adapter.name": "clip-bitfit"}]})
    results = tmp_path / "results"
    launcher = SubmititLauncher(quiet_console, tmp_path / "submitit", "local", {"timeout_min": 10})
    counts = SweepRunner(load_sweep(path), results, [], quiet_console).execute(launcher)
    assert counts["ran"] == 2  # one job array of two
    records = load_records(results)
    assert sorted(r["config"]["adapter"]["name"] for r in records) == ["clip-bitfit", "frozen"]
    assert all(r["extra"]["sweep"]["name"] == "sweep" for r in records)
    assert list((tmp_path / "submitit").glob("*_log.out"))  # really went through submitit's job folder


def test_results_dir_that_cannot_be_written_fails_before_any_run(tmp_path, quiet_console):
    blocker = tmp_path / "file"
    blocker.write_text("")
    sweep = load_sweep(write_sweep(tmp_path, {"variants": [{"adapter.name": "frozen"}]}))
    with pytest.raises(RsbenchError, match="results directory .* is a file"):
        SweepRunner(sweep, blocker / "results", [], quiet_console).execute(LocalLauncher(quiet_console))


def test_cmer_table4_lists_the_papers_ablation():
    rows = json.loads(sweep_cli(str(REPO / "configs/cmer/table4.yaml"), "--dry-run", "--json",
                                "--set", "dataset.data_root=/data/RSITMD"))
    methods = {(r["varied"]["adapter.name"], r["varied"]["sampler.name"], r["varied"]["augmenter.name"])
               for r in rows}
    assert methods == {("lora", "batch", "none"), ("focus", "batch", "none"), ("focus", "queue", "none"),
                       ("focus", "queue", "scene")}
    assert {r["seed"] for r in rows} == {0, 1, 2}
