"""Sweep runs with N DistributedDataParallel processes each (``rsbench sweep --nproc N``).

Locally every run is its own launch: ``python -m rsbench.sweep.ddp --nproc N JOB.json`` starts N processes of
``python -m rsbench.sweep.ddp JOB.json`` through torch's elastic launcher, exactly as ``rsbench run --nproc N``
does; they join one process group (gloo on the CPU, NCCL on GPUs), rank 0 writes the record and names it in
``JOB.json.out``, and the sweep reads it back. The launch's output is relayed line by line to the sweep's
console, above its one progress bar. Under submitit a job of N tasks on one node is the same launch: each
task sets the torchrun variables from submitit's ``JobEnvironment`` (as dinov2's launcher does) and joins.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from rsbench.errors import RsbenchError
from rsbench.sweep.jobs import Job, execute_job, run_job

WORKER = "rsbench.sweep.ddp"  # the module each launched process runs


def worker_command(nproc: int, job_file: Path) -> list[str]:
    """The command that runs one job file with ``nproc`` processes."""
    return [sys.executable, "-m", WORKER, "--nproc", str(nproc), str(job_file)]


def describe(job: Job) -> str:
    values = ", ".join(f"{k}={v}" for k, v in job.sweep.get("varied", {}).items()) or "(base)"
    return f"{values}, seed {job.config.get('seed')}"


def run_processes(job: Job, nproc: int, job_file: Path, console: Console) -> dict[str, Any]:
    """Run ``job`` with ``nproc`` DDP processes on this machine, its output relayed to ``console``; rank 0's record."""
    from rsbench.train import distributed

    job_file.write_text(json.dumps({"config": job.config, "sweep": job.sweep}, default=str))
    out = job_file.with_name(job_file.name + ".out")
    # unbuffered, so lines arrive as they are printed; as wide as the sweep's console
    env = {**os.environ, **distributed.launch_env(nproc), "PYTHONUNBUFFERED": "1", "COLUMNS": str(console.width)}
    with subprocess.Popen(worker_command(nproc, job_file), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env, text=True, bufsize=1) as proc:  # leaving the block waits for it
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                console.print(Text(line.rstrip("\n")), soft_wrap=True, highlight=False)
        except KeyboardInterrupt:
            raise  # Ctrl-C reached the launch's processes too: wait for them to stop on their own
        except BaseException:
            proc.terminate()  # the sweep stops for another reason: its launch must not outlive it
            raise
    if proc.returncode != 0:
        raise RsbenchError(f"sweep run {describe(job)} failed in one of its {nproc} processes "
                           f"(exit status {proc.returncode}); its output is above")
    if not out.is_file():
        raise RsbenchError(f"sweep run {describe(job)} ended without naming its record in {out}")
    return json.loads(Path(json.loads(out.read_text())["record"]).read_text())


def master_port(job_id: str) -> int:
    """A port for the job's rendezvous, the same in every task of the job and spread over 20000-59999."""
    return 20000 + int(hashlib.sha256(job_id.encode()).hexdigest(), 16) % 40000


def submitit_parameters(parameters: dict[str, Any], nproc: int) -> dict[str, Any]:
    """``parameters`` for a submitit job of ``nproc`` tasks on one node; refuses ones that contradict it."""
    tasks = parameters.get("tasks_per_node", nproc)
    if tasks != nproc:
        raise RsbenchError(f"--submitit-set tasks_per_node={tasks} contradicts --nproc {nproc} (one task per "
                           f"process); drop one of them")
    if parameters.get("nodes", 1) != 1:
        raise RsbenchError(f"--nproc runs each sweep job on one node, but --submitit-set nodes="
                           f"{parameters['nodes']}; multi-node sweep jobs are not supported")
    return {**parameters, "tasks_per_node": nproc}


def run_task(job: Job) -> dict[str, Any]:
    """One task of a submitit job of N tasks: rank ``global_rank`` of the job's process group (the torchrun
    variables set from submitit's ``JobEnvironment``); rank 0 returns the record, the others ``{}``."""
    import submitit

    from rsbench.train import distributed

    env = submitit.JobEnvironment()
    os.environ.update({
        "RANK": str(env.global_rank), "LOCAL_RANK": str(env.local_rank), "WORLD_SIZE": str(env.num_tasks),
        "LOCAL_WORLD_SIZE": str(env.num_tasks // env.num_nodes),
        "MASTER_ADDR": "127.0.0.1" if env.num_nodes == 1 else env.hostnames[0],
        "MASTER_PORT": str(master_port(env.job_id)),
    })
    try:
        return run_job(job)
    finally:
        distributed.teardown()


def main(argv: list[str] | None = None) -> int:
    """``python -m rsbench.sweep.ddp [--nproc N] JOB.json``: launch N processes of this, or be one of them."""
    from rsbench.cli.messages import print_error
    from rsbench.train import distributed

    parser = argparse.ArgumentParser(prog=f"python -m {WORKER}", description=__doc__)
    parser.add_argument("--nproc", type=int, default=1, help="processes to launch (none: run as launched)")
    parser.add_argument("job_file", type=Path, help="the job: its resolved config and sweep section (JSON)")
    args = parser.parse_args(argv)
    if args.nproc > 1 and distributed.env_world_size() == 1:
        return distributed.launch(args.nproc, [str(args.job_file)], module=WORKER)
    try:
        data = json.loads(args.job_file.read_text())
        record, path = execute_job(Job(data["config"], data["sweep"]), Console())
        if record and path is not None:  # rank 0
            args.job_file.with_name(args.job_file.name + ".out").write_text(json.dumps({"record": str(path)}))
        return 0
    except RsbenchError as exc:
        print_error(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        distributed.teardown()


if __name__ == "__main__":
    sys.exit(main())
