"""The training loop: AdamW, warm-up + cosine, bf16 autocast on CUDA, best epoch chosen on a split."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch.utils.data import DataLoader

from rsbench.config import TrainConfig
from rsbench.errors import TrainingError
from rsbench.metrics import NonFiniteSimilarityError
from rsbench.runtime import autocast_for
from rsbench.train.checkpoint import ResumeState, save_checkpoint
from rsbench.train.feature_cache import FeatureCache
from rsbench.train.pairs import CachedPairs, TrainPairs, collate_pairs
from rsbench.train.schedule import adamw, warmup_cosine


@dataclass
class TrainOutcome:
    best_epoch: int | None
    best_score: float | None
    history: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    train_seconds: float = 0.0
    throughput_pairs_per_s: float | None = None
    final_loss: float | None = None  # the loss of the last training step
    resumed_after_epoch: int | None = None  # the checkpoint's epoch when this run was resumed
    # peak memory of the interrupted process(es) before the resume, as their last checkpoint stored it
    peak_memory_before_resume: int | None = None


def trainable_state(adapter: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of every trainable tensor: enough to restore the best epoch."""
    names = {n for n, p in adapter.named_parameters() if p.requires_grad}
    return {k: v.detach().to("cpu", copy=True) for k, v in adapter.state_dict().items() if k in names}


class PairEncoder(torch.nn.Module):
    """The adapter's training forward (images or cached features, tokens -> embeddings) as one module call,
    so that DistributedDataParallel can wrap it; the logit scale goes out with it, as the loss reads it."""

    def __init__(self, adapter: torch.nn.Module, sampler: Any) -> None:
        super().__init__()
        self.adapter = adapter
        self.sampler = sampler  # not a module: only read to know whether the loss wants token features

    def forward(self, images, tokens: torch.Tensor):
        from rsbench.train.token_batch import encode_batch

        image_emb, text_emb, extra = encode_batch(self.adapter, self.sampler, images, tokens)
        return image_emb, text_emb, extra, self.adapter.logit_scale


def pair_encoder(adapter: torch.nn.Module, sampler: Any, device: torch.device) -> torch.nn.Module:
    """The ``PairEncoder`` of a training run, wrapped in DistributedDataParallel in a multi-process run."""
    from rsbench.train import distributed

    encoder = PairEncoder(adapter, sampler)
    if not distributed.active():
        return encoder
    from torch.nn.parallel import DistributedDataParallel

    # static_graph: a trainable tensor the loss never reads (the logit scale under a hinge) is allowed.
    # No buffer changes in training (CLIP has no batch norm), so none is broadcast before each forward.
    return DistributedDataParallel(encoder, device_ids=[device.index] if device.type == "cuda" else None,
                                   static_graph=True, broadcast_buffers=False)


def gather_batch(image_emb, text_emb, image_ids, scene_ids, extra):
    """Every rank's part of the batch, in rank order: embeddings and token features with their gradients
    (``distributed.gather_with_grad``), ids without. The identity in one process."""
    from rsbench.train.distributed import gather, gather_with_grad
    from rsbench.train.token_batch import TokenBatch

    tokens = extra.get("tokens")
    if tokens is not None:
        extra = {**extra, "tokens": TokenBatch(gather_with_grad(tokens.patches), gather_with_grad(tokens.words),
                                               gather(tokens.mask))}
    return gather_with_grad(image_emb), gather_with_grad(text_emb), gather(image_ids), gather(scene_ids), extra


def to_device(images, device: torch.device):
    """A batch's images, or its dict of cached features, on ``device``."""
    if isinstance(images, dict):
        return {k: v.to(device, non_blocking=True) for k, v in images.items()}
    return images.to(device, non_blocking=True)


def train_step(adapter, sampler, optimizer, params, batch, device: torch.device, autocast, grad_clip: float,
               where: str = "", lr: float | None = None, encoder: torch.nn.Module | None = None) -> dict[str, float]:
    """One optimisation step on ``batch = (images, tokens, image_ids, scene_ids)``; returns the sampler's logs.

    Shared by ``train`` and the profiler, so a profiled step is exactly a training step. A
    non-finite loss raises TrainingError before any weight changes. ``images`` may be a dict of cached
    frozen-tower features. ``encoder`` is the DDP-wrapped ``PairEncoder`` of a multi-process run: the
    sampler then sees every rank's pairs (the global batch), and every rank computes the same loss.
    """
    from rsbench.train import distributed

    images, tokens, image_ids, scene_ids = batch
    images, tokens = to_device(images, device), tokens.to(device, non_blocking=True)
    image_ids, scene_ids = image_ids.to(device), scene_ids.to(device)
    encoder = encoder if encoder is not None else PairEncoder(adapter, sampler)
    with autocast():
        image_emb, text_emb, extra, logit_scale = encoder(images, tokens)
        if distributed.active():
            image_emb, text_emb, image_ids, scene_ids, extra = gather_batch(image_emb, text_emb, image_ids,
                                                                            scene_ids, extra)
        loss, logs = sampler(image_emb, text_emb, logit_scale, image_ids, scene_ids, **extra)
    if not torch.isfinite(loss):
        hint = f"Lower train.lr (now {lr}) or keep train.grad_clip > 0." if lr is not None else ""
        raise TrainingError(
            f"the loss became {loss.item()} {where}; training stopped and no record was written. {hint}".strip()
        )
    optimizer.zero_grad(set_to_none=True)
    scale = distributed.backward_scale()
    (loss if scale == 1 else loss * scale).backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return logs


def require_finite_weights(params: list[torch.nn.Parameter], where: str, lr: float | None) -> None:
    """A TrainingError with the learning-rate hint when the last step left a trained weight NaN or infinite
    (the loss was finite, the update was not): validation would otherwise fail on NaN similarities."""
    if all(bool(torch.isfinite(p).all()) for p in params):
        return
    hint = f"Lower train.lr (now {lr}) or keep train.grad_clip > 0." if lr is not None else ""
    raise TrainingError(f"a trained weight became NaN or infinite {where}; training stopped and no record was "
                        f"written. {hint}".strip())


def make_loader(pairs, tokenizer, config: TrainConfig, generator: torch.Generator) -> DataLoader:
    """Shuffled batches of ``pairs``; in a multi-process run, this rank's share of each global batch
    (``DistributedSampler`` with ``drop_last``, ``train.batch_size / world size`` pairs per rank)."""
    from rsbench.train import distributed

    size = distributed.world_size()
    options: dict[str, Any] = {"num_workers": config.num_workers, "collate_fn": collate_pairs(tokenizer)}
    if size == 1:
        return DataLoader(pairs, batch_size=config.batch_size, shuffle=True, generator=generator,
                          drop_last=len(pairs) > config.batch_size, **options)
    from torch.utils.data.distributed import DistributedSampler

    per_rank = config.batch_size // size
    shard = DistributedSampler(pairs, num_replicas=size, rank=distributed.rank(), shuffle=True,
                               seed=int(generator.initial_seed()), drop_last=True)
    return DataLoader(pairs, batch_size=per_rank, sampler=shard, drop_last=len(shard) > per_rank, **options)


def set_loader_epoch(loader: DataLoader, epoch: int) -> None:
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)  # DistributedSampler: another order each epoch, the same on every rank


def train(
    adapter,
    sampler,
    pairs: TrainPairs,
    tokenizer,
    config: TrainConfig,
    device: torch.device,
    validate: Callable[[], dict[str, float]],
    console: Console,
    seed: int,
    select_metric: str = "mR",
    checkpoint: Path | None = None,
    run_key: str = "",
    resume: dict[str, Any] | None = None,
    peak_so_far: Callable[[], int] | None = None,
    feature_cache: FeatureCache | None = None,
    run_config: dict[str, Any] | None = None,
) -> tuple[TrainOutcome, dict[str, torch.Tensor] | None, dict[str, Any] | None]:
    """Train, validating after each epoch; return the outcome and the best epoch's weights and sampler state.

    With ``checkpoint``, the state after every epoch is saved there (see ``checkpoint.py``);
    ``resume`` is such a state, and training continues after its epoch as if never interrupted.
    ``peak_so_far`` measures this process's peak memory; checkpoints keep the maximum over every
    process that trained the run, so that a resumed run reports it in
    ``outcome.peak_memory_before_resume``. With ``feature_cache``, the frozen tower's features are
    stored while an epoch reads images, and read back instead of running the tower once every training
    image is stored (from the second epoch on). In a multi-process run only rank 0 validates and saves
    checkpoints (and returns a best state); the others wait. ``run_config`` (the run's resolved config) is
    kept in every checkpoint, so ``rsbench eval --checkpoint`` can rebuild the model from the file alone.
    """
    from rsbench.train import distributed

    run = _TrainingRun(adapter, sampler, pairs, tokenizer, config, device, seed, feature_cache)
    if resume is not None:
        run.restore(resume)
        console.log(f"resumed from {escape(str(checkpoint))} after epoch {run.first_epoch - 1} (step {run.step})")
    # After the resume: DDP starts every rank from rank 0's weights.
    run.encoder = pair_encoder(adapter, sampler, device)
    start = time.perf_counter() - run.elapsed
    with Progress(*PROGRESS_COLUMNS, console=console, transient=False) as progress:
        task = progress.add_task("train", total=run.total_steps, completed=run.step, loss="-", rate="-")
        for epoch in range(run.first_epoch, config.epochs + 1):
            if run.step >= run.total_steps:
                break
            run.run_epoch(epoch, lambda loss, rate: progress.update(task, advance=1, loss=loss, rate=rate))
            if distributed.is_main():
                score = run.validate(epoch, validate, select_metric)
                progress.console.log(f"epoch {epoch}: val {select_metric} {score:.2f}")
                if checkpoint is not None:
                    run.elapsed = time.perf_counter() - start
                    save_checkpoint(checkpoint, run.resume_state(epoch, peak_so_far).pack(run_key, run_config))
            distributed.barrier()  # the other ranks wait for rank 0's validation and checkpoint
    outcome = run.outcome
    outcome.steps = run.step
    outcome.train_seconds = time.perf_counter() - start
    outcome.throughput_pairs_per_s = run.timed_pairs / run.timed_seconds if run.timed_seconds > 0 else None
    return outcome, run.best_state, run.best_sampler


PROGRESS_COLUMNS = (
    TextColumn("[bold]{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TextColumn("loss {task.fields[loss]}"),
    TextColumn("{task.fields[rate]} pairs/s"),
    TimeElapsedColumn(),
)


class _TrainingRun:
    """One run's optimiser, schedule, data and the state it carries from step to step and into checkpoints."""

    def __init__(self, adapter, sampler, pairs: TrainPairs, tokenizer, config: TrainConfig, device: torch.device,
                 seed: int, feature_cache: FeatureCache | None) -> None:
        from rsbench.train import distributed
        from rsbench.train.feature_cache import prepare_cache

        self.params = adapter.trainable_parameters()
        if not self.params:
            raise TrainingError("the adapter has no trainable parameters; use adapter 'frozen' for zero-shot "
                                "evaluation")
        self.adapter, self.sampler, self.pairs, self.config, self.device = adapter, sampler, pairs, config, device
        self.world_size = distributed.world_size()
        self.generator = torch.Generator().manual_seed(seed)
        self.autocast = autocast_for(device, config.amp)
        self.loader = make_loader(pairs, tokenizer, config, self.generator)
        self.feature_cache, self.cached_loader = feature_cache, None
        if feature_cache is not None:
            prepare_cache(feature_cache, adapter, pairs, device, self.autocast)
            # The same generator (or DistributedSampler seed): epochs read in the same order with or without it.
            self.cached_loader = make_loader(CachedPairs(pairs, feature_cache), tokenizer, config, self.generator)
        self.total_steps = len(self.loader) * config.epochs
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.optimizer = adamw(self.params, config.lr, config.weight_decay)
        self.scheduler = warmup_cosine(self.optimizer, self.total_steps, config.warmup_ratio)
        self.warmup_steps = min(2, max(0, self.total_steps - 1))  # the first steps pay for allocation and caches
        self.encoder: torch.nn.Module | None = None
        self.outcome = TrainOutcome(best_epoch=None, best_score=None)
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_sampler: dict[str, Any] | None = None
        self.first_epoch, self.step, self.elapsed = 1, 0, 0.0
        self.timed_pairs, self.timed_seconds = 0, 0.0

    def restore(self, resume: dict[str, Any]) -> None:
        """Continue after a checkpoint's epoch: weights, optimiser, schedule, sampler, data order and outcome."""
        done = ResumeState.unpack(resume)
        done.restore(self.adapter, self.optimizer, self.scheduler, self.sampler, self.generator)
        self.first_epoch, self.step = done.epoch + 1, done.step
        outcome = self.outcome
        outcome.best_epoch, outcome.best_score = done.best_epoch, done.best_score
        outcome.history, outcome.final_loss = list(done.history), done.final_loss
        outcome.resumed_after_epoch, outcome.peak_memory_before_resume = done.epoch, done.peak_memory_bytes
        self.timed_pairs, self.timed_seconds, self.elapsed = done.timed_pairs, done.timed_seconds, done.elapsed
        self.best_state, self.best_sampler = done.best_state, done.best_sampler

    def run_epoch(self, epoch: int, report: Callable[[str, str], None]) -> None:
        """One pass over the training pairs (or up to ``max_steps``); ``report(loss, rate)`` after each step.

        With a feature cache, an epoch that finds it complete reads the stored features; one that does not runs
        the tower and stores what the adapter reads, then fills in what this rank's shard did not see."""
        from rsbench.train.feature_cache import fill_missing

        cache, config = self.feature_cache, self.config
        reading = cache is not None and cache.complete()
        loader = self.cached_loader if reading else self.loader
        self.pairs.set_epoch(epoch)
        set_loader_epoch(loader, epoch)
        self.adapter.train()
        for images, tokens, image_ids, scene_ids in loader:
            t0 = time.perf_counter()
            if reading:
                images = cache.restore(images, self.device)
            elif cache is not None:  # this epoch runs the tower: keep what the adapter reads
                with torch.no_grad(), self.autocast():
                    images = self.adapter.frozen_image_features(images.to(self.device))
                cache.write(image_ids, images)
            logs = train_step(self.adapter, self.sampler, self.optimizer, self.params,
                              (images, tokens, image_ids, scene_ids), self.device, self.autocast, config.grad_clip,
                              where=f"at epoch {epoch}, step {self.step + 1}", lr=config.lr, encoder=self.encoder)
            self.scheduler.step()
            self.step += 1
            self.outcome.final_loss = float(logs["loss"])
            if self.step > self.warmup_steps:
                self.timed_pairs += len(image_ids) * self.world_size  # the global batch
                self.timed_seconds += time.perf_counter() - t0
            report(f"{logs['loss']:.4f}", f"{self.timed_pairs / self.timed_seconds:.0f}" if self.timed_seconds else "-")
            if self.step >= self.total_steps:
                break
        if cache is not None and not reading:
            fill_missing(cache, self.adapter, self.pairs, self.device, self.autocast, config.batch_size)
        require_finite_weights(self.params, f"after epoch {epoch}, step {self.step}", config.lr)

    def validate(self, epoch: int, validate: Callable[[], dict[str, float]], select_metric: str) -> float:
        """Score the epoch on the selection split, add it to the history and keep the weights if it is the best."""
        try:
            scores = validate()
        except NonFiniteSimilarityError as exc:
            raise TrainingError(f"validation after epoch {epoch} (step {self.step}) found non-finite embeddings: "
                                f"the trained weights overflow; training stopped and no record was written. "
                                f"Lower train.lr (now {self.config.lr}) or keep train.grad_clip > 0.") from exc
        score = scores[select_metric]
        outcome = self.outcome
        outcome.history.append({"epoch": epoch, "step": self.step, **scores})
        if math.isfinite(score) and (outcome.best_score is None or score > outcome.best_score):
            outcome.best_epoch, outcome.best_score = epoch, score
            self.best_state, self.best_sampler = trainable_state(self.adapter), self.sampler.state_dict()
        return score

    def resume_state(self, epoch: int, peak_so_far: Callable[[], int] | None) -> ResumeState:
        """Everything needed to continue after ``epoch`` as if never interrupted."""
        outcome = self.outcome
        return ResumeState(
            epoch=epoch, step=self.step, adapter=trainable_state(self.adapter),
            optimizer=self.optimizer.state_dict(), scheduler=self.scheduler.state_dict(),
            sampler=self.sampler.state_dict(), generator=self.generator.get_state(), torch_rng=torch.get_rng_state(),
            best_epoch=outcome.best_epoch, best_score=outcome.best_score, history=outcome.history,
            final_loss=outcome.final_loss, timed_pairs=self.timed_pairs, timed_seconds=self.timed_seconds,
            elapsed=self.elapsed, peak_memory_bytes=_peak_over_processes(outcome, peak_so_far),
            best_state=self.best_state, best_sampler=self.best_sampler,
        )


def _peak_over_processes(outcome: TrainOutcome, peak_so_far: Callable[[], int] | None) -> int | None:
    """The largest peak memory of this process and of the ones before a resume, or None if unmeasured."""
    peaks = [p for p in (outcome.peak_memory_before_resume, peak_so_far() if peak_so_far else None) if p is not None]
    return max(peaks) if peaks else None
