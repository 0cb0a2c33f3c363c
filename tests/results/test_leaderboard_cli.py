"""`rsbench leaderboard` through typer's test runner, mounted on a small app of its own."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from rsbench.cli.leaderboard import leaderboard_command
from rsbench.errors import RsbenchError
from rsbench.results.record import write_record


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Stand-in for the rsbench root app."""

    app.command("leaderboard")(leaderboard_command)
    return app


@pytest.fixture
def results(tmp_path, build_record):
    results_dir = tmp_path / "results"
    for seed, mR in enumerate((50.0, 60.0, 70.0)):
        write_record(build_record(seed=seed, mR=mR), results_dir)
    write_record(build_record(seed=0, mR=20.0, config_changes={"adapter": "bitfit"}), results_dir)
    return results_dir


def test_prints_table_and_writes_files(app, results, tmp_path):
    out_dir = tmp_path / "board"
    result = CliRunner().invoke(
        app, ["leaderboard", "--results-dir", str(results), "--out-dir", str(out_dir)], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "60.00 ± 10.00" in result.stdout
    assert "bitfit/batch/none" in result.stdout
    assert "4 records, 2 configurations" in result.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["leaderboard.csv", "leaderboard.md", "leaderboard.tex",
                                                      "pareto.png", "pareto.svg", "site"]
    assert "60.00 ± 10.00" in (out_dir / "leaderboard.md").read_text()


def test_json_prints_grouped_rows_only(app, results, tmp_path):
    result = CliRunner().invoke(
        app, ["leaderboard", "--results-dir", str(results), "--out-dir", str(tmp_path / "board"), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["method"], r["n"], r["mR_mean"], r["mR_std"]) for r in rows] == [
        ("full/batch/none", 3, 60.0, 10.0),
        ("bitfit/batch/none", 1, 20.0, None),
    ]


def test_unreadable_record_is_a_warning_not_a_crash(app, results, tmp_path):
    (results / "broken.json").write_text('{"run_id": "abc", "metr')
    result = CliRunner().invoke(
        app, ["leaderboard", "--results-dir", str(results), "--out-dir", str(tmp_path / "board"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "skipped broken.json" in result.stderr
    assert len(json.loads(result.stdout)) == 2


@pytest.mark.parametrize(("make_dir", "message"), [(True, "no result records"), (False, "does not exist")])
def test_empty_or_missing_results_dir_is_a_user_error(app, tmp_path, make_dir, message):
    results_dir = tmp_path / "results"
    if make_dir:
        results_dir.mkdir()
    result = CliRunner().invoke(app, ["leaderboard", "--results-dir", str(results_dir), "--out-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, RsbenchError)
    assert message in str(result.exception)
    assert not (tmp_path / "leaderboard.md").exists()
