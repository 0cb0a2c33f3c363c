"""The leaderboard's accuracy-cost plot: written as PNG and SVG, every configuration labelled, the front drawn."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from rsbench.cli import app
from rsbench.results.plot import pareto_figure
from rsbench.results.record import write_record

pytest.importorskip("matplotlib")


def _labels(fig) -> list[str]:
    return [text.get_text() for ax in fig.axes for text in ax.texts]


def test_leaderboard_writes_a_labelled_pareto_plot(build_record, tmp_path):
    results = tmp_path / "results"
    for seed in (0, 1):
        write_record(build_record(seed=seed, mR=40.0 + seed, trainable_params=10_000), results)
        write_record(build_record(seed=seed, mR=20.0, trainable_params=0,
                                  config_changes={"adapter": {"name": "frozen"}}), results)
        write_record(build_record(seed=seed, mR=10.0, trainable_params=50_000,  # dominated: not on the front
                                  config_changes={"adapter": {"name": "clip-bitfit"}}), results)
    out = tmp_path / "board"
    result = CliRunner().invoke(app, ["leaderboard", "--results-dir", str(results), "--out-dir", str(out),
                                      "--no-site"])
    assert result.exit_code == 0, result.output
    png, svg = out / "pareto.png", out / "pareto.svg"
    assert Image.open(png).size[0] > 1000
    text = svg.read_text()
    for method in ("full/batch/none", "frozen (zero-shot)", "clip-bitfit/batch/none", "Pareto front"):
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

    labels = _labels(pareto_figure(df))
    assert "full/batch/none · 20 ep" not in labels and "full/batch/none" in labels  # one point per method: its longest
    assert "full/batch/none · 20 ep" in _labels(pareto_figure(df, all_epochs=True))  # the option shows every row


def test_a_method_at_several_learning_rates_gets_distinct_labels_with_all_epochs(build_record):
    from rsbench.results.leaderboard import leaderboard
    from rsbench.results.plot import point_labels, settled_rows

    def at(epochs: int, lr: float, adapter: str = "lora") -> dict:
        return {"train": {"lr": lr, "epochs": epochs}, "adapter": {"name": adapter}}

    df = leaderboard([build_record(mR=50.0, config_changes=at(12, 5e-3)),
                      build_record(mR=52.0, config_changes=at(12, 1e-2)),
                      build_record(mR=53.0, config_changes=at(20, 5e-3)),
                      build_record(mR=40.0, config_changes=at(12, 5e-3, "full")),
                      build_record(mR=41.0, config_changes=at(20, 5e-3, "full"))])
    assert sorted(point_labels(df)) == [
        "full/batch/none · 12 ep", "full/batch/none · 20 ep",  # one learning rate: no lr in its labels
        "lora/batch/none · 12 ep · lr 0.005", "lora/batch/none · 12 ep · lr 0.01", "lora/batch/none · 20 ep · lr 0.005"]
    assert sorted(point_labels(settled_rows(df))) == ["full/batch/none", "lora/batch/none"]  # one row each: bare
    same_epochs = df[df["epochs"] == 12]
    assert sorted(point_labels(same_epochs)) == ["full/batch/none", "lora/batch/none · lr 0.005",
                                                 "lora/batch/none · lr 0.01"]


ROOT = Path(__file__).resolve().parents[2]


def _crowded(build_record) -> list[dict]:
    """Fifteen methods between mR 49 and 54 at four costs (the committed board's crowd, made worse), with the three
    families that train nothing and a method at several epoch counts."""
    records = []
    for i in range(15):
        adapter = ("focus", "lora", "clip-lora", "full")[i % 4]
        for seed in (0, 1):
            records.append(build_record(seed=seed, mR=49.0 + i / 3 + seed / 4, trainable_params=(5_000, 400_000,
                                        200_000, 4_000_000)[i % 4], config_changes={
                "adapter": {"name": adapter}, "reranker": {"name": f"variant-{i}"},  # 15 method labels
                "train": {"lr": 1e-3, "epochs": 12}}))
    for strategy, captioner, mR in (("text-to-text", "oracle", 61.0), ("hybrid", "oracle", 62.5),
                                    ("text-to-text", "tiny", 25.0), ("hybrid", "tiny", 32.0), (None, None, 30.5)):
        changes = {"adapter": {"name": "frozen"}}
        if strategy:
            changes |= {"strategy": {"name": strategy}, "captioner": {"name": captioner}}
        records.append(build_record(mR=mR, trainable_params=0, config_changes=changes))
    return records


def _pixel_boxes(fig):
    """Per panel: the rendered label boxes and the marker boxes, from matplotlib's own renderer."""
    from matplotlib.text import Annotation, Text

    fig.canvas.draw()  # as saved: every annotation at its place
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:  # the text's own box (an Annotation's would add its leader line)
        labels = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in ax.texts if isinstance(t, Annotation)]
        markers = []
        for line in ax.lines:
            if line.get_marker() in ("o",):
                radius = line.get_markersize() / 2 * fig.dpi / 72
                for x, y in ax.transData.transform(line.get_xydata()):
                    markers.append((x - radius, y - radius, x + radius, y + radius))
        yield ax, labels, markers


def _meets(a, b) -> bool:
    ax0, ay0, ax1, ay1 = a
    bx0, by0, bx1, by1 = b
    return ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1


@pytest.mark.parametrize("source", ["committed", "crowded"])
def test_no_label_overlaps_another_label_or_a_marker(build_record, source):
    from rsbench.results.leaderboard import leaderboard
    from rsbench.results.record import load_records

    records = load_records(ROOT / "leaderboard" / "results") if source == "committed" else _crowded(build_record)
    fig = pareto_figure(leaderboard(records))
    seen = 0
    for ax, labels, markers in _pixel_boxes(fig):
        frame = ax.get_window_extent(fig.canvas.get_renderer())
        boxes = [(text, (b.x0, b.y0, b.x1, b.y1)) for text, b in labels]
        seen += len(boxes)
        for i, (text, box) in enumerate(boxes):
            assert frame.x0 <= box[0] and box[2] <= frame.x1 and frame.y0 <= box[1] and box[3] <= frame.y1, text
            assert not any(_meets(box, other) for _, other in boxes[i + 1:]), text
            assert not any(_meets(box, marker) for marker in markers), text
    assert seen >= 2 * 15  # every method labelled in both cost panels: the test looked at something


def test_one_point_per_method_coloured_by_family_and_a_front_through_the_methods_that_train(build_record):
    from rsbench.results.leaderboard import leaderboard
    from rsbench.results.plot import FAMILIES, method_family, settled_rows

    records = [build_record(mR=50.0 + e / 10, trainable_params=1000, config_changes={"train": {"lr": 1e-3,
               "epochs": e}}) for e in (12, 20, 30)]
    records += [build_record(mR=45.0, trainable_params=100, config_changes={"adapter": {"name": "clip-bitfit"}}),
                build_record(mR=40.0, trainable_params=50_000, config_changes={"adapter": {"name": "lora"}}),
                build_record(mR=70.0, trainable_params=0, config_changes={
                    "adapter": {"name": "frozen"}, "strategy": {"name": "text-to-text"},
                    "captioner": {"name": "oracle"}})]
    df = leaderboard(records)
    settled = settled_rows(df)
    assert sorted(settled["epochs"].dropna().astype(int)) == [2, 2, 30]  # full: only its 30-epoch row
    fig = pareto_figure(df)
    labels = _labels(fig)
    assert labels.count("full/batch/none") == 2 and labels.count("lora/batch/none") == 2  # one per cost panel
    assert labels.count("text-to-text+captions:oracle") == 1  # its own panel only, not at 0 on a log axis
    trainable, activations, free = fig.axes[:3]
    front = [line for line in trainable.lines if line.get_drawstyle() == "steps-post"]
    assert len(front) == 1 and list(front[0].get_xdata()) == [100.0, 1000.0]  # bitfit then full; lora dominated
    assert trainable.get_xscale() == "log" and min(trainable.get_xlim()) > 0
    colours = {line.get_color() for line in free.lines if line.get_marker() == "o"}
    assert colours == {FAMILIES["oracle captions (upper bound)"]}
    assert method_family("focus/queue/scene@oracle", 4e5) == "PETL adapters"
    assert method_family("gswin/batch/none", 1e6) == "plugins"
    assert method_family("frozen/batch/none+hybrid+captions:tiny", 0) == "training-free text-to-text"
    assert method_family("frozen/batch/none", 0) == "zero-shot"


def test_a_sweep_grid_is_drawn_as_mR_against_its_values_with_error_bars(build_record, tmp_path):
    from rsbench.results.plot import grid_figure, sweep_grids

    records = []
    for width, heads in ((128, 4), (256, 8)):
        for field in (1, 2, 7):
            for seed in (0, 1, 2):
                record = build_record(seed=seed, mR=width / 10 + field + seed, config_changes={
                    "adapter": {"name": "focus", "hidden_dim": width, "focus_field": field}})
                record["extra"] = {"sweep": {"name": "synthrs-table5", "varied": {
                    "adapter.hidden_dim": width, "adapter.heads": heads, "adapter.focus_field": field}}}
                records.append(record)
    records.append(build_record(mR=10.0))  # not from a sweep: not drawn
    assert list(sweep_grids(records)) == ["synthrs-table5"]
    fig = grid_figure("synthrs-table5", sweep_grids(records)["synthrs-table5"])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "adapter.focus_field" and "synthetic data" in ax.get_title()
    lines = {container.get_label(): container.lines[0] for container in ax.containers}
    line = lines["adapter.hidden_dim=256, adapter.heads=8 (n = 3 seeds)"]
    assert list(line.get_xdata()) == [1.0, 2.0, 7.0] and line.get_ydata() == pytest.approx([27.6, 28.6, 33.6])
    bars = [c for c in ax.collections if len(c.get_segments()) == 3]
    assert any(abs(seg[1][1] - seg[0][1] - 2.0) < 1e-9 for c in bars for seg in c.get_segments())  # ± std 1
    for record in records:  # as the sweep leaves them: in ablations/ beside the leaderboard's results/
        write_record(record, tmp_path / ("ablations" if record["extra"].get("sweep") else "results"))
    result = CliRunner().invoke(app, ["leaderboard", "--results-dir", str(tmp_path / "results"), "--out-dir",
                                      str(tmp_path / "board"), "--no-site"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "board").glob("grid-*")) == ["grid-synthrs-table5.png",
                                                                          "grid-synthrs-table5.svg"]
