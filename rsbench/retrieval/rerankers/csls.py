"""CSLS hubness correction (Conneau et al. 2018, "Word Translation Without Parallel Data", ICLR, Eq. 6):

    CSLS(q, g) = 2 s(q, g) − r_Q(q) − r_G(g)

with r_Q(q) the mean of q's k best scores over the gallery and r_G(g) the mean of g's k best scores over the
queries (k = 10, as in the paper and CFITR's recall stage). A hub, close to many queries, pays r_G. With
candidate lists the means run over the listed entries only.
"""

from __future__ import annotations

import torch

from rsbench.retrieval.rerankers.base import RerankContext, rerank_each
from rsbench.retrieval.rerankers.config import CslsConfig
from rsbench.retrieval.scores import RetrievalScores


def _mean_top_k(scores: torch.Tensor, mask: torch.Tensor | None, k: int, dim: int) -> torch.Tensor:
    k = min(k, scores.shape[dim])
    if mask is None:
        return scores.topk(k, dim=dim).values.mean(dim=dim)
    values = scores.masked_fill(~mask, float("-inf")).topk(k, dim=dim).values
    listed = torch.isfinite(values)
    total = torch.where(listed, values, torch.zeros_like(values)).sum(dim=dim)
    return total / listed.sum(dim=dim).clamp(min=1)


def csls(scores: torch.Tensor, mask: torch.Tensor | None, k: int) -> torch.Tensor:
    """(Q, N) CSLS scores of a (Q, N) score matrix."""
    return 2 * scores - _mean_top_k(scores, mask, k, dim=1)[:, None] - _mean_top_k(scores, mask, k, dim=0)[None, :]


class Csls:
    def __init__(self, config: CslsConfig) -> None:
        self.config = config

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        return rerank_each(scores, lambda s, mask, _d: csls(s, mask, self.config.k))


def build(config: CslsConfig) -> Csls:
    """CSLS hubness correction: 2s minus the mean top-k of the query's row and of the item's column."""
    return Csls(config)
