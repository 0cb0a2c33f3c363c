"""Options of the built-in gallery indexes (exact and faiss); light, so listing components stays fast."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rsbench.errors import ConfigError

FAISS_KINDS = ("flat", "hnsw", "ivfpq")
# the options each faiss index reads; one set on another kind (nprobe on hnsw) is an error, not ignored
FAISS_OPTIONS: dict[str, frozenset[str]] = {
    "flat": frozenset({"gpu"}),
    "hnsw": frozenset({"hnsw_m", "ef_construction", "ef_search"}),
    "ivfpq": frozenset({"nlist", "pq_m", "nprobe", "train_size", "gpu"}),
}


def _positive(config: object, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"index.{name} must be a positive integer, got {value!r}")


@dataclass
class ExactIndexConfig:
    """exact inner-product search in chunks: the reference, never a full queries x gallery matrix

    Exact inner-product search, chunked: never a queries x gallery matrix larger than one chunk.
    """

    gallery_chunk: int = field(default=65_536, metadata={"help": "gallery vectors scored per matrix product"})
    query_batch: int = field(default=1_024, metadata={"help": "queries scored per matrix product"})

    def __post_init__(self) -> None:
        _positive(self, "gallery_chunk", "query_batch")


@dataclass
class FaissIndexConfig:
    """An approximate (or flat) faiss index over normalised embeddings, inner product = cosine.

    One class serves the three faiss names (``flat``, ``hnsw``, ``ivfpq``): the registry fills ``name``; an
    option given for another of the three (``nprobe`` on ``hnsw``) is an error (``check_options``). Defaults:
    HNSW with M 32 and efSearch 128, IVF-PQ with nlist = 4·sqrt(N) cells, 64 sub-quantisers of 8 bits and nprobe
    32 — faiss's usual starting points (its wiki's "Guidelines to choose an index"), not tuned to a paper.
    ``gpu``: ``auto`` moves flat and IVF-PQ indexes to every GPU faiss sees (HNSW has no GPU version); ``never``
    keeps them on the CPU.
    """

    name: Literal["flat", "hnsw", "ivfpq"] = field(default="hnsw", metadata={"help": "flat, hnsw or ivfpq"})
    hnsw_m: int = field(default=32, metadata={"help": "HNSW: neighbours per node"})
    ef_construction: int = field(default=80, metadata={"help": "HNSW: candidate list while building"})
    ef_search: int = field(default=128, metadata={"help": "HNSW: candidate list while searching (recall vs speed)"})
    nlist: int | None = field(default=None, metadata={"help": "IVF-PQ: coarse cells; null: 4 * sqrt(N)"})
    pq_m: int = field(default=64, metadata={"help": "IVF-PQ: sub-quantisers (must divide the dimension)"})
    nprobe: int = field(default=32, metadata={"help": "IVF-PQ: cells visited per query"})
    train_size: int = field(default=100_000, metadata={"help": "IVF-PQ: vectors sampled to train the quantisers"})
    gpu: Literal["auto", "never"] = field(default="auto", metadata={"help": "auto: use faiss's GPUs when present"})

    @staticmethod
    def check_options(name: str, given: set[str]) -> None:
        """Options the caller set that index ``name`` does not read: an error naming the ones it does."""
        known = frozenset().union(*FAISS_OPTIONS.values())  # a misspelt key is build_options' to report
        foreign = sorted((given & known) - FAISS_OPTIONS.get(name, frozenset()))
        if foreign:
            reads = ", ".join(sorted(FAISS_OPTIONS[name])) or "none"
            raise ConfigError(f"index {name} has no option {', '.join(foreign)} (it reads: {reads})")

    def __post_init__(self) -> None:
        if self.name not in FAISS_KINDS:
            raise ConfigError(f"a faiss index is one of {', '.join(FAISS_KINDS)}, got {self.name!r}")
        _positive(self, "hnsw_m", "ef_construction", "ef_search", "pq_m", "nprobe", "train_size")
        if self.nlist is not None:
            _positive(self, "nlist")
        if self.gpu not in ("auto", "never"):
            raise ConfigError(f"index.gpu must be auto or never, got {self.gpu!r}")
