"""Where a sweep's runs execute: here, one after another (``local``), or as Slurm jobs through submitit.

A launcher takes a batch of runs (resolved config dicts plus what to add to each record) and returns each
run's record, in order. Runs of one batch are independent; the sweep waits for a batch before it plans
the next (tuning, then seeds). ``submitit`` is an optional extra (``pip install rsbench[submitit]``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from rsbench.errors import RsbenchError

LAUNCHERS = ("local", "submitit")
EXECUTORS: dict[str, str | None] = {"auto": None, "slurm": "slurm", "local": "local"}  # submitit's cluster names


@dataclass(frozen=True)
class Job:
    """One run to execute: its resolved config (``--config`` layout) and the ``sweep`` section of its record."""

    config: dict[str, Any]
    sweep: dict[str, Any]


def run_job(job: Job, console: Console | None = None) -> dict[str, Any]:
    """Train and evaluate one job's config, write its record (with the sweep section) and return it.

    Module-level so it pickles for submitit; it rebuilds the config from plain data in the worker.
    """
    from rsbench.config import build_config
    from rsbench.engine import run_experiment

    cfg = build_config(None, job.config)
    record, _ = run_experiment(cfg, console or Console(stderr=True), extra={"sweep": job.sweep})
    return record


class LocalLauncher:
    """Runs every job in this process, one after another, reporting each finished record."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def run(self, jobs: list[Job], done: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
        records = []
        for job in jobs:
            records.append(run_job(job, self.console))
            done(records[-1])
        return records


class SubmititLauncher:
    """Submits every job of a batch at once as a Slurm (or local, for tests) job array through submitit.

    ``folder`` holds submitit's logs and pickles; ``executor`` is ``auto`` (Slurm when present, else local
    processes), ``slurm`` or ``local``; ``parameters`` go to ``executor.update_parameters`` (e.g.
    ``timeout_min``, ``slurm_partition``, ``gpus_per_node``).
    """

    def __init__(self, console: Console, folder: Path, executor: str = "auto",
                 parameters: dict[str, Any] | None = None) -> None:
        try:
            import submitit
        except ImportError as exc:
            raise RsbenchError("--launcher submitit needs the submitit package: pip install 'rsbench[submitit]'") \
                from exc
        if executor not in EXECUTORS:
            raise RsbenchError(f"unknown submitit executor {executor!r}; use one of {', '.join(EXECUTORS)}")
        cluster = EXECUTORS[executor]
        self.console = console
        self.executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        self.executor.update_parameters(**(parameters or {"timeout_min": 240}))

    def run(self, jobs: list[Job], done: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
        if not jobs:
            return []
        with self.executor.batch():
            handles = [self.executor.submit(run_job, job) for job in jobs]
        self.console.log(f"submitted {len(handles)} jobs ({handles[0].job_id} ...)")
        records = []
        for handle in handles:
            try:
                records.append(handle.result())
            except Exception as exc:  # submitit re-raises the worker's failure with its log
                raise RsbenchError(f"sweep job {handle.job_id} failed; see {handle.paths.stderr}: "
                                   f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}") from exc
            done(records[-1])
        return records
