"""Options of the four CMPAGL components (free of torch, so that ``rsbench list`` stays fast).

CMPAGL's full text is not available to us: its window sizes, shift, how the global window is formed, the
margins, weights and temperature, and the SMR formula are unknown (../shared/papers/METHODS.md). Every such
choice below is our reading, says so in its help text, and can be changed with ``--set``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rsbench.errors import ConfigError

GLOBAL_WINDOWS = ("pool", "max", "mean")
TOWER_MODES = ("frozen", "lora")
NEGATIVE_MINING = ("sample", "hardest")


def positive_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")


def number_at_least(value: object, low: float, name: str, *, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or (value <= low if strict else value < low):
        raise ConfigError(f"{name} must be a number {'>' if strict else '>='} {low}; got {value!r}")
    return float(value)


def one_of(value: object, choices: tuple[str, ...], name: str) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


@dataclass
class GswinConfig:
    """Gswin blocks (local window self-attention + cross-attention to a global window) on a CLIP image tower."""

    depth: int = field(
        default=2,
        metadata={"help": "Gswin blocks; odd-numbered ones (1, 3, ...) shift their windows when shift is on "
                          "(not given by CMPAGL; 2 = one regular and one shifted block, as a Swin stage pair)"},
    )
    hidden_dim: int = field(
        default=256, metadata={"help": "width of the Gswin blocks; patch tokens are projected down to it (our choice)"}
    )
    heads: int = field(default=4, metadata={"help": "attention heads of both attentions (must divide hidden_dim)"})
    window_size: int | None = field(
        default=None,
        metadata={"help": "side of the local windows in patches; must divide the patch grid (ConfigError at build "
                          "otherwise). null: the largest divisor of the grid side up to half of it (8x8 -> 4, "
                          "14x14 -> 7), or the whole grid when the side is prime (ViT-B/32's 7x7). "
                          "Not given by CMPAGL"},
    )
    shift: bool = field(
        default=True, metadata={"help": "shift the windows of odd-numbered blocks by half a window (Swin's SW-MSA)"}
    )
    global_window: Literal["pool", "max", "mean"] = field(
        default="pool",
        metadata={"help": "how the global window summarises the grid: pool = adaptive average pooling of the "
                          "grid to one window of window_size x window_size tokens (GCViT's global tokens); max = "
                          "adaptive max pooling; mean = one token, the mean of all patches. Not given by CMPAGL"},
    )
    mlp_ratio: float = field(
        default=4.0, metadata={"help": "hidden width of each block's MLP, as a multiple of hidden_dim (Swin: 4)"}
    )
    source_block: int = field(
        default=-1,
        metadata={"help": "image-tower block whose output tokens feed the Gswin blocks (negative counts from the end)"},
    )
    image: Literal["frozen", "lora"] = field(
        default="frozen", metadata={"help": "image tower: frozen (run without gradients) or lora (LoRA on its blocks)"}
    )
    text: Literal["frozen", "lora"] = field(
        default="lora",
        metadata={"help": "text tower: lora (LoRA on its blocks; CMPAGL trains its BERT text encoder) or frozen"},
    )
    lora_rank: int = field(default=16, metadata={"help": "rank of the LoRA updates (towers set to lora)"})
    lora_alpha: float = field(default=16.0, metadata={"help": "LoRA scale alpha/rank (16 = scale 1)"})
    train_logit_scale: bool = field(default=False, metadata={"help": "also learn CLIP's temperature"})

    def __post_init__(self) -> None:
        for name in ("depth", "hidden_dim", "heads", "lora_rank"):
            positive_int(getattr(self, name), f"adapter.{name}")
        if self.hidden_dim % self.heads:
            raise ConfigError(f"adapter.heads={self.heads} does not divide adapter.hidden_dim={self.hidden_dim}")
        if self.window_size is not None:
            positive_int(self.window_size, "adapter.window_size")
        if not isinstance(self.shift, bool) or not isinstance(self.train_logit_scale, bool):
            raise ConfigError("adapter.shift and adapter.train_logit_scale must be true or false")
        one_of(self.global_window, GLOBAL_WINDOWS, "adapter.global_window")
        one_of(self.image, TOWER_MODES, "adapter.image")
        one_of(self.text, TOWER_MODES, "adapter.text")
        self.mlp_ratio = number_at_least(self.mlp_ratio, 0.0, "adapter.mlp_ratio", strict=True)
        self.lora_alpha = number_at_least(self.lora_alpha, 0.0, "adapter.lora_alpha", strict=True)
        if isinstance(self.source_block, bool) or not isinstance(self.source_block, int):
            raise ConfigError(f"adapter.source_block must be an integer; got {self.source_block!r}")


@dataclass
class TripletIntraConfig:
    """CMPAGL's pre-alignment: hardest-negative triplet + intra-class term + weighted ITC (InfoNCE)."""

    margin: float = field(
        default=0.2, metadata={"help": "triplet margin on cosine similarities (not given by CMPAGL; VSE++'s 0.2)"}
    )
    negatives: Literal["hardest", "all"] = field(
        default="hardest",
        metadata={"help": "hardest: each anchor's hardest in-batch negative (VSE++ max of hinges); all: the sum "
                          "of hinges over every negative (VSE0)"},
    )
    triplet_weight: float = field(default=1.0, metadata={"help": "weight of the triplet term"})
    intra_weight: float = field(
        default=0.5,
        metadata={"help": "weight of the intra-class term mean(1 - S(i_k, t_k)), pulling matched pairs' cosine "
                          "toward 1 (CMPAGL's addition; its weight is not given, 0.5 is our choice)"},
    )
    itc_weight: float = field(
        default=1.0, metadata={"help": "weight of ITC, symmetric InfoNCE on the same embeddings (not given by CMPAGL)"}
    )
    temperature: float | None = field(
        default=None, metadata={"help": "ITC temperature; null: the adapter's logit_scale (CLIP's)"}
    )

    def __post_init__(self) -> None:
        self.margin = number_at_least(self.margin, 0.0, "loss.margin")
        one_of(self.negatives, ("hardest", "all"), "loss.negatives")
        for name in ("triplet_weight", "intra_weight", "itc_weight"):
            setattr(self, name, number_at_least(getattr(self, name), 0.0, f"loss.{name}"))
        if self.triplet_weight + self.intra_weight + self.itc_weight == 0:
            raise ConfigError("loss: triplet_weight, intra_weight and itc_weight are all 0; nothing would train")
        if self.temperature is not None:
            self.temperature = number_at_least(self.temperature, 0.0, "loss.temperature", strict=True)


@dataclass
class FusionRerankConfig:
    """Dual-stream top-K, re-scored by a small fusion encoder's image-text matching (ITM) head."""

    candidates: int = field(
        default=20,
        metadata={"help": "K: each query's top K by cosine are re-scored; the rest are misses (Geigle et al.: 20)"},
    )
    fusion_weight: float = field(
        default=1.0,
        metadata={"help": "final score = cosine + fusion_weight * ITM match probability over the K; 0 keeps the "
                          "dual-stream ranking (and skips the fit). Our choice, not tuned"},
    )
    width: int = field(
        default=128, metadata={"help": "width of the fusion encoder (joint-space tokens are projected to it)"}
    )
    heads: int = field(default=4, metadata={"help": "attention heads of the fusion encoder (must divide width)"})
    depth: int = field(
        default=1,
        metadata={"help": "fusion layers, each: self-attention over the caption, cross-attention to the image, MLP"},
    )
    epochs: int = field(
        default=3, metadata={"help": "epochs of the ITM fit on the training split, at every evaluation"}
    )
    batch_size: int = field(default=64, metadata={"help": "training pairs per ITM step; negatives are mined within it"})
    lr: float = field(default=1e-3, metadata={"help": "AdamW learning rate of the ITM fit"})
    negatives: Literal["sample", "hardest"] = field(
        default="sample",
        metadata={"help": "hard negatives from the batch's cosines: sample = drawn with probability softmax(cosine "
                          "/ 0.05) (ALBEF); hardest = the most similar non-matching item"},
    )
    captions_per_image: int = field(
        default=1, metadata={"help": "training captions per training image used by the fit (drawn with the seed)"}
    )
    max_train_images: int | None = field(
        default=None, metadata={"help": "fit on at most this many training images (drawn with the seed); null = all"}
    )
    seed: int = field(
        default=0,
        metadata={"help": "seed of the fit (initialisation, order, negatives); the run's RNGs are left alone"},
    )

    def __post_init__(self) -> None:
        for name in ("candidates", "width", "heads", "depth", "epochs", "batch_size", "captions_per_image"):
            positive_int(getattr(self, name), f"strategy.{name}")
        if self.width % self.heads:
            raise ConfigError(f"strategy.heads={self.heads} does not divide strategy.width={self.width}")
        self.fusion_weight = number_at_least(self.fusion_weight, 0.0, "strategy.fusion_weight")
        self.lr = number_at_least(self.lr, 0.0, "strategy.lr", strict=True)
        one_of(self.negatives, NEGATIVE_MINING, "strategy.negatives")
        if self.max_train_images is not None:
            positive_int(self.max_train_images, "strategy.max_train_images")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"strategy.seed must be an integer; got {self.seed!r}")


@dataclass
class SmrConfig:
    """Similarity matrix reweighting: each score gains terms from the reverse direction (our reading of SMR)."""

    k: int = field(
        default=10,
        metadata={"help": "reverse-neighbourhood size: the mean of a gallery item's k best scores, and the rank "
                          "below which the reverse-rank bonus vanishes"},
    )
    gamma1: float = field(
        default=0.5,
        metadata={"help": "gamma1: weight of the reverse-normalised score s - (mean of the item's top-k scores "
                          "over the queries). CMPAGL names gamma1 but not its value; ours is untuned"},
    )
    gamma2: float = field(
        default=0.1,
        metadata={"help": "gamma2: weight of the reverse-rank bonus max(0, 1 - r'/k), r' = where the query stands "
                          "in the item's own ranking. CMPAGL names gamma2 but not its value; ours is untuned"},
    )

    def __post_init__(self) -> None:
        positive_int(self.k, "reranker.k")
        self.gamma1 = number_at_least(self.gamma1, 0.0, "reranker.gamma1")
        self.gamma2 = number_at_least(self.gamma2, 0.0, "reranker.gamma2")
