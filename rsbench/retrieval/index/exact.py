"""Exact top-k inner-product search over a gallery of normalised embeddings, in chunks.

A million 512-d vectors are 2 GB; their similarity to a thousand queries would be 4 GB more. This index
keeps the gallery and scores one (query batch x gallery chunk) block at a time, merging each block's top k
into the running top k, so memory stays at the gallery plus one block. Ties rank the lower gallery id first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rsbench.atomic import write_atomically
from rsbench.errors import RsbenchError
from rsbench.retrieval.index.config import ExactIndexConfig
from rsbench.safe_load import artefact_error, read_npy

EXACT_FORMAT = "rsbench-exact-index-1"


class ExactIndex:
    """Brute-force search: the reference every approximate index is measured against."""

    kind = "exact"

    def __init__(self, dim: int, config: ExactIndexConfig | None = None) -> None:
        self.dim, self.config = int(dim), config or ExactIndexConfig()
        self._parts: list[np.ndarray] = []
        self._gallery: np.ndarray | None = None

    @property
    def ntotal(self) -> int:
        return sum(len(p) for p in self._parts) if self._gallery is None else len(self._gallery)

    @property
    def gallery(self) -> np.ndarray:
        if self._gallery is None:
            self._gallery = np.concatenate(self._parts) if self._parts else np.zeros((0, self.dim), np.float32)
            self._parts = []
        return self._gallery

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise RsbenchError(f"index of dimension {self.dim} cannot take vectors of shape {vectors.shape}")
        if self._gallery is not None:
            self._parts, self._gallery = [self._gallery], None
        self._parts.append(vectors)

    def nbytes(self) -> int:
        return int(self.gallery.nbytes)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and gallery ids of each query's k best matches, best first: (Q, k) float32 and int64."""
        gallery = torch.from_numpy(self.gallery)
        queries = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32))
        k = min(k, len(gallery))
        scores_out, ids_out = [], []
        for q0 in range(0, len(queries), self.config.query_batch):
            q = queries[q0 : q0 + self.config.query_batch]
            best_s = torch.full((len(q), 0), -torch.inf)
            best_i = torch.zeros((len(q), 0), dtype=torch.int64)
            for g0 in range(0, len(gallery), self.config.gallery_chunk):
                block = q @ gallery[g0 : g0 + self.config.gallery_chunk].T
                s, i = torch.topk(block, min(k, block.shape[1]), dim=1, sorted=False)
                best_s, best_i = _merge(best_s, best_i, s, i + g0, k)
            scores_out.append(best_s)
            ids_out.append(best_i)
        return torch.cat(scores_out).numpy(), torch.cat(ids_out).numpy()

    def save(self, path: Path) -> None:
        """Write the gallery as ``.npy`` at ``path``, atomically (a temporary file renamed into place)."""
        write_atomically(Path(path), lambda handle: np.save(handle, self.gallery, allow_pickle=False))

    def load(self, path: Path) -> ExactIndex:
        """Read the gallery saved at ``path`` into this index (replacing what it held); returns self."""
        fix = "build the index again (rsbench index build, or the index's save())"
        gallery = read_npy(path, "exact index file", fix, mmap_mode="r", ndim=2)
        if gallery.shape[1] != self.dim or gallery.dtype.kind != "f":
            raise artefact_error("exact index file", path, f"holds {gallery.dtype} vectors of shape {gallery.shape}, "
                                 f"not float vectors of width {self.dim}", fix)
        self._parts, self._gallery = [], np.array(gallery, dtype=np.float32)  # a writable copy in memory
        return self


def build(config: ExactIndexConfig, dim: int) -> ExactIndex:
    """An empty exact (chunked brute-force) index for ``dim``-d normalised embeddings."""
    return ExactIndex(dim, config)


def _merge(s1: torch.Tensor, i1: torch.Tensor, s2: torch.Tensor, i2: torch.Tensor,
           k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k best of two candidate lists, sorted by score (desc) then id (asc)."""
    scores, ids = torch.cat([s1, s2], dim=1), torch.cat([i1, i2], dim=1)
    by_id = torch.argsort(ids, dim=1, stable=True)  # a stable sort by score after one by id breaks ties by id
    scores, ids = scores.gather(1, by_id), ids.gather(1, by_id)
    order = torch.argsort(-scores, dim=1, stable=True)[:, :k]
    return scores.gather(1, order), ids.gather(1, order)
