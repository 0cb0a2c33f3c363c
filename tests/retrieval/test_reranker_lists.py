"""Rerankers on candidate lists: computed from the (Q, K) lists alone, equal to the dense rerank when the lists
hold the whole gallery, and equal to hand-written loop references of the list reading when they do not."""

from __future__ import annotations

import math

import pytest
import torch

from rsbench.hooks import get_registry
from rsbench.hooks.manager import BUILTIN_NAME
from rsbench.retrieval.base import EvalSplit
from rsbench.retrieval.rerankers.base import RerankContext
from rsbench.retrieval.rerankers.columns import column_logsumexp, column_ranks, column_top_k_mean
from rsbench.retrieval.scores import Candidates, RetrievalScores
from rsbench.testing import toy_dataset
from rsbench.testing.retrieval import _FixedEncoder

IMAGES, CAPTIONS = 9, 13
RERANKERS = [c.name for c in get_registry("reranker").list() if c.source == BUILTIN_NAME]


def setting():
    split = EvalSplit(records=[None] * IMAGES, captions=[f"c{i}" for i in range(CAPTIONS)],
                      caption_to_image=[c % IMAGES for c in range(CAPTIONS)])
    encoder = _FixedEncoder(IMAGES, CAPTIONS)
    dense = encoder.texts(split.captions).embeddings @ encoder.images(split.records).embeddings.t()
    return RerankContext(split, encoder, toy_dataset().split("train")), dense


def build(name: str, **options):
    component = get_registry("reranker").get(name)
    return component.build(component.config_cls(**options))


def entries(direction) -> dict[tuple[int, int], float]:
    """{(query, item): score} of a dense matrix or of candidate lists."""
    if isinstance(direction, Candidates):
        return {(q, int(g)): float(v) for q in range(direction.indices.shape[0])
                for g, v in zip(direction.indices[q], direction.scores[q], strict=True)}
    return {(q, g): float(direction[q, g]) for q in range(direction.shape[0]) for g in range(direction.shape[1])}


def ranking(direction) -> list[list[int]]:
    if isinstance(direction, Candidates):
        return direction.indices.tolist()
    return torch.sort(direction, dim=1, descending=True, stable=True).indices.tolist()


@pytest.mark.parametrize("name", RERANKERS)
def test_lists_of_the_whole_gallery_rerank_like_the_dense_matrix(name):
    context, dense = setting()
    reranker = build(name)
    full = reranker.rerank(RetrievalScores.from_similarity(dense), context)
    lists = reranker.rerank(RetrievalScores(t2i=Candidates.top(dense, IMAGES), i2t=Candidates.top(dense.t(), CAPTIONS)),
                            context)
    for direction in ("t2i", "i2t"):
        want, got = getattr(full, direction), getattr(lists, direction)
        assert isinstance(got, Candidates)
        assert got.indices.tolist() == ranking(want)  # the same order, ties included
        expected = entries(want)
        assert entries(got) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_qb_norm_on_short_lists_is_the_dense_rerank_restricted_to_the_lists():
    context, dense = setting()
    reranker = build("qb-norm")
    full = reranker.rerank(RetrievalScores.from_similarity(dense), context)
    lists = reranker.rerank(RetrievalScores(t2i=Candidates.top(dense, 4), i2t=Candidates.top(dense.t(), 4)), context)
    for direction in ("t2i", "i2t"):
        want = entries(getattr(full, direction))
        got = entries(getattr(lists, direction))
        assert got == pytest.approx({key: want[key] for key in got}, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", [n for n in RERANKERS if n != "none"])
def test_no_reranker_spreads_lists_into_a_queries_by_gallery_matrix(monkeypatch, name):
    context, dense = setting()

    def refuse(*args, **kwargs):
        raise AssertionError("candidate lists were densified")

    monkeypatch.setattr(Candidates, "dense", refuse)
    real_full = torch.full

    def no_gallery_wide_matrix(size, *args, **kwargs):
        assert not (len(size) == 2 and size[1] in (IMAGES, CAPTIONS) and size[0] in (IMAGES, CAPTIONS)), size
        return real_full(size, *args, **kwargs)

    monkeypatch.setattr(torch, "full", no_gallery_wide_matrix)
    out = build(name).rerank(RetrievalScores(t2i=Candidates.top(dense, 3), i2t=Candidates.top(dense.t(), 3)),
                             context)
    assert isinstance(out.t2i, Candidates) and out.t2i.indices.shape == (CAPTIONS, 3)


# Loop references of the list reading: an item's column statistics run over the queries whose list holds it.

def short_lists(seed: int = 0, queries: int = 7, gallery: int = 6, k: int = 3) -> tuple[torch.Tensor, Candidates]:
    s = torch.rand(queries, gallery, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return s, Candidates.top(s, k)


def listing(lists: Candidates, g: int) -> list[int]:
    return [q for q in range(lists.indices.shape[0]) if g in lists.indices[q].tolist()]


@pytest.mark.parametrize("seed", range(3))
def test_dual_softmax_on_lists_matches_the_loop_reference(seed):
    s, lists = short_lists(seed)
    got = entries(build("dual-softmax", inverse_temperature=5.0).rerank(RetrievalScores(lists, lists), None).t2i)
    expected = {}
    for q, g in got:
        total = sum(math.exp(5.0 * float(s[x, g])) for x in listing(lists, g))
        expected[q, g] = float(s[q, g]) * math.exp(5.0 * float(s[q, g])) / total
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)  # lists are rescored in float32


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [1, 2, 10])
def test_csls_on_lists_matches_the_loop_reference(seed, k):
    s, lists = short_lists(seed)
    got = entries(build("csls", k=k).rerank(RetrievalScores(lists, lists), None).t2i)
    expected = {}
    for q, g in got:
        row = sorted((float(v) for v in lists.scores[q]), reverse=True)[:k]
        column = sorted((float(s[x, g]) for x in listing(lists, g)), reverse=True)[:k]
        expected[q, g] = 2 * float(s[q, g]) - sum(row) / len(row) - sum(column) / len(column)
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)  # lists are rescored in float32


@pytest.mark.parametrize("seed", range(3))
def test_galr_on_lists_matches_the_loop_reference(seed):
    s, lists = short_lists(seed, queries=8, gallery=14, k=12)
    got = entries(build("galr").rerank(RetrievalScores(lists, lists), None).t2i)
    expected = {}
    for q in range(8):
        top = lists.indices[q].tolist()  # max(10, k=30) capped at the lists' 12: all, best first
        reverse = {g: sorted(listing(lists, g), key=lambda x, g=g: (-float(s[x, g]), x)).index(q) for g in top}
        by_reverse = sorted(top, key=lambda g: (reverse[g], top.index(g)))
        for r, g in enumerate(top):
            column = sum(float(s[x, g]) for x in listing(lists, g))
            expected[q, g] = (float(s[q, g]) / column + math.exp(-0.05 * (r + 1))
                              + 0.7 * math.exp(-0.05 * (by_reverse.index(g) + 1)))
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)  # lists are rescored in float32


def test_column_statistics_match_loops():
    s, lists = short_lists(4, queries=9, gallery=7, k=3)
    values = lists.scores
    lse, mean2 = column_logsumexp(lists, values), column_top_k_mean(lists, values, 2)
    ranks = column_ranks(lists, values)
    for g in range(7):
        who = listing(lists, g)
        column = sorted((float(s[x, g]) for x in who), reverse=True)
        if not who:
            assert lse[g] == float("-inf") and mean2[g] == 0
            continue
        assert float(lse[g]) == pytest.approx(math.log(sum(math.exp(v) for v in column)))
        assert float(mean2[g]) == pytest.approx(sum(column[:2]) / len(column[:2]))
    for q in range(9):
        for slot, g in enumerate(lists.indices[q].tolist()):
            order = sorted(listing(lists, g), key=lambda x, g=g: (-float(s[x, g]), x))
            assert int(ranks[q, slot]) == order.index(q)


def test_the_older_rerank_each_still_serves_plugins_written_against_it():
    from rsbench.retrieval.rerankers.base import rerank_directions, rerank_each
    from rsbench.retrieval.rerankers.columns import column_count, column_sum

    _, lists = short_lists(2, queries=6, gallery=5, k=2)

    def masked_centre(matrix, mask, _direction):  # a plugin's function of the older form
        listed = mask.double()
        return matrix - (matrix * listed).sum(dim=0) / listed.sum(dim=0).clamp(min=1)

    def centre(candidates, _direction):
        mean = column_sum(candidates, candidates.scores) / column_count(candidates).clamp(min=1)
        return candidates.scores - mean[candidates.indices]

    old = rerank_each(RetrievalScores(lists, lists), masked_centre).t2i
    new = rerank_directions(RetrievalScores(lists, lists), lambda m, _d: m, centre).t2i
    assert torch.equal(old.indices, new.indices) and torch.allclose(old.scores.float(), new.scores)
