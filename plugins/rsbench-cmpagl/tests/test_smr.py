"""SMR on a small example computed by hand (see smr.py for the formula)."""

from __future__ import annotations

import pytest
import torch
from rsbench_cmpagl.config import SmrConfig
from rsbench_cmpagl.smr import Smr, smr

from rsbench.retrieval.scores import Candidates, RetrievalScores

# three queries (rows) over three gallery items (columns)
S = torch.tensor([[0.9, 0.2, 0.1],
                  [0.8, 0.7, 0.0],
                  [0.3, 0.6, 0.5]])
# k = 2: column top-2 means m = (0.85, 0.65, 0.30); reverse ranks r' (where each query stands in its column):
#   column 0: q0 0, q1 1, q2 2;  column 1: q1 0, q2 1, q0 2;  column 2: q2 0, q0 1, q1 2
# bonus max(0, 1 - r'/2): rank 0 -> 1, rank 1 -> 0.5, rank 2 -> 0
# s' = s + 0.5 (s - m) + 0.1 bonus, e.g. s'(2, 2) = 0.5 + 0.5 * 0.2 + 0.1 = 0.7 and s'(2, 1) = 0.6 - 0.025 + 0.05
BY_HAND = torch.tensor([[1.025, -0.025, 0.05],
                        [0.825, 0.825, -0.15],
                        [0.025, 0.625, 0.7]])


def test_dense_scores_match_the_hand_computed_example():
    assert torch.allclose(smr(S, k=2, gamma1=0.5, gamma2=0.1), BY_HAND, atol=1e-6)
    out = Smr(SmrConfig(k=2, gamma1=0.5, gamma2=0.1)).rerank(RetrievalScores.from_similarity(S), context=None)
    assert torch.allclose(out.t2i, BY_HAND, atol=1e-6)
    assert out.t2i[2].argmax() == 2 and S[2].argmax() == 1  # the mutual pair (q2, item 2) overtakes item 1


def test_zero_weights_leave_the_scores():
    assert torch.equal(smr(S, k=2, gamma1=0.0, gamma2=0.0), S)


def test_candidate_lists_use_their_listed_entries_only():
    lists = Candidates.top(S, 2)  # rows list items (0, 1), (0, 1), (1, 2)
    out = Smr(SmrConfig(k=2, gamma1=0.5, gamma2=0.1)).rerank(RetrievalScores(t2i=lists, i2t=lists), context=None).t2i
    # column 2 lists only q2 (0.5): m = 0.5 and r' = 0, so s'(2, 2) = 0.5 + 0 + 0.1 = 0.6 < s'(2, 1) = 0.625
    assert out.indices[2].tolist() == [1, 2]
    assert out.scores[2].tolist() == pytest.approx([0.625, 0.6])
    assert out.scores[0].tolist() == pytest.approx([1.025, -0.025])
    assert set(out.indices[1].tolist()) == {0, 1}


def test_full_lists_equal_the_dense_reweighting():
    torch.manual_seed(0)
    scores = torch.randn(7, 5)
    config = SmrConfig(k=3, gamma1=0.5, gamma2=0.1)
    dense = Smr(config).rerank(RetrievalScores.from_similarity(scores), context=None).t2i
    lists = Smr(config).rerank(RetrievalScores(t2i=Candidates.top(scores, 5), i2t=Candidates.top(scores.t(), 7)),
                               context=None).t2i
    assert torch.allclose(lists.dense(fill=float("nan"))[0], dense, atol=1e-6)


def test_lists_are_never_spread_into_a_dense_matrix(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("candidate lists were densified")

    monkeypatch.setattr(Candidates, "dense", refuse)
    lists = Candidates.top(S, 2)
    Smr(SmrConfig(k=2)).rerank(RetrievalScores(t2i=lists, i2t=lists), context=None)
