"""Config of the multi-granular loss (fast-then-fine's training side, our reading); free of torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rsbench.errors import ConfigError


@dataclass
class MultiGranularConfig:
    """Global InfoNCE + token-level InfoNCE on the fine scores + TGDT's intra-modal consistency term."""

    token_weight: float = field(default=1.0, metadata={"help": "weight of the token-level InfoNCE term"})
    intra_weight: float = field(default=1.0, metadata={"help": "weight of the intra-modal consistency term"})
    margin: float = field(
        default=0.3, metadata={"help": "|S_tt - S_ii| allowed before the intra-modal term charges (TGDT: 0.3)"}
    )
    interaction: Literal["balanced", "words", "patches"] = field(
        default="balanced", metadata={"help": "token score, as fast-then-fine's strategy.interaction"}
    )
    temperature: float | None = field(
        default=None, metadata={"help": "fixed tau of both InfoNCE terms; null uses the model's logit scale"}
    )

    def __post_init__(self) -> None:
        if self.token_weight < 0 or self.intra_weight < 0:
            raise ConfigError("loss.token_weight and loss.intra_weight must be >= 0")
        if self.margin < 0:
            raise ConfigError(f"loss.margin must be >= 0, got {self.margin}")
        if self.temperature is not None and not self.temperature > 0:
            raise ConfigError("loss.temperature must be > 0 or null")
