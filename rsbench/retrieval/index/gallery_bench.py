"""The large-gallery benchmark behind ``rsbench bench gallery``: a million-tile archive, measured.

Real embeddings (SynthRS images and captions through a model, frozen) are hidden among ``size`` synthetic
distractors, the captions search the whole gallery through an index, and the benchmark reports the
queries per second of that search, its recall@10 against exact search, the build time and the index's
size. Distractors copy the real gallery's structure rather than filling the sphere uniformly (a uniform
cloud in 512 dimensions is a worst case no embedding model produces): each is a real image embedding plus
Gaussian noise with the real embeddings' own covariance times ``spread``² (a kernel density estimate of the
real embeddings, so the gallery keeps their low intrinsic dimension), renormalised. When
``dim`` exceeds the model's width, every vector is lifted by one fixed random orthonormal map, which keeps
all inner products. Both choices are ours (no paper fixes a distractor model) and are options.

With a reranker (``rerank_gallery``), each caption's top-``candidates`` list from the index is rescored the way a
run's reranker rescores it, and the report adds its seconds and how far the process's peak memory rose meanwhile:
rerankers work on the (Q, K) lists, so it should not rise by anything near the Q × N matrix a dense rerank
would build (``dense_matrix_bytes``). The reverse direction (the real images over the caption queries) is
small and rescored alongside, since rerankers read both.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rsbench.errors import RsbenchError
from rsbench.rss import rss_peak

CHUNK = 100_000  # distractors generated and added per step, so the peak stays near the gallery itself


@dataclass
class RealEmbeddings:
    """Normalised image embeddings (the real part of the gallery), caption embeddings and each caption's image."""

    images: np.ndarray
    captions: np.ndarray
    caption_image: np.ndarray


def lift(vectors: np.ndarray, dim: int, seed: int) -> np.ndarray:
    """Map ``vectors`` into ``dim`` dimensions with a fixed random orthonormal map (inner products unchanged)."""
    width = vectors.shape[1]
    if dim == width:
        return vectors
    if dim < width:
        raise RsbenchError(f"--dim {dim} is below the model's embedding width {width}")
    basis, _ = np.linalg.qr(np.random.default_rng([seed, 7]).normal(size=(dim, width)))
    return (vectors @ basis.T).astype(np.float32)


def kernel(real: np.ndarray, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """The distractors' noise: per-component scales and principal axes of the real embeddings' covariance."""
    centred = real - real.mean(axis=0, keepdims=True)
    _, singular, basis = np.linalg.svd(centred, full_matrices=False)
    return (singular / np.sqrt(max(1, len(real) - 1)) * spread).astype(np.float32), basis.astype(np.float32)


def distractors(real: np.ndarray, count: int, spread: float, rng: np.random.Generator,
                noise_kernel: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """``count`` unit vectors near randomly chosen real ones: a Gaussian kernel density estimate of the real
    embeddings, its kernel their own covariance times ``spread``² (see the module text). Pass ``noise_kernel``
    (from ``kernel``) when drawing many batches, so the decomposition is done once."""
    scale, basis = noise_kernel if noise_kernel is not None else kernel(real, spread)
    noise = (rng.normal(size=(count, len(scale))).astype(np.float32) * scale) @ basis
    out = real[rng.integers(0, len(real), count)] + noise
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def physical_memory() -> int | None:
    """Bytes of RAM on this machine (None where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def human_bytes(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if count < 1024 or unit == "PiB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} EiB"


def check_gallery_memory(size: int, width: int, *, allow: bool, exact_width: bool = True) -> int:
    """The bytes a ``size`` x ``width`` gallery benchmark holds at least (the gallery twice: the index under test
    and the exact reference, 4 bytes a value); an RsbenchError when that is more than this machine's memory,
    unless ``allow``. ``exact_width=False``: ``width`` is only a lower bound (the model's is not known yet)."""
    need = 2 * size * width * 4
    total = physical_memory()
    if total is not None and need > total and not allow:
        at = f"width {width}" if exact_width else f"width at least {width}"
        raise RsbenchError(f"--size {size:,} at {at} needs at least {human_bytes(need)} of memory (the gallery "
                           f"twice, index and exact reference, {size:,} x {width} x 4 bytes each), and this machine "
                           f"has {human_bytes(total)}; lower --size, or pass --allow-large to try anyway")
    return need


def gallery_benchmark(real: RealEmbeddings, size: int, index_kind: str, dim: int, k: int = 10,
                      spread: float = 1.0, seed: int = 0, options: dict[str, Any] | None = None,
                      progress=None, search_settings: list[dict[str, Any]] | None = None,
                      rerank: tuple[str, dict[str, Any]] | None = None, candidates: int = 100) -> dict[str, Any]:
    """Build a ``size``-vector gallery (real images at random places), index it and measure the search.

    ``search_settings`` (e.g. ``[{"ef_search": 32}, {"ef_search": 64}]``) measures the one built index again
    under each search-time option, for a speed-recall curve; the top-level figures are the index's own.
    ``rerank`` (a reranker's name and options) adds the ``rerank`` figures (``rerank_gallery``) over each
    query's top ``candidates``.
    """
    from rsbench.retrieval.index import make_index

    if size < len(real.images):
        raise RsbenchError(f"--size {size} is smaller than the {len(real.images)} real images it must hold")
    if k > size:
        raise RsbenchError(f"k={k} is larger than the gallery ({size})")
    images, queries = real.images, lift(real.captions, dim, seed)
    rng = np.random.default_rng(seed)
    slots = np.sort(rng.choice(size, len(images), replace=False))  # where the real images sit in the gallery
    exact = make_index("exact", dim)
    index = make_index(index_kind, dim, **(options or {}))
    build_seconds = _fill(exact, index, images, slots, size, dim, spread, rng, seed, progress)
    _, true_ids = exact.search(queries, k)
    qps, recall, ids = _measure(index, queries, true_ids, k)
    reranked = rerank_gallery(rerank, index, queries, lift(images, dim, seed), slots, size, candidates)
    curve = _search_curve(index, index_kind, queries, true_ids, k, search_settings or [])
    target = slots[real.caption_image]
    return {
        "index": index_kind,
        "size": size,
        "dim": dim,
        "real_images": len(images),
        "spread": spread,
        "queries": len(queries),
        "k": k,
        "queries_per_s": qps,
        "recall_at_10": recall,
        "true_match_in_top_k": {"index": float(np.mean([t in row for t, row in zip(target, ids, strict=True)])),
                                "exact": float(np.mean([t in row for t, row in zip(target, true_ids,
                                                                                    strict=True)]))},
        "build_seconds": build_seconds,
        "index_bytes": index.nbytes(),
        "options": options or {},
        "search_settings": curve,
        "rerank": reranked,
    }


def _fill(exact, index, images: np.ndarray, slots: np.ndarray, size: int, dim: int, spread: float,
          rng: np.random.Generator, seed: int, progress) -> float:
    """Add the gallery to both indexes, chunk by chunk: distractors drawn around the real images, which sit at
    ``slots``, all lifted to the index's width. Returns the seconds ``index`` spent adding and building."""
    build_seconds, cursor = 0.0, 0
    noise_kernel = kernel(images, spread)
    for start in range(0, size, CHUNK):
        stop = min(size, start + CHUNK)
        block = distractors(images, stop - start, spread, rng, noise_kernel)  # in the model's space, then lifted
        inside = (slots >= start) & (slots < stop)
        block[slots[inside] - start] = images[np.arange(cursor, cursor + int(inside.sum()))]
        cursor += int(inside.sum())
        block = lift(block, dim, seed)
        exact.add(block)
        began = time.perf_counter()
        index.add(block)
        build_seconds += time.perf_counter() - began
        if progress is not None:
            progress(stop)
    began = time.perf_counter()
    if hasattr(index, "build"):
        index.build()  # IVF-PQ trains here; HNSW has built while adding
    return build_seconds + time.perf_counter() - began


def _search_curve(index, index_kind: str, queries: np.ndarray, true_ids: np.ndarray, k: int,
                  settings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Speed and recall of the one built index under each search-time setting (``ef_search``, ``nprobe``)."""
    curve = []
    for setting in settings:
        for key, value in setting.items():
            if not hasattr(index.config, key):
                raise RsbenchError(f"unknown search option {key!r} for index {index_kind}")
            setattr(index.config, key, value)
        setting_qps, setting_recall, _ = _measure(index, queries, true_ids, k)
        curve.append({**setting, "queries_per_s": setting_qps, "recall_at_10": setting_recall})
    return curve


def rerank_gallery(rerank: tuple[str, dict[str, Any]] | None, index, queries: np.ndarray, images: np.ndarray,
                   slots: np.ndarray, size: int, candidates: int) -> dict[str, Any] | None:
    """Rescore each query's top-``candidates`` list with the reranker ``(name, options)``; its seconds and the
    peak resident memory while it ran, less what was resident when it began (``rsbench.rss``)."""
    if rerank is None:
        return None
    import torch

    from rsbench.retrieval.rerankers import make_reranker
    from rsbench.retrieval.scores import Candidates, RetrievalScores

    name, options = rerank
    reranker = make_reranker(name, **options)
    scores, ids = index.search(queries, candidates)
    t2i = Candidates(torch.from_numpy(np.ascontiguousarray(ids)).long(),
                     torch.from_numpy(np.ascontiguousarray(scores)).float(), size)
    reverse = torch.from_numpy(images @ queries.T)  # (real images, captions): the small direction
    i2t = Candidates.top(reverse, min(candidates, reverse.shape[1]))
    with rss_peak() as peak:  # this reranker's own peak, even after a bigger one ran in this process
        began = time.perf_counter()
        out = reranker.rerank(RetrievalScores(t2i=t2i, i2t=i2t), context=None)
        seconds = time.perf_counter() - began
    growth = peak.growth()
    if not isinstance(out.t2i, Candidates):
        raise RsbenchError(f"reranker {name} turned candidate lists into a dense matrix")
    return {"reranker": name, "options": options, "candidates": candidates, "seconds": seconds,
            "queries_per_s": len(queries) / seconds, "peak_rss_growth_bytes": int(growth),
            "dense_matrix_bytes": int(len(queries) * size * 4),
            "lists_changed": lists_changed(t2i, out.t2i)}


def lists_changed(before, after) -> float:
    """Share of queries whose reranked list differs from the list it was given (over the shorter length: a
    reranker may cut its lists, as GaLR keeps its top max(10, k))."""
    width = min(before.indices.shape[1], after.indices.shape[1])
    return float((before.indices[:, :width] != after.indices[:, :width]).any(dim=1).float().mean())


def _measure(index, queries: np.ndarray, true_ids: np.ndarray, k: int) -> tuple[float, float, np.ndarray]:
    """Queries per second of one batched search of every query, and its recall@k against ``true_ids``."""
    index.search(queries[: min(8, len(queries))], k)  # warm-up: first-call allocations are not the search
    began = time.perf_counter()
    _, ids = index.search(queries, k)
    seconds = time.perf_counter() - began
    overlap = [len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(ids, true_ids, strict=True)]
    return len(queries) / seconds, float(np.mean(overlap)), ids


def embed_dataset(sets: list[str], console, query_splits: tuple[str, ...] = ("val", "test")) -> RealEmbeddings:
    """Every image of the configured dataset (default SynthRS) and the captions of ``query_splits``, embedded
    by the configured model with its adapter frozen (``sets`` are ``--set`` overrides, e.g. backbone.name)."""
    from rsbench.config import build_config
    from rsbench.retrieval.saved_model import model_from_config

    cfg = build_config(None, {"adapter": {"name": "frozen"}, "sampler": {"name": "batch"},
                              "augmenter": {"name": "none"}}, sets)
    records = cfg.build("dataset").records
    encoder = model_from_config(cfg.to_dict(), cfg.device).encoder(cfg.eval.batch_size)
    images = encoder.images(records).embeddings.numpy()
    position = {r.image_id: i for i, r in enumerate(records)}
    asked = [(c, position[r.image_id]) for r in records if r.split in query_splits for c in r.captions]
    if not asked:
        raise RsbenchError(f"the dataset has no captions in {', '.join(query_splits)} to search with")
    texts = encoder.texts([c for c, _ in asked]).embeddings.numpy()
    return RealEmbeddings(images.astype(np.float32), texts.astype(np.float32),
                          np.asarray([i for _, i in asked], dtype=np.int64))


def benchmark_record(report: dict[str, Any], command: str) -> dict[str, Any]:
    """The report as a record (kind ``gallery-benchmark``): run id, time, versions, the CPU and the command."""
    import platform

    from rsbench.results.record import package_versions, record_header
    from rsbench.runtime import cpu_name

    try:
        import faiss

        faiss_version = faiss.__version__
    except ImportError:
        faiss_version = None
    env = package_versions() | {"device": f"cpu: {cpu_name()}", "faiss": faiss_version,
                                "python": platform.python_version()}
    return {**record_header(), "kind": "gallery-benchmark", "command": command, "report": report, "env": env}

