"""The leaderboard's accuracy-cost plot: written as PNG and SVG, every configuration labelled, the front drawn."""

from __future__ import annotations

import pytest
from PIL import Image
from typer.testing import CliRunner

from rsbench.cli import app
from rsbench.results.record import write_record

pytest.importorskip("matplotlib")


def test_leaderboard_writes_a_labelled_pareto_plot(build_record, tmp_path):
    results = tmp_path / "results"
    for seed in (0, 1):
        write_record(build_record(seed=seed, mR=40.0 + seed, trainable_params=10_000), results)
        write_record(build_record(seed=seed, mR=20.0, trainable_params=0,
                                  config_changes={"adapter": {"name": "frozen"}}), results)
        write_record(build_record(seed=seed, mR=10.0, trainable_params=50_000,  # dominated: not on the front
                                  config_changes={"adapter": {"name": "clip-bitfit"}}), results)
    out = tmp_path / "board"
    result = CliRunner().invoke(app, ["leaderboard", "--results-dir", str(results), "--out-dir", str(out)])
    assert result.exit_code == 0, result.output
    png, svg = out / "pareto.png", out / "pareto.svg"
    assert Image.open(png).size[0] > 1000
    text = svg.read_text()
    for method in ("full/batch/none", "frozen/batch/none", "clip-bitfit/batch/none", "Pareto front"):
        assert method in text


def test_no_plot_writes_tables_only(build_record, tmp_path):
    results = tmp_path / "results"
    write_record(build_record(), results)
    result = CliRunner().invoke(app, ["leaderboard", "--results-dir", str(results), "--out-dir", str(tmp_path),
                                      "--no-plot"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "pareto.png").exists() and (tmp_path / "leaderboard.md").exists()
