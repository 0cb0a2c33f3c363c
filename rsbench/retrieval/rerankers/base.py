"""The reranker contract: a strategy's scores (and what they were computed from) in, rescored scores out.

Rerankers are defined on a queries × gallery matrix. Candidate lists are rescored on their own (Q, K)
entries, never spread into a (Q, N) matrix (a million-item gallery would not fit): statistics over a gallery
item use only the queries that list it (rerankers/columns.py), the documented reading of every built-in on
lists; with K = the whole gallery it equals the dense one.

Score spaces are explicit: a strategy says what its scores are (``score_kind``, one of ``SCORE_KINDS``) and a
reranker which kinds it is defined on (``accepts``, with ``accepts_why`` saying why, for the error line);
``check_score_kind`` refuses a pair that does not fit before any training or encoding. A strategy or reranker
that declares nothing is taken as compatible with everything (plugins written before the declarations).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rsbench.data.record import Record
from rsbench.errors import ConfigError
from rsbench.retrieval.base import EvalSplit
from rsbench.retrieval.encoder import Encoder
from rsbench.retrieval.scores import Candidates, Direction, RetrievalScores

SCORE_KINDS = (
    "cosine",  # cosine of the trained (or frozen) model's embeddings, possibly plus a token-cosine term
    "sentence-cosine",  # cosine in a sentence encoder's space (text-to-text)
    "z-score",  # standardised scores: zero mean, unit variance (hybrid)
    "probability",  # non-negative, a distribution over the gallery
)


def check_score_kind(strategy: object, reranker: object, names: tuple[str, str] = ("strategy", "reranker")) -> None:
    """Refuse ``reranker`` on ``strategy``'s scores when it declares the kinds it accepts and the strategy's
    ``score_kind`` is not one: one ``ConfigError`` line, raised before any training or encoding."""
    kind = getattr(strategy, "score_kind", None)
    accepts = getattr(reranker, "accepts", None)
    if kind is None or accepts is None or kind in accepts:
        return
    why = getattr(reranker, "accepts_why", "")
    raise ConfigError(f"reranker {names[1]} is defined on {' or '.join(accepts)} scores and strategy {names[0]} "
                      f"gives {kind} scores{f' ({why})' if why else ''}; use another reranker "
                      f"(--rerank none or csls) or strategy")


def score_kinds_fit(cfg: Any) -> bool:
    """Whether a run config's reranker is defined on its strategy's scores (what ``check_score_kind`` refuses
    otherwise): for sweeps and test matrices that skip or expect the refused pairs."""
    try:
        check_score_kind(cfg.build("strategy"), cfg.build("reranker"))
    except ConfigError:
        return False
    return True


@dataclass
class RerankContext:
    """What a reranker may consult besides the scores: the split, the encoder and the training records."""

    split: EvalSplit
    encoder: Encoder
    train_records: Sequence[Record] = ()


# (dense scores (Q, N), direction "t2i"/"i2t") -> new (Q, N) scores or candidate lists
DenseRerank = Callable[[torch.Tensor, str], torch.Tensor | Candidates]
# (candidate lists, direction) -> new (Q, K) scores of the same entries, or new candidate lists
ListRerank = Callable[[Candidates, str], torch.Tensor | Candidates]
# (scores (Q, N), mask of listed entries (Q, N) or None when dense, direction) -> new scores or lists
DirectionRerank = Callable[[torch.Tensor, torch.Tensor | None, str], torch.Tensor | Candidates]


def rerank_each(scores: RetrievalScores, rerank: DirectionRerank) -> RetrievalScores:
    """The older one-function form: lists are spread into a (Q, N) matrix with a mask of the listed entries,
    O(Q·N) memory. Kept for plugins written against it; new rerankers use ``rerank_directions``."""
    out: dict[str, Direction] = {}
    for direction, value in scores.directions().items():
        if isinstance(value, Candidates):
            matrix, mask = value.dense(fill=0.0)
            new = rerank(matrix, mask, direction)
            out[direction] = new if isinstance(new, Candidates) else value.rescored(new.gather(1, value.indices))
        else:
            out[direction] = rerank(value.float(), None, direction)
    return RetrievalScores(t2i=out["t2i"], i2t=out["i2t"])


def rerank_directions(scores: RetrievalScores, dense: DenseRerank, lists: ListRerank) -> RetrievalScores:
    """Apply ``dense`` to dense directions and ``lists`` to candidate lists (never densified), lists staying lists."""
    out: dict[str, Direction] = {}
    for direction, value in scores.directions().items():
        if isinstance(value, Candidates):
            value = Candidates(value.indices, value.scores.float(), value.gallery_size)
            new = lists(value, direction)
            out[direction] = new if isinstance(new, Candidates) else value.rescored(new)
        else:
            out[direction] = dense(value.float(), direction)
    return RetrievalScores(t2i=out["t2i"], i2t=out["i2t"])


class NoRerank:
    """Leaves the strategy's scores as they are."""

    accepts = SCORE_KINDS

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        return scores


def build_none(config: object) -> NoRerank:
    """The strategy's scores, unchanged."""
    return NoRerank()
