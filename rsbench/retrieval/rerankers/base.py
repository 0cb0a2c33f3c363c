"""The reranker contract: a strategy's scores (and what they were computed from) in, rescored scores out.

Rerankers are defined on a queries × gallery matrix. Candidate lists are rescored on their own entries: the
matrix holds them, ``mask`` says which they are, and statistics over a column use only the listed entries
(an approximation the large-gallery index will revisit; exact for dense scores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from rsbench.data.record import Record
from rsbench.retrieval.base import EvalSplit
from rsbench.retrieval.encoder import EncoderView
from rsbench.retrieval.scores import Candidates, Direction, RetrievalScores


@dataclass
class RerankContext:
    """What a reranker may consult besides the scores: the split, the encoder and the training records."""

    split: EvalSplit
    encoder: EncoderView
    train_records: Sequence[Record] = ()


# (scores (Q, N), mask of real entries (Q, N) or None when dense, direction "t2i"/"i2t") -> new scores or lists
DirectionRerank = Callable[[torch.Tensor, torch.Tensor | None, str], torch.Tensor | Candidates]


def rerank_each(scores: RetrievalScores, rerank: DirectionRerank) -> RetrievalScores:
    """Apply ``rerank`` to both directions, keeping each direction's form (dense or candidate lists)."""
    out: dict[str, Direction] = {}
    for direction, value in scores.directions().items():
        if isinstance(value, Candidates):
            matrix, mask = value.dense(fill=0.0)
            new = rerank(matrix, mask, direction)
            out[direction] = new if isinstance(new, Candidates) else value.rescored(new.gather(1, value.indices))
        else:
            out[direction] = rerank(value.float(), None, direction)
    return RetrievalScores(t2i=out["t2i"], i2t=out["i2t"])


class NoRerank:
    """Leaves the strategy's scores as they are."""

    def rerank(self, scores: RetrievalScores, context: RerankContext) -> RetrievalScores:
        return scores


def build_none(config: object) -> NoRerank:
    """The strategy's scores, unchanged."""
    return NoRerank()
