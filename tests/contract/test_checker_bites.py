"""rsbench.testing catches components that break the contract: one deliberately broken component per rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from rsbench.data.record import Record, RetrievalDataset
from rsbench.models.adapters.base import Adapter
from rsbench.retrieval.index.exact import ExactIndex
from rsbench.retrieval.strategies.config import DualStreamConfig
from rsbench.retrieval.strategies.dual_stream import DualStream
from rsbench.testing import (
    ContractError,
    check_adapter,
    check_augmenter,
    check_config,
    check_dataset,
    check_index,
    check_loss,
    check_sampler,
    check_strategy,
    check_text_encoder,
    toy_dataset,
)
from rsbench.text.augmenters.base import Augmenter
from rsbench.text.encoders.base import TextEncoder
from rsbench.train.losses.config import InfoNCEConfig
from rsbench.train.losses.infonce import InfoNCE
from rsbench.train.samplers.batch import BatchSampler
from rsbench.train.samplers.config import BatchConfig


class RewardsMismatch(InfoNCE):
    def __call__(self, image_emb, text_emb, logit_scale, same_image=None):
        return -super().__call__(image_emb, text_emb, logit_scale, same_image)


class NormalisesInPlace(InfoNCE):
    def __call__(self, image_emb, text_emb, logit_scale, same_image=None):
        with torch.no_grad():
            image_emb /= image_emb.norm(dim=-1, keepdim=True)
        return super().__call__(image_emb, text_emb, logit_scale, same_image)


class ForgetfulSampler(BatchSampler):
    """Keeps a step count that changes its loss but does not save it."""

    steps = 0

    def __call__(self, image_emb, text_emb, logit_scale, image_ids, scene_ids):
        self.steps += 1
        loss, logs = super().__call__(image_emb, text_emb, logit_scale, image_ids, scene_ids)
        return loss * self.steps, logs


class ObjectState(BatchSampler):
    def state_dict(self):
        return {"config": self.config}  # a dataclass: weights_only loading refuses it


class NoLogs(BatchSampler):
    def __call__(self, *args):
        return super().__call__(*args)[0], {}


class EmptyQuery(Augmenter):
    def at_query(self, caption, record):
        return ""


class NotAnAugmenter:
    def augment(self, caption, record, rng):
        return caption


class TransposedStrategy(DualStream):
    def retrieve(self, split, encoder):
        from rsbench.retrieval.scores import RetrievalScores

        result = super().retrieve(split, encoder)
        result.scores = RetrievalScores(t2i=result.scores.i2t, i2t=result.scores.t2i)  # images x captions
        return result


class WorstFirst(ExactIndex):
    """Returns the k best in ascending order of score (a distance-style index used as a similarity one)."""

    def search(self, queries, k):
        scores, ids = super().search(queries, k)
        return scores[:, ::-1], ids[:, ::-1]


class ForgetsEarlierAdds(ExactIndex):
    """Each add replaces the gallery instead of appending to it."""

    def add(self, vectors):
        self._parts, self._gallery = [], None
        super().add(vectors)


class SavesNothingToLoad(ExactIndex):
    def load(self, path):
        return self  # ignores the file: an empty index


class NoTrainableParameters(Adapter):
    def __init__(self, backbone):
        super().__init__(backbone)
        self.freeze_backbone()


class ChangesFrozenWeights(Adapter):
    """Claims only a bias trains, but nudges a frozen weight on every forward."""

    def __init__(self, backbone):
        super().__init__(backbone)
        self.freeze_backbone()
        self.bias = torch.nn.Parameter(torch.zeros(backbone.embed_dim))

    def encode_image(self, images):
        if self.training:
            with torch.no_grad():
                self.model.visual.proj.add_(0.01)
        return super().encode_image(images) + self.bias


class LetterCounts(TextEncoder):
    """A good text encoder: each text as its counts of the letters a-z (plus one, so no row is zero)."""

    def __init__(self, batch_size=2, normalize=True):
        super().__init__(batch_size, normalize)

    @property
    def dim(self):
        return 26

    def embed(self, texts, role):
        return torch.stack([torch.tensor([1.0 + t.count(chr(97 + i)) for i in range(26)]) for t in texts])

    def describe(self):
        return {"name": "letters", "model": "a-z", "weights_sha256": None, "dim": 26, "normalized": self.normalize}


class ClaimsUnitRows(LetterCounts):
    def describe(self):
        return {**super().describe(), "normalized": True}  # but built with normalize=False


class CentresEachBatch(LetterCounts):
    def embed(self, texts, role):
        out = super().embed(texts, role)
        return out - 0.5 * out.mean(dim=0)


class EncodesCharacters(LetterCounts):
    def encode_queries(self, texts):
        return super().encode_queries(list(texts))  # a bare str becomes one text per character


class NoDigest(LetterCounts):
    def describe(self):
        return {k: v for k, v in super().describe().items() if k != "weights_sha256"}


class NotATextEncoder:
    dim = 26

    def describe(self):
        return LetterCounts().describe()


@dataclasses.dataclass
class NoHelp:
    size: int = 3


@dataclasses.dataclass
class NoDefault:
    size: int = dataclasses.field(metadata={"help": "a size"})


def dataset_with(**changes) -> RetrievalDataset:
    base = toy_dataset(Path("/data"))  # a real (not synthetic) dataset: its paths must stay under /data
    record = dataclasses.replace(base.records[0], **changes)
    return RetrievalDataset(name="bad", root=Path("/data"), records=[record, *base.records[1:]])


BROKEN = [
    ("loss-rewards-mismatch", lambda: check_loss(RewardsMismatch(InfoNCEConfig())), "lower loss"),
    ("loss-changes-inputs", lambda: check_loss(NormalisesInPlace(InfoNCEConfig())), "in place"),
    ("sampler-forgets-state", lambda: check_sampler(lambda loss: ForgetfulSampler(BatchConfig(), loss)),
     "after load_state_dict"),
    ("sampler-state-not-tensors", lambda: check_sampler(lambda loss: ObjectState(BatchConfig(), loss)),
     "weights_only=True"),
    ("sampler-no-loss-log", lambda: check_sampler(lambda loss: NoLogs(BatchConfig(), loss)), "float 'loss'"),
    ("augmenter-empty-query", lambda: check_augmenter(lambda dataset: EmptyQuery()), "non-empty str"),
    ("augmenter-wrong-base", lambda: check_augmenter(lambda dataset: NotAnAugmenter()), "must subclass"),
    ("strategy-images-by-captions", lambda: check_strategy(TransposedStrategy(DualStreamConfig())), "(84, 60)"),
    ("index-worst-first", lambda: check_index(lambda dim: WorstFirst(dim)), "best (highest) first"),
    ("index-forgets-adds", lambda: check_index(lambda dim: ForgetsEarlierAdds(dim)), "ntotal must count"),
    ("index-load-ignores-file", lambda: check_index(lambda dim: SavesNothingToLoad(dim)), "every saved vector"),
    ("adapter-trains-nothing", lambda: check_adapter(NoTrainableParameters), "needs trainable parameters"),
    ("adapter-changes-frozen", lambda: check_adapter(ChangesFrozenWeights), "must not change"),
    ("text-encoder-rows-not-unit", lambda: check_text_encoder(ClaimsUnitRows(normalize=False)), "unit L2 norm"),
    ("text-encoder-batch-dependent", lambda: check_text_encoder(CentresEachBatch()), "must not depend on batching"),
    ("text-encoder-encodes-characters", lambda: check_text_encoder(EncodesCharacters()), "bare str"),
    ("text-encoder-no-digest", lambda: check_text_encoder(NoDigest()), "missing weights_sha256"),
    ("text-encoder-wrong-base", lambda: check_text_encoder(NotATextEncoder()), "must subclass"),
    ("config-without-help", lambda: check_config(NoHelp), "has no help text"),
    ("config-without-default", lambda: check_config(NoDefault), "has no default"),
    ("dataset-empty-caption", lambda: check_dataset(dataset_with(captions=("ok", " "))), "non-empty str captions"),
    ("dataset-unknown-split", lambda: check_dataset(dataset_with(split="restval")), "split must be one of"),
    ("dataset-path-outside-root", lambda: check_dataset(dataset_with(image=Path("/etc/passwd"))),
     "inside the data root"),
]


@pytest.mark.parametrize(("check", "rule"), [(c, r) for _, c, r in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_the_checker_catches_a_broken_component(check, rule):
    with pytest.raises(ContractError, match=None) as info:
        check()
    assert rule in str(info.value)


def test_a_good_text_encoder_passes():
    check_text_encoder(LetterCounts())


def test_a_good_real_dataset_passes():
    check_dataset(dataset_with())


def test_records_are_records():
    bad = RetrievalDataset(name="bad", root=Path("/data"), records=[("x.png", ("a caption",))])
    with pytest.raises(ContractError, match="rsbench.data.record.Record"):
        check_dataset(bad)
    assert isinstance(toy_dataset().records[0], Record)
