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
        from rsbench.train.trainer import autocast_for

        self.autocast = autocast_for(self.device, cfg.train.amp)

    def evaluate(self, split: str) -> dict[str, float]:
        from torch.utils.data import DataLoader

        from rsbench.metrics import retrieval_metrics
        from rsbench.train.pairs import EvalImages, eval_captions

        records = self.dataset.split(split)
        self.adapter.eval()
        self.augmenter.prepare_queries(records, self.encode_texts)
        captions, caption_to_image = eval_captions(records, self.augmenter.at_query)
        bs = self.cfg.eval.batch_size
        images = DataLoader(EvalImages(records, self.backbone.preprocess_eval), batch_size=bs,
                            num_workers=self.cfg.train.num_workers)
        tokens = (self.backbone.tokenizer(captions[i : i + bs]) for i in range(0, len(captions), bs))
        similarity = self.strategy.similarity(self.adapter, images, tokens, self.device, self.autocast)
        return retrieval_metrics(similarity, caption_to_image)

    def encode_texts(self, texts: list[str]):
        """Text embeddings of the current model, in evaluation batches (for augmenters that need them)."""
        import torch

        bs, out = self.cfg.eval.batch_size, []
        with torch.no_grad(), self.autocast():
            for i in range(0, len(texts), bs):
                tokens = self.backbone.tokenizer(texts[i : i + bs]).to(self.device)
                out.append(self.adapter.encode_text(tokens).float())
        return torch.cat(out)

    def saved_activation_bytes(self, pairs) -> int:
        """Bytes saved for backward by one training forward on a batch of the run's size."""
        from rsbench.profile.cost import saved_for_backward_bytes
        from rsbench.train.pairs import collate_pairs

        n = min(self.cfg.train.batch_size, len(pairs))
        images, tokens, image_ids, scene_ids = collate_pairs(self.backbone.tokenizer)([pairs[i] for i in range(n)])
        images, tokens = images.to(self.device), tokens.to(self.device)
        self.adapter.train()

        def forward():
            with self.autocast():
                return self.sampler(self.adapter.encode_image(images), self.adapter.encode_text(tokens),
                                    self.adapter.logit_scale, image_ids.to(self.device), scene_ids.to(self.device))[0]

        if not self.adapter.trainable_parameters():
            return 0
        state = self.sampler.state_dict()  # the profiling forward must not feed a stateful sampler (queues)
        try:
            return saved_for_backward_bytes(self.adapter, forward)
        finally:
            self.sampler.load_state_dict(state)


def run_experiment(cfg: RunConfig, console: Console, write: bool = True) -> tuple[dict[str, Any], Path | None]:
    """Train and evaluate as ``cfg`` says; return the result record and where it was written."""
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
    with peak_memory(exp.device) as peak:
        if exp.adapter.trains and cfg.train.epochs > 0:
            outcome, best_state, best_sampler = train(
                exp.adapter, exp.sampler, pairs, exp.backbone.tokenizer, cfg.train, exp.device,
                lambda: exp.evaluate(cfg.eval.select_on), console, seed=cfg.seed,
            )
            if best_state is not None:
                exp.adapter.load_state_dict(best_state, strict=False)
                exp.sampler.load_state_dict(best_sampler or {})
    metrics = exp.evaluate(cfg.eval.report_on)
    device_name = torch.cuda.get_device_name(exp.device) if exp.device.type == "cuda" else cpu_name()
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
        backbone={"name": exp.backbone.name, "pretrained": exp.backbone.pretrained},
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
            "device": f"{exp.device.type}: {device_name}",
            "torch": torch.__version__,
            "open_clip": open_clip.__version__,
            "python": platform.python_version(),
        },
        extra={
            "eval": exp.augmenter.describe_eval(),
            "training": {"best_epoch": outcome.best_epoch, "steps": outcome.steps, "history": outcome.history},
        },
    )
    path = write_record(record, Path(cfg.results_dir)) if write else None
    return record, path
