"""Rerankers against hand-written loop references on small matrices, dense and on candidate lists."""

from __future__ import annotations

import math
import random

import pytest
import torch

from rsbench.retrieval.rerankers.base import NoRerank
from rsbench.retrieval.rerankers.csls import csls
from rsbench.retrieval.rerankers.dual_softmax import dual_softmax
from rsbench.retrieval.rerankers.galr import galr_rerank
from rsbench.retrieval.rerankers.qb_norm import BankStatistics, querybank_normalise
from rsbench.retrieval.scores import RetrievalScores


def matrix(seed: int, rows: int = 6, cols: int = 5) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-0.2, 1.0) for _ in range(cols)] for _ in range(rows)]


def ref_dual_softmax(s: list[list[float]], tau: float) -> list[list[float]]:
    out = [[0.0] * len(s[0]) for _ in s]
    for g in range(len(s[0])):
        column = [math.exp(tau * s[q][g]) for q in range(len(s))]
        for q in range(len(s)):
            out[q][g] = s[q][g] * column[q] / sum(column)
    return out


def ref_csls(s: list[list[float]], k: int) -> list[list[float]]:
    rows = [sum(sorted(r, reverse=True)[:k]) / min(k, len(r)) for r in s]
    columns = [sorted((s[q][g] for q in range(len(s))), reverse=True)[:k] for g in range(len(s[0]))]
    col_means = [sum(c) / len(c) for c in columns]
    return [[2 * s[q][g] - rows[q] - col_means[g] for g in range(len(s[0]))] for q in range(len(s))]


def ref_qb_norm(s, bank, beta, k):
    activated = set()
    for b in bank:
        activated |= set(sorted(range(len(b)), key=lambda g: -b[g])[:k])
    out = []
    for row in s:
        top = sorted(range(len(row)), key=lambda g: -row[g])[:k]
        if all(g in activated for g in top):
            out.append([math.log(math.exp(beta * row[g]) / sum(math.exp(beta * b[g]) for b in bank))
                        for g in range(len(row))])
        else:
            out.append(list(row))
    return out


def ref_galr(s, k, wp1, wp2):
    """GaLR's i2t_rerank_optim, written from its description: {query: {item: new score}} for the top k."""
    n_q, n_g = len(s), len(s[0])
    k = min(max(10, k), n_g)
    out = {}
    for q in range(n_q):
        top = sorted(range(n_g), key=lambda g: (-s[q][g], g))[:k]
        new = {}
        for r, g in enumerate(top):
            new[g] = wp1 * s[q][g] / sum(s[x][g] for x in range(n_q)) + math.exp(-0.05 * (r + 1))
        # where q stands among all queries when g is the query
        reverse = {g: sorted(range(n_q), key=lambda x: (-s[x][g], x)).index(q) for g in top}
        for position, g in enumerate(sorted(top, key=lambda g: (reverse[g], top.index(g)))):
            new[g] += wp2 * math.exp(-0.05 * (position + 1))
        out[q] = new
    return out


def stats(bank: torch.Tensor, k: int, beta: float = 20.0, block: int = 1) -> BankStatistics:
    """The bank's statistics folded in ``block`` rows at a time, as bank_statistics does."""
    out = BankStatistics.empty(bank.shape[1])
    for start in range(0, bank.shape[0], block):
        out.add(bank[start : start + block], beta, k)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_dual_softmax_matches_reference(seed):
    s = matrix(seed)
    got = dual_softmax(torch.tensor(s, dtype=torch.float64), 7.0)
    for row, expected in zip(got.tolist(), ref_dual_softmax(s, 7.0), strict=True):
        assert row == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [1, 3, 10])
def test_csls_matches_reference(seed, k):
    s = matrix(seed)
    got = csls(torch.tensor(s, dtype=torch.float64), k)
    for row, expected in zip(got.tolist(), ref_csls(s, k), strict=True):
        assert row == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [1, 2])
def test_qb_norm_matches_reference(seed, k):
    s, bank = matrix(seed), matrix(seed + 100, rows=4)
    got = querybank_normalise(torch.tensor(s, dtype=torch.float64), stats(torch.tensor(bank, dtype=torch.float64), k),
                              beta=20.0, k=k, activation="topk")  # ref_qb_norm is the whole-top-k reading
    for row, expected in zip(got.tolist(), ref_qb_norm(s, bank, 20.0, k), strict=True):
        assert row == pytest.approx(expected)


def test_qb_norm_touches_only_queries_whose_top_item_is_activated():
    s = torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]], dtype=torch.float64)
    bank = torch.tensor([[0.8, 0.2, 0.1]], dtype=torch.float64)  # activates item 0 only
    got = querybank_normalise(s, stats(bank, 1), beta=20.0, k=1)
    assert torch.equal(got[1], s[1]) and not torch.equal(got[0], s[0])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("rows", "cols", "k"), [(6, 14, 12), (12, 5, 30), (15, 15, 3)])
def test_galr_matches_reference(seed, rows, cols, k):
    s = matrix(seed, rows, cols)
    got = galr_rerank(torch.tensor(s, dtype=torch.float64), k, wp1=1.0, wp2=0.7)
    expected = ref_galr(s, k, 1.0, 0.7)
    for q in range(rows):
        listed = dict(zip(got.indices[q].tolist(), got.scores[q].tolist(), strict=True))
        assert listed.keys() == expected[q].keys()
        for g, value in expected[q].items():
            assert listed[g] == pytest.approx(value)
        assert got.scores[q].tolist() == sorted(got.scores[q].tolist(), reverse=True)


def test_none_returns_the_scores_unchanged():
    scores = RetrievalScores.from_similarity(torch.rand(3, 2))
    assert NoRerank().rerank(scores, None) is scores
