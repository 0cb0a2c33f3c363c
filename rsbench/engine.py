"""One experiment end to end: build the components a RunConfig names, train, evaluate, write the record."""

from __future__ import annotations

import platform
import random
from pathlib import Path
from typing import Any

from rich.console import Console

from rsbench.config import RunConfig
from rsbench.errors import ConfigError, DataError
from rsbench.hooks import get_registry


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str):
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device '{name}' is not a torch device (use auto, cpu, cuda or cuda:N)") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return device


def cpu_name() -> str:
    """The CPU's model name and core count, so records say what hardware measured them."""
    import os

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def device_label(device) -> str:
    """``"cuda: NVIDIA H100 ..."`` or ``"cpu: AMD EPYC (2 cores)"``: what records say measured them."""
    import torch

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    return f"{device.type}: {name}"


def build(cfg: RunConfig, section: str, *args: Any) -> Any:
    return get_registry(section).get(cfg.name(section)).build(cfg.options(section), *args)


class Experiment:
    """The built components of one run, and the evaluation they share."""

    def __init__(self, cfg: RunConfig, console: Console) -> None:
        self.cfg, self.console = cfg, console
        seed_everything(cfg.seed)
        self.device = resolve_device(cfg.device)
        self.dataset = build(cfg, "dataset")
        for split in ("train", cfg.eval.select_on, cfg.eval.report_on):
            if not self.dataset.split(split):
                raise DataError(
                    f"dataset '{self.dataset.name}' has no '{split}' images; a run needs train, val and test splits"
                )
        self.backbone = build(cfg, "backbone")
        self.adapter = build(cfg, "adapter", self.backbone).to(self.device)
        self.augmenter = build(cfg, "augmenter", self.dataset)
        self.loss = build(cfg, "loss")
        self.sampler = build(cfg, "sampler", self.loss)
        self.strategy = build(cfg, "strategy")
        self.reranker = build(cfg, "reranker")
        self.retrieval: dict[str, Any] = {}  # what the last evaluation's retrieval stage did (record section)
        from rsbench.train.trainer import autocast_for

        self.autocast = autocast_for(self.device, cfg.train.amp)

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
    from rsbench.train.checkpoint import load_checkpoint

    path = checkpoint_path(cfg)
    if not path.exists():
        if resume:
            console.log(f"no checkpoint at {path}: starting from the beginning")
        return None
    if not resume:
        console.log(f"[yellow]an interrupted run of this configuration left {path}; starting over and replacing "
                    f"it after the first epoch (pass --resume to continue from it instead)[/]")
        return None
    return load_checkpoint(path, cfg.run_key())


def run_experiment(cfg: RunConfig, console: Console, write: bool = True, resume: bool = False,
                   extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], Path | None]:
    """Train and evaluate as ``cfg`` says; return the result record and where it was written.

    ``extra`` adds sections to the record's ``extra`` (``rsbench sweep`` adds ``sweep``). Training saves a
    checkpoint after every epoch; ``resume=True`` continues from it. Once the
    record is written the checkpoint is deleted unless ``train.keep_checkpoint``.
    """
    import open_clip
    import torch

    from rsbench.profile.cost import count_parameters, peak_memory
    from rsbench.results.record import make_record, write_record
    from rsbench.train.pairs import TrainPairs
    from rsbench.train.trainer import TrainOutcome, train

    exp = Experiment(cfg, console)
    ds = exp.dataset
    console.log(
        f"dataset {ds.name} ({'synthetic' if ds.synthetic else 'real'}): {ds.split_sizes()} images; "
        f"backbone {exp.backbone.name}"
        f"{' / ' + str(exp.backbone.pretrained) if exp.backbone.pretrained else ' (random init)'}; "
        f"device {exp.device}"
    )
    trainable, total = count_parameters(exp.adapter)
    pairs = TrainPairs(ds.split("train"), exp.backbone.preprocess_train, exp.augmenter.augment, ds.scenes,
                       cfg.train.captions_per_epoch, seed=cfg.seed)
    saved_bytes = exp.saved_activation_bytes(pairs)
    outcome = TrainOutcome(best_epoch=None, best_score=None)
    trains = exp.adapter.trains and cfg.train.epochs > 0
    checkpoint = checkpoint_path(cfg) if trains else None
    with peak_memory(exp.device) as peak:
        if trains:
            outcome, best_state, best_sampler = train(
                exp.adapter, exp.sampler, pairs, exp.backbone.tokenizer, cfg.train, exp.device,
                lambda: exp.evaluate(cfg.eval.select_on), console, seed=cfg.seed,
                checkpoint=checkpoint, run_key=cfg.run_key(), resume=resume_state(cfg, console, resume),
            )
            if best_state is not None:
                exp.adapter.load_state_dict(best_state, strict=False)
                exp.sampler.load_state_dict(best_sampler or {})
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
        },
        backbone={"name": exp.backbone.name, "pretrained": exp.backbone.pretrained,
                  "weights_sha256": exp.backbone.weights_sha256},
        metrics=metrics,
        cost={
            "trainable_params": trainable,
            "total_params": total,
            "saved_activation_bytes": saved_bytes,
            "peak_memory_bytes": peak["peak_memory_bytes"],
            "throughput_pairs_per_s": outcome.throughput_pairs_per_s,
            "train_seconds": outcome.train_seconds,
        },
        env={
            "device": device_label(exp.device),
            "torch": torch.__version__,
            "open_clip": open_clip.__version__,
            "python": platform.python_version(),
        },
        extra={
            "eval": exp.augmenter.describe_eval(),
            "retrieval": exp.retrieval,
            "training": {"best_epoch": outcome.best_epoch, "steps": outcome.steps, "history": outcome.history},
            "checkpoint": str(checkpoint) if checkpoint is not None and cfg.train.keep_checkpoint else None,
            **(extra or {}),
        },
    )
    path = write_record(record, Path(cfg.results_dir)) if write else None
    if checkpoint is not None and not cfg.train.keep_checkpoint and (path is not None or not write):
        checkpoint.unlink(missing_ok=True)  # the record is safe; the checkpoint has served its purpose
    return record, path
