"""Configs of the LoRA adapters: ``clip-lora`` (CMER's CLIP-LoRA baseline, both towers) and ``lora`` (text tower)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rsbench.errors import ConfigError

# The weights of an open_clip ResidualAttentionBlock that LoRA can adapt: the attention's packed q/k/v
# projection and output projection, and the MLP's two linears.
TARGETS: tuple[str, ...] = ("in_proj", "out_proj", "c_fc", "c_proj")
# Targets whose update is applied to the layer's input (x + dropout path); the MultiheadAttention weights
# are adapted in weight space, where input dropout cannot be expressed (see model.py).
DROPOUT_TARGETS: tuple[str, ...] = ("c_fc", "c_proj")
TOWERS: tuple[str, ...] = ("both", "visual", "text")


@dataclass
class LoraConfig:
    """CMER's CLIP-LoRA baseline: LoRA r 16 on in_proj/out_proj/c_fc/c_proj of both towers (3.93 M on ViT-B/32)

    LoRA (Hu et al. 2021) on the transformer blocks of open_clip CLIP towers: W + (alpha/rank)·B·A.

    The defaults are CMER's CLIP-LoRA baseline (Tables 1-3): rank 16 on in_proj, out_proj, c_fc and
    c_proj of both towers, 3.93 M trainable parameters on ViT-B/32 and 8.65 M on ViT-L/14. The paper
    does not give alpha; 16 (= rank, i.e. the update is B·A unscaled) is our choice.
    """

    rank: int = field(default=16, metadata={"help": "rank r of the update B·A (CMER's CLIP-LoRA: 16)"})
    alpha: float = field(
        default=16.0, metadata={"help": "the update is scaled by alpha/rank (not given by CMER; 16 = scale 1)"}
    )
    dropout: float = field(
        default=0.0,
        metadata={"help": "dropout on the input of the low-rank path of c_fc/c_proj in training "
                  "(in_proj/out_proj are adapted in weight space and get none)"},
    )
    towers: Literal["both", "visual", "text"] = field(
        default="both", metadata={"help": "which towers' transformer blocks get LoRA"}
    )
    targets: list[str] = field(
        default_factory=lambda: list(TARGETS),
        metadata={"help": "weights adapted in every block: any of in_proj, out_proj, c_fc, c_proj"},
    )
    train_logit_scale: bool = field(default=False, metadata={"help": "also learn CLIP's temperature"})

    def __post_init__(self) -> None:
        if isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank <= 0:
            raise ConfigError(f"adapter.rank must be a positive integer; got {self.rank!r}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, int | float) or not self.alpha > 0:
            raise ConfigError(f"adapter.alpha must be a positive number; got {self.alpha!r}")
        self.alpha = float(self.alpha)
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, int | float) or not 0 <= self.dropout < 1:
            raise ConfigError(f"adapter.dropout must be in [0, 1); got {self.dropout!r}")
        self.dropout = float(self.dropout)
        if self.towers not in TOWERS:
            raise ConfigError(f"adapter.towers must be one of {', '.join(TOWERS)}; got {self.towers!r}")
        if isinstance(self.targets, str) or not isinstance(self.targets, list | tuple) or not self.targets:
            raise ConfigError(f"adapter.targets must be a non-empty list of {', '.join(TARGETS)}; got {self.targets!r}")
        unknown = [t for t in self.targets if t not in TARGETS]
        if unknown:
            raise ConfigError(
                f"adapter.targets: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(TARGETS)}"
            )
        if len(set(self.targets)) != len(self.targets):
            raise ConfigError(f"adapter.targets lists a weight twice: {self.targets!r}")
        self.targets = list(self.targets)
        if self.dropout > 0 and not set(self.targets) & set(DROPOUT_TARGETS):
            raise ConfigError(
                f"adapter.dropout={self.dropout} would do nothing: LoRA dropout acts on c_fc/c_proj only "
                f"(in_proj/out_proj are adapted in weight space); add c_fc or c_proj to adapter.targets or set "
                f"adapter.dropout=0"
            )
        if not isinstance(self.train_logit_scale, bool):
            raise ConfigError("adapter.train_logit_scale must be true or false")

    @property
    def scale(self) -> float:
        """alpha / rank, the factor of B·A."""
        return self.alpha / self.rank


@dataclass
class TextLoraConfig(LoraConfig):
    """LoRA on the text tower only, image tower frozen (CMER Table 4's v1); rank/targets/towers configurable

    LoRA on the text tower only, image tower frozen: CMER's LoRA semantic encoder (Table 4, v1).

    Same options as ``clip-lora``; only ``towers`` defaults to ``text``.
    """

    towers: Literal["both", "visual", "text"] = field(
        default="text", metadata={"help": "which towers' transformer blocks get LoRA"}
    )
