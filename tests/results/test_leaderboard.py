"""Leaderboard: grouping by configuration, mean ± std over seeds, Pareto front, rendered tables."""

from __future__ import annotations

import io
import json
import math
import os

import pandas as pd
import pytest
from rich.console import Console

from rsbench.errors import RsbenchError
from rsbench.results.display import render_leaderboard
from rsbench.results.leaderboard import (
    COLUMNS,
    METRICS,
    format_figure,
    leaderboard,
    leaderboard_rows,
    pareto_front,
)
from rsbench.results.record import COST_KEYS, METRIC_KEYS
from rsbench.results.tables import to_markdown, write_tables


def recalls(mR: float, **changes: float) -> dict:
    return dict.fromkeys(METRIC_KEYS, mR) | changes


def test_metric_metadata_covers_every_figure_with_a_direction():
    assert tuple(METRICS)[: len(METRIC_KEYS)] == METRIC_KEYS
    assert set(COST_KEYS) <= set(METRICS)
    assert all(METRICS[k].higher_is_better for k in METRIC_KEYS)
    assert not METRICS["trainable_params"].higher_is_better
    assert not METRICS["peak_memory_bytes"].higher_is_better
    assert METRICS["throughput_pairs_per_s"].higher_is_better


def test_three_seeds_make_one_row_with_mean_and_sample_std(build_record):
    records = [
        build_record(seed=0, metrics=recalls(50.0, i2t_r1=10.0), trainable_params=1000),
        build_record(seed=1, metrics=recalls(60.0, i2t_r1=20.0), trainable_params=2000),
        build_record(seed=2, metrics=recalls(70.0, i2t_r1=60.0), trainable_params=3000),
    ]
    df = leaderboard(records)
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 1
    row = df.iloc[0]
    assert row["n"] == 3 and row["seeds"] == "0,1,2"
    # mR: 50, 60, 70 → mean 60, deviations ±10 → sample std sqrt((100 + 0 + 100) / 2) = 10
    assert row["mR_mean"] == pytest.approx(60.0) and row["mR_std"] == pytest.approx(10.0)
    # i2t R@1: 10, 20, 60 → mean 30, deviations -20, -10, 30 → sqrt((400 + 100 + 900) / 2) = sqrt(700)
    assert row["i2t_r1_mean"] == pytest.approx(30.0) and row["i2t_r1_std"] == pytest.approx(math.sqrt(700))
    assert row["trainable_params_mean"] == pytest.approx(2000.0)
    assert math.isnan(row["peak_memory_bytes_mean"])  # never measured in any seed
    assert row["method"] == "full/batch/none" and row["dataset"] == "synthrs" and bool(row["synthetic"])
    assert row["backbone"] == "rsbench-tiny (random init)" and row["selected_on"] == "val"
    assert set(row["run_ids"].split(",")) == {r["run_id"] for r in records}


def test_a_cpu_peak_of_zero_from_a_run_that_trained_is_read_as_unmeasured(build_record):
    records = [build_record(seed=seed) for seed in range(3)]
    for record, peak in zip(records, (0, 200 * 2**20, 100 * 2**20), strict=True):
        record["cost"]["peak_memory_bytes"] = peak  # 0: the old lifetime-peak growth of a sweep's later run
    assert leaderboard(records).iloc[0]["peak_memory_bytes_mean"] == 150 * 2**20
    frozen = [build_record(seed=seed, trainable_params=0, config_changes={"adapter": {"name": "frozen"}})
              for seed in range(2)]
    for record in frozen:
        record["cost"].update(peak_memory_bytes=0, train_seconds=0.0)  # nothing trained: 0 is the measure
    assert leaderboard(frozen).iloc[0]["peak_memory_bytes_mean"] == 0


def test_one_seed_has_no_std(build_record):
    row = leaderboard([build_record(mR=42.0)]).iloc[0]
    assert row["n"] == 1 and row["mR_mean"] == 42.0 and math.isnan(row["mR_std"])


def test_device_paths_and_seed_do_not_split_a_configuration(build_record):
    records = [
        build_record(seed=0),
        build_record(seed=1, config_changes={"device": "cuda", "results_dir": "/elsewhere"}),
        build_record(seed=2, config_changes={"dataset": {"name": "synthrs", "root": "/mnt/other/copy"}}),
    ]
    df = leaderboard(records)
    assert len(df) == 1 and df.iloc[0]["n"] == 3


def test_options_added_later_at_their_old_behaviour_do_not_split_a_configuration(build_record):
    before = build_record(seed=0, config_changes={"strategy": {"name": "dual-stream"}})
    after = build_record(seed=1, config_changes={"strategy": {"name": "dual-stream", "index_options": {}},
                                                 "train": {"lr": 1e-4, "epochs": 2, "cache_features": False}})
    tuned = build_record(seed=2, config_changes={"strategy": {"name": "dual-stream",
                                                              "index_options": {"ef_search": 64}}})
    assert sorted(leaderboard([before, after, tuned])["n"]) == [1, 2]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            {"config_changes": {"train": {"lr": 1e-4, "epochs": 2}}},
            {"config_changes": {"train": {"lr": 1e-3, "epochs": 2}}},
        ),
        ({"config_changes": {"adapter": {"name": "full"}}}, {"config_changes": {"adapter": {"name": "focus"}}}),
        ({"selected_on": "val"}, {"selected_on": "test"}),
        ({"dataset_name": "synthrs"}, {"dataset_name": "rsitmd", "synthetic": False}),
    ],
    ids=["train.lr", "adapter", "selected_on", "dataset"],
)
def test_different_configurations_are_different_rows(build_record, first, second):
    df = leaderboard([build_record(seed=0, **first), build_record(seed=1, **first), build_record(seed=0, **second)])
    assert sorted(df["n"]) == [1, 2]
    assert df["config_id"].nunique() == 2


def test_rows_sorted_by_dataset_then_best_mr(build_record):
    df = leaderboard(
        [
            build_record(dataset_name="b", mR=10.0),
            build_record(dataset_name="a", mR=20.0, config_changes={"adapter": "x"}),
            build_record(dataset_name="a", mR=30.0, config_changes={"adapter": "y"}),
        ]
    )
    assert list(zip(df["dataset"], df["mR_mean"], strict=True)) == [("a", 30.0), ("a", 20.0), ("b", 10.0)]


def frame(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"method": m, "dataset": d, "mR_mean": a, "trainable_params_mean": c, "throughput_pairs_per_s_mean": t}
         for m, d, a, c, t in rows]
    )


def test_pareto_front_by_hand():
    df = frame(
        [
            ("A", "x", 60.0, 1000, 5.0),
            ("B", "x", 70.0, 5000, 1.0),
            ("C", "x", 55.0, 2000, 9.0),  # A has more mR for fewer params: dominated
            ("D", "x", 60.0, 1000, 2.0),  # equal to A: neither dominates
            ("E", "x", math.nan, 10, 1.0),  # unmeasured: never on the front
            ("F", "y", 10.0, 9999, 1.0),  # alone in its dataset
        ]
    )
    assert list(pareto_front(df)["method"]) == ["A", "B", "D", "F"]
    assert list(pareto_front(df, by=())["method"]) == ["A", "B", "D"]  # F is beaten by A across datasets
    # throughput is higher-is-better: C (55, 9/s) is no longer dominated, A beats D now
    assert list(pareto_front(df, cost="throughput_pairs_per_s")["method"]) == ["A", "B", "C", "F"]
    with pytest.raises(RsbenchError, match="unknown leaderboard figure"):
        pareto_front(df, cost="flops")


def test_leaderboard_marks_pareto_rows(build_record):
    df = leaderboard(
        [
            build_record(mR=60.0, trainable_params=1000, config_changes={"adapter": "cheap"}),
            build_record(mR=50.0, trainable_params=2000, config_changes={"adapter": "worse"}),
        ]
    )
    assert dict(zip(df["method"], df["pareto"], strict=True)) == {"cheap/batch/none": True, "worse/batch/none": False}


@pytest.mark.parametrize(
    ("key", "mean", "std", "expected"),
    [
        ("mR", 60.0, 10.0, "60.00 ± 10.00"),
        ("mR", 12.345, math.nan, "12.35"),
        ("trainable_params", 3_930_000.0, math.nan, "3.93 M"),
        ("peak_memory_bytes", 3 * 2**30, math.nan, "3.00 GiB"),
        ("saved_activation_bytes", 2**20, math.nan, "1.00 MiB"),
        ("train_seconds", 3.0, math.nan, "3.00 s"),
        ("mR", math.nan, math.nan, "–"),
    ],
)
def test_format_figure(key, mean, std, expected):
    assert format_figure(key, mean, std) == expected


@pytest.fixture
def two_datasets(build_record):
    return leaderboard(
        [
            build_record(seed=0, mR=50.0, config_changes={"adapter": "clip_lora"}),
            build_record(seed=1, mR=70.0, config_changes={"adapter": "clip_lora"}),
            build_record(seed=0, mR=33.333, dataset_name="rsitmd", synthetic=False),
        ]
    )


def test_write_tables_writes_markdown_csv_latex(tmp_path, two_datasets):
    paths = write_tables(two_datasets, tmp_path / "board")
    assert [p.name for p in paths] == ["leaderboard.md", "leaderboard.csv", "leaderboard.tex"]
    assert sorted(os.listdir(tmp_path / "board")) == sorted(p.name for p in paths)  # no temp files left

    markdown = paths[0].read_text()
    assert "## rsitmd\n" in markdown
    assert "## synthrs (synthetic data" in markdown
    # std sqrt(200) = 14.14
    assert "| clip_lora/batch/none | 2 | 0.0001 | rsbench-tiny (random init) | 2 | 60.00 ± 14.14 |" in markdown
    assert "| 33.33 |" in markdown and "★" in markdown

    csv = pd.read_csv(paths[1])
    assert len(csv) == 2
    assert sorted(csv["mR_mean"]) == pytest.approx([33.333, 60.0])
    assert sorted(csv["n"]) == [1, 2]

    latex = paths[2].read_text()
    assert "\\begin{tabular}{lrrll" in latex and "\\end{tabular}" in latex
    assert "Method & Epochs & LR & Dataset & Backbone & $n$ &" in latex
    assert "clip\\_lora/batch/none" in latex  # underscore escaped
    assert "60.00 $\\pm$ 14.14" in latex
    assert "synthrs (synthetic)" in latex


def test_write_tables_replaces_previous_tables(tmp_path, two_datasets, build_record):
    write_tables(two_datasets, tmp_path)
    write_tables(leaderboard([build_record(mR=12.0)]), tmp_path)
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert "12.00" in markdown and "60.00" not in markdown
    assert len(os.listdir(tmp_path)) == 3


def test_render_rich_shows_mean_std_and_n(two_datasets):
    console = Console(file=io.StringIO(), width=300, color_system=None)
    render_leaderboard(two_datasets, console)
    text = console.file.getvalue()
    assert "60.00 ± 14.14" in text
    assert "synthrs (synthetic)" in text
    assert "rsitmd" in text and "33.33" in text


def test_leaderboard_rows_are_json_ready(two_datasets):
    rows = leaderboard_rows(two_datasets)
    assert json.loads(json.dumps(rows, allow_nan=False)) == rows
    one_seed = next(r for r in rows if r["n"] == 1)
    assert one_seed["mR_std"] is None and one_seed["mR_mean"] == pytest.approx(33.333)


def test_empty_leaderboard_has_the_columns():
    df = leaderboard([])
    assert df.empty and list(df.columns) == list(COLUMNS)


def test_size_split_recalls_are_averaged_and_rendered(build_record):
    def sized(small_t2i: float, large_t2i: float) -> dict:
        groups = {"small": {"t2i_r1": small_t2i, "t2i_r10": small_t2i, "i2t_r1": 5.0, "i2t_r10": 9.0},
                  "large": {"t2i_r1": large_t2i, "t2i_r10": large_t2i, "i2t_r1": 7.0, "i2t_r10": 11.0}}
        return recalls(50.0) | {"by_object_size": groups}

    df = leaderboard([build_record(seed=0, metrics=sized(10.0, 30.0)), build_record(seed=1, metrics=sized(20.0, 40.0))])
    row = df.iloc[0]
    assert row["small_t2i_r1_mean"] == pytest.approx(15.0) and row["large_t2i_r1_mean"] == pytest.approx(35.0)
    assert row["small_t2i_r1_std"] == pytest.approx(math.sqrt(50.0))
    page = to_markdown(df)
    assert "Recall by the size of the objects" in page and "15.00 ± 7.07" in page
    plain = leaderboard([build_record(seed=0)])
    assert "Recall by the size" not in to_markdown(plain)


def test_other_weights_under_the_same_tag_are_another_row(build_record):
    records = [build_record(seed=0), build_record(seed=1), build_record(seed=2)]
    records[1]["backbone"]["weights_sha256"] = "a" * 64
    records[2]["backbone"]["weights_sha256"] = "b" * 64
    assert len(leaderboard(records)) == 3
    records[2]["backbone"]["weights_sha256"] = "a" * 64
    assert sorted(leaderboard(records)["n"]) == [1, 2]


def test_rows_of_one_method_at_other_epochs_say_their_epochs(build_record, tmp_path):
    at = {epochs: {"train": {"lr": 1e-4, "epochs": epochs}} for epochs in (12, 20)}
    older = build_record(seed=0, mR=30.0, config_changes={"train": {"lr": 1e-4}})  # a record without train.epochs
    df = leaderboard([build_record(seed=0, mR=50.0, config_changes=at[12]),
                      build_record(seed=0, mR=55.0, config_changes=at[20]), older])
    assert list(df["method"]) == ["full/batch/none"] * 3
    assert list(df["epochs"].astype(object).where(df["epochs"].notna(), None)) == [20, 12, None]

    md, csv, tex = write_tables(df, tmp_path)
    markdown = md.read_text()
    assert "| Method | Epochs | LR | Backbone |" in markdown
    assert "| full/batch/none | 20 | 0.0001 | rsbench-tiny (random init) | 1 | 55.00 |" in markdown
    assert "| full/batch/none | 12 | 0.0001 | rsbench-tiny (random init) | 1 | 50.00 |" in markdown
    assert "| full/batch/none | – | 0.0001 | rsbench-tiny (random init) | 1 | 30.00 |" in markdown
    assert pd.read_csv(csv)["epochs"].tolist()[:2] == [20, 12] and "epochs" in csv.read_text().splitlines()[0]
    assert "full/batch/none$^\\star$ & 20 & 0.0001 & synthrs (synthetic)" in tex.read_text()
    console = Console(file=io.StringIO(), width=300, color_system=None)
    render_leaderboard(df, console)
    assert "Epochs" in console.file.getvalue()
    assert [r["epochs"] for r in leaderboard_rows(df)] == [20, 12, None]
    # a row that trained nothing (frozen) shows no epochs, whatever its config's train section says
    frozen = leaderboard([build_record(seed=0, mR=20.0, trainable_params=0, config_changes=at[12])])
    assert frozen["epochs"].isna().all()


def test_rows_of_one_method_at_other_learning_rates_say_their_learning_rates(build_record, tmp_path):
    at = {lr: {"train": {"lr": lr, "epochs": 12}} for lr in (5e-3, 1e-2)}
    df = leaderboard([build_record(seed=s, mR=50.0 + s, config_changes=at[5e-3]) for s in (0, 1)]
                     + [build_record(seed=s, mR=55.0 + s, config_changes=at[1e-2]) for s in (0, 1)])
    assert list(df["method"]) == ["full/batch/none"] * 2 and list(df["epochs"]) == [12, 12] and list(df["n"]) == [2, 2]
    assert list(df.columns).index("lr") == list(df.columns).index("epochs") + 1
    assert str(df["lr"].dtype) == "Float64" and list(df["lr"]) == [0.01, 0.005]  # best mR first

    md, csv, tex = write_tables(df, tmp_path)
    rows = [line for line in md.read_text().splitlines() if line.startswith("| full/batch/none |")]
    assert len(rows) == 2 and rows[0] != rows[1]
    assert [row.split(" | ")[1:3] for row in rows] == [["12", "0.01"], ["12", "0.005"]]  # Epochs, then LR
    assert "| Method | Epochs | LR | Backbone |" in md.read_text()
    header = csv.read_text().splitlines()[0].split(",")
    assert header[header.index("epochs") + 1] == "lr" and pd.read_csv(csv)["lr"].tolist() == [0.01, 0.005]
    assert "full/batch/none$^\\star$ & 12 & 0.01 & synthrs" in tex.read_text()
    console = Console(file=io.StringIO(), width=300, color_system=None)
    render_leaderboard(df, console)
    assert "LR" in console.file.getvalue() and "0.005" in console.file.getvalue()
    assert [r["lr"] for r in leaderboard_rows(df)] == [0.01, 0.005]


@pytest.mark.parametrize(("lr", "shown"), [(5e-3, "0.005"), (2e-4, "0.0002"), (1e-3, "0.001"), (3e-5, "3e-05"),
                                          (1.0, "1")])
def test_the_learning_rate_is_shown_compactly(build_record, lr, shown):
    df = leaderboard([build_record(config_changes={"train": {"lr": lr, "epochs": 2}})])
    assert df["lr"].iloc[0] == lr
    assert f"| full/batch/none | 2 | {shown} | rsbench-tiny (random init) |" in to_markdown(df)


def test_a_row_that_trains_nothing_or_has_no_lr_shows_a_dash(build_record, tmp_path):
    frozen = build_record(mR=20.0, trainable_params=0,  # its config's train section says lr 5e-3: nothing used it
                          config_changes={"adapter": {"name": "frozen"}, "train": {"lr": 5e-3, "epochs": 12}})
    no_lr = build_record(mR=30.0, config_changes={"train": {"epochs": 12}})  # a config without train.lr
    df = leaderboard([frozen, no_lr])
    assert df["lr"].isna().all() and str(df["lr"].dtype) == "Float64"
    md, csv, tex = write_tables(df, tmp_path)
    assert "| frozen/batch/none | – | – | rsbench-tiny (random init) | 1 | 20.00 |" in md.read_text()
    assert "| full/batch/none | 12 | – | rsbench-tiny (random init) | 1 | 30.00 |" in md.read_text()
    assert pd.read_csv(csv)["lr"].isna().all()
    assert "frozen/batch/none$^\\star$ & – & – & synthrs" in tex.read_text()  # zero params: on the front
    assert [r["lr"] for r in leaderboard_rows(df)] == [None, None]


def _tuned(record: dict, chosen_lr: float, created_at: str) -> dict:
    """``record`` as a sweep writes it: the learning rate its tuning chose, and when."""
    record["extra"]["sweep"] = {"name": "s", "tuned": {"keys": ["train.lr"], "chosen": {"train.lr": chosen_lr}}}
    record["created_at"] = created_at
    return record


def test_rows_at_a_rate_an_earlier_grid_chose_are_not_the_settled_row(build_record):
    from rsbench.results.plot import settled_rows

    at = {lr: {"train": {"lr": lr, "epochs": 12}} for lr in (5e-3, 1e-2)}
    old = [_tuned(build_record(seed=s, mR=60.0, config_changes=at[5e-3]), 5e-3, "2026-11-28T10:00:00+00:00")
           for s in (0, 1)]  # the first grid's choice: the better test mR, but not what the newest tuning chose
    new = [_tuned(build_record(seed=s, mR=55.0, config_changes=at[1e-2]), 1e-2, "2026-12-06T10:00:00+00:00")
           for s in (0, 1)]
    frozen = [_tuned(build_record(seed=s, mR=20.0, trainable_params=0,
                                  config_changes={"adapter": {"name": "frozen"}, **at[5e-3]}),
                     2e-4, "2026-12-06T10:00:00+00:00") for s in (0, 1)]
    df = leaderboard(old + new + frozen)
    chosen = dict(zip(df["lr"].fillna(-1).tolist(), df["lr_chosen"].tolist(), strict=True))
    assert chosen == {0.005: False, 0.01: True, -1: True}  # a row that trains nothing has no rate to be wrong about
    settled = settled_rows(df)
    assert settled[settled["method"] == "full/batch/none"]["lr"].tolist() == [0.01]
    # without any tuning record every row is at its chosen rate, and the best mR at the longest epochs settles
    plain = leaderboard([build_record(seed=0, mR=60.0, config_changes=at[5e-3]),
                         build_record(seed=0, mR=55.0, config_changes=at[1e-2])])
    assert plain["lr_chosen"].all() and settled_rows(plain)["lr"].tolist() == [0.005]


def test_a_row_at_a_rate_its_methods_tuning_did_not_choose_is_marked_in_every_table(build_record, tmp_path):
    from rsbench.results.site.pages import leaderboard_table

    at = {lr: {"train": {"lr": lr, "epochs": 12}} for lr in (5e-3, 1e-2)}
    records = [_tuned(build_record(seed=0, mR=60.0, config_changes=at[5e-3]), 5e-3, "2026-11-28T10:00:00+00:00"),
               _tuned(build_record(seed=0, mR=55.0, config_changes=at[1e-2]), 1e-2, "2026-12-06T10:00:00+00:00")]
    df = leaderboard(records)
    markdown = to_markdown(df)
    assert "| 12 | 0.005 † |" in markdown and "| 12 | 0.01 |" in markdown and "† after a learning rate" in markdown
    write_tables(df, tmp_path)
    tex = (tmp_path / "leaderboard.tex").read_text()
    assert "0.005 $^\\dagger$" in tex and "†" not in tex
    assert pd.read_csv(tmp_path / "leaderboard.csv")["lr"].tolist() == [0.005, 0.01]  # the CSV stays numbers
    site = leaderboard_table(df, {cid: f"rows/{cid}.html" for cid in df["config_id"]})
    assert site.count("†") == 1 and 'data-value="0.005">0.005 <span' in site

