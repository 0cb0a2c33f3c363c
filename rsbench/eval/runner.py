"""Evaluate-only runs (``rsbench eval``): one model, any number of evaluation settings, one record each.

The model comes from a saved model folder (``rsbench run --save-model``), a training checkpoint, or a frozen
backbone (any open_clip name or the shipped tiny model, with a hub tag or local weights). Each evaluation
setting (strategy × reranker, plus evaluation-side ``--set`` options) is the model's config with those keys
changed, so a record groups on the leaderboard with the runs that trained that way; it carries the training
record's run id as ``parent_run_id`` (null for a frozen backbone). The evaluator's one encoder is shared by
every setting: each image and text is encoded once for the whole grid.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from rsbench.config import RunConfig, build_config, merge
from rsbench.errors import ConfigError, DataError
from rsbench.eval.keys import check_eval_sets
from rsbench.retrieval.saved_model import LoadedModel

# A frozen backbone is evaluated as the leaderboard's zero-shot row: no scene prompt, the batch sampler unused.
FROZEN_SECTIONS: dict[str, Any] = {"adapter": {"name": "frozen"}, "sampler": {"name": "batch"},
                                   "augmenter": {"name": "none"}}


def load_source(model_dir: Path | None = None, checkpoint: Path | None = None, backbone: str | None = None,
                pretrained: str | None = None, device: str = "auto") -> LoadedModel:
    """The model to evaluate: exactly one of a saved folder, a checkpoint or a backbone (with its weights)."""
    from rsbench.retrieval.saved_model import load_checkpoint_model, load_model, model_from_config

    given = [name for name, value in (("--model", model_dir), ("--checkpoint", checkpoint), ("--backbone", backbone))
             if value is not None]
    if len(given) != 1:
        raise ConfigError("give exactly one of --model DIR (rsbench run --save-model), --checkpoint FILE.pt or "
                          f"--backbone NAME [--pretrained TAG|FILE]; got {', '.join(given) or 'none'}")
    if pretrained is not None and backbone is None:
        raise ConfigError("--pretrained goes with --backbone (a saved model or checkpoint names its own weights)")
    if model_dir is not None:
        return load_model(model_dir, device)
    if checkpoint is not None:
        return load_checkpoint_model(checkpoint, device)
    section: dict[str, Any] = {"name": backbone}
    if pretrained is not None:
        section["pretrained"] = pretrained
    return model_from_config(build_config(None, {**FROZEN_SECTIONS, "backbone": section}).to_dict(), device)


def evaluation_configs(model: LoadedModel, *, strategies: list[str] | None = None,
                       rerankers: list[str] | None = None, sets: list[str] | None = None,
                       dataset: dict[str, Any] | None = None, results_dir: str | None = None,
                       device: str | None = None, split: str | None = None) -> list[RunConfig]:
    """One config per (strategy, reranker): the model's config with the evaluation-side changes only; a reranker
    not defined on its strategy's scores is refused here, before any work."""
    sets = list(sets or [])
    check_eval_sets(sets)
    base = dict(model.config)
    layer: dict[str, Any] = {}
    if dataset:
        layer["dataset"] = dataset
    if results_dir is not None:
        layer["results_dir"] = results_dir
    if device is not None:
        layer["device"] = device
    if split is not None:
        layer["eval"] = {"report_on": split}
    base = merge(base, layer)
    configs = []
    for strategy in strategies or [None]:
        for reranker in rerankers or [None]:
            setting: dict[str, Any] = {}
            if strategy is not None:
                setting["strategy"] = {"name": strategy}
            if reranker is not None:
                setting["reranker"] = {"name": reranker}
            configs.append(build_config(None, merge(base, setting), sets))
    from rsbench.retrieval.rerankers.base import check_score_kind

    for cfg in configs:  # every pair before any dataset, sentence encoder or captioner loads
        check_score_kind(cfg.build("strategy"), cfg.build("reranker"), (cfg.name("strategy"), cfg.name("reranker")))
    return configs


def run_evaluations(model: LoadedModel, configs: list[RunConfig], console: Console, write: bool = True,
                    extra: dict[str, Any] | None = None,
                    select_metrics: bool = False) -> list[tuple[dict[str, Any], Path | None]]:
    """Evaluate ``model`` under every config (they share the dataset) and write one record each.

    Every setting's components are built, and their options checked against the dataset, before the first
    encoding. ``select_metrics`` adds the selection split's metrics (``extra.selection``; a sweep tunes on them).
    """
    from rsbench.retrieval.evaluator import build_evaluation, evaluate_config_split
    from rsbench.runtime import autocast_for, check_output_folder, seed_everything

    if write:
        for folder in sorted({c.results_dir for c in configs}):
            check_output_folder(folder, "results directory", "--results-dir")
    first = configs[0]
    seed_everything(first.seed)
    dataset = first.build("dataset")
    for split in {first.eval.report_on, *([first.eval.select_on] if select_metrics else [])}:
        if not dataset.split(split):
            raise DataError(f"dataset '{dataset.name}' has no '{split}' images; choose another with --split "
                            f"(`rsbench data inspect` shows its splits)")
    settings = []
    for cfg in configs:
        augmenter = cfg.build("augmenter", dataset)
        strategy, reranker = build_evaluation(cfg, augmenter, dataset,
                                              {cfg.eval.report_on, *([cfg.eval.select_on] if select_metrics else [])})
        settings.append((cfg, augmenter, strategy, reranker))
    encoder = model.encoder(first.eval.batch_size, autocast_for(model.device, first.train.amp),
                            first.train.num_workers)
    encoder.progress = _progress(console)
    out = []
    for cfg, augmenter, strategy, reranker in settings:
        start = time.perf_counter()
        evaluation = evaluate_config_split(encoder, dataset, cfg, augmenter, strategy, reranker,
                                           cfg.eval.report_on, groups=True)
        selection = None
        if select_metrics and (model.cost or {}).get("trainable_params"):
            selection = evaluate_config_split(encoder, dataset, cfg, augmenter, strategy, reranker,
                                              cfg.eval.select_on).metrics
        record = _record(model, cfg, dataset, evaluation, time.perf_counter() - start, selection, extra,
                         selected_on(model, cfg, strategy))
        path = None
        if write:
            from rsbench.results.record import write_record

            path = write_record(record, Path(cfg.results_dir))
        out.append((record, path))
    return out


def selected_on(model: LoadedModel, cfg: RunConfig, strategy: Any) -> str | None:
    """``selection_split`` of a loaded model: trained when it has a training record, trainable weights or a
    checkpoint behind it."""
    from rsbench.retrieval.evaluator import selection_split

    trained = model.parent_run_id is not None or bool((model.cost or {}).get("trainable_params")) \
        or "checkpoint" in model.source
    return selection_split(cfg, strategy, trained)


def _record(model: LoadedModel, cfg: RunConfig, dataset: Any, evaluation: Any, seconds: float,
            selection: dict[str, Any] | None, extra: dict[str, Any] | None, chosen_on: str | None) -> dict[str, Any]:
    from rsbench.engine import record_sections
    from rsbench.profile.cost import count_parameters
    from rsbench.results.record import COST_KEYS, make_record

    cost = dict(model.cost) if model.cost else {}
    if not cost:  # a frozen backbone or a checkpoint: what can be counted without training
        trainable, total = count_parameters(model.adapter)
        cost = {key: None for key in COST_KEYS} | {"trainable_params": trainable, "total_params": total}
    sections = record_sections(cfg, dataset, model.backbone, evaluation.eval.get("scene_at_eval", "none"),
                               model.device)
    return make_record(
        config=cfg.to_dict(), seed=cfg.seed, selected_on=chosen_on, metrics=evaluation.metrics, cost=cost,
        parent_run_id=model.parent_run_id,
        extra={
            "eval": evaluation.eval,
            "retrieval": evaluation.retrieval,
            "evaluation": {"model": model.source, "model_digest": model.digest, "seconds": seconds},
            **({"selection": selection} if selection is not None else {}),
            **(extra or {}),
        },
        **sections,
    )


def _progress(console: Console):
    """A callback that shows encoding progress of long galleries (a line every tenth of the way)."""
    shown: dict[str, int] = {}

    def report(what: str, done: int, total: int) -> None:
        if total < 2000 or console.quiet:
            return
        tenth = 10 * done // total
        if shown.get(what) != tenth:
            shown[what] = tenth
            console.log(f"encoding {what}: {done}/{total}")

    return report
