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


def test_a_method_at_several_epoch_counts_gets_distinct_labels(build_record, tmp_path):
    from rsbench.results.leaderboard import leaderboard
    from rsbench.results.plot import point_labels

    def at(epochs: int | None, adapter: str = "full") -> dict:
        train = {"lr": 1e-4} if epochs is None else {"lr": 1e-4, "epochs": epochs}
        return {"train": train, "adapter": {"name": adapter}}

    records = [build_record(mR=50.0 + i, config_changes=at(e)) for i, e in enumerate((12, 20, 30))]
    records += [build_record(mR=40.0, config_changes=at(12, "frozen"))]
    df = leaderboard(records)
    labels = dict(zip(df["config_id"], point_labels(df), strict=True))
    assert sorted(labels.values()) == ["frozen/batch/none", "full/batch/none · 12 ep", "full/batch/none · 20 ep",
                                       "full/batch/none · 30 ep"]  # frozen: one epoch count, no suffix
    older = leaderboard([build_record(mR=50.0, config_changes=at(12)), build_record(mR=45.0, config_changes=at(None))])
    assert sorted(point_labels(older)) == ["full/batch/none", "full/batch/none · 12 ep"]

    results = tmp_path / "results"
    for record in records:
        write_record(record, results)
    out = tmp_path / "board"
    result = CliRunner().invoke(app, ["leaderboard", "--results-dir", str(results), "--out-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "full/batch/none · 20 ep" in (out / "pareto.svg").read_text()
