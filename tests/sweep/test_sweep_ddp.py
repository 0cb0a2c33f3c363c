"""rsbench sweep --nproc N: every run trains with N DDP processes (gloo on the CPU here), rank 0's record is read
back, resuming works as in one process; a launch that cannot work is refused before any run starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rsbench.cli import main
from rsbench.errors import RsbenchError
from rsbench.results.record import load_records
from rsbench.sweep import ddp
from rsbench.sweep.launchers import Job
from rsbench.sweep.plan import load_sweep
from rsbench.sweep.runner import SweepRunner

REPO = Path(__file__).resolve().parents[2]
# as the torchrun test: 26 training pairs, two steps of a global batch of 8 (4 per process)
TINY = {"dataset": {"num_images": 60, "image_size": 32}, "train": {"epochs": 1, "max_steps": 2, "batch_size": 8},
        "eval": {"batch_size": 64}, "device": "cpu"}


def write_sweep(tmp_path: Path, body: dict) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": TINY, **body}))
    return path


def invoke(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if any run starts."""
    def refuse(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr("rsbench.sweep.jobs.execute_job", refuse)  # where run_job finds it
    monkeypatch.setattr("rsbench.sweep.ddp.run_processes", refuse)


@pytest.mark.parametrize(("body", "args", "message"), [
    ({}, ["--nproc", "3"], "train.batch_size=8 is the global batch and must divide evenly over --nproc 3"),
    ({}, ["--nproc", "0"], "--nproc must be 1 or more"),
    ({}, ["--nproc", "2", "--set", "train.dist_backend=nccl"], "train.dist_backend=nccl needs CUDA devices"),
    # the tuned value is chosen only after tuning; it is checked before tuning starts
    ({"variants": [{"adapter.name": "frozen"}, {"adapter.name": "clip-bitfit"}],
      "tune": {"grid": {"train.batch_size": [8, 6]}}}, ["--nproc", "4"], "train.batch_size=6"),
    ({}, ["--nproc", "2", "--launcher", "submitit", "--submitit-executor", "local",
          "--submitit-set", "tasks_per_node=4"], "tasks_per_node=4 contradicts --nproc 2"),
    ({}, ["--nproc", "2", "--launcher", "submitit", "--submitit-executor", "local",
          "--submitit-set", "nodes=2"], "multi-node sweep jobs are not supported"),
])
def test_a_launch_that_cannot_work_is_one_line_and_exit_2_before_any_run(tmp_path, capsys, no_training, body, args,
                                                                       message):
    if "submitit" in args:
        pytest.importorskip("submitit")
    results = tmp_path / "results"
    code, _, err = invoke(capsys, "sweep", str(write_sweep(tmp_path, body)), "--results-dir", str(results), *args)
    assert code == 2
    assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert message in " ".join(err.split())
    assert not results.exists()


def test_more_processes_than_gpus_is_refused_here_but_left_to_submitit_nodes(tmp_path, capsys, monkeypatch,
                                                                          no_training):
    import torch

    from rsbench.train.distributed import check_launch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    path = write_sweep(tmp_path, {"set": {"device": "cuda"}})
    code, _, err = invoke(capsys, "sweep", str(path), "--results-dir", str(tmp_path / "r"), "--nproc", "2")
    assert code == 2 and "--nproc 2 needs one GPU per process; this machine has 1" in " ".join(err.split())
    configs = SweepRunner(load_sweep(path), tmp_path / "r", [], None).launch_configs()
    check_launch(2, configs, gpus_here=False)  # Slurm nodes have their own GPUs


def test_a_sweep_inside_torchrun_is_refused(tmp_path, capsys, monkeypatch, no_training):
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, _, err = invoke(capsys, "sweep", str(write_sweep(tmp_path, {})), "--results-dir", str(tmp_path / "r"))
    assert code == 2 and "inside a torchrun launch" in err


def test_submitit_jobs_get_one_task_per_process():
    assert ddp.submitit_parameters({"timeout_min": 10}, 4) == {"timeout_min": 10, "tasks_per_node": 4}
    assert ddp.submitit_parameters({"tasks_per_node": 4, "nodes": 1}, 4)["tasks_per_node"] == 4
    assert ddp.master_port("1234_0") == ddp.master_port("1234_0") != ddp.master_port("1234_1")
    assert 20000 <= ddp.master_port("1234_0") < 60000


def test_each_run_is_one_launch_whose_output_is_relayed_and_whose_rank_0_names_the_record(tmp_path, monkeypatch,
                                                                                        quiet_console):
    assert ddp.worker_command(2, tmp_path / "job.json") == [
        sys.executable, "-m", "rsbench.sweep.ddp", "--nproc", "2", str(tmp_path / "job.json")]
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"run_id": "abc", "env": {"world_size": 2}}))
    script = ("import json, os, sys; job = sys.argv[1]; data = json.load(open(job)); "
              "print('rank 0 says', data['sweep']['name'], data['config']['seed'], os.environ['PYTHONPATH']); "
              f"open(job + '.out', 'w').write(json.dumps({{'record': {str(record)!r}}}))")
    monkeypatch.setattr(ddp, "worker_command", lambda nproc, job_file: [sys.executable, "-c", script, str(job_file)])
    job = Job({"seed": 3}, {"name": "s", "varied": {"train.lr": 0.1}})
    assert ddp.run_processes(job, 2, tmp_path / "job0", quiet_console) == {"run_id": "abc", "env": {"world_size": 2}}
    relayed = quiet_console.file.getvalue()
    assert f"rank 0 says s 3 {REPO}" in relayed  # this rsbench first on the processes' path

    failing = "import sys; print('error: something broke'); sys.exit(2)"
    monkeypatch.setattr(ddp, "worker_command", lambda nproc, job_file: [sys.executable, "-c", failing])
    with pytest.raises(RsbenchError, match=r"train.lr=0.1, seed 3 failed in one of its 2 processes \(exit status 2\)"):
        ddp.run_processes(job, 2, tmp_path / "job1", quiet_console)
    assert "error: something broke" in quiet_console.file.getvalue()
    monkeypatch.setattr(ddp, "worker_command", lambda nproc, job_file: [sys.executable, "-c", "pass"])
    with pytest.raises(RsbenchError, match="without naming its record"):
        ddp.run_processes(job, 2, tmp_path / "job2", quiet_console)


def test_a_launch_does_not_outlive_a_sweep_that_stops(tmp_path, monkeypatch):
    class FailingConsole:
        width, lines = 80, []

        def print(self, text, **kwargs):
            self.lines.append(str(text))
            raise RuntimeError("the sweep stops")

    finished = tmp_path / "finished"  # written only by a process left to run its course
    script = f"import os, time; print(os.getpid(), flush=True); time.sleep(60); open({str(finished)!r}, 'w')"
    monkeypatch.setattr(ddp, "worker_command", lambda nproc, job_file: [sys.executable, "-c", script])
    console = FailingConsole()
    with pytest.raises(RuntimeError, match="the sweep stops"):
        ddp.run_processes(Job({"seed": 0}, {}), 2, tmp_path / "job", console)
    with pytest.raises(ProcessLookupError):  # terminated and reaped, not left running
        os.kill(int(console.lines[0]), 0)
    assert not finished.exists()


def test_the_local_launcher_runs_each_job_as_a_launch_and_resumes(tmp_path, capsys, monkeypatch):
    """``rsbench sweep --nproc 2`` hands every job to ``run_processes`` (here the job run in this process) and
    skips what is done, exactly as in one process."""
    from rsbench.sweep.launchers import run_job

    launched = []

    def fake_launch(job, nproc, job_file, console):
        launched.append((job.sweep["varied"], job.config["seed"], nproc))
        assert job_file.parent.is_dir()
        return run_job(job, console)

    monkeypatch.setattr(ddp, "run_processes", fake_launch)
    path = write_sweep(tmp_path, {"variants": [{"adapter.name": "frozen"}], "seeds": [0, 1]})
    args = ["sweep", str(path), "--results-dir", str(tmp_path / "results"), "--nproc", "2", "--json"]
    code, out, _ = invoke(capsys, *args)
    assert code == 0 and json.loads(out) == {"ran": 2, "skipped": 0, "copied": 0}
    assert launched == [({"adapter.name": "frozen"}, 0, 2), ({"adapter.name": "frozen"}, 1, 2)]
    code, out, _ = invoke(capsys, *args)
    assert code == 0 and json.loads(out) == {"ran": 0, "skipped": 2, "copied": 0} and len(launched) == 2


def test_a_launched_process_runs_the_job_file_and_rank_0_names_its_record(tmp_path, capsys):
    results = tmp_path / "results"
    config = {**TINY, "adapter": {"name": "frozen"}, "results_dir": str(results)}
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps({"config": config, "sweep": {"name": "s", "varied": {}}}))
    assert ddp.main([str(job_file)]) == 0  # one process: no WORLD_SIZE, rank 0
    (record,) = load_records(results)
    named = json.loads((tmp_path / "job.json.out").read_text())["record"]
    assert json.loads(Path(named).read_text())["run_id"] == record["run_id"]
    assert record["extra"]["sweep"] == {"name": "s", "varied": {}}

    job_file.write_text(json.dumps({"config": {**config, "train": {"batch_size": -1}}, "sweep": {}}))
    capsys.readouterr()
    assert ddp.main([str(job_file)]) == 2
    err = capsys.readouterr().err
    assert err.strip().startswith("error:") and "batch_size" in err and "Traceback" not in err


def sweep_process(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "rsbench", "sweep", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


@pytest.mark.slow
def test_a_sweep_with_nproc_2_writes_one_ddp_record_per_run_and_resumes(tmp_path, rsbench_cache):
    """Two gloo processes per run on the CPU: one record per (config, seed), world size 2; a rerun skips it."""
    path = write_sweep(tmp_path, {"seeds": [0]})
    results = tmp_path / "results"
    args = [str(path), "--results-dir", str(results), "--set", f"checkpoint_dir={tmp_path / 'ckpt'}",
            "--nproc", "2", "--json"]
    done = sweep_process(tmp_path, *args)
    assert json.loads(done.stdout) == {"ran": 1, "skipped": 0, "copied": 0}
    assert "epoch 1: val mR" in done.stderr  # rank 0's output, relayed
    (record,) = load_records(results)
    assert record["env"]["world_size"] == 2 and record["seed"] == 0
    assert record["extra"]["training"]["global_batch_size"] == 8
    assert record["extra"]["training"]["per_process_batch_size"] == 4
    assert record["extra"]["sweep"] == {"name": "sweep", "varied": {}}
    again = sweep_process(tmp_path, *args)
    assert json.loads(again.stdout) == {"ran": 0, "skipped": 1, "copied": 0}
    assert len(load_records(results)) == 1


@pytest.mark.slow
def test_submitit_runs_a_job_as_one_task_per_process(tmp_path, quiet_console):
    pytest.importorskip("submitit")
    from rsbench.sweep.launchers import SubmititLauncher

    path = write_sweep(tmp_path, {"set": {"checkpoint_dir": str(tmp_path / "ckpt")}})
    results = tmp_path / "results"
    launcher = SubmititLauncher(quiet_console, tmp_path / "submitit", "local", {"timeout_min": 10}, nproc=2)
    counts = SweepRunner(load_sweep(path), results, [], quiet_console).execute(launcher)
    assert counts["ran"] == 1
    (record,) = load_records(results)
    assert record["env"]["world_size"] == 2 and record["extra"]["training"]["per_process_batch_size"] == 4
    logs = sorted((tmp_path / "submitit").glob("*_log.out"))
    assert len(logs) == 2  # two tasks of one job
