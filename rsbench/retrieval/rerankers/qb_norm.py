"""Querybank normalisation (QB-Norm; Bogolin et al., "Cross Modal Retrieval with Querybank Normalisation",
CVPR 2022, §3 and their ``dynamic_inverted_softmax``) with the dynamic inverted softmax (DIS).

A querybank of training queries is scored against the gallery, S_B (B × N). The gallery items that are in
the top k of some bank query form the activation set. A query whose own top k all lie in that set has its
scores normalised by the inverted softmax over the bank,

    s'(q, g) = exp(β s(q, g)) / Σ_b exp(β S_B(b, g)),

and any other query keeps its scores (the "dynamic" part: it only touches queries near hubs). We store the
logarithm, β s(q, g) − logsumexp_b β S_B(b, g), which ranks every row the same way and cannot overflow.
β = 20 and k = 1 are the paper's defaults.

The bank: for text→image, the training captions as annotated; for image→text, the training images. They are
scored by the cosine of global embeddings; after a strategy that adds a fine score (fast-then-fine), the bank
is therefore scored on the coarse part only, an approximation.
"""

from __future__ import annotations

import torch

from rsbench.errors import ConfigError
from rsbench.retrieval.rerankers.base import RerankContext, rerank_each
from rsbench.retrieval.rerankers.config import QbNormConfig
from rsbench.retrieval.scores import RetrievalScores


def querybank_normalise(
    scores: torch.Tensor, mask: torch.Tensor | None, bank: torch.Tensor, beta: float, k: int = 1
) -> torch.Tensor:
    """DIS of (Q, N) ``scores`` given (B, N) ``bank`` scores of the same gallery."""
    k = min(k, scores.shape[1], bank.shape[1])
    activated = torch.zeros(bank.shape[1], dtype=torch.bool)
    activated[bank.topk(k, dim=1).indices.reshape(-1)] = True
    ranked = scores if mask is None else scores.masked_fill(~mask, float("-inf"))
    near_hub = activated[ranked.topk(k, dim=1).indices].all(dim=1)
    normalised = beta * scores - torch.logsumexp(beta * bank, dim=0)[None, :]
    return torch.where(near_hub[:, None], normalised, scores)


class QbNorm:
    def __init__(self, config: QbNormConfig) -> None:
        self.config = config

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        banks = self.banks(context)
        return rerank_each(
            scores, lambda s, mask, d: querybank_normalise(s, mask, banks[d], self.config.beta, self.config.k)
        )

    def banks(self, context: RerankContext) -> dict[str, torch.Tensor]:
        """Bank × gallery cosine scores per direction, from the training split."""
        train = list(context.train_records)[: self.config.bank_size]
        captions = [c for r in train for c in r.captions][: self.config.bank_size]
        if not train or not captions:
            raise ConfigError("reranker qb-norm needs training captions and images for its querybank; "
                              "the dataset's train split is empty")
        encoder, split = context.encoder, context.split
        images = encoder.images(split.records).embeddings
        texts = encoder.texts(split.captions).embeddings
        return {
            "t2i": encoder.texts(captions).embeddings @ images.t(),
            "i2t": encoder.images(train).embeddings @ texts.t(),
        }


def build(config: QbNormConfig) -> QbNorm:
    """Querybank normalisation (dynamic inverted softmax) with the training captions/images as the bank."""
    return QbNorm(config)
