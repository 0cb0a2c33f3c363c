"""One experiment end to end: build the components a RunConfig names, train, evaluate, write the record."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from rsbench.config import RunConfig
from rsbench.errors import ConfigError, DataError
from rsbench.runtime import autocast_for, check_output_folder, device_label, resolve_device, seed_everything


def build(cfg: RunConfig, section: str, *args: Any) -> Any:
    """Build the component ``section`` of ``cfg`` names (``RunConfig.build``)."""
    return cfg.build(section, *args)


class Experiment:
    """The built components of one run, and the evaluation they share."""

    def __init__(self, cfg: RunConfig, console: Console, device: Any = None) -> None:
        self.cfg, self.console = cfg, console
        seed_everything(cfg.seed)
        self.device = device if device is not None else resolve_device(cfg.device)
        self.dataset = build(cfg, "dataset")
        for split in ("train", cfg.eval.select_on, cfg.eval.report_on):
            if not self.dataset.split(split):
                way_out = {"train": "a run needs training images",
                           "val": "add a val split, or set eval.select_on=test to select the checkpoint on test "
                                  "(the record says so)",
                           "test": "add a test split, or set eval.report_on=val"}.get(split, "")
                raise DataError(f"dataset '{self.dataset.name}' has no '{split}' images; {way_out}. "
                                f"`rsbench data inspect` shows its splits")
        self.backbone = build(cfg, "backbone")
        self.adapter = build(cfg, "adapter", self.backbone).to(self.device)
        self.augmenter = build(cfg, "augmenter", self.dataset)
        if getattr(self.augmenter, "needs_captioner", False) and not cfg.has("captioner"):
            raise ConfigError(f"augmenter {cfg.name('augmenter')} trains on generated captions: name a captioner "
                              f"with --captioner NAME (rsbench list captioner; oracle on SynthRS)")
        self.loss = build(cfg, "loss")
        self.sampler = build(cfg, "sampler", self.loss)
        self.strategy = build(cfg, "strategy")
        if getattr(self.strategy, "needs_captioner", False) and not cfg.has("captioner"):
            raise ConfigError(f"strategy {cfg.name('strategy')} captions the gallery: name a captioner with "
                              f"--captioner NAME (rsbench list captioner; oracle on SynthRS)")
        if cfg.has("captioner") and any(getattr(c, "needs_captioner", False) for c in (self.augmenter, self.strategy)):
            from rsbench.captioning.captions import build_captioner

            build_captioner(cfg.name("captioner"), cfg.options("captioner"))  # a missing file fails now, not later
        if callable(getattr(self.strategy, "prepare", None)):
            self.strategy.prepare()  # loads what retrieval needs: a bad model folder fails now, not after training
        self.reranker = build(cfg, "reranker")
        self.retrieval: dict[str, Any] = {}  # what the last evaluation's retrieval stage did (record section)
        self.autocast = autocast_for(self.device, cfg.train.amp)

    def training_pairs(self, records, transform):
        """The training pairs of ``records``; an augmenter that needs a captioner captions them first (cached)."""
        from rsbench.train import distributed
        from rsbench.train.pairs import TrainPairs

        cfg = self.cfg
        if getattr(self.augmenter, "needs_captioner", False):
            captioner = (cfg.name("captioner"), cfg.options("captioner")) if cfg.has("captioner") else None
            with distributed.main_first():  # rank 0 writes the caption cache, the others read it
                self.augmenter.prepare_training(records, captioner, str(self.device), progress=not self.console.quiet)
        return TrainPairs(records, transform, self.augmenter.augment, self.dataset.scenes,
                          cfg.train.captions_per_epoch, seed=cfg.seed, extra_pairs=self.augmenter.extra_pairs)

    def evaluate(self, split: str, groups: bool = False) -> dict[str, Any]:
        """Retrieval metrics on ``split``; with ``groups``, also R@K per query group the dataset
        defines (SynthRS: ``by_object_size`` = small / large / mixed objects described)."""
        from rsbench.metrics import retrieval_metrics
        from rsbench.retrieval.stage import retrieve
        from rsbench.train.pairs import eval_captions

        records = self.dataset.split(split)
        self.adapter.eval()
        self.augmenter.prepare_queries(records, self.encode_texts)
        captions, caption_to_image = eval_captions(records, self.augmenter.at_query)
        similarity, self.retrieval = retrieve(self, records, captions, caption_to_image)
        self.last_ranking = (similarity, captions, caption_to_image, records)  # for example contact sheets
        metrics: dict[str, Any] = retrieval_metrics(similarity, caption_to_image)
        if groups:
            from rsbench.metrics import grouped_recalls, majority_label

            for family, labels in self.dataset.caption_groups.items():
                per_caption = [label for r in records for label in labels[r.image_id]]
                per_image = [majority_label(labels[r.image_id]) for r in records]
                metrics[f"by_{family}"] = grouped_recalls(similarity, caption_to_image, per_caption, per_image)
        return metrics

    def encode_texts(self, texts: list[str]):
        """Text embeddings of the current model, in evaluation batches (for augmenters that need them)."""
        import torch

        bs, out = self.cfg.eval.batch_size, []
        with torch.no_grad(), self.autocast():
            for i in range(0, len(texts), bs):
                tokens = self.backbone.tokenizer(texts[i : i + bs]).to(self.device)
                out.append(self.adapter.encode_text(tokens).float())
        return torch.cat(out)

    def encode_images(self, records):
        """Normalised image embeddings of the current model for ``records``, in evaluation batches."""
        import torch
        from torch.utils.data import DataLoader

        from rsbench.train.pairs import EvalImages

        loader = DataLoader(EvalImages(records, self.backbone.preprocess_eval), batch_size=self.cfg.eval.batch_size,
                            num_workers=self.cfg.train.num_workers)
        with torch.no_grad(), self.autocast():
            out = [self.adapter.encode_image(batch.to(self.device)).float() for batch in loader]
        return torch.nn.functional.normalize(torch.cat(out), dim=-1)

    def saved_activation_bytes(self, pairs) -> int:
        """Bytes saved for backward by one training forward on a batch of the run's size."""
        from rsbench.profile.profiler import training_saved_bytes
        from rsbench.train.pairs import collate_pairs

        n = min(self.cfg.train.batch_size, len(pairs))
        batch = collate_pairs(self.backbone.tokenizer)([pairs[i] for i in range(n)])
        return training_saved_bytes(self.adapter, self.sampler, batch, self.device, self.autocast)


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
    the selected model (config + trainable weights) in that new folder for ``rsbench search``; ``examples``
    writes that many contact sheets of test queries beside the record. Training saves a
    checkpoint after every epoch; ``resume=True`` continues from it. Once the
    record is written the checkpoint is deleted unless ``train.keep_checkpoint``.

    Under torchrun (``WORLD_SIZE`` > 1) every process trains its share of each global batch (see
    rsbench/train/distributed.py); rank 0 alone evaluates, checkpoints and writes the record, and the
    other ranks return ``({}, None)``.
    """
    if write:  # before anything heavy is imported or built: a bad folder costs no training time
        check_output_folder(cfg.results_dir, "results directory", "results_dir (--results-dir)")
    if cfg.train.epochs > 0:
        check_output_folder(cfg.checkpoint_dir, "checkpoint directory", "checkpoint_dir (--set checkpoint_dir=DIR)")
    import open_clip
    import torch

    from rsbench.config import COMPONENT_SECTIONS
    from rsbench.hooks import provider
    from rsbench.profile.cost import count_parameters, peak_memory
    from rsbench.results.record import make_record, write_record
    from rsbench.train import distributed
    from rsbench.train.trainer import TrainOutcome, train

    device = distributed.setup(cfg.device, cfg.train.dist_backend)
    world = distributed.world_size()
    if cfg.train.batch_size % world:
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} is the global batch and must divide evenly "
                          f"over the {world} processes; use a multiple of {world}")
    if not distributed.is_main():
        console = Console(quiet=True)  # rank 0 speaks for the run
    with distributed.main_first():  # rank 0 builds the dataset cache the others then read
        exp = Experiment(cfg, console, device)
    ds = exp.dataset
    console.log(
        f"dataset {escape(ds.name)} ({'synthetic' if ds.synthetic else 'real'}): {ds.split_sizes()} images; "
        f"backbone {escape(exp.backbone.name)}"
        f"{' / ' + escape(str(exp.backbone.pretrained)) if exp.backbone.pretrained else ' (random init)'}; "
        f"device {exp.device}"
    )
    for problem in ds.problems:  # what the loader dropped or found odd: said here and counted in the record
        console.print(Text.assemble(("data:", "yellow"), " ", problem), soft_wrap=True, highlight=False)
    trainable, total = count_parameters(exp.adapter)
    transform = exp.backbone.preprocess_train if cfg.train.image_augmentation == "backbone" \
        else exp.backbone.preprocess_eval
    pairs = exp.training_pairs(ds.split("train"), transform)
    saved_bytes = exp.saved_activation_bytes(pairs)
    outcome = TrainOutcome(best_epoch=None, best_score=None)
    trains = exp.adapter.trains and cfg.train.epochs > 0
    checkpoint = checkpoint_path(cfg) if trains else None
    cache_plan = None
    if trains and cfg.train.cache_features:
        from rsbench.train.feature_cache import plan

        cache_plan = plan(exp.adapter, exp.sampler, transform, ds.split("train"), ds.content_hash(),
                          lambda: pairs.image(0))
        console.log(f"feature cache: {escape(cache_plan.extra['folder'])}" if cache_plan.used
                    else f"[yellow]feature cache not used: {escape(cache_plan.reason or '')}[/]")
    with peak_memory(exp.device) as peak:
        if trains:
            outcome, best_state, best_sampler = train(
                exp.adapter, exp.sampler, pairs, exp.backbone.tokenizer, cfg.train, exp.device,
                lambda: exp.evaluate(cfg.eval.select_on), console, seed=cfg.seed,
                checkpoint=checkpoint, run_key=cfg.run_key(), resume=resume_state(cfg, console, resume),
                peak_so_far=peak["so_far"], feature_cache=cache_plan.cache if cache_plan else None,
            )
            if best_state is not None:
                exp.adapter.load_state_dict(best_state, strict=False)
                exp.sampler.load_state_dict(best_sampler or {})
    if not distributed.is_main():
        distributed.barrier()  # rank 0 evaluates and writes the one record
        return {}, None
    if save_model is not None:
        from rsbench.retrieval.saved_model import save_model as keep_model

        keep_model(exp.adapter, cfg.to_dict(), exp.backbone.weights_sha256, save_model)
        console.log(f"saved the model (config + trainable weights) to {save_model}")
    metrics = exp.evaluate(cfg.eval.report_on, groups=True)
    record = make_record(
        config=cfg.to_dict(),
        seed=cfg.seed,
        selected_on=cfg.eval.select_on,
        dataset={
            "name": ds.name,
            "synthetic": ds.synthetic,
            "content_hash": ds.content_hash(),
            "split_sizes": ds.split_sizes(),
            "scene_at_eval": exp.augmenter.describe_eval().get("scene_at_eval", "none"),
            "reported_split": cfg.eval.report_on,
            "dropped": dict(ds.dropped),
            "images_in_several_splits": ds.images_in_several_splits,
        },
        backbone={"name": exp.backbone.name, "pretrained": exp.backbone.pretrained,
                  "weights_sha256": exp.backbone.weights_sha256},
        metrics=metrics,
        cost={
            "trainable_params": trainable,
            "total_params": total,
            "saved_activation_bytes": saved_bytes,
            # a resumed run's peak is the larger of its two halves (the first is kept in the checkpoint)
            "peak_memory_bytes": max(peak["peak_memory_bytes"], outcome.peak_memory_before_resume or 0),
            "throughput_pairs_per_s": outcome.throughput_pairs_per_s,
            "train_seconds": outcome.train_seconds,
        },
        env={
            "device": device_label(exp.device),
            "world_size": world,
            "torch": torch.__version__,
            "open_clip": open_clip.__version__,
            "python": platform.python_version(),
        },
        components={section: {"name": cfg.name(section), **provider(cfg.component(section))}
                    for section in COMPONENT_SECTIONS},
        extra={
            "eval": exp.augmenter.describe_eval(),
            "retrieval": exp.retrieval,
            "training": {"best_epoch": outcome.best_epoch, "steps": outcome.steps, "history": outcome.history,
                         "resumed_after_epoch": outcome.resumed_after_epoch,
                         "global_batch_size": cfg.train.batch_size,
                         "per_process_batch_size": cfg.train.batch_size // world},
            **({"feature_cache": cache_plan.describe()} if cache_plan is not None else {}),
            "checkpoint": str(checkpoint) if checkpoint is not None and cfg.train.keep_checkpoint else None,
            **(extra or {}),
        },
    )
    path = write_record(record, Path(cfg.results_dir)) if write else None
    if examples and path is not None:
        from rsbench.retrieval.examples import write_examples

        sheets = write_examples(*exp.last_ranking, examples, path.with_name(path.stem + "-examples"))
        console.log(f"{len(sheets)} example queries drawn in {sheets[0].parent}")
    if checkpoint is not None and not cfg.train.keep_checkpoint and (path is not None or not write):
        checkpoint.unlink(missing_ok=True)  # the record is safe; the checkpoint has served its purpose
    distributed.barrier()
    return record, path
