"""CSLS hubness correction (Conneau et al. 2018, "Word Translation Without Parallel Data", ICLR, Eq. 6):

    CSLS(q, g) = 2 s(q, g) − r_Q(q) − r_G(g)

with r_Q(q) the mean of q's k best scores over the gallery and r_G(g) the mean of g's k best scores over the
queries (k = 10, as in the paper and CFITR's recall stage). A hub, close to many queries, pays r_G. On
candidate lists both means run over listed entries only: r_Q over the query's own list, r_G over the k best
queries among those that list g (rerankers/columns.py, no queries × gallery matrix); with every item listed
they are the dense means.
"""

from __future__ import annotations

import torch

from rsbench.retrieval.rerankers.base import SCORE_KINDS, RerankContext, rerank_directions
from rsbench.retrieval.rerankers.columns import column_top_k_mean
from rsbench.retrieval.rerankers.config import CslsConfig
from rsbench.retrieval.scores import Candidates, RetrievalScores


def _mean_top_k(scores: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    return scores.topk(min(k, scores.shape[dim]), dim=dim).values.mean(dim=dim)


def csls(scores: torch.Tensor, k: int) -> torch.Tensor:
    """(Q, N) CSLS scores of a (Q, N) score matrix."""
    return 2 * scores - _mean_top_k(scores, k, dim=1)[:, None] - _mean_top_k(scores, k, dim=0)[None, :]


def csls_lists(lists: Candidates, k: int) -> torch.Tensor:
    """(Q, K) CSLS scores of candidate lists, both hubness terms from the listed entries."""
    s = lists.scores
    return 2 * s - _mean_top_k(s, k, dim=1)[:, None] - column_top_k_mean(lists, s, k)[lists.indices]


class Csls:
    accepts = SCORE_KINDS  # 2s minus two means: shift-equivariant, defined on any score
    def __init__(self, config: CslsConfig) -> None:
        self.config = config

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        k = self.config.k
        return rerank_directions(scores, lambda s, _d: csls(s, k), lambda c, _d: csls_lists(c, k))


def build(config: CslsConfig) -> Csls:
    """CSLS hubness correction: 2s minus the mean top-k of the query's row and of the item's column."""
    return Csls(config)
