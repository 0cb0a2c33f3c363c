"""Config dataclasses of the built-in adapters (kept free of torch so listing stays fast)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rsbench.errors import ConfigError


@dataclass
class FullConfig:
    """Fine-tune every parameter of both towers."""

    train_logit_scale: bool = field(default=True, metadata={"help": "also learn CLIP's temperature"})


@dataclass
class FrozenConfig:
    """Zero-shot: nothing trains; the run only evaluates the backbone as loaded."""


@dataclass
class LinearProbeConfig:
    """Train only the two projections into the joint space (CMER Table 1's 'Linear probe')."""

    train_logit_scale: bool = field(default=False, metadata={"help": "also learn CLIP's temperature"})

    def __post_init__(self) -> None:
        if not isinstance(self.train_logit_scale, bool):
            raise ConfigError("adapter.train_logit_scale must be true or false")
