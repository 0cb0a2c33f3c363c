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
off it, and lists are rescored on their own (Q, K) entries (``rerank_directions``): memory stays O(Q·K + N) for a
million-item gallery. Defaults k = 10 (as CSLS), γ1 = 0.5, γ2 = 0.1 are ours, not tuned on any split.
"""

from __future__ import annotations

import torch

from rsbench.retrieval.rerankers.base import RerankContext, rerank_directions
from rsbench.retrieval.rerankers.columns import column_ranks
from rsbench.retrieval.rerankers.columns import column_top_k_mean as list_column_top_k_mean
from rsbench.retrieval.scores import Candidates, RetrievalScores
from rsbench_cmpagl.config import SmrConfig


def reverse_ranks(scores: torch.Tensor) -> torch.Tensor:
    """(Q, N) zero-based position of each query in its column, best first (stable: ties keep the lower index)."""
    order = torch.sort(scores, dim=0, descending=True, stable=True).indices
    positions = torch.arange(scores.shape[0]).view(-1, 1).expand_as(order).contiguous()
    return torch.empty_like(order).scatter_(0, order, positions)


def column_top_k_mean(scores: torch.Tensor, k: int) -> torch.Tensor:
    """(N,) mean of each column's k best scores."""
    return scores.topk(min(k, scores.shape[0]), dim=0).values.mean(dim=0)


def reweight(scores: torch.Tensor, column_mean: torch.Tensor, reverse_rank: torch.Tensor, k: int, gamma1: float,
             gamma2: float) -> torch.Tensor:
    """s + γ1·(s − m_k(g)) + γ2·max(0, 1 − r'/k), element-wise on matching shapes."""
    bonus = (1 - reverse_rank.to(scores.dtype) / k).clamp(min=0)
    return scores + gamma1 * (scores - column_mean) + gamma2 * bonus


def smr(scores: torch.Tensor, k: int, gamma1: float, gamma2: float) -> torch.Tensor:
    """(Q, N) reweighted scores of a (Q, N) score matrix (see the module docstring)."""
    return reweight(scores, column_top_k_mean(scores, k)[None, :], reverse_ranks(scores), k, gamma1, gamma2)


def smr_lists(lists: Candidates, k: int, gamma1: float, gamma2: float) -> torch.Tensor:
    """(Q, K) reweighted scores of candidate lists: m_k and r' over the queries that list each item."""
    s = lists.scores
    column_mean = list_column_top_k_mean(lists, s, k)[lists.indices]
    return reweight(s, column_mean, column_ranks(lists, s), k, gamma1, gamma2)


class Smr:
    """Reweights every score by its reverse-direction normalised score and reverse rank."""

    def __init__(self, config: SmrConfig) -> None:
        self.config = config

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        c = self.config
        return rerank_directions(scores, lambda s, _d: smr(s, c.k, c.gamma1, c.gamma2),
                                 lambda lists, _d: smr_lists(lists, c.k, c.gamma1, c.gamma2))


def build(config: SmrConfig) -> Smr:
    """Similarity matrix reweighting: reverse-normalised score (gamma1) and reverse-rank bonus (gamma2)."""
    return Smr(config)
