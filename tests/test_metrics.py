"""Retrieval metrics: hand-computed cases, a brute-force sorting reference, ties and bad input."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from rsbench.errors import RsbenchError
from rsbench.metrics import METRIC_KEYS, NO_RANK, ranks, recalls_from_ranks, retrieval_metrics


def brute_force_ranks(sim: list[list[float]], caption_to_image: list[int]) -> tuple[list[int], list[int]]:
    """Rank by explicit sorting, with wrong candidates put in front of true ones on equal score."""
    n_captions, n_images = len(sim), len(sim[0])
    t2i = []
    for c in range(n_captions):
        # key: higher score first; on a tie, False (wrong) sorts before True (true match)
        order = sorted(range(n_images), key=lambda j: (-sim[c][j], j == caption_to_image[c]))
        t2i.append(order.index(caption_to_image[c]))
    i2t = []
    for i in range(n_images):
        own = {c for c in range(n_captions) if caption_to_image[c] == i}
        if not own:
            i2t.append(NO_RANK)
            continue
        order = sorted(range(n_captions), key=lambda c: (-sim[c][i], c in own))
        i2t.append(min(pos for pos, c in enumerate(order) if c in own))
    return i2t, t2i


def brute_force_metrics(sim: list[list[float]], caption_to_image: list[int]) -> dict[str, float]:
    i2t, t2i = brute_force_ranks(sim, caption_to_image)
    i2t = [r for r in i2t if r != NO_RANK]
    out = {}
    for name, rs in (("i2t", i2t), ("t2i", t2i)):
        for k in (1, 5, 10):
            out[f"{name}_r{k}"] = 100.0 * sum(r < k for r in rs) / len(rs)
    out["mR"] = sum(out.values()) / 6
    return out


# Each case: similarity (captions × images), caption_to_image, expected metrics worked out by hand
# in the comment next to it.
HAND_CASES = {
    # t2i ranks: c0 0; c1 1 (0.5 > 0.3); c2 2 (0.4, 0.6 > 0.2); c3 2 (0.8 > 0.7, and 0.7 ties → counted)
    # i2t ranks: img0 best own 0.9 → 0; img1 own 0.2 < 0.5, 0.7 → 2; img2 own 0.7, nothing >= → 0
    "mixed": (
        [[0.9, 0.1, 0.2], [0.3, 0.5, 0.1], [0.4, 0.2, 0.6], [0.8, 0.7, 0.7]],
        [0, 0, 1, 2],
        {"i2t_r1": 200 / 3, "i2t_r5": 100.0, "i2t_r10": 100.0, "t2i_r1": 25.0, "t2i_r5": 100.0, "t2i_r10": 100.0,
         "mR": 1475 / 18},
    ),
    # 12 images, one caption each: caption c scores 1 on every image before c, 0.5 on its own, 0 after.
    # t2i rank of c = c; i2t rank of image j = 11 - j (captions after j score 1 on it) → ranks 0..11 both ways.
    # R@1 = 1/12, R@5 = 5/12, R@10 = 10/12.
    "staircase": (
        [[1.0 if j < c else (0.5 if j == c else 0.0) for j in range(12)] for c in range(12)],
        list(range(12)),
        {"i2t_r1": 100 / 12, "i2t_r5": 500 / 12, "i2t_r10": 1000 / 12, "t2i_r1": 100 / 12, "t2i_r5": 500 / 12,
         "t2i_r10": 1000 / 12, "mR": (100 + 500 + 1000) / 12 / 3},
    ),
    # Image 0 has two identical captions, both 0.5 on it: a duplicate true caption is no competitor,
    # but caption 2 (image 1) also scores 0.5 on image 0 → i2t rank of image 0 is 1; image 1's own 0.9 → 0.
    # t2i: c0, c1 tie 0.5 with 0.5 on image 1 → rank 1 each; c2 0.9 vs 0.5 → rank 0.
    "duplicate_captions_tie": (
        [[0.5, 0.5], [0.5, 0.5], [0.5, 0.9]],
        [0, 0, 1],
        {"i2t_r1": 50.0, "i2t_r5": 100.0, "i2t_r10": 100.0, "t2i_r1": 100 / 3, "t2i_r5": 100.0, "t2i_r10": 100.0,
         "mR": (50 + 100 / 3 + 400) / 6},
    ),
    # Same, but caption 2 scores 0.4 on image 0: only true captions reach 0.5 → i2t rank 0 for both images.
    "duplicate_captions_no_competitor": (
        [[0.5, 0.4], [0.5, 0.4], [0.4, 0.9]],
        [0, 0, 1],
        {"i2t_r1": 100.0, "i2t_r5": 100.0, "i2t_r10": 100.0, "t2i_r1": 100.0, "t2i_r5": 100.0, "t2i_r10": 100.0,
         "mR": 100.0},
    ),
    # Image 1 has no caption: it is left out of i2t (2 images count) but stays a t2i distractor.
    # t2i: c0 true 0 (0.2) vs 0.9 and 0.3 → rank 2; c1 true 0 (0.8) → 0; c2 true 2 (0.7) → 0.
    # i2t: img0 best own 0.8, column [0.2, 0.8, 0.1] → 0; img2 own 0.7, column [0.3, 0.2, 0.7] → 0.
    "image_without_captions": (
        [[0.2, 0.9, 0.3], [0.8, 0.1, 0.2], [0.1, 0.6, 0.7]],
        [0, 0, 2],
        {"i2t_r1": 100.0, "i2t_r5": 100.0, "i2t_r10": 100.0, "t2i_r1": 200 / 3, "t2i_r5": 100.0, "t2i_r10": 100.0,
         "mR": (500 + 200 / 3) / 6},
    ),
}


@pytest.mark.parametrize("case", HAND_CASES.values(), ids=HAND_CASES.keys())
def test_hand_computed_cases(case):
    sim, targets, expected = case
    got = retrieval_metrics(torch.tensor(sim), targets)
    assert list(got) == list(METRIC_KEYS)
    assert got == pytest.approx(expected, abs=1e-9)
    assert all(type(v) is float for v in got.values())


def test_hand_computed_ranks_and_no_rank_marker():
    sim, targets, _ = HAND_CASES["image_without_captions"]
    i2t, t2i = ranks(np.array(sim), targets)
    assert i2t.tolist() == [0, NO_RANK, 0]
    assert t2i.tolist() == [2, 0, 0]
    assert i2t.dtype == t2i.dtype == torch.int64


def random_case(seed: int, n_images: int, integer_scores: bool) -> tuple[list[list[float]], list[int]]:
    """Images with 1..7 captions, some captions duplicated (identical rows), many ties if integer."""
    rng = random.Random(seed)
    sim, targets = [], []
    for i in range(n_images):
        for _ in range(rng.randint(1, 7)):
            if sim and targets[-1] == i and rng.random() < 0.3:
                sim.append(list(sim[-1]))  # a duplicated caption embeds identically
            elif integer_scores:
                sim.append([float(rng.randint(0, 3)) for _ in range(n_images)])
            else:
                sim.append([rng.gauss(0, 1) for _ in range(n_images)])
            targets.append(i)
    order = list(range(len(targets)))
    rng.shuffle(order)  # captions need not be grouped by image
    return [sim[o] for o in order], [targets[o] for o in order]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_images", [1, 3, 17])
@pytest.mark.parametrize("integer_scores", [False, True], ids=["gaussian", "ties"])
def test_matches_brute_force_reference(seed, n_images, integer_scores):
    sim, targets = random_case(seed, n_images, integer_scores)
    expected_i2t, expected_t2i = brute_force_ranks(sim, targets)
    for chunk_rows in (None, 1, 4):
        i2t, t2i = ranks(torch.tensor(sim), targets, chunk_rows=chunk_rows)
        assert i2t.tolist() == expected_i2t
        assert t2i.tolist() == expected_t2i
    assert retrieval_metrics(torch.tensor(sim), targets) == pytest.approx(brute_force_metrics(sim, targets))


def test_images_missing_captions_match_reference():
    rng = random.Random(7)
    n_images = 9
    targets = [rng.choice([0, 2, 3, 5, 8]) for _ in range(20)]
    sim = [[float(rng.randint(0, 2)) for _ in range(n_images)] for _ in targets]
    i2t, t2i = ranks(torch.tensor(sim), targets)
    assert (i2t.tolist(), t2i.tolist()) == brute_force_ranks(sim, targets)
    assert sorted(i for i, r in enumerate(i2t.tolist()) if r == NO_RANK) == [1, 4, 6, 7]


@pytest.mark.parametrize(
    ("n_captions_per_image", "n_images", "expected_i2t_r1", "expected_t2i_r1"),
    [
        (5, 4, 0.0, 0.0),  # every candidate ties: the wrong ones go first
        (5, 1, 100.0, 100.0),  # one image: all captions are true, the only image is true
        (1, 1, 100.0, 100.0),
        (1, 3, 0.0, 0.0),
    ],
)
def test_all_equal_scores_never_favour_the_true_match(n_captions_per_image, n_images, expected_i2t_r1, expected_t2i_r1):
    targets = [i for i in range(n_images) for _ in range(n_captions_per_image)]
    got = retrieval_metrics(torch.zeros(len(targets), n_images), targets)
    assert got["i2t_r1"] == expected_i2t_r1
    assert got["t2i_r1"] == expected_t2i_r1


@pytest.mark.parametrize("n_images", [1, 2, 11, 40])
@pytest.mark.parametrize("as_numpy", [False, True])
def test_perfect_diagonal_is_100(n_images, as_numpy):
    sim = np.eye(n_images, dtype=np.float32) if as_numpy else torch.eye(n_images)
    got = retrieval_metrics(sim, np.arange(n_images))
    assert got == {k: 100.0 for k in METRIC_KEYS}


def test_perfect_with_five_captions_per_image():
    targets = torch.arange(10).repeat_interleave(5)
    sim = torch.nn.functional.one_hot(targets, 10).float() + 0.01 * torch.rand(50, 10)
    assert retrieval_metrics(sim, targets)["mR"] == 100.0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64, torch.int32])
def test_dtypes_give_same_ranks(dtype):
    sim, targets = random_case(3, 6, integer_scores=True)
    expected = brute_force_ranks(sim, targets)
    i2t, t2i = ranks(torch.tensor(sim).to(dtype), torch.tensor(targets, dtype=torch.int32))
    assert (i2t.tolist(), t2i.tolist()) == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    sim, targets = random_case(1, 30, integer_scores=True)
    cpu = ranks(torch.tensor(sim), targets)
    gpu = ranks(torch.tensor(sim, device="cuda"), torch.tensor(targets, device="cuda"))
    assert [t.tolist() for t in gpu] == [t.tolist() for t in cpu]


def test_recalls_from_ranks_for_subsets():
    # Eight ranked queries plus one NO_RANK entry, which is dropped; counted by hand:
    # rank < 1: 2 of 8, < 5: 5 of 8, < 10: 7 of 8.
    got = recalls_from_ranks(torch.tensor([0, 0, 1, 3, 4, 9, 9, 12, NO_RANK]))
    assert got == {1: 25.0, 5: 62.5, 10: 87.5}
    assert recalls_from_ranks([2, 7], ks=(3, 8)) == {3: 50.0, 8: 100.0}


@pytest.mark.parametrize(
    ("sim", "targets", "message"),
    [
        (torch.tensor([[0.1, float("nan")], [0.2, 0.3]]), [0, 1], "NaN"),
        (torch.zeros(3), [0, 1, 2], "2-D"),
        (torch.zeros(2, 3, 1), [0, 1], "2-D"),
        (torch.zeros(0, 3), [], "empty"),
        (torch.zeros(3, 0), [0, 0, 0], "empty"),
        (torch.zeros(3, 2), [0, 1], "one image index per caption"),
        (torch.zeros(2, 2), [[0], [1]], "one image index per caption"),
        (torch.zeros(2, 2), [0, 2], "outside 0..1"),
        (torch.zeros(2, 2), [-1, 0], "outside 0..1"),
        (torch.zeros(2, 2), [0.0, 1.0], "integer"),
        (torch.zeros(2, 2, dtype=torch.bool), [0, 1], "real numbers"),
        ([["a", "b"], ["c", "d"]], [0, 1], "numeric"),
    ],
)
def test_invalid_input_raises_clear_error(sim, targets, message):
    with pytest.raises(RsbenchError, match=message):
        retrieval_metrics(sim, targets)


def test_invalid_recall_arguments():
    with pytest.raises(RsbenchError, match="empty"):
        recalls_from_ranks([NO_RANK, NO_RANK])
    with pytest.raises(RsbenchError, match="K >= 1"):
        recalls_from_ranks([0, 1], ks=(0,))
    with pytest.raises(RsbenchError, match="integers"):
        recalls_from_ranks([0.0, 1.0])
    with pytest.raises(RsbenchError, match="chunk_rows"):
        ranks(torch.eye(2), [0, 1], chunk_rows=0)


def test_large_gallery_is_chunked_and_consistent():
    # 10k captions × 2k images, the size of the larger test sets: the chunked result must equal one
    # computed with a single big chunk, and the diagonal-dominant layout gives a known answer.
    gen = torch.Generator().manual_seed(0)
    targets = torch.arange(2000).repeat_interleave(5)
    sim = torch.rand(10_000, 2000, generator=gen)
    sim[torch.arange(10_000), targets] += 0.999  # true scores in [0.999, 1.999): beat all but a few
    chunked = retrieval_metrics(sim, targets)
    whole = retrieval_metrics(sim, targets, chunk_rows=10_000)
    assert chunked == whole
    assert chunked["i2t_r10"] == 100.0 and 0.0 < chunked["t2i_r1"] <= 100.0
    assert math.isclose(chunked["mR"], sum(chunked[k] for k in METRIC_KEYS[:6]) / 6)


@pytest.mark.benchmark(group="metrics")
def test_benchmark_rsicd_sized(benchmark):
    # RSICD's test set (5465 captions, 1093 images): even captions score their image above every random score,
    # odd ones below all of them, so every image finds a caption first and exactly the even captions find
    # their image at all.
    sim = torch.randn(5465, 1093, generator=torch.Generator().manual_seed(0))
    targets = torch.arange(1093).repeat_interleave(5)
    captions = torch.arange(5465)
    sim[captions, targets] = torch.where(captions % 2 == 0, 10.0, -10.0)
    metrics = benchmark(retrieval_metrics, sim, targets)
    assert metrics["i2t_r1"] == metrics["i2t_r10"] == 100.0
    even = 100.0 * 2733 / 5465
    assert metrics["t2i_r1"] == pytest.approx(even) and metrics["t2i_r10"] == pytest.approx(even)


def test_grouped_recalls_rank_against_the_whole_gallery():
    from rsbench.metrics import grouped_recalls, majority_label

    # 3 images, 2 captions each; caption c belongs to image c // 2.
    sim = torch.tensor([
        [0.9, 0.1, 0.0],  # caption 0 -> image 0 ranked 1st
        [0.1, 0.9, 0.0],  # caption 1 -> image 0 ranked 2nd
        [0.0, 0.9, 0.1],  # caption 2 -> image 1 ranked 1st
        [0.0, 0.5, 0.8],  # caption 3 -> image 1 ranked 2nd
        [0.0, 0.0, 0.9],  # caption 4 -> image 2 ranked 1st
        [0.9, 0.0, 0.1],  # caption 5 -> image 2 ranked 2nd
    ])
    targets = [0, 0, 1, 1, 2, 2]
    labels = ["small", "large", "small", "large", None, "small"]
    images = [majority_label(labels[0:2]), majority_label(labels[2:4]), majority_label(labels[4:6])]
    assert images == ["mixed", "mixed", "small"]
    groups = grouped_recalls(sim, targets, labels, images, ks=(1,))
    assert set(groups["small"]) == {"n_captions", "n_images", "t2i_r1", "i2t_r1"}  # only the recalls asked for
    assert groups["small"]["n_captions"] == 3 and groups["small"]["t2i_r1"] == pytest.approx(200 / 3)
    assert groups["large"]["n_captions"] == 2 and groups["large"]["t2i_r1"] == 0.0
    assert "i2t_r1" not in groups["large"] and groups["large"]["n_images"] == 0
    assert groups["small"]["n_images"] == 1 and groups["small"]["i2t_r1"] == 100.0  # image 2: caption 4 first
    assert groups["mixed"]["n_images"] == 2 and "t2i_r1" not in groups["mixed"]
    with pytest.raises(RsbenchError):
        grouped_recalls(sim, targets, labels[:-1], images)


@pytest.mark.parametrize(("targets", "named"), [([0, 3], "image index 3, outside 0..1"),
                                                ([-2, 1], "image index -2, outside 0..1")])
def test_an_index_outside_the_gallery_is_named(targets, named):
    with pytest.raises(RsbenchError, match=named):
        retrieval_metrics(torch.zeros(2, 2), targets)


def test_a_nan_is_located_by_its_caption_row():
    sim = torch.zeros(5, 3)
    sim[3, 1] = float("nan")
    with pytest.raises(RsbenchError, match="first in caption row 3"):
        retrieval_metrics(sim, [0, 1, 2, 0, 1], chunk_rows=2)
