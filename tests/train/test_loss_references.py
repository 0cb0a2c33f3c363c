"""InfoNCE and the recycling-queue sampler against references written here with plain loops (CMER Eq. 16-22).

The references share nothing with the code under test but the formulas: Python floats, explicit sums over
the allowed negatives, a queue kept as a list. Captions of one image are never negatives of each other
(the same-image mask), in the batch or in the queue.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rsbench.train.losses.config import InfoNCEConfig
from rsbench.train.losses.infonce import InfoNCE
from rsbench.train.samplers.batch import BatchSampler
from rsbench.train.samplers.config import BatchConfig, QueueConfig
from rsbench.train.samplers.queue import QueueSampler


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def reference_infonce(images: list[list[float]], texts: list[list[float]], image_ids: list[int] | None,
                      scale: float) -> float:
    """-1/2 (mean log p_i2t + mean log p_t2i), where pair i's softmax runs over itself and the pairs of *other*
    images only (CMER Eq. 19-21 with the same-image mask); ``image_ids`` None: every other pair is a negative."""
    n = len(images)
    s = [[scale * cosine(images[i], texts[j]) for j in range(n)] for i in range(n)]

    def negative(i: int, j: int) -> bool:
        return j != i and (image_ids is None or image_ids[i] != image_ids[j])

    log_i2t = [s[i][i] - math.log(sum(math.exp(s[i][j]) for j in range(n) if j == i or negative(i, j)))
               for i in range(n)]
    log_t2i = [s[j][j] - math.log(sum(math.exp(s[i][j]) for i in range(n) if i == j or negative(j, i)))
               for j in range(n)]
    return -0.5 * (sum(log_i2t) / n + sum(log_t2i) / n)


def reference_hinge_sum(anchor: list[float], positive: list[float], negatives: list[list[float]],
                        margin: float, beta: float) -> float:
    """Sum over the negatives of l * exp(-beta * l), l = [margin - S(a, p) + S(a, n)]+ (CMER Eq. 16-18)."""
    total = 0.0
    for negative in negatives:
        cost = max(0.0, margin - cosine(anchor, positive) + cosine(anchor, negative))
        total += cost * math.exp(-beta * cost)
    return total


def as_lists(t: torch.Tensor) -> list[list[float]]:
    return t.double().tolist()


SCALE = torch.tensor(7.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_infonce_equals_the_reference_with_and_without_the_same_image_mask(seed):
    torch.manual_seed(seed)
    images, texts = torch.randn(6, 5), torch.randn(6, 5)
    image_ids = [0, 1, 1, 2, 3, 3]  # rows 1-2 and 4-5 are captions of one image each
    same = torch.tensor(image_ids)[:, None] == torch.tensor(image_ids)[None, :]
    loss = InfoNCE(InfoNCEConfig())
    masked = loss(images, texts, SCALE, same).item()
    unmasked = loss(images, texts, SCALE).item()
    assert masked == pytest.approx(reference_infonce(as_lists(images), as_lists(texts), image_ids, 7.0), rel=1e-5)
    assert unmasked == pytest.approx(reference_infonce(as_lists(images), as_lists(texts), None, 7.0), rel=1e-5)
    assert masked != pytest.approx(unmasked, rel=1e-3)  # the mask matters on this batch


def test_fixed_temperature_replaces_the_logit_scale():
    torch.manual_seed(3)
    images, texts = torch.randn(4, 3), torch.randn(4, 3)
    got = InfoNCE(InfoNCEConfig(temperature=0.25))(images, texts, torch.tensor(100.0)).item()
    assert got == pytest.approx(reference_infonce(as_lists(images), as_lists(texts), None, 4.0), rel=1e-5)


def test_duplicated_captions_of_one_image_are_not_negatives():
    # Image 0 has the same caption twice (rows 0 and 1, both paired with image 0's embedding); image 1 one caption.
    # Perfectly aligned pairs at scale 50: with the mask each softmax is its positive against one far negative
    # (cos 0), so the loss is ~0; without it, row 0's duplicate ties with its positive and costs about log 2.
    images = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    texts = images.clone()
    image_ids = torch.tensor([0, 0, 1])
    sampler = BatchSampler(BatchConfig(), InfoNCE(InfoNCEConfig()))
    loss, logs = sampler(images, texts, torch.tensor(50.0), image_ids, torch.tensor([-1, -1, -1]))
    expected = reference_infonce(as_lists(images), as_lists(texts), [0, 0, 1], 50.0)
    assert loss.item() == pytest.approx(expected, abs=1e-6) and expected < 1e-6
    assert logs["loss"] == pytest.approx(expected, abs=1e-6)
    # What the unmasked loss pays: rows 0 and 1 each face a tie, log(2 + e^-50), in both directions.
    unmasked = BatchSampler(BatchConfig(exclude_same_image=False), InfoNCE(InfoNCEConfig()))
    value = unmasked(images, texts, torch.tensor(50.0), image_ids, torch.tensor([-1, -1, -1]))[0].item()
    assert value == pytest.approx(2 * math.log(2) / 3, rel=1e-5)


def test_the_mask_never_removes_the_positive():
    # Every pair of the batch is of one image: each softmax keeps its positive alone, so the loss is exactly 0.
    torch.manual_seed(4)
    images, texts = torch.randn(3, 4), torch.randn(3, 4)
    sampler = BatchSampler(BatchConfig(), InfoNCE(InfoNCEConfig()))
    loss, _ = sampler(images, texts, SCALE, torch.tensor([5, 5, 5]), torch.tensor([0, 0, 0]))
    assert loss.item() == pytest.approx(0.0, abs=1e-6)


class ReferenceQueueSampler:
    """CMER's L = L_batch + weight * L_queue, kept as lists: the queue holds the last ``length`` pairs pushed."""

    def __init__(self, length: int, margin: float, beta: float, weight: float, reduction: str) -> None:
        self.length, self.margin, self.beta, self.weight, self.reduction = length, margin, beta, weight, reduction
        self.queue: list[tuple[list[float], list[float], int, int]] = []  # (visual, text, image id, scene id)

    def __call__(self, images, texts, image_ids: list[int], scene_ids: list[int], scale: float) -> float:
        batch = reference_infonce(images, texts, image_ids, scale)
        total_v = total_s = 0.0
        for i in range(len(images)):
            usable = [(v, t) for v, t, img, scene in self.queue
                      if img != image_ids[i] and not (scene >= 0 and scene_ids[i] >= 0 and scene == scene_ids[i])]
            # Eq. (16): the caption against queued images; Eq. (17): the image against queued captions.
            total_v += reference_hinge_sum(texts[i], images[i], [v for v, _ in usable], self.margin, self.beta)
            total_s += reference_hinge_sum(images[i], texts[i], [t for _, t in usable], self.margin, self.beta)
        if self.reduction == "sum":
            queue_loss = total_v + total_s
        elif self.reduction == "per_pair":
            queue_loss = (total_v + total_s) / len(images)
        else:  # mean over every (pair, queue slot) cell, excluded cells counting zero
            queue_loss = (total_v + total_s) / (len(images) * len(self.queue)) if self.queue else 0.0
        for row in zip(images, texts, image_ids, scene_ids, strict=True):
            self.queue.append(row)
        self.queue = self.queue[-self.length:]
        return batch + self.weight * queue_loss


@pytest.mark.parametrize("reduction", ["mean", "per_pair", "sum"])
def test_queue_sampler_equals_the_reference_over_several_steps(reduction):
    torch.manual_seed(5)
    options = {"margin": 0.3, "beta": 0.7, "weight": 0.5, "reduction": reduction}
    sampler = QueueSampler(QueueConfig(length=7, **options), InfoNCE(InfoNCEConfig()))
    reference = ReferenceQueueSampler(7, **options)
    # Image ids recur across steps (and within one), scenes repeat and some are unknown (-1).
    # Scene 0 is a scene like any other: image 6 (scene 0) meets queued scene-0 entries of other images.
    steps = [([0, 1, 1, 2], [0, 1, 1, -1]), ([3, 0, 4, 5], [2, 0, -1, 1]), ([6, 2, 7, 7], [0, -1, 2, 2]),
             ([1, 8, 9, 3], [1, 0, 2, 2])]
    queue_losses = []
    for image_ids, scene_ids in steps:
        images, texts = torch.randn(4, 6), torch.randn(4, 6)
        usable = [sum(img != i and not (scene >= 0 and s >= 0 and scene == s) for _, _, img, scene in reference.queue)
                  for i, s in zip(image_ids, scene_ids, strict=True)]
        loss, logs = sampler(images, texts, SCALE, torch.tensor(image_ids), torch.tensor(scene_ids))
        expected = reference(as_lists(images), as_lists(texts), image_ids, scene_ids, 7.0)
        assert loss.item() == pytest.approx(expected, rel=1e-5)
        assert logs["queue_negatives"] == pytest.approx(sum(usable) / len(usable))  # per pair, averaged
        queue_losses.append(logs["loss_queue"])
    assert queue_losses[0] == 0.0 and all(q > 0 for q in queue_losses[1:])  # the queue term did contribute
    assert [entry[2] for entry in reference.queue] == sampler.queue.oldest_first()[2].tolist()


def test_infonce_gradient_equals_the_reference_gradient():
    # The reference's own gradient by central differences: the loss trains what it says it trains.
    torch.manual_seed(6)
    images, texts = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    image_ids = [0, 0, 1, 2]
    same = torch.tensor(image_ids)[:, None] == torch.tensor(image_ids)[None, :]
    images.requires_grad_(True)
    InfoNCE(InfoNCEConfig())(images, texts, torch.tensor(3.0), same).backward()
    eps = 1e-6
    for i in range(4):
        for d in range(3):
            up, down = as_lists(images.detach()), as_lists(images.detach())
            up[i][d] += eps
            down[i][d] -= eps
            numeric = (reference_infonce(up, as_lists(texts), image_ids, 3.0)
                       - reference_infonce(down, as_lists(texts), image_ids, 3.0)) / (2 * eps)
            assert images.grad[i, d].item() == pytest.approx(numeric, abs=1e-5)


def test_unit_inputs_are_what_the_loss_sees():
    # The loss normalises its inputs: scaling an embedding changes nothing.
    torch.manual_seed(7)
    images, texts = torch.randn(3, 4), torch.randn(3, 4)
    loss = InfoNCE(InfoNCEConfig())
    assert loss(3 * images, texts / 5, SCALE).item() == pytest.approx(
        loss(F.normalize(images, dim=-1), F.normalize(texts, dim=-1), SCALE).item(), rel=1e-6)
