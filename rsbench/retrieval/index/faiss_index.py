"""Approximate search over large galleries with faiss: flat (exact, faiss's kernels), HNSW or IVF-PQ.

Embeddings are L2-normalised, so the inner product faiss maximises is the cosine similarity every other
part of rsbench ranks by. faiss is an optional dependency (``pip install faiss-cpu``, or faiss-gpu); the GPU
build is used for flat and IVF-PQ indexes when it sees a GPU and ``gpu`` is ``auto``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rsbench.atomic import atomic_path
from rsbench.errors import RsbenchError
from rsbench.retrieval.index.config import FaissIndexConfig
from rsbench.safe_load import artefact_error


def import_faiss():
    try:
        import faiss
    except ImportError as exc:
        raise RsbenchError("this index needs faiss: pip install faiss-cpu (or faiss-gpu), or use index exact") \
            from exc
    return faiss


class FaissIndex:
    """A faiss index behind the same add/search/save/load interface as the exact one (rsbench.hooks.specs)."""

    def __init__(self, dim: int, config: FaissIndexConfig | None = None) -> None:
        self.faiss = import_faiss()
        self.dim, self.config = int(dim), config or FaissIndexConfig()
        self.kind = self.config.name
        self.index = None
        self._pending: list[np.ndarray] = []

    @property
    def ntotal(self) -> int:
        return (self.index.ntotal if self.index is not None else 0) + sum(len(p) for p in self._pending)

    def add(self, vectors: np.ndarray) -> None:
        """Queue vectors; the index is built (and IVF-PQ trained) on the first search or save."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise RsbenchError(f"index of dimension {self.dim} cannot take vectors of shape {vectors.shape}")
        if self.index is not None and self.kind != "ivfpq":
            self.index.add(vectors)
        else:
            self._pending.append(vectors)

    def build(self) -> None:
        if not self._pending:
            return
        vectors = np.concatenate(self._pending)
        self._pending = []
        if self.index is None:
            self.index = self._new_index(len(vectors))
            if not self.index.is_trained:
                rng = np.random.default_rng(0)
                sample = vectors[rng.choice(len(vectors), min(len(vectors), self.config.train_size), replace=False)]
                self.index.train(sample)
        self.index.add(vectors)

    def _new_index(self, n: int):
        faiss, c = self.faiss, self.config
        ip = faiss.METRIC_INNER_PRODUCT
        if self.kind == "flat":
            index = faiss.IndexFlatIP(self.dim)
        elif self.kind == "hnsw":
            index = faiss.IndexHNSWFlat(self.dim, c.hnsw_m, ip)
            index.hnsw.efConstruction = c.ef_construction
        else:
            if self.dim % c.pq_m:
                raise RsbenchError(f"index.pq_m={c.pq_m} must divide the embedding dimension {self.dim}")
            nlist = c.nlist or max(1, int(4 * math.sqrt(n)))
            if n < nlist:
                raise RsbenchError(f"IVF-PQ with {nlist} cells needs at least as many vectors; got {n}")
            index = faiss.index_factory(self.dim, f"IVF{nlist},PQ{c.pq_m}", ip)
            # Polysemous training orders the PQ codes for Hamming pre-filtering, which this search never
            # uses; it costs minutes even on a few hundred vectors.
            faiss.downcast_index(faiss.extract_index_ivf(index)).do_polysemous_training = False
        if c.gpu == "auto" and self.kind != "hnsw" and hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0:
            index = faiss.index_cpu_to_all_gpus(index)
        return index

    def _tune(self) -> None:
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = self.config.ef_search
        elif self.kind == "ivfpq":
            self.faiss.extract_index_ivf(self.index).nprobe = self.config.nprobe

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.build()
        if self.index is None or self.index.ntotal == 0:
            raise RsbenchError("the index is empty: add gallery embeddings before searching")
        self._tune()
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, self.index.ntotal))
        return scores, ids.astype(np.int64)

    def nbytes(self) -> int:
        """Bytes of the serialised index (what it takes on disk and, near enough, in memory)."""
        self.build()
        return int(self.faiss.serialize_index(self._cpu()).nbytes)

    def _cpu(self):
        return self.faiss.index_gpu_to_cpu(self.index) if "Gpu" in type(self.index).__name__ else self.index

    def save(self, path: Path) -> None:
        """Write the index with faiss.write_index, atomically."""
        self.build()
        with atomic_path(Path(path)) as temp:
            self.faiss.write_index(self._cpu(), str(temp))

    def load(self, path: Path) -> FaissIndex:
        """Read the index saved at ``path`` into this one (its kind and width must be this index's); returns self."""
        try:
            index = self.faiss.read_index(str(path))
        except (RuntimeError, MemoryError) as exc:  # MemoryError: a damaged size field (std::bad_alloc)
            raise artefact_error("faiss index file", path, f"cannot be read ({_first_line(exc)})",
                                 "build the index again (rsbench index build, or the index's save())") from None
        name = type(index).__name__
        kind = "hnsw" if "HNSW" in name else "ivfpq" if "IVF" in name else "flat"
        if kind != self.kind or index.d != self.dim:
            raise RsbenchError(f"{path} holds a {index.d}-d {kind} index, not a {self.dim}-d {self.kind} one; "
                               "rebuild it, or open it as what it is")
        self.index, self._pending = index, []
        return self


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Error")), lines[0] if lines else type(exc).__name__)


def build(config: FaissIndexConfig, dim: int) -> FaissIndex:
    """An empty faiss index (flat, HNSW or IVF-PQ, by ``config.name``) for ``dim``-d normalised embeddings."""
    return FaissIndex(dim, config)
