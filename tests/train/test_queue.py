"""CMER's negative-sample recycling: FIFO queues, exclusions, the difficulty-weighted hinge, checkpoints, gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rsbench.errors import ConfigError, RsbenchError
from rsbench.train.losses.config import HingeConfig, InfoNCEConfig
from rsbench.train.losses.hinge import DifficultyWeightedHinge, difficulty_weighted_hinge
from rsbench.train.losses.infonce import InfoNCE
from rsbench.train.samplers.config import QueueConfig
from rsbench.train.samplers.queue import QueueSampler, RecyclingQueue, build, queue_negative_mask

SCALE = torch.tensor(10.0)


def unit(*xs: float) -> torch.Tensor:
    return F.normalize(torch.tensor(xs, dtype=torch.float32), dim=-1)


def angle(degrees: float) -> torch.Tensor:
    return torch.tensor([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))])


def sampler(**options) -> QueueSampler:
    return build(QueueConfig(**options), InfoNCE(InfoNCEConfig()))


def ids(*values: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


def push(queue: RecyclingQueue, image_ids: list[int], dim: int = 4, scene_ids: list[int] | None = None) -> None:
    n = len(image_ids)
    marks = torch.tensor(image_ids, dtype=torch.float32)[:, None].expand(n, dim)  # row content = its id
    queue.push(marks, -marks, ids(*image_ids), ids(*(scene_ids or [-1] * n)))


# --- the hinge itself (CMER Eq. 16-18) ------------------------------------------------------------------------


def test_hinge_matches_a_hand_computation():
    # anchor at 0 deg, positive at 60 deg (S = 0.5); negatives at 30, 90 and 180 deg (S = 0.866, 0, -1).
    anchor, positive = angle(0)[None], angle(60)[None]
    negatives = torch.stack([angle(30), angle(90), angle(180)])
    valid = torch.ones(1, 3, dtype=torch.bool)
    margin, beta = 0.2, 0.5
    l_30 = margin - 0.5 + math.cos(math.radians(30))  # 0.566; the other two are below zero
    expected = l_30 * math.exp(-beta * l_30)
    got = {r: difficulty_weighted_hinge(anchor, positive, negatives, valid, margin, beta, reduction=r).item()
           for r in ("sum", "per_pair", "mean")}
    assert got["sum"] == pytest.approx(expected, rel=1e-5)
    assert got["per_pair"] == pytest.approx(expected, rel=1e-5)
    assert got["mean"] == pytest.approx(expected / 3, rel=1e-5)


def test_hinge_reductions_and_mask_over_two_anchors():
    # anchor 0: positive at 60 deg (S=.5), negative at 30 deg: l = .2 - .5 + .866. anchor 1 (at 90 deg): positive
    # at 90 deg (S=1), negative at 30 deg: l = .2 - 1 + .5 < 0. A masked negative at 0 deg would add .2 - .5 + 1.
    anchors = torch.stack([angle(0), angle(90)])
    positives = torch.stack([angle(60), angle(90)])
    negatives = torch.stack([angle(30), angle(0)])
    valid = torch.tensor([[True, False], [True, True]])
    cost = 0.2 - 0.5 + math.cos(math.radians(30))
    term = cost * math.exp(-0.5 * cost)
    args = (anchors, positives, negatives, valid, 0.2, 0.5)
    assert difficulty_weighted_hinge(*args, reduction="sum").item() == pytest.approx(term, rel=1e-5)
    assert difficulty_weighted_hinge(*args, reduction="per_pair").item() == pytest.approx(term / 2, rel=1e-5)
    assert difficulty_weighted_hinge(*args, reduction="mean").item() == pytest.approx(term / 4, rel=1e-5)
    unmasked = difficulty_weighted_hinge(anchors, positives, negatives, torch.ones(2, 2, dtype=torch.bool), 0.2, 0.5,
                                         reduction="sum").item()
    l_masked = 0.2 - 0.5 + 1.0
    assert unmasked == pytest.approx(term + l_masked * math.exp(-0.5 * l_masked), rel=1e-5)


def test_hinge_is_scale_free_and_beta_zero_is_a_plain_hinge():
    anchor, positive, negatives = angle(0)[None], angle(60)[None], angle(30)[None]
    valid = torch.ones(1, 1, dtype=torch.bool)
    plain = difficulty_weighted_hinge(3 * anchor, 5 * positive, 7 * negatives, valid, 0.2, 0.0, reduction="sum")
    assert plain.item() == pytest.approx(0.2 - 0.5 + math.cos(math.radians(30)), rel=1e-5)


def test_detached_weight_changes_the_gradient_by_one_minus_beta_l():
    negatives, positive = angle(30)[None], angle(60)[None]
    valid = torch.ones(1, 1, dtype=torch.bool)
    beta, cost = 2.0, 0.2 - 0.5 + math.cos(math.radians(30))
    grads = []
    for detach in (False, True):
        anchor = angle(0)[None].clone().requires_grad_(True)
        difficulty_weighted_hinge(anchor, positive, negatives, valid, 0.2, beta, reduction="sum",
                                  detach_weight=detach).backward()
        grads.append(anchor.grad)
    # d/dl [l e^(-beta l)] = e^(-beta l) (1 - beta l); with the weight detached it is e^(-beta l).
    assert torch.allclose(grads[0], grads[1] * (1 - beta * cost), atol=1e-6)
    assert grads[1].norm() > 0


def test_empty_negatives_give_zero():
    out = difficulty_weighted_hinge(torch.randn(3, 4), torch.randn(3, 4), torch.zeros(0, 4),
                                    torch.zeros(3, 0, dtype=torch.bool), 0.2, 0.5)
    assert out.item() == 0.0


def test_hinge_loss_component_matches_an_hvsa_style_reference():
    torch.manual_seed(0)
    image, text = torch.randn(6, 8), torch.randn(6, 8)
    margin, beta = 0.2, 0.5
    scores = F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).t()  # images x texts
    diag = scores.diag()
    eye = torch.eye(6, dtype=torch.bool)
    cost_text = (margin + scores - diag[:, None]).clamp(min=0).masked_fill(eye, 0)  # image anchors vs texts
    cost_image = (margin + scores - diag[None, :]).clamp(min=0).masked_fill(eye, 0)  # text anchors vs images
    reference = ((cost_text * torch.exp(-beta * cost_text)).sum() + (cost_image * torch.exp(-beta * cost_image)).sum())
    loss = DifficultyWeightedHinge(HingeConfig(margin=margin, beta=beta))
    assert loss(image, text, SCALE).item() == pytest.approx(reference.item() / 36, rel=1e-5)
    # Pairs of the same image are not negatives: masking (0, 1) and (1, 0) removes exactly those cells.
    same = eye.clone()
    same[0, 1] = same[1, 0] = True
    masked = (cost_text.masked_fill(same, 0) * torch.exp(-beta * cost_text.masked_fill(same, 0))).sum() + (
        cost_image.masked_fill(same, 0) * torch.exp(-beta * cost_image.masked_fill(same, 0))).sum()
    assert loss(image, text, SCALE, same).item() == pytest.approx(masked.item() / 36, rel=1e-5)


@pytest.mark.parametrize(("options", "message"), [
    ({"margin": -0.1}, "margin"), ({"beta": -1.0}, "beta"), ({"reduction": "avg"}, "reduction"),
    ({"queue_multiple": -1}, "queue_multiple"), ({"length": -2}, "length"), ({"weight": -1.0}, "weight"),
])
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        QueueConfig(**options)


# --- the queue ---------------------------------------------------------------------------------------------------


def test_queue_is_first_in_first_out_with_a_fixed_length():
    queue = RecyclingQueue(length=5)
    push(queue, [0, 1])
    push(queue, [2, 3])
    assert len(queue) == 4 and queue.oldest_first()[2].tolist() == [0, 1, 2, 3]
    push(queue, [4, 5])
    assert len(queue) == 5 and queue.oldest_first()[2].tolist() == [1, 2, 3, 4, 5]
    push(queue, [6, 7, 8])
    visual, text, image_ids, _ = queue.oldest_first()
    assert image_ids.tolist() == [4, 5, 6, 7, 8]
    assert visual[:, 0].tolist() == [4, 5, 6, 7, 8] and text[:, 0].tolist() == [-4, -5, -6, -7, -8]
    push(queue, list(range(10, 17)))  # longer than the queue: its last five rows stay, in order
    assert queue.oldest_first()[2].tolist() == [12, 13, 14, 15, 16]
    assert queue.visual.shape == (5, 4)


def test_sampler_queue_length_is_a_multiple_of_the_first_batch_and_updated_once_per_step():
    s = sampler(queue_multiple=2)
    for step in range(4):
        image, text = torch.randn(3, 8), torch.randn(3, 8)
        _, logs = s(image, text, SCALE, ids(3 * step, 3 * step + 1, 3 * step + 2), ids(-1, -1, -1))
        assert logs["queue_fill"] == min(6, 3 * step)  # what this step's L_queue saw
    assert s.queue.length == 6
    assert s.queue.oldest_first()[2].tolist() == [6, 7, 8, 9, 10, 11]
    last = s.queue.oldest_first()[0][-3:]
    assert torch.allclose(last, F.normalize(image, dim=-1)) and not last.requires_grad
    assert sampler(length=7).queue.length == 7


def test_empty_queue_gives_zero_queue_loss_and_the_batch_loss():
    torch.manual_seed(1)
    image, text = torch.randn(4, 8), torch.randn(4, 8)
    image_ids = ids(0, 1, 1, 2)
    loss, logs = sampler()(image, text, SCALE, image_ids, ids(0, 1, 1, 0))
    same_image = image_ids[:, None] == image_ids[None, :]
    expected = InfoNCE(InfoNCEConfig())(image, text, SCALE, same_image)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert logs["loss_queue"] == 0.0 and logs["queue_fill"] == 0.0
    assert logs["loss_batch"] == pytest.approx(logs["loss"])


def test_queue_multiple_zero_is_the_batch_loss_at_every_step():
    s = sampler(queue_multiple=0)
    for step in range(3):
        image, text = torch.randn(4, 8), torch.randn(4, 8)
        loss, logs = s(image, text, SCALE, ids(*range(4 * step, 4 * step + 4)), ids(-1, -1, -1, -1))
        assert logs["loss_queue"] == 0.0 and logs["queue_fill"] == 0.0
    assert len(s.queue) == 0


def current_pair_and_queue(s: QueueSampler, queued_image: int, queued_scene: int):
    """One current pair (image 5, scene 2) with S(s, v) = 0.5, and a queue of two entries:
    a decoy whose Q_v entry equals the caption and Q_s entry equals the image (l = margin + 0.5 each, would
    dominate), with the given image/scene id, and an ordinary negative at S = 0.5 (l = margin exactly)."""
    v, s_ = angle(0), angle(60)
    ordinary_v, ordinary_s = angle(120), angle(-60)  # S(s_e, q_v) = cos 60, S(v_e, q_s) = cos 60
    s.queue.push(torch.stack([s_, ordinary_v]), torch.stack([v, ordinary_s]),
                 ids(queued_image, 9), ids(queued_scene, 7))
    return v[None], s_[None], ids(5), ids(2)


@pytest.mark.parametrize(("queued_image", "queued_scene", "option"), [
    (5, 3, "exclude_same_image"),  # same image, other scene
    (6, 2, "exclude_same_scene"),  # other image, same scene
])
def test_excluded_queue_entries_do_not_contribute(queued_image, queued_scene, option):
    margin, beta = 0.2, 0.5
    ordinary = margin * math.exp(-beta * margin)  # each direction: the ordinary negative only
    decoy_l = margin - 0.5 + 1.0
    decoy = decoy_l * math.exp(-beta * decoy_l)
    for exclude in (True, False):
        s = sampler(length=4, reduction="sum", **{option: exclude})
        image, text, image_ids, scene_ids = current_pair_and_queue(s, queued_image, queued_scene)
        _, logs = s(image, text, SCALE, image_ids, scene_ids)
        expected = 2 * ordinary + (0 if exclude else 2 * decoy)
        assert logs["loss_queue"] == pytest.approx(expected, rel=1e-5)
        assert logs["queue_negatives"] == (1.0 if exclude else 2.0)


def test_unknown_scenes_exclude_nothing():
    s = sampler(length=4, reduction="sum")
    image, text, image_ids, _ = current_pair_and_queue(s, queued_image=6, queued_scene=-1)
    _, logs = s(image, text, SCALE, image_ids, ids(-1))
    assert logs["queue_negatives"] == 2.0


def test_gradients_reach_the_current_embeddings_only():
    torch.manual_seed(2)
    s = sampler(queue_multiple=2)
    first = [torch.randn(3, 8, requires_grad=True) for _ in range(2)]
    s(*first, SCALE, ids(0, 1, 2), ids(0, 1, 2))
    assert not s.queue.visual.requires_grad and not s.queue.text.requires_grad
    current = [torch.randn(3, 8, requires_grad=True) for _ in range(2)]
    loss, logs = s(*current, SCALE, ids(3, 4, 5), ids(1, 2, 0))
    assert logs["loss_queue"] > 0
    loss.backward()  # the queue was updated in this call: its old buffers must still serve backward
    assert all(t.grad is None for t in first)
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in current)


def test_queue_term_has_gradients_on_both_towers():
    torch.manual_seed(3)
    s = sampler(length=8, reduction="sum")
    s.queue.push(torch.randn(4, 8), torch.randn(4, 8), ids(10, 11, 12, 13), ids(-1, -1, -1, -1))
    image, text = torch.randn(2, 8, requires_grad=True), torch.randn(2, 8, requires_grad=True)
    batch_only = sampler(queue_multiple=0)
    loss, logs = s(image, text, SCALE, ids(0, 1), ids(-1, -1))
    (loss - batch_only(image, text, SCALE, ids(0, 1), ids(-1, -1))[0]).backward()  # = L_queue
    assert logs["loss_queue"] > 0 and image.grad.abs().sum() > 0 and text.grad.abs().sum() > 0


def test_state_dict_round_trip_is_exact(tmp_path):
    torch.manual_seed(4)
    s = sampler(queue_multiple=2)
    for step in range(3):  # 9 pairs into a 6-slot queue: it has wrapped around
        s(torch.randn(3, 8), torch.randn(3, 8), SCALE, ids(*range(3 * step, 3 * step + 3)), ids(0, 1, -1))
    state = s.state_dict()
    torch.save(state, tmp_path / "sampler.pt")
    restored = sampler(queue_multiple=5)  # the saved length wins over the config's
    restored.load_state_dict(torch.load(tmp_path / "sampler.pt"))
    assert (restored.queue.length, restored.queue.pointer, restored.queue.filled) == (6, 3, 6)
    for name in ("visual", "text", "image_ids", "scene_ids"):
        assert torch.equal(getattr(restored.queue, name), getattr(s.queue, name))
    image, text = torch.randn(3, 8), torch.randn(3, 8)
    a, logs_a = s(image, text, SCALE, ids(20, 21, 22), ids(1, 0, 1))
    b, logs_b = restored(image, text, SCALE, ids(20, 21, 22), ids(1, 0, 1))
    assert a.item() == b.item() and logs_a == logs_b
    assert torch.equal(restored.queue.oldest_first()[2], s.queue.oldest_first()[2])
    # The saved state is a copy: later pushes did not change it.
    assert state["queue"]["pointer"] == 3 and state["queue"]["image_ids"].tolist() != s.queue.image_ids.tolist()


def test_empty_state_leaves_the_queue_alone_and_a_fresh_state_resets_it():
    s = sampler(queue_multiple=2)
    fresh = s.state_dict()
    s(torch.randn(2, 8), torch.randn(2, 8), SCALE, ids(0, 1), ids(-1, -1))
    s.load_state_dict({})
    assert len(s.queue) == 2
    s.load_state_dict(fresh)
    assert len(s.queue) == 0 and s.queue.length is None


def test_a_single_pair_is_enqueued_and_an_unset_length_comes_from_the_first_push():
    queue = RecyclingQueue(length=None)
    push(queue, [7, 8, 9])
    assert queue.length == 3 and queue.oldest_first()[2].tolist() == [7, 8, 9]
    push(queue, [4])
    assert len(queue) == 3 and queue.oldest_first()[2].tolist() == [8, 9, 4]


def test_an_embedding_of_another_width_is_refused():
    queue = RecyclingQueue(length=4)
    push(queue, [1, 2], dim=4)
    with pytest.raises(RsbenchError, match="holds 4-d embeddings but got 3-d"):
        push(queue, [3], dim=3)


def test_foreign_states_are_clear_errors():
    with pytest.raises(RsbenchError, match="missing length, pointer, filled, visual, text, image_ids, scene_ids"):
        RecyclingQueue(length=2).load_state_dict({"weights": 1})
    with pytest.raises(RsbenchError, match="expected a 'queue' entry"):
        sampler().load_state_dict({"weights": 1})


def test_negative_mask_excludes_same_image_and_same_scene_by_default():
    # pairs (image, scene): (0, 0), (1, -1); queue: (0, 5), (2, 0), (3, -1), (4, 1)
    mask = queue_negative_mask(ids(0, 1), ids(0, -1), ids(0, 2, 3, 4), ids(5, 0, -1, 1))
    assert mask.tolist() == [[False, False, True, True], [True, True, True, True]]
    both_off = queue_negative_mask(ids(0, 1), ids(0, -1), ids(0, 2, 3, 4), ids(5, 0, -1, 1), False, False)
    assert both_off.all()


def test_option_boundaries():
    # margin 0, beta 0 (a plain hinge), an explicit empty queue and weight 0 (L = L_batch) are all allowed
    QueueConfig(margin=0.0, beta=0.0, length=0, weight=0.0)
    with pytest.raises(ConfigError, match="temperature"):
        InfoNCEConfig(temperature=0.0)


def test_one_queued_entry_is_seen():
    queue = RecyclingQueue(length=3)
    push(queue, [5])
    visual, text, image_ids, scene_ids = queue.entries()
    assert image_ids.tolist() == [5] and visual[:, 0].tolist() == [5.0] and text[:, 0].tolist() == [-5.0]
    assert queue.oldest_first()[2].tolist() == [5]
