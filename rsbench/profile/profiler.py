"""``rsbench profile``: what one training step of a configuration costs, without training it.

A profile builds the backbone, adapter, loss and sampler a RunConfig names, feeds them random
images of the backbone's input size and tokenised placeholder captions (text cost depends only on
the context length, so the dataset and augmenter are not needed), and measures

* trainable and total parameters;
* bytes saved for backward by one training forward (device-independent activation memory);
* peak memory over the timed training steps (``torch.cuda.max_memory_allocated`` on CUDA — weights,
  gradients, optimiser state and activations; on CPU the block's own peak resident-set growth, ``rsbench.rss``:
  exact on Linux, a lower bound elsewhere);
* throughput in pairs/s over ``steps`` optimisation steps after ``warmup`` untimed ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from rsbench.config import RunConfig
from rsbench.errors import ConfigError
from rsbench.profile.cost import count_parameters, peak_memory, saved_for_backward_bytes
from rsbench.runtime import autocast_for, device_label, resolve_device, seed_everything
from rsbench.train.schedule import adamw
from rsbench.train.trainer import train_step

# Parts of a RunConfig a profile does not use; left out of its record so it claims nothing about them.
UNUSED_SECTIONS = frozenset({"dataset", "augmenter", "strategy", "reranker", "captioner", "eval", "results_dir"})
NUM_FAKE_SCENES = 17  # scene ids of the random batch; the queue sampler excludes same-scene entries


@dataclass
class ProfileResult:
    """The figures of one profile; ``saved_batch_size`` is the batch the saved bytes were counted at."""

    trainable_params: int
    total_params: int
    saved_activation_bytes: int
    saved_batch_size: int
    peak_memory_bytes: int | None
    throughput_pairs_per_s: float | None
    batch_size: int
    steps: int
    warmup_steps: int
    image_size: int
    context_length: int
    device: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def training_saved_bytes(adapter, sampler, batch, device: torch.device, autocast) -> int:
    """Bytes saved for backward by one training forward (adapter + sampler + loss) on ``batch``.

    ``batch = (images, tokens, image_ids, scene_ids)``. The sampler's state (a queue) is restored
    afterwards, so counting never feeds it. 0 when nothing trains.
    """
    if not adapter.trainable_parameters():
        return 0
    images, tokens, image_ids, scene_ids = (t.to(device) for t in batch)
    adapter.train()

    def forward() -> torch.Tensor:
        from rsbench.train.token_batch import encode_batch

        with autocast():
            image_emb, text_emb, extra = encode_batch(adapter, sampler, images, tokens)
            return sampler(image_emb, text_emb, adapter.logit_scale, image_ids, scene_ids, **extra)[0]

    state = sampler.state_dict()
    try:
        return saved_for_backward_bytes(adapter, forward)
    finally:
        sampler.load_state_dict(state)


def random_batch(backbone, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Random images of the backbone's input size, placeholder captions, distinct images, random scenes."""
    size = backbone.image_size
    images = torch.randn(batch_size, 3, size, size, generator=generator)
    words = ("red", "small", "large", "next", "to", "the", "left", "three", "white", "green", "round", "many")
    captions = [
        " ".join(words[int(j)] for j in torch.randint(len(words), (8,), generator=generator))
        for _ in range(batch_size)
    ]
    tokens = backbone.tokenizer(captions)
    image_ids = torch.arange(batch_size)
    scene_ids = torch.randint(NUM_FAKE_SCENES, (batch_size,), generator=generator)
    return images, tokens, image_ids, scene_ids


class ProfiledStep:
    """The built parts of a configuration and one training step on a fixed random batch.

    ``profile_training`` and the benchmark suite (``benchmarks/``) both time ``step()``, which is
    ``rsbench.train.trainer.train_step``: exactly what a training run does per batch.
    """

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        seed_everything(cfg.seed)
        self.device = resolve_device(cfg.device)
        self.backbone = cfg.build("backbone")
        self.adapter = cfg.build("adapter", self.backbone).to(self.device)
        self.sampler = cfg.build("sampler", cfg.build("loss"))
        self.autocast = autocast_for(self.device, cfg.train.amp)
        self.params = self.adapter.trainable_parameters()
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.batch = random_batch(self.backbone, cfg.train.batch_size, self.generator)
        self._optimizer = None

    def saved_bytes(self, batch_size: int | None = None) -> int:
        """Bytes saved for backward by one training forward at ``batch_size`` (default: the step's batch)."""
        batch = self.batch if batch_size is None else random_batch(self.backbone, batch_size, self.generator)
        return training_saved_bytes(self.adapter, self.sampler, batch, self.device, self.autocast)

    def step(self) -> dict[str, float]:
        """One optimisation step (AdamW as in training) on the fixed random batch."""
        if not self.params:
            raise ConfigError(f"adapter '{self.cfg.name('adapter')}' has no trainable parameters to step")
        if self._optimizer is None:
            self._optimizer = adamw(self.params, self.cfg.train.lr, self.cfg.train.weight_decay)
        self.adapter.train()
        return train_step(self.adapter, self.sampler, self._optimizer, self.params, self.batch, self.device,
                          self.autocast, self.cfg.train.grad_clip)


def profile_training(cfg: RunConfig, steps: int = 10, warmup: int = 3, saved_batch_size: int | None = None,
                     ) -> ProfileResult:
    """Profile ``cfg``'s backbone + adapter + sampler + loss at ``cfg.train.batch_size`` pairs per step.

    ``steps = 0`` skips the timed steps (parameters and saved bytes only). ``saved_batch_size``
    counts saved bytes at a smaller batch when the full one would not fit in host memory; the
    figure is reported with the batch it was counted at.
    """
    if steps < 0 or warmup < 0:
        raise ConfigError("profile: --steps and --warmup must be >= 0")
    batch_size = cfg.train.batch_size
    saved_batch_size = saved_batch_size or batch_size
    if saved_batch_size < 2:
        raise ConfigError("profile: the saved-bytes batch must be >= 2 (contrastive losses need negatives)")
    run = ProfiledStep(cfg)
    trainable, total = count_parameters(run.adapter)
    saved = run.saved_bytes(saved_batch_size)
    throughput, peak = None, None
    if run.params and steps > 0:
        with peak_memory(run.device) as measured:  # warm-up included: it allocates the optimiser state
            for _ in range(warmup):
                run.step()
            start = time.perf_counter()
            for _ in range(steps):
                run.step()
            seconds = time.perf_counter() - start
        throughput = steps * batch_size / seconds
        peak = measured["peak_memory_bytes"]
    return ProfileResult(
        trainable_params=trainable,
        total_params=total,
        saved_activation_bytes=saved,
        saved_batch_size=saved_batch_size,
        peak_memory_bytes=peak,
        throughput_pairs_per_s=throughput,
        batch_size=batch_size,
        steps=steps if run.params else 0,
        warmup_steps=warmup if run.params and steps > 0 else 0,
        image_size=run.backbone.image_size,
        context_length=run.backbone.context_length,
        device=device_label(run.device),
    )


def profile_record(cfg: RunConfig, result: ProfileResult) -> dict[str, Any]:
    """A profile record: the resolved config, the figures and the environment, as JSON-ready data.

    Profile records have ``"kind": "profile"`` and no accuracy metrics, so they live apart from
    result records (``leaderboard/profiles/``) and never enter the accuracy leaderboard.
    """
    from rsbench.results.record import package_versions, record_header

    return {
        "kind": "profile",
        **record_header(),
        "seed": cfg.seed,
        "config": {k: v for k, v in cfg.to_dict().items() if k not in UNUSED_SECTIONS},
        "backbone": {"name": cfg.name("backbone"), "pretrained": getattr(cfg.options("backbone"), "pretrained", None)},
        "cost": result.to_dict(),
        "env": package_versions() | {"device": result.device},
    }


def write_profile_record(record: dict[str, Any], out_dir) -> Any:
    """Write a profile record as a new file in ``out_dir`` (atomically, never overwriting); return its path."""
    import json
    from pathlib import Path

    from rsbench.results.record import record_filename, write_text_atomically

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ("profile_" + record_filename(record))
    write_text_atomically(path, json.dumps(record, indent=2, allow_nan=False) + "\n", overwrite=False)
    return path
