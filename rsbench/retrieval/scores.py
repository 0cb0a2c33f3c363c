"""What a retrieval strategy hands back: per direction, a dense score matrix or top-k candidate lists.

Text→image scores have one row per caption over the images; image→text scores one row per image over the
captions. A dense matrix scores the whole gallery; :class:`Candidates` only a shortlist, and a true match
missing from a shortlist is a miss (rsbench.metrics), never a hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rsbench.errors import RsbenchError


@dataclass
class Candidates:
    """The best ``k`` gallery items of each query: ``indices`` (Q, k) int64 and ``scores`` (Q, k), best first."""

    indices: torch.Tensor
    scores: torch.Tensor
    gallery_size: int

    def __post_init__(self) -> None:
        if self.indices.shape != self.scores.shape or self.indices.dim() != 2:
            raise RsbenchError(
                f"candidates need indices and scores of one (queries, k) shape; got {tuple(self.indices.shape)} "
                f"and {tuple(self.scores.shape)}"
            )
        if self.indices.is_floating_point():
            raise RsbenchError(f"candidate indices must be integers, got dtype {self.indices.dtype}")
        if self.indices.numel() and (int(self.indices.min()) < 0 or int(self.indices.max()) >= self.gallery_size):
            raise RsbenchError(f"candidate indices must lie in 0..{self.gallery_size - 1} (the gallery)")

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])

    @classmethod
    def top(cls, scores: torch.Tensor, k: int) -> Candidates:
        """The top ``k`` of a dense (Q, N) block, best first."""
        values, indices = scores.topk(min(k, scores.shape[1]), dim=1)
        return cls(indices, values, int(scores.shape[1]))

    def dense(self, fill: float = float("-inf")) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q, N) scores with ``fill`` off the lists, and the (Q, N) mask of listed entries."""
        n_queries = self.indices.shape[0]
        matrix = torch.full((n_queries, self.gallery_size), fill, dtype=self.scores.dtype)
        mask = torch.zeros((n_queries, self.gallery_size), dtype=torch.bool)
        matrix.scatter_(1, self.indices, self.scores)
        mask.scatter_(1, self.indices, True)
        return matrix, mask

    def rescored(self, scores: torch.Tensor) -> Candidates:
        """The same lists with new scores, re-sorted best first (stable, so ties keep the list's order)."""
        order = torch.sort(scores, dim=1, descending=True, stable=True).indices
        return Candidates(self.indices.gather(1, order), scores.gather(1, order), self.gallery_size)


Direction = torch.Tensor | Candidates


@dataclass
class RetrievalScores:
    """Scores of both directions: ``t2i`` (captions over images) and ``i2t`` (images over captions)."""

    t2i: Direction
    i2t: Direction

    @classmethod
    def from_similarity(cls, similarity: torch.Tensor) -> RetrievalScores:
        """Both directions from one captions × images matrix (dual-stream's case)."""
        return cls(t2i=similarity, i2t=similarity.t())

    def directions(self) -> dict[str, Direction]:
        return {"t2i": self.t2i, "i2t": self.i2t}
