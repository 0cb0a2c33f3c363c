"""Querybank normalisation (QB-Norm; Bogolin et al., "Cross Modal Retrieval with Querybank Normalisation",
CVPR 2022, §3 and their ``dynamic_inverted_softmax``) with the dynamic inverted softmax (DIS).

A querybank of training queries is scored against the gallery, S_B (B × N). The gallery items that are in
the top k of some bank query form the activation set. A query whose own top-1 item lies in that set has its
scores normalised by the inverted softmax over the bank,

    s'(q, g) = exp(β s(q, g)) / Σ_b exp(β S_B(b, g)),

and any other query keeps its scores (the "dynamic" part: it only touches queries near hubs). We store the
logarithm, β s(q, g) − logsumexp_b β S_B(b, g), which ranks every row the same way and cannot overflow.
β = 20 and k = 1 are the paper's defaults.

``activation`` says which of the query's items must be activated. ``top1`` (default) is the authors' code
(``get_index_to_normalize`` in ioanacroi/qb-norm's dynamic_inverted_softmax.py: the query's argmax in the
union of the bank's top-k), for every k. ``topk`` is rsbench's earlier reading: every one of the query's own
top k must be activated, a stricter test that normalises fewer queries as k grows (equal at k = 1); it is kept
as an option to measure that difference, not as the paper's method.

The bank: for text→image, the training captions as annotated; for image→text, the training images. They are
scored by the cosine of global embeddings; after a strategy that adds a fine score (fast-then-fine), the bank
is therefore scored on the coarse part only, an approximation. Scores of another space (text-to-text's sentence
cosines, hybrid's z-scores) cannot be normalised by this bank: ``accepts`` says so, and such a run is refused
before training (rerankers/base.py ``check_score_kind``).

What the bank contributes is two gallery-wide vectors, logsumexp_b β S_B(b, g) and the activation set; they
are accumulated over blocks of bank queries, so no bank × gallery matrix is held. A query's scores are then
rescored entry by entry: on candidate lists (whose first k are the query's top k) the result is exactly the
dense one restricted to the list.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rsbench.errors import ConfigError
from rsbench.retrieval.rerankers.base import RerankContext, rerank_directions
from rsbench.retrieval.rerankers.config import QB_NORM_ACTIVATIONS as ACTIVATIONS
from rsbench.retrieval.rerankers.config import QbNormConfig
from rsbench.retrieval.scores import Candidates, RetrievalScores

_BLOCK_ELEMENTS = 1 << 24  # bank queries x gallery scores per block: 64 MB of float32


@dataclass
class BankStatistics:
    """What the querybank says of each gallery item: ``log_mass`` logsumexp_b β S_B(b, g), (N,), and whether
    it is ``activated`` (in the top k of some bank query), (N,) bool."""

    log_mass: torch.Tensor
    activated: torch.Tensor

    @classmethod
    def empty(cls, gallery_size: int) -> BankStatistics:
        return cls(torch.full((gallery_size,), float("-inf")), torch.zeros(gallery_size, dtype=torch.bool))

    def add(self, bank_scores: torch.Tensor, beta: float, k: int) -> None:
        """Fold in a block of bank queries' scores over the whole gallery, (B, N)."""
        self.log_mass = torch.logaddexp(self.log_mass, torch.logsumexp(beta * bank_scores, dim=0))
        self.activated[bank_scores.topk(min(k, bank_scores.shape[1]), dim=1).indices.reshape(-1)] = True


def bank_statistics(bank: torch.Tensor, gallery: torch.Tensor, beta: float, k: int) -> BankStatistics:
    """Statistics of (B, E) bank embeddings against (N, E) gallery embeddings, block by block."""
    stats = BankStatistics.empty(gallery.shape[0])
    rows = max(1, _BLOCK_ELEMENTS // max(1, gallery.shape[0]))
    for start in range(0, bank.shape[0], rows):
        stats.add(bank[start : start + rows] @ gallery.t(), beta, k)
    return stats


def _probe(k: int, activation: str) -> int:
    """How many of a query's best items must be activated: 1 (the authors' top-1 test) or k (``topk``)."""
    if activation not in ACTIVATIONS:
        raise ConfigError(f"reranker.activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    return 1 if activation == "top1" else k


def querybank_normalise(scores: torch.Tensor, stats: BankStatistics, beta: float, k: int = 1,
                        activation: str = "top1") -> torch.Tensor:
    """DIS of dense (Q, N) ``scores`` given the bank's statistics of the same gallery."""
    probe = min(_probe(k, activation), scores.shape[1])
    near_hub = stats.activated[scores.topk(probe, dim=1).indices].all(dim=1)
    normalised = beta * scores - stats.log_mass[None, :]
    return torch.where(near_hub[:, None], normalised, scores)


def querybank_normalise_lists(lists: Candidates, stats: BankStatistics, beta: float, k: int = 1,
                              activation: str = "top1") -> torch.Tensor:
    """DIS of candidate lists: (Q, K) new scores; a query's best items are the best of its list."""
    probe = min(_probe(k, activation), lists.k)
    top = lists.indices.gather(1, lists.scores.topk(probe, dim=1).indices)
    near_hub = stats.activated[top].all(dim=1)
    normalised = beta * lists.scores - stats.log_mass[lists.indices]
    return torch.where(near_hub[:, None], normalised, lists.scores)


class QbNorm:
    # The bank is scored by the model's cosine of global embeddings: only scores in that space can be normalised
    # by it (a sentence-encoder bank for text-to-text would need the training images captioned, not built).
    accepts = ("cosine",)
    accepts_why = "its querybank is scored by the model's cosine, another space than these scores"

    def __init__(self, config: QbNormConfig) -> None:
        self.config = config

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        beta, k, how = self.config.beta, self.config.k, self.config.activation
        banks = self.banks(context)
        return rerank_directions(scores, lambda s, d: querybank_normalise(s, banks[d], beta, k, how),
                                 lambda lists, d: querybank_normalise_lists(lists, banks[d], beta, k, how))

    def banks(self, context: RerankContext) -> dict[str, BankStatistics]:
        """The bank's statistics of each direction's gallery, from the training split."""
        if context is None:
            raise ConfigError("reranker qb-norm needs a run (its training captions are the querybank); "
                              "measure it with rsbench run --rerank qb-norm")
        train = list(context.train_records)[: self.config.bank_size]
        captions = [c for r in train for c in r.captions][: self.config.bank_size]
        if not train or not captions:
            raise ConfigError("reranker qb-norm needs training captions and images for its querybank; "
                              "the dataset's train split is empty")
        encoder, split = context.encoder, context.split
        images = encoder.images(split.records).embeddings
        texts = encoder.texts(split.captions).embeddings
        beta, k = self.config.beta, self.config.k
        return {
            "t2i": bank_statistics(encoder.texts(captions).embeddings, images, beta, k),
            "i2t": bank_statistics(encoder.images(train).embeddings, texts, beta, k),
        }


def build(config: QbNormConfig) -> QbNorm:
    """Querybank normalisation (dynamic inverted softmax) with the training captions/images as the bank."""
    return QbNorm(config)
