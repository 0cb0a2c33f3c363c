"""Rerankers and strategies against their authors' formulas, on hand-made score matrices where our earlier
readings and the authors' differ (issue 24)."""

from __future__ import annotations

import math

import pytest
import torch

from rsbench.retrieval.rerankers.qb_norm import BankStatistics, querybank_normalise, querybank_normalise_lists
from rsbench.retrieval.scores import Candidates


def reference_qb_norm(bank: list[list[float]], scores: list[list[float]], beta: float, k: int) -> list[list[float]]:
    """A transcription of ``qb_norm`` in ioanacroi/qb-norm's dynamic_inverted_softmax.py: the activated set is
    the union of every bank row's top k (``get_retrieved_videos``); a query whose argmax (top-1) is in it
    (``get_index_to_normalize``) gets exp(β s) / Σ_bank exp(β S_B) per column, the others keep their scores."""
    activated = {g for row in bank for g in sorted(range(len(row)), key=lambda g: -row[g])[:k]}
    mass = [sum(math.exp(beta * row[g]) for row in bank) for g in range(len(bank[0]))]
    out = []
    for row in scores:
        top1 = max(range(len(row)), key=lambda g: row[g])
        out.append([math.exp(beta * row[g]) / mass[g] for g in range(len(row))] if top1 in activated else list(row))
    return out


# Bank (2 queries x 5 items) with k = 2 activates items {0, 1, 2}. Query 0's top 2 are {0, 3}: its top-1 is
# activated, its top-2 is not, so the authors normalise it and the whole-top-k reading does not.
BANK = [[0.9, 0.8, 0.1, 0.0, 0.2], [0.1, 0.3, 0.7, 0.2, 0.0]]
QUERIES = [[0.8, 0.1, 0.2, 0.7, 0.3],   # top-1 activated, top-2 not: the two definitions differ
           [0.1, 0.2, 0.3, 0.9, 0.0],   # top-1 (item 3) not activated: raw under both
           [0.2, 0.6, 0.5, 0.1, 0.0]]   # top-2 {1, 2} activated: normalised under both


def _stats(k: int, beta: float = 20.0) -> BankStatistics:
    stats = BankStatistics.empty(5)
    stats.add(torch.tensor(BANK, dtype=torch.float64), beta, k)
    return stats


def _normalised(rows: torch.Tensor, raw: list[list[float]]) -> list[bool]:
    return [not torch.equal(rows[q], torch.tensor(raw[q], dtype=rows.dtype)) for q in range(len(raw))]


def test_qb_norm_normalises_the_queries_the_authors_code_normalises_at_k_above_one():
    got = querybank_normalise(torch.tensor(QUERIES, dtype=torch.float64), _stats(2), beta=20.0, k=2)
    want = reference_qb_norm(BANK, QUERIES, 20.0, 2)
    assert _normalised(got, QUERIES) == [True, False, True]
    for q, (row, expected) in enumerate(zip(got.tolist(), want, strict=True)):
        if _normalised(got, QUERIES)[q]:  # we keep log(exp(β s) / Σ): the same ranking, no overflow
            assert [math.exp(v) for v in row] == pytest.approx(expected, rel=1e-9)
        else:
            assert row == expected


def test_qb_norm_whole_top_k_is_a_named_option_that_normalises_fewer_queries():
    got = querybank_normalise(torch.tensor(QUERIES, dtype=torch.float64), _stats(2), beta=20.0, k=2,
                              activation="topk")
    assert _normalised(got, QUERIES) == [False, False, True]


@pytest.mark.parametrize("activation", ["top1", "topk"])
def test_qb_norm_lists_agree_with_the_dense_path_for_k_above_one(activation):
    dense = torch.tensor(QUERIES, dtype=torch.float64)
    want = querybank_normalise(dense, _stats(2), beta=20.0, k=2, activation=activation)
    lists = Candidates.top(dense, 3)
    got = querybank_normalise_lists(lists, _stats(2), beta=20.0, k=2, activation=activation)
    assert torch.allclose(got, want.gather(1, lists.indices))


def test_qb_norm_refuses_an_unknown_activation():
    from rsbench.errors import ConfigError
    from rsbench.retrieval.rerankers.config import QbNormConfig

    with pytest.raises(ConfigError, match="activation"):
        QbNormConfig(activation="all")


def _identity(reranker: dict) -> dict:
    from rsbench.config import build_config
    from rsbench.results.leaderboard import config_identity

    return config_identity(build_config(None, {"reranker": reranker}).to_dict())


def test_a_record_from_before_the_activation_option_stays_one_row_only_where_nothing_changed():
    def older(identity: dict) -> dict:  # the same configuration as written before `activation` existed
        return {**identity, "reranker": {k: v for k, v in identity["reranker"].items() if k != "activation"}}

    k1, k3 = _identity({"name": "qb-norm"}), _identity({"name": "qb-norm", "k": 3})
    assert "activation" not in k1["reranker"] and k1 == older(k1)  # k = 1: the same queries are normalised
    assert k3["reranker"]["activation"] == "top1" and k3 != older(k3)  # k > 1: the default changed
