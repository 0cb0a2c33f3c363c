"""One run of a sweep as data (``Job``) and what executes it in any process: train (or only evaluate) one
job's config and write its record. The launchers (here, Slurm through submitit, DDP launches) all call these."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console


@dataclass(frozen=True)
class Job:
    """One run to execute: its resolved config (``--config`` layout) and the ``sweep`` section of its record.

    ``save_model``: train, then keep the selected model in this folder for the jobs that share its training;
    ``evaluate_from``: evaluate the model kept there instead of training (rsbench/sweep/sharing.py).
    """

    config: dict[str, Any]
    sweep: dict[str, Any]
    save_model: str | None = None
    evaluate_from: str | None = None
    config_id: str | None = None  # the sweep's identity of the run (rsbench/sweep/plan.py): its lock's name

    @property
    def results_dir(self) -> Path:
        return Path(self.config.get("results_dir") or "leaderboard/results")

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0))


def execute_job(job: Job, console: Console | None = None) -> tuple[dict[str, Any], Path | None]:
    """Train (or only evaluate) one job's config and write its record (with the sweep section): the record and
    its path; ``({}, None)`` on a rank other than 0 of a multi-process run. A run an interrupted sweep left a
    checkpoint of resumes from it."""
    from rsbench.config import build_config

    cfg = build_config(None, job.config)
    console = console or Console(stderr=True)
    if job.evaluate_from is not None:
        from rsbench.eval.runner import run_evaluations
        from rsbench.retrieval.saved_model import load_model

        console.log(f"evaluating the model kept in {job.evaluate_from} (trained by a run that differs only in "
                    f"how it evaluates)")
        model = load_model(Path(job.evaluate_from), cfg.device)
        return run_evaluations(model, [cfg], console, extra={"sweep": job.sweep}, select_metrics=True)[0]
    from rsbench.engine import checkpoint_path, run_experiment

    save = Path(job.save_model) if job.save_model is not None else None
    # a checkpoint of this very run (its key digests everything that shapes training) is what an interrupted
    # sweep left: the sweep run again continues it, as `rsbench run --resume` does
    resume = cfg.train.epochs > 0 and checkpoint_path(cfg).is_file()
    return run_experiment(cfg, console, extra={"sweep": job.sweep}, save_model=save, resume=resume)


def run_job(job: Job, console: Console | None = None) -> dict[str, Any]:
    """Train and evaluate one job's config, write its record (with the sweep section) and return it.

    Module-level so it pickles for submitit; it rebuilds the config from plain data in the worker.
    """
    return execute_job(job, console)[0]


def has_record(job: Job) -> bool:
    """Whether the job's results folder already holds a record of its (config, seed): another sweep ran it."""
    from rsbench.results.record import load_records
    from rsbench.sweep.plan import record_ids

    if job.config_id is None or not job.results_dir.is_dir():
        return False
    return any(int(r["seed"]) == job.seed and job.config_id in record_ids(r)
               for r in load_records(job.results_dir, problems=[]))
