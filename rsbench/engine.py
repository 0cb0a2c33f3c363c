"""One experiment end to end: build the components a RunConfig names, train, evaluate, write the record."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from rsbench.config import RunConfig
from rsbench.errors import ConfigError, DataError
from rsbench.runtime import autocast_for, check_output_folder, device_label, resolve_device, seed_everything

if TYPE_CHECKING:
    from rsbench.retrieval.encoder import ModelEncoder
    from rsbench.retrieval.evaluator import Evaluation


def build(cfg: RunConfig, section: str, *args: Any) -> Any:
    """Build the component ``section`` of ``cfg`` names (``RunConfig.build``; kept for callers that use it)."""
    return cfg.build(section, *args)


class Experiment:
    """The built components of one run, and the evaluation they share."""

    def __init__(self, cfg: RunConfig, console: Console, device: Any = None) -> None:
        self.cfg, self.console = cfg, console
        seed_everything(cfg.seed)
        self.device = device if device is not None else resolve_device(cfg.device)
        self.dataset = cfg.build("dataset")
        for split in ("train", cfg.eval.report_on):  # the selection split: once it is known whether one is used
            if not self.dataset.split(split):
                way_out = {"train": "a run needs training images",
                           "test": "add a test split, or set eval.report_on=val"}.get(split, "")
                raise DataError(f"dataset '{self.dataset.name}' has no '{split}' images; {way_out}. "
                                f"`rsbench data inspect` shows its splits")
        self.backbone = cfg.build("backbone")
        self.adapter = cfg.build("adapter", self.backbone).to(self.device)
        self.augmenter = cfg.build("augmenter", self.dataset)
        self.loss = cfg.build("loss")
        self.sampler = cfg.build("sampler", self.loss)
        from rsbench.retrieval.evaluator import build_evaluation, selection_split

        strategy = cfg.build("strategy")  # what it is decides whether the run trains (and selects) at all
        self.trains = self.adapter.trains and cfg.train.epochs > 0 and getattr(strategy, "uses_model", True)
        self.strategy, self.reranker = build_evaluation(cfg, self.augmenter, self.dataset, {cfg.eval.report_on},
                                                        selection=self.trains, strategy=strategy)
        self.selected_on = selection_split(cfg, self.strategy, self.trains)  # the record's selected_on
        self.autocast = autocast_for(self.device, cfg.train.amp)

    def training_pairs(self, records, transform):
        """The training pairs of ``records``; an augmenter that needs a captioner captions them first (cached)."""
        from rsbench.train import distributed
        from rsbench.train.pairs import TrainPairs

        cfg = self.cfg
        if getattr(self.augmenter, "needs_captioner", False):
            with distributed.main_first():  # rank 0 writes the caption cache, the others read it
                from rsbench.retrieval.evaluator import captioner_of

                self.augmenter.prepare_training(records, captioner_of(cfg), str(self.device),
                                                progress=not self.console.quiet)
        return TrainPairs(records, transform, self.augmenter.augment, self.dataset.scenes,
                          cfg.train.captions_per_epoch, seed=cfg.seed, extra_pairs=self.augmenter.extra_pairs)

    def encoder(self) -> ModelEncoder:
        """The encoder of the model as it is now (a new one after the weights change)."""
        from rsbench.retrieval.encoder import ModelEncoder

        return ModelEncoder.of(self.adapter, self.backbone, self.device, self.autocast, self.cfg.eval.batch_size,
                               self.cfg.train.num_workers)

    def evaluate(self, split: str, groups: bool = False) -> Evaluation:
        """The run's strategy and reranker on ``split`` with the current model (rsbench/retrieval/evaluator.py);
        with ``groups``, also R@K per query group the dataset defines (SynthRS: ``by_object_size``)."""
        from rsbench.retrieval.evaluator import evaluate_config_split

        self.adapter.eval()
        return evaluate_config_split(self.encoder(), self.dataset, self.cfg, self.augmenter, self.strategy,
                                     self.reranker, split, groups)

    def saved_activation_bytes(self, pairs) -> int:
        """Bytes saved for backward by one training forward on a batch of the run's size."""
        from rsbench.profile.profiler import training_saved_bytes
        from rsbench.train.pairs import collate_pairs

        n = min(self.cfg.train.batch_size, len(pairs))
        batch = collate_pairs(self.backbone.tokenizer)([pairs[i] for i in range(n)])
        return training_saved_bytes(self.adapter, self.sampler, batch, self.device, self.autocast)


def record_sections(cfg: RunConfig, dataset: Any, backbone: Any, scene_at_eval: str,
                    device: Any, world: int = 1) -> dict[str, Any]:
    """The record's ``dataset``, ``backbone``, ``env`` and ``components`` sections, as every run writes them."""
    import open_clip
    import torch

    from rsbench.hooks import record_components

    return {
        "dataset": {
            "name": dataset.name,
            "synthetic": dataset.synthetic,
            "content_hash": dataset.content_hash(),
            "split_sizes": dataset.split_sizes(),
            "scene_at_eval": scene_at_eval,
            "reported_split": cfg.eval.report_on,
            "dropped": dict(dataset.dropped),
            "images_in_several_splits": dataset.images_in_several_splits,
        },
        "backbone": {"name": backbone.name, "pretrained": backbone.pretrained,
                     "weights_sha256": backbone.weights_sha256},
        "env": {
            "device": device_label(device),
            "world_size": world,
            "torch": torch.__version__,
            "open_clip": open_clip.__version__,
            "python": platform.python_version(),
        },
        "components": record_components(cfg.to_dict()),
    }


def checkpoint_path(cfg: RunConfig) -> Path:
    """Where a run's training checkpoint lives: ``<checkpoint_dir>/<run key>.pt``."""
    return Path(cfg.checkpoint_dir) / f"{cfg.run_key()}.pt"


def resume_state(cfg: RunConfig, console: Console, resume: bool) -> dict[str, Any] | None:
    """The checkpoint to continue from, if ``resume`` and one exists; a warning if one is being ignored."""
    from rsbench.train.checkpoint import load_checkpoint, remove_partial_writes

    path = checkpoint_path(cfg)
    remove_partial_writes(path)
    if not path.exists():
        if resume:
            console.log(f"no checkpoint at {escape(str(path))}: starting from the beginning")
        return None
    if not resume:
        console.log(f"[yellow]an interrupted run of this configuration left {escape(str(path))}; "
                    f"starting over and replacing it after the first epoch "
                    f"(pass --resume to continue from it instead)[/]")
        return None
    return load_checkpoint(path, cfg.run_key())


def run_experiment(cfg: RunConfig, console: Console, write: bool = True, resume: bool = False,
                   extra: dict[str, Any] | None = None,
                   save_model: Path | None = None, examples: int = 0) -> tuple[dict[str, Any], Path | None]:
    """Train and evaluate as ``cfg`` says; return the result record and where it was written.

    ``extra`` adds sections to the record's ``extra`` (``rsbench sweep`` adds ``sweep``); ``save_model`` keeps
    the selected model (config + trainable weights + the record's run id) in that new folder for ``rsbench
    eval`` and ``rsbench index build``; ``examples`` writes that many contact sheets of test queries beside the
    record. Training saves a checkpoint after every epoch; ``resume=True`` continues from it. Once the
    record is written the checkpoint is deleted unless ``train.keep_checkpoint``. A strategy that ranks without
    the trained model (``uses_model = False``: text-to-text) trains nothing, and says so.

    Under torchrun (``WORLD_SIZE`` > 1) every process trains its share of each global batch (see
    rsbench/train/distributed.py); rank 0 alone evaluates, checkpoints and writes the record, and the
    other ranks return ``({}, None)``. Nothing the run built stays reachable after it returns.
    """
    if write:  # before anything heavy is imported or built: a bad folder costs no training time
        check_output_folder(cfg.results_dir, "results directory", "results_dir (--results-dir)")
    if cfg.train.epochs > 0:
        check_output_folder(cfg.checkpoint_dir, "checkpoint directory", "checkpoint_dir (--set checkpoint_dir=DIR)")
    from rsbench.train import distributed

    device = distributed.setup(cfg.device, cfg.train.dist_backend)
    world = distributed.world_size()
    if cfg.train.batch_size % world:
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} is the global batch and must divide evenly "
                          f"over the {world} processes; use a multiple of {world}")
    if not distributed.is_main():
        console = Console(quiet=True)  # rank 0 speaks for the run
    with distributed.main_first():  # rank 0 builds the dataset cache the others then read
        exp = Experiment(cfg, console, device)
    try:
        return _train_and_report(exp, console, world, write, resume, extra, save_model, examples)
    finally:
        del exp
        release()


def release() -> None:
    """Hand back what a finished run freed (the CUDA cache, glibc's free lists), so that a process running many
    runs (a sweep) keeps a flat footprint. The run's objects themselves are unreachable once it returns."""
    import gc

    import torch

    from rsbench.runtime import trim_memory

    gc.collect()  # cycles among the run's modules and hooks, before the allocators are asked to give back
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    trim_memory()


def run_record(exp: Experiment, evaluation: Evaluation, cost: dict[str, Any], extra: dict[str, Any],
               world: int) -> dict[str, Any]:
    """The record of a run that trained (or trained nothing) and was evaluated on its report split."""
    from rsbench.results.record import make_record

    cfg = exp.cfg
    sections = record_sections(cfg, exp.dataset, exp.backbone, evaluation.eval.get("scene_at_eval", "none"),
                               exp.device, world)
    return make_record(config=cfg.to_dict(), seed=cfg.seed, selected_on=exp.selected_on,
                       metrics=evaluation.metrics, cost=cost,
                       extra={"eval": evaluation.eval, "retrieval": evaluation.retrieval, **extra}, **sections)


def announce(exp: Experiment, console: Console) -> None:
    """What the run is about to use, and what the loader dropped or found odd (counted in the record too)."""
    ds = exp.dataset
    console.log(
        f"dataset {escape(ds.name)} ({'synthetic' if ds.synthetic else 'real'}): {ds.split_sizes()} images; "
        f"backbone {escape(exp.backbone.name)}"
        f"{' / ' + escape(str(exp.backbone.pretrained)) if exp.backbone.pretrained else ' (random init)'}; "
        f"device {exp.device}"
    )
    if not exp.backbone.pretrained:  # changes what the row measures: training from scratch, not transfer
        console.print(Text(f"backbone {exp.backbone.name} starts from random weights (backbone.pretrained is null): "
                           f"this run measures training from scratch, and its leaderboard row says "
                           f"'(random init)'; pass --pretrained TAG|FILE for pretrained weights", style="yellow"),
                      soft_wrap=True, highlight=False)
    for problem in ds.problems:
        console.print(Text.assemble(("data:", "yellow"), " ", problem), soft_wrap=True, highlight=False)


def keep_outputs(exp: Experiment, record: dict[str, Any], evaluation: Evaluation, console: Console, write: bool,
                 save_model: Path | None, examples: int) -> Path | None:
    """The selected model (``--save-model``, naming the record), the record, and example contact sheets."""
    from rsbench.results.record import write_record
    from rsbench.train.trainer import trainable_state

    cfg = exp.cfg
    if save_model is not None:
        from rsbench.retrieval.saved_model import save_model as keep_model

        keep_model(trainable_state(exp.adapter), cfg.to_dict(), exp.backbone.weights_sha256, save_model,
                   run_id=record["run_id"], cost=record["cost"])
        console.log(f"saved the model (config + trainable weights) to {save_model}")
    path = write_record(record, Path(cfg.results_dir)) if write else None
    if examples and path is not None:
        from rsbench.retrieval.examples import write_examples

        split = evaluation.split
        sheets = write_examples(evaluation.scores, split.captions, split.caption_to_image, split.records, examples,
                                path.with_name(path.stem + "-examples"))
        console.log(f"{len(sheets)} example queries drawn in {sheets[0].parent}")
    return path


def _feature_cache_plan(exp: Experiment, transform: Any, pairs: Any, console: Console) -> Any:
    """Where the frozen tower's features will be kept for this run, or why they will not be (logged either way)."""
    from rsbench.train.feature_cache import plan

    cache_plan = plan(exp.adapter, exp.sampler, transform, exp.dataset.split("train"), exp.dataset.content_hash(),
                      lambda: pairs.image(0))
    console.log(f"feature cache: {escape(cache_plan.extra['folder'])}" if cache_plan.used
                else f"[yellow]feature cache not used: {escape(cache_plan.reason or '')}[/]")
    return cache_plan


def _training_section(outcome: Any, cfg: RunConfig, world: int, skipped: str | None) -> dict[str, Any]:
    """The record's ``extra.training``: the chosen epoch, the steps, the per-epoch history, the batch sizes."""
    return {"best_epoch": outcome.best_epoch, "steps": outcome.steps, "history": outcome.history,
            "resumed_after_epoch": outcome.resumed_after_epoch, "global_batch_size": cfg.train.batch_size,
            "per_process_batch_size": cfg.train.batch_size // world, **({"skipped": skipped} if skipped else {})}


def _train_and_report(exp: Experiment, console: Console, world: int, write: bool, resume: bool,
                      extra: dict[str, Any] | None, save_model: Path | None,
                      examples: int) -> tuple[dict[str, Any], Path | None]:
    from rsbench.profile.cost import count_parameters, peak_memory
    from rsbench.train import distributed
    from rsbench.train.trainer import TrainOutcome, train

    cfg, ds = exp.cfg, exp.dataset
    announce(exp, console)
    trainable, total = count_parameters(exp.adapter)
    transform = exp.backbone.preprocess_train if cfg.train.image_augmentation == "backbone" \
        else exp.backbone.preprocess_eval
    pairs = exp.training_pairs(ds.split("train"), transform)
    saved_bytes = exp.saved_activation_bytes(pairs)
    outcome = TrainOutcome(best_epoch=None, best_score=None)
    trains, skipped = exp.trains, None
    if exp.adapter.trains and cfg.train.epochs > 0 and not trains:  # the strategy ignores the model
        skipped = f"strategy {cfg.name('strategy')} ranks without the trained model"
        console.log(f"[yellow]{escape(skipped)}: nothing is trained[/]")
        trainable, saved_bytes = 0, 0  # the row's cost: nothing trained, nothing saved for backward
    checkpoint = checkpoint_path(cfg) if trains else None
    cache_plan = _feature_cache_plan(exp, transform, pairs, console) if trains and cfg.train.cache_features else None
    with peak_memory(exp.device) as peak:
        if trains:
            outcome, best_state, best_sampler = train(
                exp.adapter, exp.sampler, pairs, exp.backbone.tokenizer, cfg.train, exp.device,
                lambda: exp.evaluate(cfg.eval.select_on).metrics, console, seed=cfg.seed,
                checkpoint=checkpoint, run_key=cfg.run_key(), resume=resume_state(cfg, console, resume),
                peak_so_far=peak["so_far"], feature_cache=cache_plan.cache if cache_plan else None,
                run_config=cfg.to_dict(),
            )
            if best_state is not None:
                exp.adapter.load_state_dict(best_state, strict=False)
                exp.sampler.load_state_dict(best_sampler or {})
    if not distributed.is_main():
        distributed.barrier()  # rank 0 evaluates and writes the one record
        return {}, None
    evaluation = exp.evaluate(cfg.eval.report_on, groups=True)
    cost = {
        "trainable_params": trainable,
        "total_params": total,
        "saved_activation_bytes": saved_bytes,
        # a resumed run's peak is the larger of its two halves (the first is kept in the checkpoint)
        "peak_memory_bytes": max(peak["peak_memory_bytes"], outcome.peak_memory_before_resume or 0),
        "throughput_pairs_per_s": outcome.throughput_pairs_per_s,
        "train_seconds": outcome.train_seconds,
    }
    extras = {
        "training": _training_section(outcome, cfg, world, skipped),
        **({"feature_cache": cache_plan.describe()} if cache_plan is not None else {}),
        "checkpoint": str(checkpoint) if checkpoint is not None and cfg.train.keep_checkpoint else None,
        **(extra or {}),
    }
    record = run_record(exp, evaluation, cost, extras, world)
    path = keep_outputs(exp, record, evaluation, console, write, save_model, examples)
    if checkpoint is not None and not cfg.train.keep_checkpoint and (path is not None or not write):
        checkpoint.unlink(missing_ok=True)  # the record is safe; the checkpoint has served its purpose
    distributed.barrier()
    return record, path
