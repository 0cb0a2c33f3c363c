"""Dual-softmax reranking (Cheng et al. 2021, "Improving Video-Text Retrieval by Multi-Stream Corpus Alignment
and Dual Softmax Loss", arXiv 2109.04290, §3.3 at inference): each score is multiplied by a prior, the softmax
of the item's scores over all queries, so a gallery item that every query likes (a hub) is damped.

    s'(q, g) = s(q, g) · softmax_q'(τ · s(q', g))[q]

The paper sets τ as a temperature to tune; we default to CLIP's logit scale, 100. Queries whose list does not
hold g take no part in g's softmax (candidate lists; rerankers/base.py).
"""

from __future__ import annotations

import torch

from rsbench.retrieval.rerankers.base import RerankContext, rerank_each
from rsbench.retrieval.rerankers.config import DualSoftmaxConfig
from rsbench.retrieval.scores import RetrievalScores


def dual_softmax(scores: torch.Tensor, mask: torch.Tensor | None, inverse_temperature: float) -> torch.Tensor:
    """(Q, N) scores times the softmax over queries (dim 0) of ``inverse_temperature · scores``."""
    logits = inverse_temperature * scores
    if mask is not None:
        logits = logits.masked_fill(~mask, float("-inf"))
    prior = torch.softmax(logits, dim=0).nan_to_num(0.0)  # a column with no listed entry has no prior
    return scores * prior


class DualSoftmax:
    def __init__(self, config: DualSoftmaxConfig) -> None:
        self.config = config

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        return rerank_each(scores, lambda s, mask, _d: dual_softmax(s, mask, self.config.inverse_temperature))


def build(config: DualSoftmaxConfig) -> DualSoftmax:
    """Scores times a softmax prior over the queries (Cheng et al. 2021)."""
    return DualSoftmax(config)
