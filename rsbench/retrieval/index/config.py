"""Options of the built-in gallery indexes (exact and faiss); light, so listing components stays fast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rsbench.errors import ConfigError
from rsbench.options import Options, option

# the options each faiss index reads; one set on another kind (nprobe on hnsw) is an error, not ignored
FAISS_OPTIONS: dict[str, frozenset[str]] = {
    "flat": frozenset({"gpu"}),
    "hnsw": frozenset({"hnsw_m", "ef_construction", "ef_search"}),
    "ivfpq": frozenset({"nlist", "pq_m", "nprobe", "train_size", "gpu"}),
}


@dataclass
class ExactIndexConfig(Options):
    """exact inner-product search in chunks: the reference, never a full queries x gallery matrix

    Exact inner-product search, chunked: never a queries x gallery matrix larger than one chunk.
    """

    gallery_chunk: int = option(65_536, "gallery vectors scored per matrix product", ge=1)
    query_batch: int = option(1_024, "queries scored per matrix product", ge=1)


@dataclass
class FaissIndexConfig(Options):
    """An approximate (or flat) faiss index over normalised embeddings, inner product = cosine.

    One class serves the three faiss names (``flat``, ``hnsw``, ``ivfpq``): the registry fills ``name``; an
    option given for another of the three (``nprobe`` on ``hnsw``) is an error (``check_options``). Defaults:
    HNSW with M 32 and efSearch 128, IVF-PQ with nlist = 4·sqrt(N) cells, 64 sub-quantisers of 8 bits and nprobe
    32 — faiss's usual starting points (its wiki's "Guidelines to choose an index"), not tuned to a paper.
    ``gpu``: ``auto`` moves flat and IVF-PQ indexes to every GPU faiss sees (HNSW has no GPU version); ``never``
    keeps them on the CPU.
    """

    name: Literal["flat", "hnsw", "ivfpq"] = option("hnsw", "flat, hnsw or ivfpq")
    hnsw_m: int = option(32, "HNSW: neighbours per node", ge=1)
    ef_construction: int = option(80, "HNSW: candidate list while building", ge=1)
    ef_search: int = option(128, "HNSW: candidate list while searching (recall vs speed)", ge=1)
    nlist: int | None = option(None, "IVF-PQ: coarse cells; null: 4 * sqrt(N)", ge=1)
    pq_m: int = option(64, "IVF-PQ: sub-quantisers (must divide the dimension)", ge=1)
    nprobe: int = option(32, "IVF-PQ: cells visited per query", ge=1)
    train_size: int = option(100_000, "IVF-PQ: vectors sampled to train the quantisers", ge=1)
    gpu: Literal["auto", "never"] = option("auto", "auto: use faiss's GPUs when present")

    @staticmethod
    def check_options(name: str, given: set[str]) -> None:
        """Options the caller set that index ``name`` does not read: an error naming the ones it does."""
        known = frozenset().union(*FAISS_OPTIONS.values())  # a misspelt key is build_options' to report
        foreign = sorted((given & known) - FAISS_OPTIONS.get(name, frozenset()))
        if foreign:
            reads = ", ".join(sorted(FAISS_OPTIONS[name])) or "none"
            raise ConfigError(f"index {name} has no option {', '.join(foreign)} (it reads: {reads})")
