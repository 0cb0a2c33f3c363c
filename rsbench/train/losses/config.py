"""Config dataclasses of the built-in losses: InfoNCE, the difficulty-weighted hinge (CMER Eq. 16-18, after HVSA)
and the multi-granular loss (fast-then-fine's training side, our reading); free of torch so listing stays fast."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rsbench.errors import ConfigError


@dataclass
class InfoNCEConfig:
    """symmetric InfoNCE over in-batch negatives (CMER Eq. 19-21)"""

    temperature: float | None = field(
        default=None, metadata={"help": "fixed tau; null uses the model's learnable logit scale"}
    )

    def __post_init__(self) -> None:
        if self.temperature is not None and not self.temperature > 0:
            raise ConfigError("loss.temperature must be > 0 or null")


@dataclass
class HingeConfig:
    """difficulty-weighted hinge over in-batch negatives (HVSA; CMER Eq. 16-18)

    Difficulty-weighted hinge: each violating negative costs l * exp(-beta * l), l = [margin - S(a,p) + S(a,n)]+.

    CMER gives neither margin nor beta. It takes the loss from HVSA (Zhang et al., TGRS 2023), whose released
    configs use margin 0.2 (also the VSE++ convention) and beta 0.5, sum the weighted costs with the weight
    left in the graph, and divide by the number of (anchor, candidate) cells: these are the defaults here.
    """

    margin: float = field(
        default=0.2,
        metadata={"help": "alpha of CMER Eq. (16)-(17); not given by CMER: 0.2 from HVSA's configs (and VSE++)"},
    )
    beta: float = field(
        default=0.5,
        metadata={
            "help": "beta of CMER Eq. (18): each cost l is weighted by exp(-beta*l), so the hardest negatives count "
            "less; 0 gives a plain hinge. Not given by CMER: 0.5 from HVSA's configs"
        },
    )
    reduction: Literal["mean", "per_pair", "sum"] = field(
        default="mean",
        metadata={
            "help": "mean: the sum over all (anchor, negative) cells divided by their number, excluded cells counting "
            "0 (HVSA's normalisation, the default); per_pair: Eq. (18) as written, summed over the N negatives of "
            "each positive pair, averaged over the pairs (N times mean); sum: summed over both (B*N times mean). "
            "CMER does not say which; docs/cmer-recipe.md and leaderboard/README.md measure the difference"
        },
    )
    detach_weight: bool = field(
        default=False,
        metadata={
            "help": "stop the gradient through exp(-beta*l): every violating negative then pushes with weight "
            "exp(-beta*l) > 0. false (HVSA) differentiates l*exp(-beta*l), whose slope turns negative for l > 1/beta"
        },
    )

    def __post_init__(self) -> None:
        if not self.margin >= 0:
            raise ConfigError(f"margin must be >= 0 (a cosine-similarity margin, e.g. 0.2); got {self.margin}")
        if not self.beta >= 0:
            raise ConfigError(f"beta must be >= 0 (0 is a plain hinge); got {self.beta}")
        if self.reduction not in ("mean", "per_pair", "sum"):
            raise ConfigError(f"reduction must be 'mean', 'per_pair' or 'sum'; got {self.reduction!r}")


@dataclass
class MultiGranularConfig:
    """FTF's training side, our reading: global + token-level InfoNCE + TGDT's intra-modal consistency

    Global InfoNCE + token-level InfoNCE on the fine scores + TGDT's intra-modal consistency term.
    """

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
