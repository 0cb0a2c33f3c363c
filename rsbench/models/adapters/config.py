"""Config dataclasses of the built-in adapters, CLIP-BitFit and CLIP-Adapter included (kept free of torch so
listing stays fast). LoRA and Focus keep theirs in ``lora/config.py`` and ``focus/config.py``, beside their model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rsbench.errors import ConfigError

_LOGIT_SCALE_HELP = "also learn CLIP's temperature"


def _require_bool(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"adapter.{name} must be true or false, got {value!r}")


@dataclass
class FullConfig:
    """fine-tune every weight of both towers

    Fine-tune every parameter of both towers.
    """

    train_logit_scale: bool = field(default=True, metadata={"help": _LOGIT_SCALE_HELP})


@dataclass
class FrozenConfig:
    """zero-shot: nothing trains

    Zero-shot: nothing trains; the run only evaluates the backbone as loaded.
    """


@dataclass
class LinearProbeConfig:
    """train only the visual and text projections

    Train only the two projections into the joint space (CMER Table 1's 'Linear probe').
    """

    train_logit_scale: bool = field(default=False, metadata={"help": _LOGIT_SCALE_HELP})

    def __post_init__(self) -> None:
        if not isinstance(self.train_logit_scale, bool):
            raise ConfigError("adapter.train_logit_scale must be true or false")


@dataclass
class BitFitConfig:
    """BitFit: train only the biases of both towers (Zaken et al. 2021; CMER baseline)

    BitFit (Zaken et al. 2021): every bias of both towers trains, every other weight stays frozen.
    """

    train_logit_scale: bool = field(default=False, metadata={"help": _LOGIT_SCALE_HELP})

    def __post_init__(self) -> None:
        _require_bool(self.train_logit_scale, "train_logit_scale")


@dataclass
class ClipAdapterConfig:
    """CLIP-Adapter: residual bottleneck MLPs on a frozen CLIP's final embeddings (Gao et al. 2021)

    CLIP-Adapter (Gao et al. 2021): a residual bottleneck MLP on the final embeddings of a frozen CLIP.
    """

    reduction: int = field(
        default=4,
        metadata={
            "help": "bottleneck width = embedding width // reduction (rounded down; Gao et al. use 4); "
            "must leave at least one hidden unit"
        },
    )
    ratio: float = field(
        default=0.2,
        metadata={"help": "residual ratio in [0, 1]: f' = ratio * A(f) + (1 - ratio) * f (Gao et al. use 0.2)"},
    )
    towers: Literal["both", "visual", "text"] = field(
        default="both", metadata={"help": "which embeddings get an adapter: both, visual or text"}
    )
    train_logit_scale: bool = field(default=False, metadata={"help": _LOGIT_SCALE_HELP})
    backprop_through_backbone: bool = field(
        default=False,
        metadata={
            "help": "comparison variant: record each adapted tower's frozen forward for autograd, as an implementation "
            "that backpropagates through it does (the memory CMER Table 3 reports for CLIP-Adapter); "
            "false runs the backbone under no_grad, which gives the same gradients"
        },
    )

    def __post_init__(self) -> None:
        if isinstance(self.reduction, bool) or not isinstance(self.reduction, int) or self.reduction <= 0:
            raise ConfigError(f"adapter.reduction must be a positive integer, got {self.reduction!r}")
        if isinstance(self.ratio, bool) or not isinstance(self.ratio, int | float) or not 0.0 <= self.ratio <= 1.0:
            raise ConfigError(f"adapter.ratio must be a number in [0, 1], got {self.ratio!r}")
        self.ratio = float(self.ratio)
        if self.towers not in ("both", "visual", "text"):
            raise ConfigError(f"adapter.towers must be 'both', 'visual' or 'text', got {self.towers!r}")
        _require_bool(self.train_logit_scale, "train_logit_scale")
        _require_bool(self.backprop_through_backbone, "backprop_through_backbone")
