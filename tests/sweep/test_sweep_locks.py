"""Two sweeps on one results folder share the work: one lock per (config, seed), taken over once its holder is
gone; a run another sweep holds is waited for, not trained again."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rsbench.results.record import load_records
from rsbench.sweep.jobs import Job
from rsbench.sweep.launchers import LocalLauncher
from rsbench.sweep.locks import holder, is_held, lock_path, run_lock

REPO = Path(__file__).resolve().parents[2]


def test_a_held_lock_is_refused_to_anyone_else_and_free_once_released(tmp_path):
    with run_lock(tmp_path, "abc", 0) as first:
        with run_lock(tmp_path, "abc", 0) as second:  # another open file: flock refuses it as another process
            assert first and not second
        assert is_held(tmp_path, "abc", 0) and f"pid {os.getpid()}" in holder(tmp_path, "abc", 0)
        with run_lock(tmp_path, "abc", 1) as other_seed:
            assert other_seed
    assert not is_held(tmp_path, "abc", 0)
    assert not (tmp_path / ".locks").exists()  # released locks leave nothing in the results folder


def test_the_lock_of_a_process_that_is_gone_is_taken_over(tmp_path):
    script = ("import sys, os; from rsbench.sweep.locks import run_lock\n"
              "with run_lock(sys.argv[1], 'abc', 0) as held:\n    assert held\n    os._exit(0)  # killed, no unlock")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env=env)
    assert json.loads(lock_path(tmp_path, "abc", 0).read_text())["pid"] != os.getpid()  # its file stays
    with run_lock(tmp_path, "abc", 0) as held:
        assert held and f"pid {os.getpid()}" in holder(tmp_path, "abc", 0)
    assert not lock_path(tmp_path, "abc", 0).exists()


def test_the_local_launcher_skips_a_run_another_sweep_holds(tmp_path, quiet_console, monkeypatch):
    from rsbench.sweep import launchers

    ran = []
    monkeypatch.setattr(launchers, "run_job", lambda job, console: ran.append(job.config_id) or {"run_id": "x"})
    jobs = [Job({"results_dir": str(tmp_path), "seed": 0}, {}, config_id=c) for c in ("held", "free")]
    with run_lock(tmp_path, "held", 0):
        LocalLauncher(quiet_console).run(jobs, lambda record: None)
    assert ran == ["free"]


@pytest.mark.slow
def test_two_concurrent_sweeps_on_one_folder_train_every_run_once(tmp_path):
    body = {"base": {"dataset": {"num_images": 51, "image_size": 32}, "device": "cpu",
                     "train": {"epochs": 1, "max_steps": 2, "batch_size": 8}, "eval": {"batch_size": 64},
                     "checkpoint_dir": str(tmp_path / "checkpoints")},
            "variants": [{"adapter.name": "clip-bitfit"}, {"adapter.name": "linear-probe"}], "seeds": [0, 1, 2]}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(body))
    results = tmp_path / "results"
    command = [sys.executable, "-m", "rsbench", "sweep", str(path), "--results-dir", str(results)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    sweeps = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for _ in range(2)]
    outputs = [s.communicate(timeout=900)[0] for s in sweeps]
    assert [s.returncode for s in sweeps] == [0, 0], outputs
    records = load_records(results)
    runs = [(r["config"]["adapter"]["name"], r["seed"]) for r in records]
    assert sorted(runs) == sorted({(a, s) for a in ("clip-bitfit", "linear-probe") for s in (0, 1, 2)})  # once each
    ran = [int(re.search(r": ran (\d+),", " ".join(out.split())).group(1)) for out in outputs]
    assert sum(ran) == 6, outputs  # each run trained by one of the two sweeps, never both
