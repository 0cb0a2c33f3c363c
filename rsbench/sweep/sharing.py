"""Train once, evaluate many: sweep runs that differ only in evaluation-side keys share one training.

Two runs of a sweep with the same training identity (their config without strategy, reranker, captioner,
``augmenter.at_eval`` and the like: rsbench/eval/keys.py), weights and seed train the same model. In each batch
the runner launches, the first such run trains and keeps its selected model in
``<checkpoint_dir>/sweep-models/<training digest>``; the others evaluate that model (``rsbench eval``'s
evaluator) and their records name the training record as ``parent_run_id``. A model kept by an earlier batch
(or an interrupted sweep) is evaluated, never trained again. The model is selected on val under the training
run's own evaluation settings; an evaluate-only run reports its own val metrics (``extra.selection``) for tuning.
The sweep removes the folders it made once it has finished, unless ``train.keep_checkpoint``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rsbench.eval.keys import training_digest
from rsbench.sweep.jobs import Job

MODELS_FOLDER = "sweep-models"


def model_folder(config: dict[str, Any]) -> Path:
    """Where the sweep keeps the model that runs of ``config``'s training identity share."""
    from rsbench.sweep.plan import weights_digest

    backbone = config.get("backbone") or {}
    weights = weights_digest(str(backbone.get("name")), backbone.get("pretrained"))
    return Path(config.get("checkpoint_dir") or "checkpoints") / MODELS_FOLDER / training_digest(
        config, weights, int(config.get("seed", 0)))


def is_saved(folder: Path) -> bool:
    return (folder / "model.json").is_file()


def share_training(jobs: list[Job]) -> tuple[list[Job], list[Job]]:
    """``jobs`` as (those that train, in order; those that evaluate a model the first list keeps or an earlier
    batch kept). A job alone with its training identity trains as before, keeping nothing."""
    folders = [model_folder(job.config) for job in jobs]
    count: dict[Path, int] = {}
    for folder in folders:
        count[folder] = count.get(folder, 0) + 1
    trains: list[Job] = []
    evaluates: list[Job] = []
    trainer_of: dict[Path, Job] = {}
    for job, folder in zip(jobs, folders, strict=True):
        if is_saved(folder) or folder in trainer_of:
            evaluates.append(dataclasses.replace(job, evaluate_from=str(folder)))
        elif count[folder] > 1:
            trainer_of[folder] = job
            trains.append(dataclasses.replace(job, save_model=str(folder)))
        else:
            trains.append(job)
    return trains, evaluates


TRAIN_NOTE, EVALUATE_NOTE, KEPT_NOTE = "to train", "to evaluate (shared training)", "to evaluate (kept model)"


def sharing_notes(configs: list[dict[str, Any]]) -> list[str]:
    """For a dry run: what each of these (not yet done) runs will do: train, or evaluate another's model."""
    seen: set[Path] = set()
    notes = []
    for config in configs:
        folder = model_folder(config)
        notes.append(KEPT_NOTE if is_saved(folder) else EVALUATE_NOTE if folder in seen else TRAIN_NOTE)
        seen.add(folder)
    return notes


def keeps_checkpoints(folder: Path) -> bool:
    """Whether the kept model's run asked to keep its checkpoint (``train.keep_checkpoint``)."""
    import yaml

    config = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8")) or {}
    return bool((config.get("train") or {}).get("keep_checkpoint"))
