"""Metrics on top-k candidate lists against a brute-force reference: a true match outside the list is a miss."""

from __future__ import annotations

import random

import pytest
import torch

from rsbench.errors import RsbenchError
from rsbench.metrics import MISSED, NO_RANK, ranks, retrieval_metrics, score_ranks
from rsbench.retrieval.scores import Candidates, RetrievalScores


def brute_force_shortlist_ranks(sim: list[list[float]], targets: list[int], k: int) -> tuple[list[int], list[int]]:
    """Sort each query's gallery, keep the first k, rank true matches inside them (wrong ones first on ties);
    a query with no true match among its k gets MISSED."""
    n_captions, n_images = len(sim), len(sim[0])
    t2i = []
    for c in range(n_captions):
        shortlist = sorted(range(n_images), key=lambda j: -sim[c][j])[:k]
        if targets[c] not in shortlist:
            t2i.append(MISSED)
            continue
        true_score = sim[c][targets[c]]
        t2i.append(sum(1 for j in shortlist if j != targets[c] and sim[c][j] >= true_score))
    i2t = []
    for i in range(n_images):
        own = {c for c in range(n_captions) if targets[c] == i}
        if not own:
            i2t.append(NO_RANK)
            continue
        shortlist = sorted(range(n_captions), key=lambda c: -sim[c][i])[:k]
        listed_own = [c for c in shortlist if c in own]
        if not listed_own:
            i2t.append(MISSED)
            continue
        best = max(sim[c][i] for c in listed_own)
        i2t.append(sum(1 for c in shortlist if c not in own and sim[c][i] >= best))
    return i2t, t2i


def random_case(seed: int, n_images: int, ties: bool) -> tuple[list[list[float]], list[int]]:
    rng = random.Random(seed)
    targets = [rng.randrange(n_images) for _ in range(3 * n_images)]
    score = (lambda: float(rng.randint(0, 3))) if ties else (lambda: rng.gauss(0, 1))
    return [[score() for _ in range(n_images)] for _ in targets], targets


def shortlists(sim: torch.Tensor, k: int) -> RetrievalScores:
    # A stable sort, as the reference's sorted(): equal scores keep index order.
    def top(m: torch.Tensor) -> Candidates:
        order = torch.sort(m, dim=1, descending=True, stable=True).indices[:, :k]
        return Candidates(order, m.gather(1, order), m.shape[1])

    return RetrievalScores(t2i=top(sim), i2t=top(sim.t()))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 3, 8])
@pytest.mark.parametrize("ties", [False, True], ids=["gaussian", "ties"])
def test_shortlist_ranks_match_brute_force(seed, k, ties):
    sim, targets = random_case(seed, 8, ties)
    expected_i2t, expected_t2i = brute_force_shortlist_ranks(sim, targets, k)
    i2t, t2i = score_ranks(shortlists(torch.tensor(sim), k), targets)
    assert t2i.tolist() == expected_t2i
    assert i2t.tolist() == expected_i2t


def test_full_length_lists_equal_dense_metrics():
    sim, targets = random_case(11, 9, ties=True)
    dense = torch.tensor(sim)
    full = shortlists(dense, max(dense.shape))
    assert [r.tolist() for r in score_ranks(full, targets)] == [r.tolist() for r in ranks(dense, targets)]
    assert retrieval_metrics(full, targets) == pytest.approx(retrieval_metrics(dense, targets))
    both_dense = RetrievalScores.from_similarity(dense)
    assert retrieval_metrics(both_dense, targets) == pytest.approx(retrieval_metrics(dense, targets))


def test_true_match_outside_the_list_is_a_miss_not_a_hit():
    # Caption 0's image (0) scores lowest: a 2-long list holds images 1 and 2 only. TGDT's evaluator would call
    # it rank 1; it is a miss at every K, even K larger than the list.
    sim = torch.tensor([[0.1, 0.9, 0.8, 0.7], [0.1, 0.9, 0.0, 0.0], [0.0, 0.0, 0.9, 0.1], [0.0, 0.0, 0.1, 0.9]])
    targets = [0, 1, 2, 3]
    scores = shortlists(sim, 2)
    i2t, t2i = score_ranks(scores, targets)
    assert t2i.tolist() == [MISSED, 0, 0, 0]
    metrics = retrieval_metrics(scores, targets)
    assert metrics["t2i_r1"] == metrics["t2i_r5"] == metrics["t2i_r10"] == 75.0
    # Images 0 and 1 each tie their own caption with a wrong one (0.1/0.1, 0.9/0.9): rank 1, ties pessimistic.
    assert i2t.tolist() == [1, 1, 0, 0]


def test_image_without_caption_has_no_rank_in_lists():
    sim = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.8, 0.4]])
    i2t, _ = score_ranks(shortlists(sim, 2), [0, 1])
    assert i2t.tolist() == [0, 0, NO_RANK]


def test_bad_candidates_raise_clear_errors():
    with pytest.raises(RsbenchError, match="gallery"):
        Candidates(torch.tensor([[0, 5]]), torch.tensor([[1.0, 0.5]]), gallery_size=3)
    with pytest.raises(RsbenchError, match="shape"):
        Candidates(torch.tensor([[0, 1]]), torch.tensor([1.0, 0.5]), gallery_size=3)
    with pytest.raises(RsbenchError, match="NaN"):
        score_ranks(RetrievalScores(Candidates(torch.tensor([[0]]), torch.tensor([[float("nan")]]), 1),
                                    torch.zeros(1, 1)), [0])
