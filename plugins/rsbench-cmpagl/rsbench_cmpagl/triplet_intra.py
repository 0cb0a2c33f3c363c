"""The ``triplet-intra`` loss: CMPAGL's pre-alignment of image and text embeddings before fusion (§III-D, §III-F).

With S(i, t) the cosine of L2-normalised embeddings over a batch of B pairs (i_k, t_k):

    L = w_tri · L_triplet + w_intra · L_intra + w_itc · L_itc

- ``L_triplet``: VSE++'s hardest-negative triplet in both directions, averaged over the B pairs,
  ``[m − S(i_k, t_k) + max_j S(i_k, t_j)]+ + [m − S(i_k, t_k) + max_j S(i_j, t_k)]+`` with j over the
  negatives only (``negatives: all`` sums the hinges over every negative instead, VSE0);
- ``L_intra``: CMPAGL's intra-class term, which "renders the similarity between matching images and texts as
  proximate as possible to 1": ``mean_k (1 − S(i_k, t_k))``;
- ``L_itc``: image-text contrastive pre-alignment, symmetric InfoNCE on the same embeddings, scaled by the
  adapter's ``logit_scale`` (or 1/temperature).

Off-diagonal pairs of the same image (``same_image``) are never negatives, in any term. CMPAGL gives neither
the margin nor the three weights nor the temperature: margin 0.2 is VSE++'s, the weights are our choice.
Computed in float32 even under autocast: a 0.2 margin is too fine for bf16 cosines.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rsbench_cmpagl.config import TripletIntraConfig


def negatives_mask(n: int, same_image: torch.Tensor | None, device: torch.device) -> torch.Tensor:
    """(B, B) bool, True at [image i, text j] when j is a negative of i (not the diagonal, not the same image)."""
    eye = torch.eye(n, dtype=torch.bool, device=device)
    return ~(eye | same_image.to(device=device, dtype=torch.bool)) if same_image is not None else ~eye


def triplet(similarity: torch.Tensor, negative: torch.Tensor, margin: float, hardest: bool) -> torch.Tensor:
    """Both directions' triplet hinge over a (B, B) images × texts cosine matrix, averaged over the pairs."""
    positive = similarity.diagonal()
    image_anchor = (margin - positive[:, None] + similarity).clamp(min=0) * negative  # [i_k, t_j]
    text_anchor = (margin - positive[None, :] + similarity).clamp(min=0) * negative  # [i_j, t_k]
    if hardest:  # the hardest negative has the largest hinge; rows without negatives cost 0
        return (image_anchor.amax(dim=1) + text_anchor.amax(dim=0)).mean()
    return (image_anchor.sum(dim=1) + text_anchor.sum(dim=0)).mean()


class TripletIntra:
    """Hardest-negative triplet + intra-class pull toward cosine 1 + weighted ITC (CMPAGL's pre-alignment)."""

    def __init__(self, config: TripletIntraConfig) -> None:
        self.config = config

    def __call__(
        self,
        image_emb: torch.Tensor,
        text_emb: torch.Tensor,
        logit_scale: torch.Tensor,
        same_image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        c = self.config
        with torch.autocast(device_type=image_emb.device.type, enabled=False):
            image = F.normalize(image_emb.float(), dim=-1)
            text = F.normalize(text_emb.float(), dim=-1)
            similarity = image @ text.t()
            negative = negatives_mask(len(similarity), same_image, similarity.device)
            loss = similarity.new_zeros(())
            if c.triplet_weight:
                loss = loss + c.triplet_weight * triplet(similarity, negative, c.margin, c.negatives == "hardest")
            if c.intra_weight:
                loss = loss + c.intra_weight * (1 - similarity.diagonal()).mean()
            if c.itc_weight:
                scale = 1.0 / c.temperature if c.temperature is not None else logit_scale.float()
                eye = torch.eye(len(similarity), dtype=torch.bool, device=similarity.device)
                logits = (scale * similarity).masked_fill(~(negative | eye), float("-inf"))
                target = torch.arange(len(logits), device=logits.device)
                itc = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
                loss = loss + c.itc_weight * itc
        return loss


def build(config: TripletIntraConfig) -> TripletIntra:
    """VSE++ hardest-negative triplet + intra-class term (matched cosine toward 1) + weighted ITC."""
    return TripletIntra(config)
