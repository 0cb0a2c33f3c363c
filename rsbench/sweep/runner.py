"""Execute a sweep: choose the tuned keys on val per variant, then run every seed; skip what is already done.

A (config, seed) whose record is already in the results directory (tuning records in ``tune.results_dir``,
default ``<results_dir>/tuning``) is not run again, so an interrupted sweep resumes where it stopped.
Tuning runs one seed (or each of ``tune.seeds``) over ``tune.grid`` for each variant and keeps the values with the
best validation score (the best epoch's ``tune.metric``, averaged over the tuning seeds; ties go to the first in grid
order); a variant that does not train
(frozen) runs once, as every value gives the same result: once its first tuning record shows that, the plan
marks its other tuning values skipped and the runner does not launch them (``SweepRunner.trains_nothing``).
A seed that tuned needs no second run: its record is written to the results directory with the choice
added. Every record carries a ``sweep`` section: the sweep's name, the values it varied, and for tuned
runs the grid, every score and the choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rsbench.errors import RsbenchError
from rsbench.sweep.jobs import Job
from rsbench.sweep.launchers import LocalLauncher
from rsbench.sweep.plan import PlannedRun, Sweep, record_ids

SKIPPED_NOTE = "skipped (nothing to train)"
AFTER_TUNING = "after tuning"  # a seed run whose values tuning has not chosen yet
FROM_TUNING = "from its tuning run"  # a tuning seed's record of the chosen values, copied rather than run
WAIT_SECONDS = 2.0  # how often a sweep looks for the record of a run another sweep is running


@dataclass
class Step:
    """A planned run with the phase it belongs to and whether the results directory already holds it.

    ``skipped``: a tuning value of a variant that trains nothing; the runner never launches it.
    ``copied``: a tuning seed's run of the chosen values, which is its tuning run's record, copied, never launched.
    """

    phase: str  # "tune" or "seed"
    run: PlannedRun
    done: bool
    note: str = ""
    skipped: bool = False
    copied: bool = False


@dataclass
class Choice:
    """What tuning chose for one variant: every grid point's validation score and the winner."""

    varied: dict[str, Any]
    scores: list[dict[str, Any]] = field(default_factory=list)
    chosen: dict[str, Any] | None = None
    records: dict[int, dict[str, Any]] = field(default_factory=dict)  # tuning seed -> its record of the choice

    def section(self, keys: list[str], metric: str, seeds: list[int]) -> dict[str, Any]:
        """The record's ``sweep.tuned``: ``seed`` when one seed tuned, ``seeds`` (and a mean ``val``) when several."""
        which = {"seed": seeds[0]} if len(seeds) == 1 else {"seeds": seeds}
        return {"keys": keys, "metric": f"val {metric}", **which, "scores": self.scores, "chosen": self.chosen}


def records_by_run(results_dir: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Every record in ``results_dir`` under each (config id, seed) it stands for; {} for a missing folder."""
    from rsbench.results.record import load_records

    if not results_dir.is_dir():
        return {}
    index: dict[tuple[str, int], dict[str, Any]] = {}
    for record in load_records(results_dir, problems=[]):
        for run_id in record_ids(record):
            index.setdefault((run_id, int(record["seed"])), record)
    return index


def validation_score(record: dict[str, Any], metric: str) -> float | None:
    """The best epoch's validation ``metric`` from the record's training history (an evaluate-only record of a
    shared training: its own val metrics, ``extra.selection``); None if it never trained."""
    extra = record.get("extra", {})
    history = extra.get("training", {}).get("history") or []
    if not history and isinstance(extra.get("selection"), dict):
        history = [extra["selection"]]
    scores = [float(h[metric]) for h in history if isinstance(h.get(metric), int | float) and math.isfinite(h[metric])]
    return max(scores) if scores else None


def runs_to_count(plan: list[Step]) -> int:
    """The runs a sweep's progress counts: every planned step but the skipped ones (done ones included)."""
    return sum(not s.skipped for s in plan)


class SweepRunner:
    """Plans and executes one sweep over a launcher; ``dry_run`` plans only."""

    def __init__(self, sweep: Sweep, results_dir: Path, sets: list[str], console: Console) -> None:
        sweep.check_sets(list(sets))  # a --set of a swept key would make the plan show values no run uses
        self.sweep, self.sets, self.console = sweep, list(sets), console
        self.results_dir = Path(results_dir)
        tune = sweep.tune
        self.tune_dir = Path(tune.results_dir) if tune and tune.results_dir else self.results_dir / "tuning"
        self.points = sweep.points()
        self._indexed: dict[Path, dict[tuple[str, int], dict[str, Any]]] = {}  # folder -> records, until a run
        self.kept: set[Path] = set()  # model folders this sweep kept for runs that share a training

    def _done(self, folder: Path) -> dict[tuple[str, int], dict[str, Any]]:
        """The records in ``folder`` by (config id, seed), read once until the next batch of runs changes it."""
        if folder not in self._indexed:
            self._indexed[folder] = records_by_run(folder)
        return self._indexed[folder]

    def _launch(self, launcher: Any, jobs: list[Job], finished: Any) -> None:
        """Run ``jobs``: first those that train, then those that only evaluate a model the first kept."""
        from rsbench.sweep.sharing import share_training

        trains, evaluates = share_training(jobs)
        self.kept.update(Path(job.save_model) for job in trains if job.save_model is not None)
        launcher.run(trains, finished)
        launcher.run(evaluates, finished)
        self._indexed.clear()  # the runs wrote records
        if isinstance(launcher, LocalLauncher):
            self._await_others(launcher, jobs, finished)

    def _await_others(self, launcher: Any, jobs: list[Job], finished: Any) -> None:
        """Wait for the runs of this batch that another sweep held (their locks, rsbench/sweep/locks.py) to have
        records; one whose lock is free and that still has none (its holder went away) is run here, trained
        afresh if the model it was to evaluate was never saved."""
        import dataclasses
        import time

        from rsbench.sweep.jobs import has_record
        from rsbench.sweep.locks import is_held
        from rsbench.sweep.sharing import is_saved

        waiting = [job for job in jobs if job.config_id is not None and not has_record(job)]
        ran_here: set[tuple[str, int]] = set()
        while waiting:
            free = [job for job in waiting if not is_held(job.results_dir, job.config_id, job.seed)]
            lost = [job for job in free if (job.config_id, job.seed) in ran_here]
            if lost:  # run here, and still no record it can be found by: never loop on it
                raise RsbenchError(f"sweep run {lost[0].config_id} seed {lost[0].seed} left no record in "
                                   f"{lost[0].results_dir} that the sweep recognises")
            if free:
                ran_here.update((job.config_id, job.seed) for job in free)
                launcher.run([dataclasses.replace(job, evaluate_from=None, save_model=None)
                              if job.evaluate_from and not is_saved(Path(job.evaluate_from)) else job
                              for job in free], finished)
            else:
                time.sleep(WAIT_SECONDS)
            waiting = [job for job in waiting if not has_record(job)]
        self._indexed.clear()

    def _run(self, varied: dict[str, Any], seed: int, folder: Path) -> PlannedRun:
        return self.sweep.run(varied, seed, [*self.sets, f"results_dir={folder}"])

    def _job(self, run: PlannedRun, section: dict[str, Any]) -> Job:
        return Job(run.config.to_dict(), {"name": self.sweep.name, "varied": run.varied, **section},
                   config_id=run.config_id)

    # --- planning ---

    def trains_nothing(self, point: dict[str, Any]) -> bool:
        """Whether the variant's first tuning run has a record and it trained nothing (no validation score):
        every other tuning value would give that same run, so none of them runs. False while it has no record."""
        tune = self.sweep.tune
        if tune is None:
            return False
        first = self._run({**point, **self.sweep.tuning_points(point)[0]}, tune.seed, self.tune_dir)
        record = self._done(self.tune_dir).get((first.config_id, first.seed))
        return record is not None and validation_score(record, tune.metric) is None

    def tuning_steps(self, point: dict[str, Any]) -> list[Step]:
        tune = self.sweep.tune
        if tune is None:
            return []
        done = self._done(self.tune_dir)
        untrained = self.trains_nothing(point)
        steps = []
        for values in self.sweep.tuning_points(point):
            for seed in tune.seeds:
                run = self._run({**point, **values}, seed, self.tune_dir)
                step = Step("tune", run, (run.config_id, run.seed) in done)
                if untrained and steps and not step.done:  # every run but the first gives that same result
                    step.note, step.skipped = SKIPPED_NOTE, True
                steps.append(step)
        return steps

    def choose(self, point: dict[str, Any]) -> Choice | None:
        """The tuning outcome of one variant, or None while a needed tuning run has no record yet."""
        tune = self.sweep.tune
        choice = Choice(point)
        if tune is None:
            choice.chosen = {}
            return choice
        done = self._done(self.tune_dir)
        best: float | None = None
        for values in self.sweep.tuning_points(point):
            runs = [self._run({**point, **values}, seed, self.tune_dir) for seed in tune.seeds]
            records = {run.seed: done.get((run.config_id, run.seed)) for run in runs}
            first = records[tune.seed]
            if first is not None and validation_score(first, tune.metric) is None:
                # did not train: every value and seed gives this run; keep the first
                choice.chosen, choice.records = values, {tune.seed: first}
                return choice
            if any(record is None for record in records.values()):
                return None
            per_seed = [{"seed": seed, "val": validation_score(record, tune.metric), "run_id": record["run_id"],
                         "best_epoch": record["extra"].get("training", {}).get("best_epoch")}
                        for seed, record in records.items()]
            scores = [entry["val"] for entry in per_seed]
            score = sum(scores) / len(scores) if None not in scores else None
            choice.scores.append({"values": values, "val": score, "run_id": per_seed[0]["run_id"],
                                  "best_epoch": per_seed[0]["best_epoch"], "epochs": runs[0].config.train.epochs,
                                  **({"per_seed": per_seed} if len(per_seed) > 1 else {})})
            if score is not None and (best is None or score > best):
                best, choice.chosen, choice.records = score, values, records
        return choice

    def seed_steps(self, point: dict[str, Any], choice: Choice | None) -> list[Step]:
        """Each seed's run at the chosen values; a tuning seed's is the tuning run's record, copied, not run."""
        if choice is None:
            tuning_seeds = self.sweep.tune.seeds if self.sweep.tune is not None else []
            return [Step("seed", self._run(point, seed, self.results_dir), False,
                         f"{AFTER_TUNING} ({FROM_TUNING})" if seed in tuning_seeds else AFTER_TUNING,
                         copied=seed in tuning_seeds)
                    for seed in self.sweep.seeds]
        done = self._done(self.results_dir)
        steps = []
        for seed in self.sweep.seeds:
            run = self._run({**point, **(choice.chosen or {})}, seed, self.results_dir)
            step = Step("seed", run, (run.config_id, seed) in done)
            if not step.done and seed in choice.records:
                step.note, step.copied = FROM_TUNING, True
            steps.append(step)
        return steps

    def launch_configs(self) -> list[Any]:
        """The config of every run the sweep may launch, whatever tuning chooses (one seed: seeds change no
        launch), for checks that must pass before any training (``rsbench sweep --nproc``)."""
        return [self._run({**point, **chosen}, self.sweep.seeds[0], self.results_dir).config
                for point in self.points for chosen in (self.sweep.tuning_points(point) or [{}])]

    def plan(self) -> list[Step]:
        """Every step, with what each one still to run will do: train, or evaluate a shared training's model."""
        from rsbench.sweep.sharing import sharing_notes

        steps = []
        for point in self.points:
            steps += self.tuning_steps(point)
            steps += self.seed_steps(point, self.choose(point))
        for phase in ("tune", "seed"):
            open_steps = [s for s in steps if s.phase == phase and not (s.done or s.skipped or s.note)]
            notes = sharing_notes([s.run.config.to_dict() for s in open_steps])
            for step, note in zip(open_steps, notes, strict=True):
                step.note = note
        return steps

    # --- execution ---

    def execute(self, launcher: Any) -> dict[str, int]:
        from rsbench.runtime import check_output_folder

        check_output_folder(self.results_dir, "results directory", "--results-dir")
        if self.sweep.tune is not None:
            check_output_folder(self.tune_dir, "tuning results directory", "tune.results_dir")
        plan = self.plan()
        counts = {"ran": 0, "skipped": sum(s.done for s in plan), "copied": 0}  # skipped: already done
        columns = (TextColumn("[bold]sweep {task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=False) as progress:
            task = progress.add_task(escape(self.sweep.name), total=runs_to_count(plan), completed=counts["skipped"])

            def finished(record: dict[str, Any]) -> None:
                counts["ran"] += 1
                progress.advance(task)
                progress.console.log(f"finished {record['run_id']}: test mR {record['metrics']['mR']:.2f}")

            if self.sweep.tune is not None:
                self._tune(launcher, finished, progress, task)
            jobs, copies = [], []
            for point in self.points:
                choice = self.choose(point)
                if choice is None:
                    raise RsbenchError(f"tuning of {point} left no record in {self.tune_dir}")
                section = {"tuned": choice.section(self.sweep.tuned_keys(point), self.sweep.tune.metric,
                                                   self.sweep.tune.seeds)} if self.sweep.tune else {}
                for step in self.seed_steps(point, choice):
                    if step.done:
                        continue
                    if step.copied:
                        copies.append((choice.records[step.run.seed], step.run, section))
                    else:
                        jobs.append(self._job(step.run, section))
            for record, run, section in copies:  # the tuning run of the chosen values is this seed's run
                self._write_copy(record, run, section)
                counts["copied"] += 1
                progress.advance(task)
            self._launch(launcher, jobs, finished)
        self._remove_kept()
        return counts

    def _remove_kept(self) -> None:
        """The shared trainings' model folders have served every run of the sweep: remove them (unless the runs
        keep their checkpoints)."""
        import shutil

        from rsbench.sweep.sharing import is_saved, keeps_checkpoints

        for folder in sorted(self.kept):
            if is_saved(folder) and not keeps_checkpoints(folder):
                shutil.rmtree(folder, ignore_errors=True)
                if folder.parent.is_dir() and not any(folder.parent.iterdir()):
                    folder.parent.rmdir()

    def _tune(self, launcher: Any, finished: Any, progress: Progress, task: Any) -> None:
        firsts = [self.tuning_steps(point)[0] for point in self.points]
        # first wave: one value per variant, whose records tell which variants train at all
        self._launch(launcher, [self._job(s.run, {"phase": "tune"}) for s in firsts if not s.done], finished)
        progress.update(task, total=runs_to_count(self.plan()))  # planned again: the new records mark skips
        rest = [self._job(s.run, {"phase": "tune"}) for point in self.points
                for s in self.tuning_steps(point)[1:] if not (s.done or s.skipped)]
        self._launch(launcher, rest, finished)

    def _write_copy(self, record: dict[str, Any], run: PlannedRun, section: dict[str, Any]) -> None:
        from rsbench.results.record import write_record
        from rsbench.sweep.jobs import has_record
        from rsbench.sweep.locks import run_lock

        copy = dict(record)
        copy["config"] = run.config.to_dict()  # identical but for results_dir
        copy["extra"] = {**record["extra"], "sweep": {"name": self.sweep.name, "varied": run.varied, **section,
                                                      "copied_from": "tuning"}}
        job = Job(copy["config"], {}, config_id=run.config_id)
        with run_lock(self.results_dir, run.config_id, run.seed) as mine:  # a sweep beside this one may copy it too
            if mine and not has_record(job):
                write_record(copy, self.results_dir)
