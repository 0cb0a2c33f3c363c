"""``rsbench sweep FILE.yaml``: run a base config over a grid, zipped lists and variants, times seeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from rsbench.sweep.runner import SweepRunner

MAX_RUNS = 1000  # more than any paper table here (CMER Table 1: 42 runs); a larger sweep says so with --max-runs


def sweep_command(
    file: Path = typer.Argument(..., help="sweep file (YAML: base, variants, grid, zip, exclude, seeds, tune)"),
    results_dir: Path | None = typer.Option(
        None, "--results-dir", help="where records go (default: the base config's results_dir)"
    ),
    set_: list[str] = typer.Option(
        None, "--set", help="override a field the sweep does not vary, in every run: --set dataset.data_root=DIR "
        "(a swept key is refused: choose its values with --only)"),
    only: list[str] = typer.Option(
        None, "--only", help="run only the runs whose swept KEY has VALUE: --only adapter.name=focus (repeatable; "
        "one key twice keeps either value)"),
    seeds: str | None = typer.Option(None, "--seeds", help="run these seeds instead of the file's: --seeds 0,1"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list the runs and whether each is done; run nothing"),
    launcher: str = typer.Option("local", help="local (one run after another here) or submitit (Slurm)"),
    submitit_folder: Path = typer.Option(Path("submitit"), "--submitit-folder", help="submitit's logs and pickles"),
    submitit_executor: str = typer.Option("auto", "--submitit-executor", help="auto, slurm or local"),
    submitit_set: list[str] = typer.Option(
        None, "--submitit-set", help="executor parameter KEY=VALUE, e.g. timeout_min=600, slurm_partition=gpu"
    ),
    nproc: int = typer.Option(
        1, "--nproc", help="train every run with N processes (DistributedDataParallel, as rsbench run --nproc N; "
        "with submitit, N tasks per job); train.batch_size is the global batch"
    ),
    max_runs: int = typer.Option(
        MAX_RUNS, "--max-runs", help="refuse a sweep that plans more runs than this (a grid typed wrong), before "
        "planning any; 0: no limit"),
    json_out: bool = typer.Option(False, "--json", help="print the plan (with --dry-run) or the counts as JSON"),
) -> None:
    """Run every (config, seed) of a sweep file that has no record yet; an interrupted sweep resumes."""
    from rsbench.config import parse_set
    from rsbench.errors import ConfigError, RsbenchError
    from rsbench.sweep.launchers import LAUNCHERS, LocalLauncher, SubmititLauncher
    from rsbench.sweep.plan import load_sweep
    from rsbench.sweep.runner import SweepRunner
    from rsbench.train import distributed

    console = Console(stderr=json_out)
    if launcher not in LAUNCHERS:
        raise RsbenchError(f"unknown launcher {launcher!r}; use one of {', '.join(LAUNCHERS)}")
    if nproc < 1:
        raise RsbenchError(f"--nproc must be 1 or more (processes to train each run with), got {nproc}")
    if distributed.env_world_size() > 1:
        raise RsbenchError("rsbench sweep inside a torchrun launch: run the sweep in one process and give it "
                           "--nproc N to train each run with N processes")
    sweep = load_sweep(file)
    sweep.check_sets(list(set_ or []))
    if only or seeds is not None:
        sweep = sweep.select(list(only or []), parse_seeds(seeds) if seeds is not None else None)
    too_many = sweep.runs_beyond(max_runs) if max_runs > 0 else None
    if too_many is not None:
        exact = not (sweep.exclude or sweep.only)  # otherwise the product of the axes is only a bound
        planned = f"{too_many:,} runs" if exact else f"more than {max_runs:,} runs (up to {too_many:,})"
        raise ConfigError(f"sweep {sweep.name} plans {planned}, more than --max-runs {max_runs:,}: check its "
                           f"grid (a list typed as a range?), select runs with --only/--seeds, or pass --max-runs "
                           f"{too_many} (or 0) to plan them all")
    folder = results_dir or Path(sweep.run(sweep.points()[0], sweep.seeds[0], list(set_ or [])).config.results_dir)
    runner = SweepRunner(sweep, folder, list(set_ or []), console)
    if dry_run:
        print_plan(runner, folder, console, json_out)
        return
    if nproc > 1:  # every run the sweep may launch, before any trains; submitit's GPUs are on its nodes
        distributed.check_launch(nproc, runner.launch_configs(), gpus_here=launcher == "local")
    if launcher == "submitit":
        runs_on = SubmititLauncher(console, submitit_folder, submitit_executor, parse_set(list(submitit_set or [])),
                                   nproc=nproc)
    else:
        runs_on = LocalLauncher(console, nproc=nproc)
    counts = runner.execute(runs_on)
    if json_out:
        typer.echo(json.dumps(counts))
    else:
        console.print(f"sweep {escape(sweep.name)}: ran {counts['ran']}, already done {counts['skipped']}, "
                      f"seed records taken from tuning {counts['copied']}; records in {escape(str(folder))}",
                      highlight=False, soft_wrap=True)


def parse_seeds(text: str) -> list[int]:
    """``--seeds 0,1,2`` as a list of seeds."""
    from rsbench.errors import RsbenchError

    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise RsbenchError(f"--seeds expects integers separated by commas (e.g. --seeds 0,1), got '{text}'") from None


def print_plan(runner: SweepRunner, folder: Path, console: Console, json_out: bool) -> None:
    """``--dry-run``: every planned run with its status (done, to train, to evaluate, skipped), and the totals."""
    from rsbench.sweep.runner import AFTER_TUNING, SKIPPED_NOTE

    sweep = runner.sweep
    steps = runner.plan()
    rows = [{"phase": s.phase, "config_id": s.run.config_id, "seed": s.run.seed, "varied": s.run.varied,
             "status": "done" if s.done else (s.note or "to run")} for s in steps]
    if json_out:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        values = ", ".join(f"{k}={v}" for k, v in row["varied"].items()) or "(base)"
        config_id = row["config_id"] if not row["status"].startswith(AFTER_TUNING) else "-" * 16  # not chosen yet
        console.print(f"{row['phase']:<5} {config_id}  seed {row['seed']}  {row['status']:<34} "
                      f"{escape(values)}", highlight=False, soft_wrap=True)
    done, skipped = sum(s.done for s in steps), sum(s.skipped for s in steps)
    evaluate = sum(s.note.startswith("to evaluate") for s in steps if not s.done)
    copied = sum(s.copied for s in steps if not s.done)
    console.print(f"{len(rows)} runs in sweep {escape(sweep.name)}: {done} done, "
                  f"{len(rows) - done - skipped - copied} to run ({evaluate} of them only evaluate a model another "
                  f"run trains), {copied} taken from tuning, {skipped} {SKIPPED_NOTE} (records in "
                  f"{escape(str(folder))})", highlight=False, soft_wrap=True)
