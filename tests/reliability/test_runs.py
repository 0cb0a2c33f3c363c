"""What a run says and records when its input is imperfect or it is stopped: dropped data printed and
counted, user text printed literally, Ctrl-C is status 130 with nothing half-written, a reader that closes
stdout early is a quiet status 141."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from rsbench.results.record import git_sha

REPO = Path(__file__).resolve().parents[2]

# The cheapest training there is: a linear probe, one step of two pairs.
CHEAP = ["--adapter", "linear-probe", "--sampler", "batch", "--aug", "none"]
TRAIN = [*CHEAP, "--set", "train.epochs=1", "--set", "train.max_steps=1", "--set", "train.batch_size=2",
         "--set", "device=cpu", "--set", "eval.batch_size=16"]


def imperfect_dataset(root: Path) -> None:
    """Karpathy layout with an empty caption, a corrupt image and an image listed in train and test."""
    entries = []
    for split in ("train", "val", "test"):
        for i in range(4):
            entries.append({"filename": f"{split}_{i}.png", "split": split,
                            "sentences": [{"raw": f"a {split} scene number {i}"}, {"raw": f"picture {i}"}]})
    entries[0]["sentences"][1]["raw"] = "   "  # an empty caption
    entries.append({"filename": "train_1.png", "split": "test", "sentences": [{"raw": "seen in training"}]})
    (root / "images").mkdir(parents=True)
    for entry in entries:
        Image.new("RGB", (8, 8), (len(entry["filename"]) * 9, 90, 150)).save(root / "images" / entry["filename"])
    (root / "images" / "train_3.png").write_bytes(b"not an image")
    (root / "ann.json").write_text(json.dumps({"images": entries}))


def test_dropped_data_is_printed_and_counted(cli, tmp_path):
    imperfect_dataset(tmp_path / "ds")
    results = tmp_path / "res[/x] [bold]"  # a path rich would read as markup: printed as it is
    out = cli("run", "--dataset", "karpathy", "--data-root", str(tmp_path / "ds"),
              "--set", "dataset.annotation=ann.json", "--set", "dataset.on_bad_image=skip", *TRAIN,
              "--results-dir", str(results), "--set", f"checkpoint_dir={tmp_path / 'ckpt'}")
    assert out.returncode == 0, out.output
    assert "Traceback" not in out.output
    notes = " ".join(out.stdout.split())
    assert "data: dropped 1 empty caption(s): train_0.png (caption 2)" in notes
    assert "data: skipped 1 missing or unreadable image(s): train_3.png" in notes
    assert "data: 1 image(s) listed more than once: train_1.png (train, test)" in notes
    written = list(results.glob("*.json"))
    assert len(written) == 1 and f"record: {written[0]}" in out.stdout.replace("\n", "")
    record = json.loads(written[0].read_text())
    assert record["dataset"]["dropped"] == {"empty_captions": 1, "images_without_captions": 0,
                                            "unreadable_images": 1}
    assert record["dataset"]["images_in_several_splits"] == 1
    assert record["extra"]["training"]["resumed_after_epoch"] is None
    assert record["components"]["adapter"] == {"name": "linear-probe", "provider": "rsbench.builtin",
                                               "version": record["rsbench_version"]}
    assert record["components"]["index"]["name"] == "exact"  # what the strategy names, with its provider too
    # The commit of the rsbench the command ran (REPO is first on its PYTHONPATH), or None in a copy of the tree
    # that is not a git checkout (a `git archive`, an sdist): asked of git here, not assumed.
    assert record["git_sha"] == git_sha(REPO / "rsbench")


def test_inspect_flags_an_empty_split_and_says_the_way_out(cli, tmp_path):
    imperfect_dataset(tmp_path / "ds")
    annotation = json.loads((tmp_path / "ds" / "ann.json").read_text())
    annotation["images"] = [e for e in annotation["images"] if e["split"] != "val"]
    (tmp_path / "ds" / "ann.json").write_text(json.dumps(annotation))
    out = cli("data", "inspect", "--dataset", "karpathy", "--data-root", str(tmp_path / "ds"), "-o",
              "annotation=ann.json", "--json")
    assert out.returncode == 0, out.output
    report = json.loads(out.stdout)
    empty = [p for p in report["problems"] if p.startswith("split 'val' is empty")]
    assert len(empty) == 1 and "--set eval.select_on=test" in empty[0]
    assert report["dropped"]["empty_captions"] == 1 and report["images_in_several_splits"] == 1


def test_ctrl_c_exits_130_with_a_short_message_and_no_record(tmp_path, rsbench_cache):
    env = {**os.environ, "PYTHONPATH": str(REPO), "RSBENCH_CACHE": str(rsbench_cache)}
    checkpoints, results = tmp_path / "ckpt", tmp_path / "results"
    argv = [sys.executable, "-m", "rsbench", "run", *CHEAP, "--set", "dataset.num_images=60",
            "--set", "dataset.image_size=32", "--set", "train.epochs=200", "--set", "train.batch_size=8",
            "--set", "device=cpu",
            "--results-dir", str(results), "--set", f"checkpoint_dir={checkpoints}"]
    # A shell without job control starts background commands with SIGINT ignored, and Python then installs no
    # handler: restore the default in the child, as a terminal's Ctrl-C would find it.
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               cwd=tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while not list(checkpoints.glob("*.pt")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # wait until training is under way: the first epoch's checkpoint exists
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr and "--resume" in stderr
    assert not results.exists() or not list(results.iterdir())  # no record for the unfinished run
    assert not list(checkpoints.glob(".*.tmp"))  # the checkpoint on disk is a complete one


@pytest.mark.parametrize("argv", [["list", "--json"], ["run", "--help"]], ids=["plain-echo", "rich-help"])
def test_a_reader_that_closes_stdout_early_gets_no_traceback(tmp_path, rsbench_cache, argv):
    """`rsbench ... | head -1`: the pipe breaks under the output; rsbench exits 141 (128 + SIGPIPE), quietly."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "RSBENCH_CACHE": str(rsbench_cache)}
    process = subprocess.Popen([sys.executable, "-m", "rsbench", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    process.stdout.close()  # the reader leaves before the first line is written
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr and "Exception ignored" not in stderr
