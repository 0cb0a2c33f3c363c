"""SIGTERM (what Slurm, Kubernetes and `timeout` send) behaves like Ctrl-C: checkpoint kept, one line, status 143,
and `--resume` continues to the metrics of a run never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = ["run", "--adapter", "linear-probe", "--sampler", "batch", "--aug", "none", "--set", "dataset.num_images=60",
       "--set", "dataset.image_size=32", "--set", "train.epochs=4", "--set", "train.batch_size=8",
       "--set", "device=cpu", "--set", "eval.batch_size=64"]


@pytest.mark.slow  # three runs in subprocesses: CI runs it with the matrix
def test_sigterm_mid_run_exits_143_keeps_the_checkpoint_and_resumes_to_the_same_metrics(tmp_path, rsbench_cache):
    env = {**os.environ, "PYTHONPATH": str(REPO), "RSBENCH_CACHE": str(rsbench_cache)}
    checkpoints, stopped, whole = tmp_path / "ckpt", tmp_path / "stopped", tmp_path / "whole"
    argv = [sys.executable, "-m", "rsbench", *RUN, "--set", f"checkpoint_dir={checkpoints}", "--json"]
    process = subprocess.Popen([*argv, "--results-dir", str(stopped)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 240
    while not list(checkpoints.glob("*.pt")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the first epoch's checkpoint exists: training is under way
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stdout + stderr
    assert "Traceback" not in stderr and "terminated (SIGTERM)" in stderr and "--resume" in stderr
    assert not stopped.exists() or not list(stopped.glob("*.json"))  # no record for the unfinished run
    assert list(checkpoints.glob("*.pt")) and not list(checkpoints.glob(".*.tmp"))
    resumed = subprocess.run([*argv, "--results-dir", str(stopped), "--resume"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads(resumed.stdout)
    record = json.loads(Path(again["record"]).read_text())
    assert record["extra"]["training"]["resumed_after_epoch"] >= 1
    fresh = subprocess.run([*argv, "--results-dir", str(whole), "--set", f"checkpoint_dir={tmp_path / 'c2'}"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout)["metrics"] == again["metrics"]
