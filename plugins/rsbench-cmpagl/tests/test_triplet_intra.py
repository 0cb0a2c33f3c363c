"""triplet-intra against an independent reference written with plain loops."""

from __future__ import annotations

import math

import pytest
import torch
from rsbench_cmpagl.config import TripletIntraConfig
from rsbench_cmpagl.triplet_intra import TripletIntra


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def reference(images, texts, scale, same, margin, hardest, w_tri, w_intra, w_itc) -> float:
    """The loss from its definition, one pair at a time (same[i][j]: image i and text j share an image)."""
    n = len(images)
    s = [[cosine(images[i], texts[j]) for j in range(n)] for i in range(n)]
    negative = [[i != j and not same[i][j] for j in range(n)] for i in range(n)]
    triplet = 0.0
    for k in range(n):
        image_hinges = [max(0.0, margin - s[k][k] + s[k][j]) for j in range(n) if negative[k][j]]
        text_hinges = [max(0.0, margin - s[k][k] + s[j][k]) for j in range(n) if negative[j][k]]
        if hardest:
            triplet += max(image_hinges, default=0.0) + max(text_hinges, default=0.0)
        else:
            triplet += sum(image_hinges) + sum(text_hinges)
    triplet /= n
    intra = sum(1 - s[k][k] for k in range(n)) / n
    i2t = t2i = 0.0
    for k in range(n):
        row = [scale * s[k][j] for j in range(n) if j == k or negative[k][j]]
        column = [scale * s[j][k] for j in range(n) if j == k or negative[j][k]]
        i2t += -scale * s[k][k] + math.log(sum(math.exp(v) for v in row))
        t2i += -scale * s[k][k] + math.log(sum(math.exp(v) for v in column))
    itc = 0.5 * (i2t / n + t2i / n)
    return w_tri * triplet + w_intra * intra + w_itc * itc


@pytest.mark.parametrize("hardest", [True, False])
@pytest.mark.parametrize("weights", [(1.0, 0.5, 1.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)])
def test_matches_the_loop_reference(hardest, weights):
    g = torch.Generator().manual_seed(3)
    images, texts = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    texts[2] = images[2] + 0.1 * texts[2]  # a near match, so some hinges are zero
    same = torch.eye(6, dtype=torch.bool)
    same[0, 1] = same[1, 0] = True  # captions 0 and 1 belong to one image: not each other's negatives
    same[4, 5] = same[5, 4] = True
    config = TripletIntraConfig(margin=0.3, negatives="hardest" if hardest else "all", triplet_weight=weights[0],
                                intra_weight=weights[1], itc_weight=weights[2])
    got = TripletIntra(config)(images, texts, torch.tensor(7.0), same)
    expected = reference(images.tolist(), texts.tolist(), 7.0, same.tolist(), 0.3, hardest, *weights)
    assert float(got) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_temperature_replaces_the_logit_scale_and_no_mask_means_only_the_diagonal():
    g = torch.Generator().manual_seed(4)
    images, texts = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    config = TripletIntraConfig(temperature=0.5)
    got = TripletIntra(config)(images, texts, torch.tensor(99.0), None)
    expected = reference(images.tolist(), texts.tolist(), 2.0, torch.eye(4, dtype=torch.bool).tolist(), 0.2, True,
                         1.0, 0.5, 1.0)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_intra_term_pulls_matched_pairs_toward_one():
    images = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    far = torch.tensor([[1.0, 1.0], [-1.0, 1.0]])  # each caption at 45 degrees from its image
    loss = TripletIntra(TripletIntraConfig(triplet_weight=0.0, itc_weight=0.0, intra_weight=1.0))
    assert float(loss(images, far, torch.tensor(1.0))) == pytest.approx(1 - math.cos(math.pi / 4))
    assert float(loss(images, images.clone(), torch.tensor(1.0))) == pytest.approx(0.0, abs=1e-7)
