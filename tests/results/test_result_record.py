"""Result records: what make_record fills in, atomic never-overwriting writes, tolerant loading."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

import rsbench
from rsbench import atomic
from rsbench.errors import RsbenchError
from rsbench.metrics import METRIC_KEYS as METRICS_MODULE_KEYS
from rsbench.results import record as record_module
from rsbench.results.record import (
    METRIC_KEYS,
    SkippedRecordWarning,
    config_label,
    git_sha,
    load_records,
    make_record,
    method_label,
    write_record,
)


def test_metric_keys_agree_with_metrics_module():
    assert METRIC_KEYS == METRICS_MODULE_KEYS


def test_make_record_fills_identity_versions_and_env(build_record):
    record = build_record(seed=3)
    assert re.fullmatch(r"[0-9a-f]{32}", record["run_id"])
    created = datetime.fromisoformat(record["created_at"])
    assert created.utcoffset() == timezone.utc.utcoffset(None)
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 60
    assert record["rsbench_version"] == rsbench.__version__
    assert record["seed"] == 3 and record["selected_on"] == "val"
    assert set(record["env"]) >= {"device", "torch", "open_clip", "python"}
    assert record["env"]["device"] == "cpu"
    assert record["extra"] == {}
    assert list(record["metrics"]) == list(METRIC_KEYS)
    assert all(type(v) is float for v in record["metrics"].values())
    assert build_record()["run_id"] != record["run_id"]


def test_make_record_turns_paths_tuples_and_numpy_into_json(build_record):
    record = make_record(
        config={"dataset": {"name": "synthrs", "root": Path("/data/x")}, "sizes": (1, 2), "lr": np.float32(0.5)},
        seed=0,
        selected_on="test",
        dataset={"name": "synthrs", "synthetic": True, "content_hash": "h", "split_sizes": {}, "scene_at_eval": True},
        backbone={"name": "b", "pretrained": "openai"},
        metrics={k: np.float64(12.5) for k in METRIC_KEYS},
        cost={k: None for k in record_module.COST_KEYS},
        extra={"note": "x"},
    )
    assert record["config"] == {"dataset": {"name": "synthrs", "root": "/data/x"}, "sizes": [1, 2], "lr": 0.5}
    assert record["metrics"]["mR"] == 12.5
    assert record["extra"] == {"note": "x"}
    assert json.loads(json.dumps(record)) == record


GOOD = {
    "config": {"adapter": "full"},
    "seed": 0,
    "selected_on": "val",
    "dataset": {"name": "d", "synthetic": False, "content_hash": "h", "split_sizes": {}, "scene_at_eval": False},
    "backbone": {"name": "b", "pretrained": None},
    "metrics": dict.fromkeys(METRIC_KEYS, 10.0),
    "cost": dict.fromkeys(record_module.COST_KEYS, 1),
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seed": "0"}, "seed must be an int"),
        ({"seed": True}, "seed must be an int"),
        ({"selected_on": "train"}, "selected_on"),
        ({"config": ["not", "a", "dict"]}, "config as a dict"),
        ({"metrics": {k: 10.0 for k in METRIC_KEYS if k != "mR"}}, "missing mR"),
        ({"metrics": dict.fromkeys(METRIC_KEYS, 101.0)}, "between 0 and 100"),
        ({"metrics": dict.fromkeys(METRIC_KEYS, math.nan)}, "between 0 and 100"),
        ({"metrics": dict.fromkeys(METRIC_KEYS, "high")}, "between 0 and 100"),
        ({"dataset": {"name": "d", "synthetic": False}}, "missing content_hash"),
        ({"dataset": GOOD["dataset"] | {"synthetic": "yes"}}, "synthetic must be true or false"),
        ({"backbone": "ViT-B-32"}, "backbone"),
        ({"cost": {"trainable_params": 1}}, "cost"),
        ({"cost": dict.fromkeys(record_module.COST_KEYS, math.nan)}, "None for a value that was not measured"),
        ({"config": {"model": object()}}, "cannot be written as JSON"),
    ],
)
def test_make_record_rejects_incomplete_or_bad_parts(changes, message):
    with pytest.raises(RsbenchError, match=message):
        make_record(**(GOOD | changes))


def test_git_sha_of_a_repository_and_outside_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    outside = tmp_path / "plain"
    outside.mkdir()
    assert git_sha(outside) is None

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "f.txt").write_text("x")
    subprocess.run([*git, "add", "f.txt"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "m"], cwd=repo, check=True)
    expected = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert git_sha(repo) == expected

    # A record names the rsbench code that made it, not the folder the command was started from.
    monkeypatch.chdir(repo)
    package = Path(rsbench.__file__).resolve().parent
    assert make_record(**GOOD)["git_sha"] == git_sha(package)
    monkeypatch.chdir(outside)
    assert make_record(**GOOD)["git_sha"] == git_sha(package)


def test_git_sha_without_git_is_none(monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert git_sha() is None


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"adapter": {"name": "full"}, "sampler": {"name": "batch"}, "augmenter": {"name": "none"},
             "backbone": {"name": "rsbench-tiny"}, "dataset": {"name": "synthrs"}},
            "full/batch/none · rsbench-tiny · synthrs",
        ),
        ({"adapter": "focus", "sampler": "queue", "augmenter": "scene", "strategy": "dual_stream",
          "backbone": "ViT-B-16", "dataset": "rsitmd"}, "focus/queue/scene@oracle · ViT-B-16 · rsitmd"),
        ({"adapter": "frozen", "sampler": "batch", "augmenter": "none", "strategy": {"name": "fast_then_fine"},
          "backbone": "ViT-B-32", "dataset": "rsicd"}, "frozen/batch/none+fast_then_fine · ViT-B-32 · rsicd"),
        ({"adapter": "focus", "sampler": "queue", "augmenter": {"name": "scene", "at_eval": "none"},
          "backbone": "rsbench-tiny", "dataset": "synthrs"}, "focus/queue/scene@none · rsbench-tiny · synthrs"),
        ({"adapter": "focus", "sampler": "queue", "augmenter": {"name": "scene", "at_eval": "oracle"},
          "backbone": "rsbench-tiny", "dataset": "synthrs"}, "focus/queue/scene@oracle · rsbench-tiny · synthrs"),
        ({"adapter": "frozen", "sampler": "batch", "augmenter": "none", "strategy": "text-to-text",
          "captioner": {"name": "tiny", "variants": 5}, "backbone": "rsbench-tiny", "dataset": "synthrs"},
         "frozen/batch/none+text-to-text+captions:tiny · rsbench-tiny · synthrs"),
        ({"adapter": "focus", "sampler": "queue", "augmenter": "rich-caption", "captioner": "oracle",
          "backbone": "rsbench-tiny", "dataset": "synthrs"},
         "focus/queue/rich-caption+captions:oracle · rsbench-tiny · synthrs"),
        ({}, "?/?/? · ? · ?"),
    ],
)
def test_config_label(config, expected):
    assert config_label(config) == expected
    assert method_label(config) == expected.split(" · ")[0]


def test_write_record_is_complete_named_and_leaves_no_temp_files(tmp_path, build_record):
    record = build_record(seed=7)
    path = write_record(record, tmp_path / "results")
    assert path.parent == tmp_path / "results"
    pattern = rf"\d{{8}}T\d{{6}}Z_full-batch-none-rsbench-tiny-synthrs_7_{record['run_id'][:8]}\.json"
    assert re.fullmatch(pattern, path.name)
    assert json.loads(path.read_text()) == record
    assert os.listdir(tmp_path / "results") == [path.name]


def test_write_record_never_overwrites(tmp_path, build_record):
    record = build_record()
    path = write_record(record, tmp_path)
    original = path.read_text()
    changed = record | {"metrics": record["metrics"] | {"mR": 99.0}}
    with pytest.raises(RsbenchError, match="never overwritten"):
        write_record(changed, tmp_path)
    assert path.read_text() == original
    assert os.listdir(tmp_path) == [path.name]


def test_write_record_refuses_a_file_that_appears_during_the_write(tmp_path, build_record, monkeypatch):
    # Another process creates the name between the existence check and the rename.
    record = build_record()
    target = tmp_path / record_module.record_filename(record)
    real_link = os.link

    def racing_link(src, dst):
        Path(dst).write_text("the other writer's record")
        return real_link(src, dst)

    monkeypatch.setattr(atomic.os, "link", racing_link)
    with pytest.raises(RsbenchError, match="never overwritten"):
        write_record(record, tmp_path)
    assert target.read_text() == "the other writer's record"
    assert os.listdir(tmp_path) == [target.name]


def test_failed_write_removes_its_temp_file(tmp_path, build_record, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "fsync", broken)
    with pytest.raises(RsbenchError, match="disk full"):
        write_record(build_record(), tmp_path)
    assert os.listdir(tmp_path) == []


def test_write_record_rejects_incomplete_record(tmp_path):
    with pytest.raises(RsbenchError, match="missing"):
        write_record({"run_id": "x"}, tmp_path)


def test_load_records_round_trip_sorted_oldest_first(tmp_path, build_record):
    first, second = build_record(seed=1), build_record(seed=2)
    second["created_at"] = "2000-01-01T00:00:00.000000+00:00"  # older, written second
    write_record(first, tmp_path)
    write_record(second, tmp_path)
    assert load_records(tmp_path) == [second, first]


def test_load_records_skips_bad_files_with_warnings(tmp_path, build_record):
    good = build_record()
    write_record(good, tmp_path)
    full = json.dumps(build_record(seed=1))
    (tmp_path / "truncated.json").write_text(full[: len(full) // 2])
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "no_metrics.json").write_text(json.dumps({k: v for k, v in build_record().items() if k != "metrics"}))
    (tmp_path / "zz_duplicate.json").write_text(json.dumps(good))
    (tmp_path / ".half-written.json.abc.tmp").write_text("{")  # an interrupted writer's temp file: not a record
    (tmp_path / "notes.txt").write_text("not a record")

    with pytest.warns(SkippedRecordWarning) as caught:
        records = load_records(tmp_path)
    assert records == [good]
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 4
    assert any("truncated.json" in m and "not readable JSON" in m for m in messages)
    assert any("list.json" in m and "JSON object" in m for m in messages)
    assert any("no_metrics.json" in m and "metrics" in m for m in messages)
    assert any("zz_duplicate.json" in m and good["run_id"] in m for m in messages)

    problems: list[str] = []
    assert load_records(tmp_path, problems=problems) == [good]
    assert sorted(problems) == messages


def test_load_records_missing_and_empty_directory(tmp_path):
    with pytest.raises(RsbenchError, match="does not exist"):
        load_records(tmp_path / "nope")
    assert load_records(tmp_path) == []
