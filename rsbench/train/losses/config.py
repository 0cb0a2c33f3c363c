"""Config dataclasses of the built-in losses: InfoNCE, the difficulty-weighted hinge (CMER Eq. 16-18, after HVSA)
and the multi-granular loss (fast-then-fine's training side, our reading); free of torch so listing stays fast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rsbench.options import Options, option


@dataclass
class InfoNCEConfig(Options):
    """symmetric InfoNCE over in-batch negatives (CMER Eq. 19-21)"""

    temperature: float | None = option(None, "fixed tau; null uses the model's learnable logit scale", gt=0)


@dataclass
class HingeConfig(Options):
    """difficulty-weighted hinge over in-batch negatives (HVSA; CMER Eq. 16-18)

    Difficulty-weighted hinge: each violating negative costs l * exp(-beta * l), l = [margin - S(a,p) + S(a,n)]+.

    CMER gives neither margin nor beta. It takes the loss from HVSA (Zhang et al., TGRS 2023), whose released
    configs use margin 0.2 (also the VSE++ convention) and beta 0.5, sum the weighted costs with the weight
    left in the graph, and divide by the number of (anchor, candidate) cells: these are the defaults here.
    """

    margin: float = option(
        0.2, "alpha of CMER Eq. (16)-(17); not given by CMER: 0.2 from HVSA's configs (and VSE++)", ge=0)
    beta: float = option(
        0.5, "beta of CMER Eq. (18): each cost l is weighted by exp(-beta*l), so the hardest negatives count "
        "less; 0 gives a plain hinge. Not given by CMER: 0.5 from HVSA's configs", ge=0)
    reduction: Literal["mean", "per_pair", "sum"] = option(
        "mean", "mean: the sum over all (anchor, negative) cells divided by their number, excluded cells counting "
        "0 (HVSA's normalisation, the default); per_pair: Eq. (18) as written, summed over the N negatives of "
        "each positive pair, averaged over the pairs (N times mean); sum: summed over both (B*N times mean). "
        "CMER does not say which; docs/cmer-recipe.md and leaderboard/README.md measure the difference")
    detach_weight: bool = option(
        False, "stop the gradient through exp(-beta*l): every violating negative then pushes with weight "
        "exp(-beta*l) > 0. false (HVSA) differentiates l*exp(-beta*l), whose slope turns negative for l > 1/beta")


@dataclass
class MultiGranularConfig(Options):
    """FTF's training side, our reading: global + token-level InfoNCE + TGDT's intra-modal consistency

    Global InfoNCE + token-level InfoNCE on the fine scores + TGDT's intra-modal consistency term.
    """

    token_weight: float = option(1.0, "weight of the token-level InfoNCE term", ge=0)
    intra_weight: float = option(1.0, "weight of the intra-modal consistency term", ge=0)
    margin: float = option(0.3, "|S_tt - S_ii| allowed before the intra-modal term charges (TGDT: 0.3)", ge=0)
    interaction: Literal["balanced", "words", "patches"] = option(
        "balanced", "token score, as fast-then-fine's strategy.interaction")
    temperature: float | None = option(
        None, "fixed tau of both InfoNCE terms; null uses the model's logit scale", gt=0)
