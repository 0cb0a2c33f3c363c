from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from rsbench.data.inspect import inspect_dataset, render_inspection
from rsbench.data.record import Record, RetrievalDataset


def record(image_id, split, captions, scene):
    return Record(Path("/data") / image_id, image_id, tuple(captions), scene, split)


def small_dataset():
    records = [
        record("airport_1.tif", "train", ["a", "b", "c", "d", "e"], "airport"),
        record("airport_2.tif", "train", ["a", "a", "a", "b", "c"], "airport"),  # two repeats
        record("beach_3.tif", "train", ["x", "y", "z", "w"], "beach"),
        record("beach_4.tif", "val", ["x", "y", "x", "w", "v"], "beach"),  # one repeat
        record("odd.tif", "test", ["p", "q", "r", "s", "t"], None),
    ]
    return RetrievalDataset("rsitmd", Path("/data"), records, problems=["1 image(s) have no scene label: odd.tif"])


def test_inspect_counts():
    report = inspect_dataset(small_dataset())
    assert report["splits"] == {
        "train": {"images": 3, "captions": 14},
        "val": {"images": 1, "captions": 5},
        "test": {"images": 1, "captions": 5},
    }
    assert report["total"] == {"images": 5, "captions": 24}
    assert report["captions_per_image"]["all"] == {"4": 1, "5": 4}
    assert report["captions_per_image"]["train"] == {"4": 1, "5": 2}
    assert report["scenes"] == {"train": {"airport": 2, "beach": 1}, "val": {"beach": 1}, "test": {"(none)": 1}}
    assert report["scene_classes"] == ["airport", "beach"]
    assert report["duplicate_captions"] == {"captions": 3, "images": 2}
    assert report["problems"] == ["1 image(s) have no scene label: odd.tif"]
    assert report["content_hash"] == small_dataset().content_hash()
    json.dumps(report)  # --json prints it as is


def test_inspect_keeps_nonstandard_splits_after_the_standard_ones():
    ds = RetrievalDataset(
        "x", Path("/d"), [record("a_1.png", "extra", ["c"], "a"), record("a_2.png", "test", ["c"], "a")]
    )
    assert list(inspect_dataset(ds)["splits"]) == ["train", "val", "test", "extra"]


def test_render_shows_every_table_and_the_problems():
    console = Console(record=True, width=160)
    render_inspection(inspect_dataset(small_dataset()), console)
    text = console.export_text()
    for expected in (
        "rsitmd: /data",
        "captions per image",
        "scenes (2 classes",
        "airport",
        "(none)",
        "duplicate captions within an image: 3 (in 2 images; kept)",
        "problems (1):",
        "- 1 image(s) have no scene label: odd.tif",
    ):
        assert expected in text, expected
    total_row = next(line for line in text.splitlines() if "total" in line)
    assert "5" in total_row and "24" in total_row
