"""Options of the four CMPAGL components (free of torch, so that ``rsbench list`` stays fast).

CMPAGL's full text is not available to us: its window sizes, shift, how the global window is formed, the
margins, weights and temperature, and the SMR formula are unknown (../shared/papers/METHODS.md). Every such
choice below is our reading, says so in its help text, and can be changed with ``--set``.

Each field declares its type, default, help and single-field rules with ``rsbench.options.option``; ``validate()``
holds only the rules that span several fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rsbench.errors import ConfigError
from rsbench.options import Options, option


@dataclass
class GswinConfig(Options):
    """Gswin blocks (local window self-attention + cross-attention to a global window) on a CLIP image tower."""

    depth: int = option(
        2, "Gswin blocks; odd-numbered ones (1, 3, ...) shift their windows when shift is on "
        "(not given by CMPAGL; 2 = one regular and one shifted block, as a Swin stage pair)", ge=1)
    hidden_dim: int = option(
        256, "width of the Gswin blocks; patch tokens are projected down to it (our choice)", ge=1)
    heads: int = option(4, "attention heads of both attentions (must divide hidden_dim)", ge=1)
    window_size: int | None = option(
        None, "side of the local windows in patches; must divide the patch grid (ConfigError at build "
        "otherwise). null: the largest divisor of the grid side up to half of it (8x8 -> 4, "
        "14x14 -> 7), or the whole grid when the side is prime (ViT-B/32's 7x7). "
        "Not given by CMPAGL", ge=1)
    shift: bool = option(True, "shift the windows of odd-numbered blocks by half a window (Swin's SW-MSA)")
    global_window: Literal["pool", "max", "mean"] = option(
        "pool", "how the global window summarises the grid: pool = adaptive average pooling of the "
        "grid to one window of window_size x window_size tokens (GCViT's global tokens); max = "
        "adaptive max pooling; mean = one token, the mean of all patches. Not given by CMPAGL")
    mlp_ratio: float = option(
        4.0, "hidden width of each block's MLP, as a multiple of hidden_dim (Swin: 4)", gt=0)
    source_block: int = option(
        -1, "image-tower block whose output tokens feed the Gswin blocks (negative counts from the end)")
    image: Literal["frozen", "lora"] = option(
        "frozen", "image tower: frozen (run without gradients) or lora (LoRA on its blocks)")
    text: Literal["frozen", "lora"] = option(
        "lora", "text tower: lora (LoRA on its blocks; CMPAGL trains its BERT text encoder) or frozen")
    lora_rank: int = option(16, "rank of the LoRA updates (towers set to lora)", ge=1)
    lora_alpha: float = option(16.0, "LoRA scale alpha/rank (16 = scale 1)", gt=0)
    train_logit_scale: bool = option(False, "also learn CLIP's temperature")

    def validate(self) -> None:
        if self.hidden_dim % self.heads:
            raise ConfigError(f"heads={self.heads} does not divide hidden_dim={self.hidden_dim}")


@dataclass
class TripletIntraConfig(Options):
    """CMPAGL's pre-alignment: hardest-negative triplet + intra-class term + weighted ITC (InfoNCE)."""

    margin: float = option(
        0.2, "triplet margin on cosine similarities (not given by CMPAGL; VSE++'s 0.2)", ge=0)
    negatives: Literal["hardest", "all"] = option(
        "hardest", "hardest: each anchor's hardest in-batch negative (VSE++ max of hinges); all: the sum "
        "of hinges over every negative (VSE0)")
    triplet_weight: float = option(1.0, "weight of the triplet term", ge=0)
    intra_weight: float = option(
        0.5, "weight of the intra-class term mean(1 - S(i_k, t_k)), pulling matched pairs' cosine "
        "toward 1 (CMPAGL's addition; its weight is not given, 0.5 is our choice)", ge=0)
    itc_weight: float = option(
        1.0, "weight of ITC, symmetric InfoNCE on the same embeddings (not given by CMPAGL)", ge=0)
    temperature: float | None = option(
        None, "ITC temperature; null: the adapter's logit_scale (CLIP's)", gt=0)

    def validate(self) -> None:
        if self.triplet_weight + self.intra_weight + self.itc_weight == 0:
            raise ConfigError("triplet_weight, intra_weight and itc_weight are all 0; nothing would train")


@dataclass
class FusionRerankConfig(Options):
    """Dual-stream top-K, re-scored by a small fusion encoder's image-text matching (ITM) head."""

    candidates: int = option(
        20, "K: each query's top K by cosine are re-scored; the rest are misses (Geigle et al.: 20)", ge=1)
    fusion_weight: float = option(
        1.0, "final score = cosine + fusion_weight * ITM match probability over the K; 0 keeps the "
        "dual-stream ranking (and skips the fit). Our choice, not tuned", ge=0)
    width: int = option(128, "width of the fusion encoder (joint-space tokens are projected to it)", ge=1)
    heads: int = option(4, "attention heads of the fusion encoder (must divide width)", ge=1)
    depth: int = option(
        1, "fusion layers, each: self-attention over the caption, cross-attention to the image, MLP", ge=1)
    epochs: int = option(3, "epochs of the ITM fit on the training split, at every evaluation", ge=1)
    batch_size: int = option(64, "training pairs per ITM step; negatives are mined within it", ge=1)
    lr: float = option(1e-3, "AdamW learning rate of the ITM fit", gt=0)
    negatives: Literal["sample", "hardest"] = option(
        "sample", "hard negatives from the batch's cosines: sample = drawn with probability softmax(cosine "
        "/ 0.05) (ALBEF); hardest = the most similar non-matching item")
    captions_per_image: int = option(
        1, "training captions per training image used by the fit (drawn with the seed)", ge=1)
    max_train_images: int | None = option(
        None, "fit on at most this many training images (drawn with the seed); null = all", ge=1)
    seed: int = option(0, "seed of the fit (initialisation, order, negatives); the run's RNGs are left alone")

    def validate(self) -> None:
        if self.width % self.heads:
            raise ConfigError(f"heads={self.heads} does not divide width={self.width}")


@dataclass
class SmrConfig(Options):
    """Similarity matrix reweighting: each score gains terms from the reverse direction (our reading of SMR)."""

    k: int = option(
        10, "reverse-neighbourhood size: the mean of a gallery item's k best scores, and the rank "
        "below which the reverse-rank bonus vanishes", ge=1)
    gamma1: float = option(
        0.5, "gamma1: weight of the reverse-normalised score s - (mean of the item's top-k scores "
        "over the queries). CMPAGL names gamma1 but not its value; ours is untuned", ge=0)
    gamma2: float = option(
        0.1, "gamma2: weight of the reverse-rank bonus max(0, 1 - r'/k), r' = where the query stands "
        "in the item's own ranking. CMPAGL names gamma2 but not its value; ours is untuned", ge=0)
