"""Config dataclasses of the built-in adapters, CLIP-BitFit and CLIP-Adapter included (kept free of torch so
listing stays fast). LoRA and Focus keep theirs in ``lora/config.py`` and ``focus/config.py``, beside their model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rsbench.options import Options, option

_LOGIT_SCALE_HELP = "also learn CLIP's temperature"


@dataclass
class FullConfig(Options):
    """fine-tune every weight of both towers

    Fine-tune every parameter of both towers.
    """

    train_logit_scale: bool = option(True, _LOGIT_SCALE_HELP)


@dataclass
class FrozenConfig(Options):
    """zero-shot: nothing trains

    Zero-shot: nothing trains; the run only evaluates the backbone as loaded.
    """


@dataclass
class LinearProbeConfig(Options):
    """train only the visual and text projections

    Train only the two projections into the joint space (CMER Table 1's 'Linear probe').
    """

    train_logit_scale: bool = option(False, _LOGIT_SCALE_HELP)


@dataclass
class BitFitConfig(Options):
    """BitFit: train only the biases of both towers (Zaken et al. 2021; CMER baseline)

    BitFit (Zaken et al. 2021): every bias of both towers trains, every other weight stays frozen.
    """

    train_logit_scale: bool = option(False, _LOGIT_SCALE_HELP)


@dataclass
class ClipAdapterConfig(Options):
    """CLIP-Adapter: residual bottleneck MLPs on a frozen CLIP's final embeddings (Gao et al. 2021)

    CLIP-Adapter (Gao et al. 2021): a residual bottleneck MLP on the final embeddings of a frozen CLIP.
    """

    reduction: int = option(
        4,
        "bottleneck width = embedding width // reduction (rounded down; Gao et al. use 4); "
        "must leave at least one hidden unit",
        ge=1,
    )
    ratio: float = option(
        0.2, "residual ratio in [0, 1]: f' = ratio * A(f) + (1 - ratio) * f (Gao et al. use 0.2)", ge=0, le=1
    )
    towers: Literal["both", "visual", "text"] = option(
        "both", "which embeddings get an adapter: both, visual or text"
    )
    train_logit_scale: bool = option(False, _LOGIT_SCALE_HELP)
    backprop_through_backbone: bool = option(
        False,
        "comparison variant: record each adapted tower's frozen forward for autograd, as an implementation "
        "that backpropagates through it does (the memory CMER Table 3 reports for CLIP-Adapter); "
        "false runs the backbone under no_grad, which gives the same gradients",
    )
