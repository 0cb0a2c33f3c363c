"""A published figure is shown beside a leaderboard row only as comparable, or marked with why it is not."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from PIL import Image

from rsbench.cli import main
from rsbench.config import build_config
from rsbench.results.comparability import comparability
from rsbench.results.leaderboard import leaderboard, paper_columns
from rsbench.results.published import published_matches
from rsbench.results.record import load_records
from rsbench.results.tables import to_markdown

PAPER_SPLITS = {"train": 3432, "val": 859, "test": 452}  # RSITMD, 4,743 images


def paper_setting_record(**train) -> dict:
    """A record of CMER ViT-B-32 on RSITMD as the paper ran it, as far as a record can say."""
    layer = {"dataset": {"name": "rsitmd", "data_root": "/data/RSITMD"},
             "backbone": {"name": "ViT-B-32", "pretrained": "openai"}}
    sets = ["train.epochs=20", "train.batch_size=256", "train.captions_per_epoch=all",
            *(f"train.{k}={v}" for k, v in train.items())]
    return {"config": build_config(None, layer, sets).to_dict(), "selected_on": "val",
            "backbone": {"name": "ViT-B-32", "pretrained": "openai"},
            "dataset": {"name": "rsitmd", "synthetic": False, "split_sizes": dict(PAPER_SPLITS),
                        "scene_at_eval": "oracle"}}


def cmer_b32_entry(record: dict) -> dict:
    (entry,) = published_matches(record["config"], "rsitmd")
    assert entry["row"] == "CMER ViT-B-32"
    return entry


def test_the_papers_setting_is_comparable():
    record = paper_setting_record()
    assert comparability(record, cmer_b32_entry(record), 2_718_272) == []
    columns = paper_columns(record, "rsitmd", 2_718_272)
    assert columns["paper_comparable"] is True and columns["paper_mR"] == 46.88
    assert columns["paper_note"].startswith("comparable; query scene oracle: not stated by the paper")


def _random_init(r):
    r["backbone"]["pretrained"] = None


def _other_weights(r):
    r["backbone"]["pretrained"] = "laion2b_s34b_b79k"


def _small_folder(r):
    r["dataset"]["split_sizes"] = {"train": 40, "val": 10, "test": 10}


def _selected_on_test(r):
    r["selected_on"] = "test"


@pytest.mark.parametrize(("change", "params", "reason"), [
    (_random_init, 2_718_272, "random init"),
    (_other_weights, 2_718_272, "weights laion2b_s34b_b79k (paper: openai CLIP)"),
    (_small_folder, 2_718_272, "60 of 4,743 images (train/val/test 40/10/10, paper 3,432/859/452)"),
    (_selected_on_test, 2_718_272, "selected on test (paper: val)"),
    (None, 1_000_000, "1.00 M trainable params (paper 2.72 M)"),
])
def test_each_difference_is_a_reason(change, params, reason):
    record = copy.deepcopy(paper_setting_record())
    if change:
        change(record)
    assert comparability(record, cmer_b32_entry(record), params) == [reason]


@pytest.mark.parametrize(("train", "reason"), [
    ({"max_steps": 2}, "2 steps (train.max_steps)"),
    ({"epochs": 6}, "epochs 6 (paper 20)"),
    ({"batch_size": 64}, "batch 64 (paper 256)"),
    ({"captions_per_epoch": "one"}, "captions per epoch one (paper all)"),
])
def test_each_training_difference_is_a_reason(train, reason):
    record = paper_setting_record(**train)
    assert comparability(record, cmer_b32_entry(record), 2_718_272) == [reason]


def write_rsitmd_folder(root: Path, images: int = 8) -> Path:
    """A Karpathy-format folder laid out as RSITMD's (dataset_RSITMD.json, <class>_<n>.tif): 4/2/2 images."""
    (root / "images").mkdir(parents=True)
    classes = ["airport", "beach", "bridge", "forest"]
    entries, sentid = [], 0
    for i in range(images):
        scene, name = classes[i % 4], f"{classes[i % 4]}_{i}.tif"
        Image.new("RGB", (16, 16), (60 * (i % 4), (20 * i) % 255, 100)).save(root / "images" / name)
        sentences = []
        for k in range(5):
            raw = f"a {scene} seen from above, view {i}-{k}"
            sentences.append({"raw": raw, "tokens": raw.split(), "imgid": i, "sentid": sentid})
            sentid += 1
        split = "train" if i < images // 2 else "val" if i < 3 * images // 4 else "test"
        entries.append({"filename": name, "imgid": i, "split": split,
                        "sentids": [s["sentid"] for s in sentences], "sentences": sentences})
    (root / "dataset_RSITMD.json").write_text(json.dumps({"images": entries}))
    return root


def test_a_tiny_run_on_a_folder_named_rsitmd_is_marked_not_comparable(tmp_path, monkeypatch):
    """The run of issue 28: CMER's recipe, ViT-B-32 from random weights, 2 steps, on a folder that is RSITMD by
    name only. The leaderboard must show the paper's 46.88 with its reasons, never as if comparable."""
    root = write_rsitmd_folder(tmp_path / "RSITMD")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--dataset", "rsitmd", "--data-root", str(root), "--backbone", "ViT-B-32",
              "--epochs", "1", "--batch-size", "2", "--results-dir", str(tmp_path / "results"),
              "--set", "backbone.pretrained=null", "--set", "backbone.image_size=64", "--set", "train.max_steps=2",
              "--set", f"checkpoint_dir={tmp_path / 'ckpt'}", "--json"])
        raise SystemExit(0)
    assert not exit_info.value.code
    (row,) = leaderboard(load_records(tmp_path / "results")).to_dict("records")
    assert row["method"] == "focus/queue/scene@oracle" and row["paper_mR"] == 46.88
    assert row["paper_comparable"] is False
    for reason in ("random init", "8 of 4,743 images (train/val/test 4/2/2", "2 steps (train.max_steps)",
                   "epochs 1 (paper 20)", "batch 2 (paper 256)", "captions per epoch one (paper all)"):
        assert reason in row["paper_note"], reason
    markdown = to_markdown(leaderboard(load_records(tmp_path / "results")))
    assert "46.88 (CMER T1; not comparable: random init / 8 of 4,743 images" in markdown
