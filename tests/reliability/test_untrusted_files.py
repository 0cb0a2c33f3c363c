"""The hostile-input cases of issue 25 through the real command line (in process, for speed): each ends with
exit status 2 and one ``error:`` line that names the file and what to do, no traceback, and nothing written:
no output folder, no empty cache folder, no leftover temporary."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rsbench.cli import main
from rsbench.errors import TrainingError
from rsbench.results.record import SCHEMA_VERSION, make_record, write_record
from rsbench.retrieval.saved_model import save_model
from rsbench.safe_load import UnsafeFileError, load_tensors

FROZEN = {"adapter": {"name": "frozen"}, "device": "cpu"}
METRICS = dict.fromkeys(("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mR"), 10.0)


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def refused(capsys, tmp_path: Path, *argv: str) -> str:
    """Run ``rsbench argv``; assert status 2, one error line, no traceback and no new file; return the line."""
    before = files_under(tmp_path)
    with pytest.raises(SystemExit) as info:
        main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    out, err = capsys.readouterr()
    assert info.value.code == 2, out + err
    lines = [line for line in (out + err).splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in out + err, out + err
    assert files_under(tmp_path) == before, sorted(files_under(tmp_path) ^ before)
    return lines[0]


@pytest.fixture
def tiles(tmp_path) -> Path:
    folder = tmp_path / "tiles"
    folder.mkdir()
    for n in range(3):
        Image.new("RGB", (16, 16), (80 * n, 40, 0)).save(folder / f"t{n}.png")
    return folder


@pytest.fixture
def model_dir(tmp_path) -> Path:
    """A saved model folder (its tensors are never reached: each case fails on a file before)."""
    config = {"backbone": {"name": "rsbench-tiny", "pretrained": None}, "adapter": {"name": "clip-bitfit"}}
    return save_model({"bias": torch.zeros(3)}, config, None, tmp_path / "model")


def rehash(model: Path) -> None:
    """Make the manifest's digest match the (damaged) weights, as an attacker would."""
    manifest = json.loads((model / "model.json").read_text())
    manifest["trainable_sha256"] = hashlib.sha256((model / "trainable.safetensors").read_bytes()).hexdigest()
    (model / "model.json").write_text(json.dumps(manifest))


def test_index_build_with_weights_that_are_not_safetensors(capsys, tmp_path, tiles, model_dir):
    (model_dir / "trainable.safetensors").write_bytes(b"\xff" * 64 + os.urandom(64))
    rehash(model_dir)
    line = refused(capsys, tmp_path, "index", "build", "--images", str(tiles), "--out", "{tmp}/ix",
                   "--model", str(model_dir), "--device", "cpu")
    assert "trainable.safetensors is not a safetensors file" in line and "--save-model" in line


def test_index_build_with_a_python_tag_in_the_saved_config(capsys, tmp_path, tiles, model_dir):
    (model_dir / "config.yaml").write_text('!!python/object/apply:os.system ["touch /tmp/rsbench-ran"]\n')
    line = refused(capsys, tmp_path, "index", "build", "--images", str(tiles), "--out", "{tmp}/ix",
                   "--model", str(model_dir), "--device", "cpu")
    assert "config.yaml is not plain YAML" in line and "python/object" in line
    assert not Path("/tmp/rsbench-ran").exists()


def test_search_with_an_index_manifest_that_is_not_json(capsys, tmp_path):
    (tmp_path / "ix").mkdir()
    (tmp_path / "ix" / "manifest.json").write_text("{bad")
    line = refused(capsys, tmp_path, "search", "a plane", "--index", "{tmp}/ix", "--device", "cpu")
    assert "manifest.json is not valid JSON" in line and "rsbench index build" in line


def test_search_with_a_corrupt_exact_index_never_advises_allow_pickle(capsys, tmp_path):
    from rsbench.retrieval.archive import ARCHIVE_FORMAT

    (tmp_path / "ix").mkdir()
    manifest = {"format": ARCHIVE_FORMAT, "images": str(tmp_path), "paths": ["a.png", "b.png"], "model":
                {"config": FROZEN}, "model_digest": "0" * 16, "dim": 8, "index": "exact"}
    (tmp_path / "ix" / "manifest.json").write_text(json.dumps(manifest))
    with open(tmp_path / "ix" / "index.exact", "wb") as handle:  # an object array: a pickle inside a .npy
        np.save(handle, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    line = refused(capsys, tmp_path, "search", "a plane", "--index", "{tmp}/ix", "-k", "2", "--device", "cpu")
    assert "index.exact holds Python objects" in line and "build the index again" in line
    assert "allow_pickle" not in line and "pickle.load" not in line


@pytest.mark.parametrize("command", [
    ["index", "build", "--images", "{tmp}/tiles", "--out", "{tmp}/blocked/ix", "--device", "cpu"],
    ["leaderboard", "--results-dir", "{tmp}/results", "--out-dir", "{tmp}/blocked/tables"],
    ["bench", "gallery", "--size", "100", "--out", "{tmp}/blocked/bench"],
    ["caption", "--captioner", "oracle", "--set", "dataset.num_images=60", "--cache-dir", "{tmp}/blocked/c"],
    ["pretrain", "--out-dir", "{tmp}/blocked/p"],
    ["run", "--save-model", "{tmp}/blocked/model", "--epochs", "1", "--set", "dataset.num_images=60",
     "--results-dir", "{tmp}/results"],
], ids=["index-build", "leaderboard", "bench", "caption", "pretrain", "run-save-model"])
def test_a_read_only_output_folder_is_refused_before_work(capsys, tmp_path, tiles, monkeypatch, command):
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != blocked and real_access(path, mode))
    line = refused(capsys, tmp_path, *command)
    assert "is not writable" in line and str(blocked) in line


def test_a_captions_file_nested_200000_deep_leaves_no_cache_folder(capsys, tmp_path):
    (tmp_path / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    line = refused(capsys, tmp_path, "caption", "--captioner", "file", "--set", "captioner.path={tmp}/deep.json",
                   "--set", "dataset.num_images=60", "--set", "dataset.image_size=32", "--cache-dir", "{tmp}/cache")
    assert "nested too deeply" in line and "deep.json" in line
    assert not (tmp_path / "cache").exists()


def test_a_gallery_beyond_memory_is_refused_with_the_estimate(capsys, tmp_path):
    line = refused(capsys, tmp_path, "bench", "gallery", "--size", str(10**12), "--index", "exact", "--dim", "512")
    assert "needs at least 3.6 PiB of memory" in line and "--allow-large" in line


def test_the_leaderboard_refuses_newer_records_and_reads_older_ones(capsys, tmp_path):
    results = tmp_path / "results"
    record = make_record(config={"adapter": {"name": "full"}}, seed=0, selected_on="val",
                         dataset={"name": "x", "synthetic": True, "content_hash": "h", "split_sizes": {},
                                  "scene_at_eval": "none"}, backbone={"name": "b", "pretrained": None},
                         metrics=METRICS, cost=dict.fromkeys(("trainable_params", "total_params",
                                                              "saved_activation_bytes", "peak_memory_bytes",
                                                              "throughput_pairs_per_s", "train_seconds")))
    assert record["schema_version"] == SCHEMA_VERSION
    old = {k: v for k, v in record.items() if k != "schema_version"}  # a record from before the field
    write_record(old, results)
    future = {**record, "run_id": "f" * 32, "schema_version": 999}
    (results / "future-a.json").write_text(json.dumps(future))
    (results / "future-b.json").write_text(json.dumps({**future, "run_id": "e" * 32}))
    line = refused(capsys, tmp_path, "leaderboard", "--results-dir", str(results), "--out-dir", "{tmp}/tables",
                   "--no-plot")
    assert "2 record(s)" in line and "future-a.json, future-b.json" in line and "upgrade rsbench" in line
    for name in ("future-a.json", "future-b.json"):
        (results / name).unlink()
    with pytest.raises(SystemExit) as info:
        main(["leaderboard", "--results-dir", str(results), "--out-dir", str(tmp_path / "tables"), "--no-plot",
              "--json"])
    out, err = capsys.readouterr()
    assert info.value.code == 0 and len(json.loads(out)) == 1, err


def test_a_bare_pickle_is_named_by_what_it_would_call(tmp_path):
    class Runs:
        def __reduce__(self):
            return (os.system, ("touch /tmp/rsbench-pickle-ran",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Runs()))
    with pytest.raises(UnsafeFileError, match=r"would call Python code when loaded \(posix\.system\)"):
        load_tensors(tmp_path / "evil.pt", "weights file")
    assert not Path("/tmp/rsbench-pickle-ran").exists()


def test_nwpu_files_of_the_wrong_shape_are_named(capsys, tmp_path):
    (tmp_path / "karpathy").mkdir()
    (tmp_path / "karpathy" / "dataset_nwpu.json").write_text(json.dumps({"images": [{"filename": "a.jpg"}]}))
    line = refused(capsys, tmp_path, "data", "inspect", "--dataset", "nwpu", "--data-root", "{tmp}/karpathy")
    assert "Karpathy layout" in line and "--dataset karpathy" in line and "missing" not in line
    (tmp_path / "empty").mkdir()
    entry = {"filename": "pond_001.jpg", "split": "train", "raw": "a pond"}
    (tmp_path / "empty" / "dataset_nwpu.json").write_text(json.dumps({"": [entry]}))
    line = refused(capsys, tmp_path, "data", "inspect", "--dataset", "nwpu", "--data-root", "{tmp}/empty")
    assert "category '' is not a folder name" in line and "absolute" not in line


def test_data_inspect_verifies_a_synthrs_build_against_its_digests(capsys, tmp_path, rsbench_cache):
    from rsbench.data.synthrs import SynthRSConfig
    from rsbench.data.synthrs.build import build_synthrs

    source = build_synthrs(SynthRSConfig(num_images=60, image_size=32))
    copy = tmp_path / "synthrs"
    shutil.copytree(source, copy)
    argv = ["data", "inspect", "--dataset", "synthrs", "-o", "num_images=60", "-o", "image_size=32", "-o",
            f"data_root={copy}", "--json"]
    with pytest.raises(SystemExit):
        main(argv)
    assert json.loads(capsys.readouterr().out)["problems"] == []
    victim = sorted((copy / "images").iterdir())[0]
    victim.write_bytes(b"not a png")
    with pytest.raises(SystemExit):
        main(argv)
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert len(problems) == 1 and f"images/{victim.name}" in problems[0] and "changed" in problems[0]
    assert f"delete {copy}" in problems[0]


def test_a_weight_made_nan_by_the_last_step_gives_the_learning_rate_hint():
    from rsbench.train.trainer import require_finite_weights

    fine, broken = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.tensor([1.0, float("nan")]))
    require_finite_weights([fine], "after epoch 1, step 1", 1e-3)
    with pytest.raises(TrainingError, match=r"became NaN or infinite after epoch 1, step 1.*Lower train.lr \(now 5"):
        require_finite_weights([fine, broken], "after epoch 1, step 1", 5.0)


@pytest.mark.slow
def test_a_one_step_epoch_that_overflows_the_weights_gives_the_hint_not_nan_similarity(small_run, quiet_console,
                                                                                        tmp_path):
    from rsbench.config import build_config
    from rsbench.engine import run_experiment

    cfg = build_config(None, {"adapter": {"name": "full"}}, [*small_run, "train.max_steps=1", "train.batch_size=64",
                                                             "train.lr=1e30", "train.grad_clip=0"])
    with pytest.raises(TrainingError, match=r"Lower train.lr \(now 1e\+30\)"):
        run_experiment(cfg, quiet_console)
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").glob("*.json"))
