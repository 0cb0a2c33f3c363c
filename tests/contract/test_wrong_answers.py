"""rsbench.testing catches components that keep every shape but give wrong answers: each broken component below is
one the contract checks passed before they checked behaviour against planted truth. Each must fail its check with a
message naming the rule; the sound variants beside them must pass, so the checks are not merely strict."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from rsbench.captioning.base import CaptionFailure
from rsbench.retrieval.rerankers.base import rerank_directions
from rsbench.retrieval.rerankers.config import DualSoftmaxConfig
from rsbench.retrieval.rerankers.dual_softmax import DualSoftmax, dual_softmax
from rsbench.retrieval.scores import Candidates, RetrievalScores
from rsbench.retrieval.strategies.config import DualStreamConfig
from rsbench.retrieval.strategies.dual_stream import DualStream
from rsbench.testing import ContractError, check_captioner, check_reranker, check_sampler, check_strategy
from rsbench.train.samplers.batch import BatchSampler
from rsbench.train.samplers.config import BatchConfig, QueueConfig
from rsbench.train.samplers.queue import QueueSampler

T = DualSoftmaxConfig().inverse_temperature


class NegatesScores(DualSoftmax):
    def rerank(self, scores, context):
        out = super().rerank(scores, context)
        flip = {name: value.rescored(-value.scores) if isinstance(value, Candidates) else -value
                for name, value in out.directions().items()}
        return RetrievalScores(**flip)


class FlattensScores(DualSoftmax):
    """Every item of a query gets the same score: ties, which never favour the true match."""

    def rerank(self, scores, context):
        return rerank_directions(scores, lambda s, _d: torch.zeros_like(s), lambda c, _d: torch.zeros_like(c.scores))


class SoftmaxOverTheWrongAxis(DualSoftmax):
    """On candidate lists, the prior is softmaxed over each query's own list (axis 1) instead of over the queries
    that list the item. (Over axis 1 everywhere it would be a per-query monotone rescoring: rankings and recalls
    unchanged, a reranker that does nothing, which no check can or need tell from one that is right.)"""

    def rerank(self, scores, context):
        return rerank_directions(scores, lambda s, _d: dual_softmax(s, T),
                                 lambda c, _d: c.scores * torch.softmax(T * c.scores, dim=1))


class IgnoresCandidateLists(DualSoftmax):
    """Reranks dense scores and hands candidate lists back as they came."""

    def rerank(self, scores, context):
        return rerank_directions(scores, lambda s, _d: dual_softmax(s, T), lambda c, _d: c.scores)


class RerankInPlace(DualSoftmax):
    def rerank(self, scores, context):
        for value in scores.directions().values():
            target = value.scores if isinstance(value, Candidates) else value
            target.mul_(torch.softmax(T * target, dim=0))
        return RetrievalScores(t2i=scores.t2i, i2t=scores.i2t)


class NegatedStrategy(DualStream):
    def retrieve(self, split, encoder):
        result = super().retrieve(split, encoder)
        result.scores = RetrievalScores(t2i=-result.scores.t2i, i2t=-result.scores.i2t)
        return result


class ImagesOffByOne(DualStream):
    """Scores each caption against the image after its own (a gallery read one row late)."""

    def retrieve(self, split, encoder):
        result = super().retrieve(split, encoder)
        t2i = result.scores.t2i.roll(1, dims=1)
        result.scores = RetrievalScores.from_similarity(t2i)
        return result


class IgnoresTheImageMask(BatchSampler):
    def __call__(self, image_emb, text_emb, logit_scale, image_ids, scene_ids):
        loss = self.loss(image_emb, text_emb, logit_scale, None)
        return loss, {"loss": float(loss.detach())}


class HardestNegative(BatchSampler):
    """VSE++'s max-violation hinge: each image's hardest caption and each caption's hardest image, with a margin."""

    masks_same_image = True

    def __call__(self, image_emb, text_emb, logit_scale, image_ids, scene_ids):
        s = F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).t()
        positive = s.diag()
        excluded = torch.eye(len(s), dtype=torch.bool)
        if self.masks_same_image:
            excluded |= image_ids[:, None] == image_ids[None, :]
        negatives = s.masked_fill(excluded, -2.0)
        loss = ((0.2 - positive + negatives.max(dim=1).values).clamp(min=0).mean()
                + (0.2 - positive + negatives.max(dim=0).values).clamp(min=0).mean())
        return loss, {"loss": float(loss.detach())}


class HardestNegativeOfAnyImage(HardestNegative):
    masks_same_image = False  # the hardest "negative" of an image is then its own other caption


class QueueForgetsImages(QueueSampler):
    """Masks the batch by image, but takes queued captions of the anchor's own image as negatives."""

    def __init__(self, config, loss):
        super().__init__(config, loss)
        self.config = dataclasses.replace(config, exclude_same_image=False)  # the batch sampler kept its mask


class ListCaptioner:
    """A captioner that answers toy image number i with ``reply(i)``."""

    uses_prompt = False
    retry_failures = False

    def __init__(self, reply):
        self.reply = reply

    def describe(self):
        return {"model": "constant", "oracle": False}

    def caption(self, records, prompt, *, device="cpu", retry=False):
        return [self.reply(int(record.image_id.split("_")[1].split(".")[0])) for record in records]


BROKEN = [
    ("reranker-negates-scores", lambda: check_reranker(NegatesScores(DualSoftmaxConfig())), "planted matches"),
    ("reranker-flattens-scores", lambda: check_reranker(FlattensScores(DualSoftmaxConfig())), "planted matches"),
    ("reranker-softmax-over-the-wrong-axis", lambda: check_reranker(SoftmaxOverTheWrongAxis(DualSoftmaxConfig())),
     "ranked as the dense scores are"),
    ("reranker-ignores-candidate-lists", lambda: check_reranker(IgnoresCandidateLists(DualSoftmaxConfig())),
     "ranked as the dense scores are"),
    ("reranker-edits-its-input", lambda: check_reranker(RerankInPlace(DualSoftmaxConfig())),
     "must not change the scores it is given"),
    ("strategy-negated-scores", lambda: check_strategy(NegatedStrategy(DualStreamConfig())), "planted matches"),
    ("strategy-images-off-by-one", lambda: check_strategy(ImagesOffByOne(DualStreamConfig())), "planted matches"),
    ("sampler-ignores-the-image-mask", lambda: check_sampler(lambda loss: IgnoresTheImageMask(BatchConfig(), loss)),
     "own image was treated as a negative in the first step"),
    ("sampler-hardest-negative-of-the-same-image",
     lambda: check_sampler(lambda loss: HardestNegativeOfAnyImage(BatchConfig(), loss)),
     "own image was treated as a negative in the first step"),
    ("sampler-queue-forgets-images", lambda: check_sampler(lambda loss: QueueForgetsImages(QueueConfig(), loss)),
     "own image was treated as a negative in a later step"),
    ("captioner-empty-variant-lists", lambda: check_captioner(ListCaptioner(lambda i: [])), "at least one caption"),
    ("captioner-blank-variant", lambda: check_captioner(ListCaptioner(lambda i: [f"image {i}", " "])),
     "no empty one"),
]


@pytest.mark.parametrize(("check", "rule"), [(c, r) for _, c, r in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_the_checker_catches_a_wrong_answer(check, rule):
    with pytest.raises(ContractError) as info:
        check()
    assert rule in str(info.value)
    assert "\n" not in str(info.value)  # one line, naming the component and the rule


SOUND = [
    ("reranker-dual-softmax", lambda: check_reranker(DualSoftmax(DualSoftmaxConfig()))),
    ("strategy-dual-stream", lambda: check_strategy(DualStream(DualStreamConfig()))),
    ("sampler-hardest-negative", lambda: check_sampler(lambda loss: HardestNegative(BatchConfig(), loss))),
    ("sampler-queue", lambda: check_sampler(lambda loss: QueueSampler(QueueConfig(), loss))),
    ("captioner-variants-and-failures",
     lambda: check_captioner(ListCaptioner(lambda i: CaptionFailure("dark") if i == 1 else [f"image {i}"]))),
]


@pytest.mark.parametrize("check", [c for _, c in SOUND], ids=[i for i, _ in SOUND])
def test_a_sound_component_passes(check):
    check()
