"""Where a sweep's runs execute: here, one after another (``local``), or as Slurm jobs through submitit.

A launcher takes a batch of runs (resolved config dicts plus what to add to each record) and returns each
run's record, in order. Runs of one batch are independent; the sweep waits for a batch before it plans
the next (tuning, then seeds). ``submitit`` is an optional extra (``pip install rsbench[submitit]``).
With ``nproc`` > 1 every run trains with that many DistributedDataParallel processes (rsbench/sweep/ddp.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from rsbench.errors import RsbenchError
from rsbench.sweep.jobs import Job, execute_job, run_job  # noqa: F401  (Job, execute_job: their older home)

LAUNCHERS = ("local", "submitit")
EXECUTORS: dict[str, str | None] = {"auto": None, "slurm": "slurm", "local": "local"}  # submitit's cluster names


class LocalLauncher:
    """Runs every job on this machine, one after another, reporting each finished record: in this process, or
    with ``nproc`` > 1 as ``nproc`` DDP processes per job whose output is shown above the sweep's progress bar."""

    def __init__(self, console: Console, nproc: int = 1) -> None:
        self.console, self.nproc = console, nproc

    def run(self, jobs: list[Job], done: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
        import tempfile

        from rsbench.sweep.ddp import run_processes

        records: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory(prefix="rsbench-sweep-") as folder:  # the job files of the launches
            for number, job in enumerate(jobs):
                with self._claim(job) as mine:
                    if not mine:
                        continue
                    if self.nproc == 1 or job.evaluate_from is not None:  # evaluating needs no process group
                        records.append(run_job(job, self.console))
                    else:
                        records.append(run_processes(job, self.nproc, Path(folder) / f"job{number}", self.console))
                done(records[-1])
        return records

    @contextmanager
    def _claim(self, job: Job) -> Iterator[bool]:
        """Hold the job's (config, seed) lock while it runs; False when another sweep holds it, has written its
        record meanwhile, or is still training the model it evaluates (the sweep waits for those, runner.py)."""
        from rsbench.sweep.jobs import has_record
        from rsbench.sweep.locks import holder, run_lock
        from rsbench.sweep.sharing import is_saved

        if job.config_id is None:
            yield True
            return
        with run_lock(job.results_dir, job.config_id, job.seed) as held:
            if not held:
                self.console.log(f"run {job.config_id} seed {job.seed} is being run by another sweep "
                                 f"({holder(job.results_dir, job.config_id, job.seed)}): waiting for its record")
            unsaved = job.evaluate_from is not None and not is_saved(Path(job.evaluate_from))
            yield held and not unsaved and not has_record(job)


class SubmititLauncher:
    """Submits every job of a batch at once as a Slurm (or local, for tests) job array through submitit.

    ``folder`` holds submitit's logs and pickles; ``executor`` is ``auto`` (Slurm when present, else local
    processes), ``slurm`` or ``local``; ``parameters`` go to ``executor.update_parameters`` (e.g.
    ``timeout_min``, ``slurm_partition``, ``gpus_per_node``). With ``nproc`` > 1 each job is ``nproc`` tasks
    on one node (``tasks_per_node``; ``gpus_per_node`` too unless every run is on the CPU or it is given),
    one DDP process per task (``rsbench.sweep.ddp.run_task``); task 0 returns the record.
    """

    def __init__(self, console: Console, folder: Path, executor: str = "auto",
                 parameters: dict[str, Any] | None = None, nproc: int = 1) -> None:
        try:
            import submitit
        except ImportError as exc:
            raise RsbenchError("--launcher submitit needs the submitit package: pip install 'rsbench[submitit]'") \
                from exc
        if executor not in EXECUTORS:
            raise RsbenchError(f"unknown submitit executor {executor!r}; use one of {', '.join(EXECUTORS)}")
        cluster = EXECUTORS[executor]
        parameters = dict(parameters or {"timeout_min": 240})
        if nproc > 1:
            from rsbench.sweep.ddp import submitit_parameters

            parameters = submitit_parameters(parameters, nproc)
        self.console, self.nproc, self.parameters = console, nproc, parameters
        self.executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        self.executor.update_parameters(**parameters)

    def run(self, jobs: list[Job], done: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
        if not jobs:
            return []
        task: Callable[[Job], dict[str, Any]] = run_job
        if self.nproc > 1:
            from rsbench.sweep.ddp import run_task

            task = run_task
            if "gpus_per_node" not in self.parameters:  # a GPU per process, unless every run is on the CPU
                on_gpu = any(str(job.config.get("device", "auto")) != "cpu" for job in jobs)
                self.executor.update_parameters(gpus_per_node=self.nproc if on_gpu else 0)
        with self.executor.batch():
            handles = [self.executor.submit(task, job) for job in jobs]
        self.console.log(f"submitted {len(handles)} jobs ({handles[0].job_id} ...)")
        records = []
        for handle in handles:
            try:
                records.append(handle.results()[0])  # task 0 (rank 0) has the record
            except Exception as exc:  # submitit re-raises the worker's failure with its log
                raise RsbenchError(f"sweep job {handle.job_id} failed; see {handle.paths.stderr}: "
                                   f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}") from exc
            done(records[-1])
        return records
