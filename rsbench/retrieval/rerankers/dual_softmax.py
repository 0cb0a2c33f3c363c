"""Dual-softmax reranking (Cheng et al. 2021, "Improving Video-Text Retrieval by Multi-Stream Corpus Alignment
and Dual Softmax Loss", arXiv 2109.04290, §3.3 at inference): each score is multiplied by a prior, the softmax
of the item's scores over all queries, so a gallery item that every query likes (a hub) is damped.

    s'(q, g) = s(q, g) · softmax_q'(τ · s(q', g))[q]

The paper sets τ as a temperature to tune; we default to CLIP's logit scale, 100. On candidate lists the
softmax over queries runs over the queries whose list holds g (the others never scored g), computed from the
lists alone (rerankers/columns.py); with every item listed it is the dense prior.
"""

from __future__ import annotations

import torch

from rsbench.retrieval.rerankers.base import RerankContext, rerank_directions
from rsbench.retrieval.rerankers.columns import column_logsumexp
from rsbench.retrieval.rerankers.config import DualSoftmaxConfig
from rsbench.retrieval.scores import Candidates, RetrievalScores


def dual_softmax(scores: torch.Tensor, inverse_temperature: float) -> torch.Tensor:
    """(Q, N) scores times the softmax over queries (dim 0) of ``inverse_temperature · scores``."""
    return scores * torch.softmax(inverse_temperature * scores, dim=0)


def dual_softmax_lists(lists: Candidates, inverse_temperature: float) -> torch.Tensor:
    """(Q, K) scores of the lists times the softmax over the queries that list each item."""
    logits = inverse_temperature * lists.scores
    return lists.scores * torch.exp(logits - column_logsumexp(lists, logits)[lists.indices])


class DualSoftmax:
    accepts = ("cosine", "sentence-cosine")
    accepts_why = "its inverse temperature is set for scores in [-1, 1]"

    def __init__(self, config: DualSoftmaxConfig) -> None:
        self.config = config

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        t = self.config.inverse_temperature
        return rerank_directions(scores, lambda s, _d: dual_softmax(s, t), lambda c, _d: dual_softmax_lists(c, t))


def build(config: DualSoftmaxConfig) -> DualSoftmax:
    """Scores times a softmax prior over the queries (Cheng et al. 2021)."""
    return DualSoftmax(config)
