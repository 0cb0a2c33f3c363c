"""GaLR's reverse-query rerank (Yuan et al., "Remote Sensing Cross-Modal Text-Image Retrieval Based on Global and
Local Information", IEEE TGRS 2022; ``i2t_rerank_optim`` in ``postprocessing/rerank.py`` of xiaoyuan1996/GaLR).

For query q and the candidate g at zero-based rank r among q's top K (K at least 10):

    s'(q, g) = Wp1 · s(q, g) / Σ_q' s(q', g)  +  exp(−0.05 (r + 1))  +  Wp2 · exp(−0.05 (r' + 1))

where r' is g's position after sorting the K candidates by where q ranks among all queries when g is the query
(reverse query). Items outside the K score nothing: we return the K as a candidate list, so they are misses.
Defaults are the function's (Wp1 1.0, Wp2 0.7) with its script's K = 30; the script itself runs Wp1 0.30,
Wp2 1.1. GaLR sorts with NumPy's unstable sort; we sort stably (ties keep the lower index first). On candidate
lists K is capped at the lists' length, and both column terms (Σ_q' s(q', g) and the reverse rank) run over
the queries whose list holds g, from the lists alone (rerankers/columns.py); with every item listed they
are the dense terms.
"""

from __future__ import annotations

import torch

from rsbench.retrieval.rerankers.base import RerankContext, rerank_directions
from rsbench.retrieval.rerankers.columns import column_ranks, column_sum
from rsbench.retrieval.rerankers.config import GalrConfig
from rsbench.retrieval.scores import Candidates, RetrievalScores


def _ordinal_ranks(scores: torch.Tensor, dim: int) -> torch.Tensor:
    """Zero-based position of every entry when its row (dim 1) or column (dim 0) is sorted best first."""
    order = torch.sort(scores, dim=dim, descending=True, stable=True).indices
    shape = (1, -1) if dim == 1 else (-1, 1)
    positions = torch.arange(scores.shape[dim]).view(shape).expand_as(order)
    return torch.empty_like(order).scatter_(dim, order, positions.contiguous())


def _rescore(items: torch.Tensor, scores: torch.Tensor, column_total: torch.Tensor, reverse: torch.Tensor,
             gallery_size: int, wp1: float, wp2: float) -> Candidates:
    """GaLR's score of each row's top k (``items``, best first, with ``scores``), given each item's column total
    and each entry's reverse rank."""
    steps = torch.arange(1, items.shape[1] + 1, dtype=scores.dtype)
    p1 = scores / column_total[items]
    p2 = torch.exp(-0.05 * steps).expand_as(p1)
    by_reverse = torch.sort(reverse, dim=1, stable=True).indices  # candidate slots in reverse-rank order
    p3 = torch.empty_like(p1).scatter_(1, by_reverse, torch.exp(-0.05 * steps).expand_as(p1).contiguous())
    new = wp1 * p1 + p2 + wp2 * p3
    return Candidates(items, new, gallery_size).rescored(new)


def galr_rerank(scores: torch.Tensor, k: int, wp1: float, wp2: float) -> Candidates:
    """GaLR's rescoring of each row's top ``max(10, k)`` (capped at the row), as candidate lists."""
    k = min(max(10, k), scores.shape[1])
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]  # r = 0..k-1; ties: lower index
    reverse = _ordinal_ranks(scores, dim=0).gather(1, order)  # where q stands when g is the query
    return _rescore(order, scores.gather(1, order), scores.sum(dim=0), reverse, scores.shape[1], wp1, wp2)


def galr_lists(lists: Candidates, k: int, wp1: float, wp2: float) -> Candidates:
    """GaLR on candidate lists: each list's top ``max(10, k)`` (capped at K), column terms over listed entries."""
    k = min(max(10, k), lists.k)
    slots = torch.sort(lists.scores, dim=1, descending=True, stable=True).indices[:, :k]
    reverse = column_ranks(lists, lists.scores).gather(1, slots)
    return _rescore(lists.indices.gather(1, slots), lists.scores.gather(1, slots),
                    column_sum(lists, lists.scores), reverse, lists.gallery_size, wp1, wp2)


class Galr:
    accepts = ("cosine", "sentence-cosine")
    accepts_why = "its column-sum normaliser assumes cosines; on standardised scores it can be near zero"

    def __init__(self, config: GalrConfig) -> None:
        self.config = config

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        c = self.config
        return rerank_directions(scores, lambda s, _d: galr_rerank(s, c.k, c.wp1, c.wp2),
                           lambda lists, _d: galr_lists(lists, c.k, c.wp1, c.wp2))


def build(config: GalrConfig) -> Galr:
    """GaLR's rerank: column-normalised score, rank decay and reverse-query rank over the top K."""
    return Galr(config)
