"""Gallery indexes against brute force: exact top-k (ties included), faiss flat/HNSW/IVF-PQ, saving and loading,
the large-gallery benchmark's bookkeeping and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from rsbench.errors import RsbenchError
from rsbench.retrieval.index import make_index
from rsbench.retrieval.index.exact import ExactIndex
from rsbench.retrieval.index.gallery_bench import RealEmbeddings, distractors, gallery_benchmark, lift

faiss = pytest.importorskip("faiss")


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(rng: np.random.Generator, n: int, d: int, centres: int = 50) -> np.ndarray:
    base = unit(rng, centres, d)
    x = base[rng.integers(0, centres, n)] + 0.3 * rng.normal(size=(n, d)).astype(np.float32) / np.sqrt(d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def brute_force(queries: np.ndarray, gallery: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ gallery.T
    return np.array([sorted(range(len(gallery)), key=lambda j, row=row: (-row[j], j))[:k] for row in scores])


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(found, truth, strict=True)]))


def test_exact_index_equals_brute_force_across_chunks_with_ties_to_the_lower_id():
    rng = np.random.default_rng(0)
    gallery = unit(rng, 700, 16)
    gallery[[10, 400, 650]] = gallery[5]  # exact duplicates of item 5: ties broken by id
    queries = np.concatenate([gallery[[5]], unit(rng, 40, 16)])
    index = ExactIndex(16)
    index.config.gallery_chunk, index.config.query_batch = 97, 7  # many blocks, ragged ends
    index.add(gallery[:300])
    index.add(gallery[300:])
    scores, ids = index.search(queries, 12)
    assert (ids == brute_force(queries, gallery, 12)).all()
    assert ids[0, :4].tolist() == [5, 10, 400, 650]
    assert np.allclose(scores, np.take_along_axis(queries @ gallery.T, ids, axis=1), atol=1e-6)
    assert (np.diff(scores, axis=1) <= 1e-7).all()


def test_faiss_flat_is_exact_and_hnsw_recalls_at_least_95_percent():
    rng = np.random.default_rng(1)
    gallery, queries = clustered(rng, 5000, 32), clustered(rng, 200, 32)
    truth = make_index("exact", 32)
    truth.add(gallery)
    _, true_ids = truth.search(queries, 10)
    flat = make_index("flat", 32)
    flat.add(gallery)
    assert recall(flat.search(queries, 10)[1], true_ids) == 1.0
    hnsw = make_index("hnsw", 32)  # the defaults: M 32, efSearch 128
    hnsw.add(gallery)
    assert recall(hnsw.search(queries, 10)[1], true_ids) >= 0.95
    low = make_index("hnsw", 32, ef_search=1, hnsw_m=2)  # a crippled graph must lose recall: the check can fail
    low.add(gallery)
    assert recall(low.search(queries, 10)[1], true_ids) < recall(hnsw.search(queries, 10)[1], true_ids)


def test_ivfpq_trains_compresses_and_finds_neighbours():
    rng = np.random.default_rng(2)
    gallery, queries = clustered(rng, 4000, 32), clustered(rng, 100, 32)
    truth = make_index("exact", 32)
    truth.add(gallery)
    ivf = make_index("ivfpq", 32, nlist=16, pq_m=8, nprobe=16)
    ivf.add(gallery)
    _, ids = ivf.search(queries, 10)
    assert ids.shape == (100, 10) and ids.min() >= 0
    assert recall(ids, truth.search(queries, 10)[1]) > 0.3  # product quantisation is lossy, never random
    assert ivf.nbytes() < truth.nbytes() / 4


@pytest.mark.parametrize("kind", ["exact", "flat", "hnsw"])
def test_saved_index_searches_the_same_and_leaves_no_temporary_file(tmp_path, kind):
    rng = np.random.default_rng(3)
    gallery, queries = unit(rng, 500, 8), unit(rng, 20, 8)
    index = make_index(kind, 8)
    index.add(gallery)
    path = tmp_path / "gallery.index"
    index.save(path)
    loaded = make_index(kind, 8).load(path)
    assert (loaded.search(queries, 5)[1] == index.search(queries, 5)[1]).all()
    assert [p.name for p in tmp_path.iterdir()] == ["gallery.index"]
    other = "flat" if kind == "hnsw" else "hnsw"
    with pytest.raises(RsbenchError, match="rebuild|build the index again"):  # another kind
        make_index(other, 8).load(path)
    with pytest.raises(RsbenchError, match="width 16|not a 16-d"):
        make_index(kind, 16).load(path)


def test_indexes_resolve_through_the_registry_and_a_plugin_index_is_used_by_name(monkeypatch):
    import torch

    from rsbench.hooks import get_registry
    from rsbench.registry import Component, NoOptions
    from rsbench.retrieval.index.shortlist import shortlist

    registry = get_registry("index")
    assert {"exact", "flat", "hnsw", "ivfpq"} <= set(registry.names())
    built = []

    def plugin_index(config, dim):
        built.append(dim)
        return ExactIndex(dim)

    monkeypatch.setitem(registry.entries, "plugin-exact", Component("index", "plugin-exact", plugin_index, NoOptions))
    queries, gallery = torch.nn.functional.normalize(torch.randn(5, 8), dim=1), torch.randn(9, 8)
    found = shortlist(queries, gallery, 3, index="plugin-exact")  # what strategy.index does with the name
    assert built == [8] and torch.equal(found.indices, (queries @ gallery.t()).topk(3, dim=1).indices)
    with pytest.raises(RsbenchError, match="unknown index 'hnws'. Did you mean: hnsw.*Registered indexes: exact"):
        make_index("hnws", 8)
    with pytest.raises(RsbenchError, match="index.ef_serch"):
        make_index("hnsw", 8, ef_serch=3)
    with pytest.raises(RsbenchError, match=r"index hnsw has no option nprobe \(it reads: ef_construction"):
        make_index("hnsw", 8, nprobe=3)  # an option of another faiss index is refused, not ignored
    with pytest.raises(RsbenchError, match="index flat has no option ef_search"):
        make_index("flat", 8, ef_search=3)
    assert make_index("ivfpq", 8, nprobe=3, pq_m=4).config.nprobe == 3


def test_strategy_index_options_reach_the_index_and_are_checked(monkeypatch):
    import torch

    from rsbench.config import build_config
    from rsbench.retrieval import index as index_module
    from rsbench.retrieval.index.shortlist import shortlist

    seen = []
    real = index_module.make_index

    def spy(name, dim, **options):
        seen.append((name, options))
        return real(name, dim, **options)

    monkeypatch.setattr(index_module, "make_index", spy)
    queries, gallery = torch.nn.functional.normalize(torch.randn(5, 8), dim=1), torch.randn(40, 8)
    shortlist(queries, gallery, 3, index="hnsw", index_options={"ef_search": 7})
    assert seen == [("hnsw", {"ef_search": 7})]
    cfg = build_config(None, {}, ["strategy.index=hnsw", "strategy.candidates=10",
                                  "strategy.index_options.ef_search=64"])
    assert cfg.components["strategy"][1].index_options == {"ef_search": 64}
    with pytest.raises(RsbenchError, match="index hnsw has no option nprobe"):
        build_config(None, {}, ["strategy.index=hnsw", "strategy.index_options.nprobe=64"])
    with pytest.raises(RsbenchError, match="^strategy.index_options.nprobe must be >= 1; got 0$"):
        build_config(None, {}, ["strategy.name=fast-then-fine", "strategy.index=ivfpq",
                                "strategy.index_options.nprobe=0"])


def test_bad_index_requests_are_clear_errors():
    with pytest.raises(RsbenchError, match="unknown index"):
        make_index("annoy", 8)
    index = make_index("hnsw", 8)
    with pytest.raises(RsbenchError, match="dimension 8"):
        index.add(np.zeros((3, 16), np.float32))
    with pytest.raises(RsbenchError, match="empty"):
        index.search(np.zeros((1, 8), np.float32), 1)
    ivf = make_index("ivfpq", 12, pq_m=5, nlist=2)
    ivf.add(np.ones((10, 12), np.float32))
    with pytest.raises(RsbenchError, match="must divide"):
        ivf.search(np.ones((1, 12), np.float32), 1)


def test_lift_keeps_inner_products_and_distractors_are_unit_vectors_near_the_real_ones():
    rng = np.random.default_rng(4)
    real = clustered(rng, 300, 16, centres=5)
    lifted = lift(real, 64, seed=0)
    assert np.allclose(lifted @ lifted.T, real @ real.T, atol=1e-5)
    fake = distractors(real, 1000, 0.5, rng)
    assert np.allclose(np.linalg.norm(fake, axis=1), 1.0, atol=1e-5)
    nearest_real = (fake @ real.T).max(axis=1)
    assert np.median(nearest_real) > np.median((unit(rng, 1000, 16) @ real.T).max(axis=1))


def test_gallery_benchmark_hides_the_real_images_and_scores_against_exact_search():
    rng = np.random.default_rng(5)
    images = clustered(rng, 60, 16, centres=6)
    captions = images[np.arange(60).repeat(2)] + 0.05 * rng.normal(size=(120, 16)).astype(np.float32)
    captions /= np.linalg.norm(captions, axis=1, keepdims=True)
    real = RealEmbeddings(images, captions.astype(np.float32), np.arange(60).repeat(2))
    exact = gallery_benchmark(real, 3000, "exact", 32)
    assert exact["recall_at_10"] == 1.0 and exact["size"] == 3000 and exact["dim"] == 32
    assert exact["true_match_in_top_k"]["index"] == exact["true_match_in_top_k"]["exact"] > 0.5
    hnsw = gallery_benchmark(real, 3000, "hnsw", 32, search_settings=[{"ef_search": 1}, {"ef_search": 256}])
    assert hnsw["recall_at_10"] >= 0.95 and hnsw["queries_per_s"] > 0 and hnsw["index_bytes"] > 3000 * 32 * 4
    low, high = hnsw["search_settings"]
    assert low["ef_search"] == 1 and low["recall_at_10"] < high["recall_at_10"]  # the setting reached the index
    with pytest.raises(RsbenchError, match="smaller than"):
        gallery_benchmark(real, 10, "exact", 32)
    with pytest.raises(RsbenchError, match="below the model"):
        gallery_benchmark(real, 3000, "exact", 8)


def test_gallery_benchmark_reranks_the_index_lists_without_densifying_them(monkeypatch):
    from rsbench.retrieval.scores import Candidates

    def refuse(*args, **kwargs):
        raise AssertionError("candidate lists were spread into a queries x gallery matrix")

    monkeypatch.setattr(Candidates, "dense", refuse)
    rng = np.random.default_rng(6)
    images = clustered(rng, 60, 16, centres=6)
    captions = images[np.arange(60).repeat(2)] + 0.05 * rng.normal(size=(120, 16)).astype(np.float32)
    captions /= np.linalg.norm(captions, axis=1, keepdims=True)
    real = RealEmbeddings(images, captions.astype(np.float32), np.arange(60).repeat(2))
    report = gallery_benchmark(real, 3000, "exact", 32, rerank=("csls", {"k": 5}), candidates=50)["rerank"]
    assert report["reranker"] == "csls" and report["candidates"] == 50 and report["seconds"] > 0
    assert report["dense_matrix_bytes"] == 120 * 3000 * 4
    assert 0 < report["lists_changed"] <= 1  # CSLS moved hubs: the lists were really rescored
    galr = gallery_benchmark(real, 3000, "exact", 32, rerank=("galr", {}), candidates=50)["rerank"]
    assert galr["lists_changed"] > 0  # GaLR cuts each list to its top max(10, k) and reorders it
    none = gallery_benchmark(real, 3000, "exact", 32, rerank=("none", {}), candidates=50)["rerank"]
    assert none["lists_changed"] == 0
    assert gallery_benchmark(real, 3000, "exact", 32)["rerank"] is None


def test_a_faiss_index_without_faiss_installed_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "faiss", None)  # as if faiss-cpu were not installed
    with pytest.raises(RsbenchError, match="pip install faiss-cpu"):
        make_index("hnsw", 8)
    assert make_index("exact", 8).ntotal == 0  # exact search needs no faiss
