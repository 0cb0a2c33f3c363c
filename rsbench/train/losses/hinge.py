"""CMER's difficulty-weighted hinge (Eq. 16-18, from HVSA): the L_queue term, and a loss over in-batch negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rsbench.train.losses.config import HingeConfig


def difficulty_weighted_hinge(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negatives: torch.Tensor,
    valid_mask: torch.Tensor,
    margin: float,
    beta: float,
    *,
    reduction: str = "mean",
    detach_weight: bool = False,
) -> torch.Tensor:
    """Difficulty-weighted hinge of B anchors against their positives and N candidate negatives.

    ``anchor`` and ``positive`` are (B, D) with row i a positive pair; ``negatives`` is (N, D);
    ``valid_mask[i, j]`` (B, N) says whether candidate j is a negative of anchor i. With S the cosine
    similarity (inputs are L2-normalised here):

        l_ij = [margin - S(a_i, p_i) + S(a_i, n_j)]_+              CMER Eq. (16) / (17)
        cost = sum over valid (i, j) of l_ij * exp(-beta * l_ij)    CMER Eq. (18)

    The weight exp(-beta*l) makes the hardest negatives count less, for training stability (HVSA's
    easy-to-hard curriculum); ``detach_weight`` stops its gradient. ``reduction``: ``mean`` divides the
    sum by B*N (invalid cells count as zero, HVSA's normalisation), ``per_pair`` sums over the negatives
    and averages over the B pairs (Eq. 18 per pair, averaged like Eq. 21), ``sum`` returns the sum.
    Computed in float32 even under autocast: a 0.2 margin is too fine for bf16 similarities.
    """
    if reduction not in ("mean", "per_pair", "sum"):
        raise ValueError(f"reduction must be 'mean', 'per_pair' or 'sum', got {reduction!r}")
    if negatives.shape[0] == 0 or anchor.shape[0] == 0:
        return anchor.new_zeros((), dtype=torch.float32)
    with torch.autocast(device_type=anchor.device.type, enabled=False):
        anchor = F.normalize(anchor.float(), dim=-1)
        positive = F.normalize(positive.float(), dim=-1)
        negatives = F.normalize(negatives.float(), dim=-1)
        positive_sim = (anchor * positive).sum(dim=-1, keepdim=True)  # S(a_i, p_i), (B, 1)
        cost = (margin - positive_sim + anchor @ negatives.t()).clamp(min=0)  # l_ij, (B, N)
        cost = cost.masked_fill(~valid_mask.to(cost.device, torch.bool), 0.0)
        weight = torch.exp(-beta * cost)
        if detach_weight:
            weight = weight.detach()
        weighted = cost * weight
        if reduction == "sum":
            return weighted.sum()
        if reduction == "per_pair":
            return weighted.sum(dim=1).mean()
        return weighted.sum() / weighted.numel()


class DifficultyWeightedHinge:
    """HVSA's adaptive-alignment loss over in-batch negatives, both directions (CMER Eq. 16-18 on the batch)."""

    def __init__(self, config: HingeConfig) -> None:
        self.config = config

    def __call__(
        self,
        image_emb: torch.Tensor,
        text_emb: torch.Tensor,
        logit_scale: torch.Tensor,
        same_image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Loss for B aligned (image_i, text_i) pairs; ``logit_scale`` is unused (the hinge works on cosines).

        ``same_image[i, j]`` is True where image i and text j belong to the same image: such pairs
        (and the diagonal) are never negatives.
        """
        eye = torch.eye(len(image_emb), dtype=torch.bool, device=image_emb.device)
        negative = ~(same_image | eye) if same_image is not None else ~eye  # [image i, text j]
        c = self.config
        hinge = {"margin": c.margin, "beta": c.beta, "reduction": c.reduction, "detach_weight": c.detach_weight}
        # CMER Eq. (17): image anchors against the other texts; Eq. (16): text anchors against the other images.
        image_anchor = difficulty_weighted_hinge(image_emb, text_emb, text_emb, negative, **hinge)
        text_anchor = difficulty_weighted_hinge(text_emb, image_emb, image_emb, negative.t(), **hinge)
        return image_anchor + text_anchor


def build(config: HingeConfig) -> DifficultyWeightedHinge:
    """Difficulty-weighted hinge over in-batch negatives (HVSA; CMER Eq. 16-18)."""
    return DifficultyWeightedHinge(config)
