"""The ``smr`` reranker: similarity matrix reweighting, our reading of CMPAGL's SMR.

CMPAGL reranks at inference by reweighting the similarity matrix with two weights γ1 and γ2; the formula is not
available to us (METHODS.md). Our reading reweights each score with what the *reverse* direction says of the
pair, the idea shared by GaLR's reverse-query rank and by hubness corrections. For a query q and a gallery item
g with score s(q, g), over a queries × gallery matrix:

    s'(q, g) = s(q, g) + γ1 · (s(q, g) − m_k(g)) + γ2 · max(0, 1 − r'(q, g) / k)

- ``m_k(g)``: the mean of g's k best scores over all queries. ``s − m_k(g)`` is the score normalised in the
  reverse direction: a hub, close to many queries, has a high m_k and is pushed down (the column half of CSLS);
- ``r'(q, g)``: where q stands, zero-based, when g's scores over the queries are sorted best first (q as g's
  own r'-th neighbour). A pair that is mutual, near the top of both rankings, gains up to γ2.

Both directions of a run are reranked alike (captions over images, images over captions). With candidate lists,
``m_k`` and ``r'`` run over the listed entries of each column only (as rsbench's CSLS does); items off a list stay
off it. Defaults k = 10 (as CSLS), γ1 = 0.5, γ2 = 0.1 are ours, not tuned on any split.
"""

from __future__ import annotations

import torch

from rsbench.retrieval.rerankers.base import RerankContext, rerank_each
from rsbench.retrieval.scores import RetrievalScores
from rsbench_cmpagl.config import SmrConfig


def reverse_ranks(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(Q, N) zero-based position of each query in its column, best first (stable: ties keep the lower index);
    unlisted entries sort after every listed one."""
    ranked = scores if mask is None else scores.masked_fill(~mask, float("-inf"))
    order = torch.sort(ranked, dim=0, descending=True, stable=True).indices
    positions = torch.arange(scores.shape[0]).view(-1, 1).expand_as(order).contiguous()
    return torch.empty_like(order).scatter_(0, order, positions)


def column_top_k_mean(scores: torch.Tensor, mask: torch.Tensor | None, k: int) -> torch.Tensor:
    """(N,) mean of each column's k best (listed) scores."""
    k = min(k, scores.shape[0])
    if mask is None:
        return scores.topk(k, dim=0).values.mean(dim=0)
    values = scores.masked_fill(~mask, float("-inf")).topk(k, dim=0).values
    listed = torch.isfinite(values)
    return torch.where(listed, values, 0.0).sum(dim=0) / listed.sum(dim=0).clamp(min=1)


def smr(scores: torch.Tensor, mask: torch.Tensor | None, k: int, gamma1: float, gamma2: float) -> torch.Tensor:
    """(Q, N) reweighted scores of a (Q, N) score matrix (see the module docstring)."""
    normalised = scores - column_top_k_mean(scores, mask, k)[None, :]
    bonus = (1 - reverse_ranks(scores, mask).to(scores.dtype) / k).clamp(min=0)
    return scores + gamma1 * normalised + gamma2 * bonus


class Smr:
    """Reweights every score by its reverse-direction normalised score and reverse rank."""

    def __init__(self, config: SmrConfig) -> None:
        self.config = config

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        c = self.config
        return rerank_each(scores, lambda s, mask, _d: smr(s, mask, c.k, c.gamma1, c.gamma2))


def build(config: SmrConfig) -> Smr:
    """Similarity matrix reweighting: reverse-normalised score (gamma1) and reverse-rank bonus (gamma2)."""
    return Smr(config)
