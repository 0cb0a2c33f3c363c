"""fusion-rerank: weight 0 or K = 1 keep the dual-stream ranking; the ITM head learns; the fit is seeded and
leaves the run's RNG alone; without training records it says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from rsbench_cmpagl.config import FusionRerankConfig
from rsbench_cmpagl.fusion_encoder import FusionEncoder, PairFeatures, fit_itm
from rsbench_cmpagl.fusion_rerank import FusionRerank

from rsbench.data.record import Record
from rsbench.errors import RsbenchError
from rsbench.retrieval.base import EvalSplit
from rsbench.retrieval.encoder import ImageFeatures, TextFeatures
from rsbench.retrieval.strategies.config import DualStreamConfig
from rsbench.retrieval.strategies.dual_stream import build as dual_stream

DIM, CONCEPTS = 16, 8


class ConceptEncoder:
    """An image shows one of eight concepts in one of its four patches; its captions name it in one of three words.
    Global embeddings carry only a weak trace of the concept, so a good ranking has to come from the tokens."""

    device = torch.device("cpu")

    def __init__(self, seed: int = 0) -> None:
        self.g = torch.Generator().manual_seed(seed)
        self.concepts = F.normalize(torch.randn(CONCEPTS, DIM, generator=self.g), dim=-1)
        self._images: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._texts: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def noise(self, *shape: int, scale: float = 0.3) -> torch.Tensor:
        return scale * torch.randn(*shape, DIM, generator=self.g)

    def image(self, record: Record, concept: int) -> None:
        patches = torch.cat([self.concepts[concept] + self.noise(1), self.noise(3, scale=1.0)])
        emb = 0.2 * self.concepts[concept] + self.noise(scale=1.0)
        order = torch.randperm(4, generator=self.g)
        self._images[str(record.image)] = (F.normalize(emb, dim=-1), F.normalize(patches[order], dim=-1))

    def caption(self, text: str, concept: int) -> None:
        words = torch.cat([self.concepts[concept] + self.noise(1), self.noise(2, scale=1.0)])
        emb = 0.2 * self.concepts[concept] + self.noise(scale=1.0)
        self._texts[text] = (F.normalize(emb, dim=-1), F.normalize(words, dim=-1))

    def images(self, records, tokens: bool = False) -> ImageFeatures:
        emb, patches = (torch.stack(x) for x in zip(*(self._images[str(r.image)] for r in records), strict=True))
        return ImageFeatures(emb, patches if tokens else None)

    def texts(self, texts, tokens: bool = False) -> TextFeatures:
        emb, words = (torch.stack(x) for x in zip(*(self._texts[t] for t in texts), strict=True))
        mask = torch.ones(len(texts), 3, dtype=torch.bool)
        return TextFeatures(emb, words if tokens else None, mask if tokens else None)


def concept_split(encoder: ConceptEncoder, split: str, copies: int) -> tuple[list[Record], list[str], list[int]]:
    records, captions, owners = [], [], []
    for n, concept in enumerate(c for _ in range(copies) for c in range(CONCEPTS)):
        texts = (f"{split} {n} a", f"{split} {n} b")
        record = Record(Path(f"/concepts/{split}_{n}.png"), f"{split}_{n}.png", texts, None, split)
        encoder.image(record, concept)
        for text in texts:
            encoder.caption(text, concept)
        records.append(record)
        captions.append(texts[0])
        owners.append(n)
    return records, captions, owners


@pytest.fixture(scope="module")
def concept_data():
    encoder = ConceptEncoder()
    train, _, _ = concept_split(encoder, "train", copies=8)
    test, captions, owners = concept_split(encoder, "test", copies=1)
    return encoder, EvalSplit(test, captions, owners, train_records=train)


def test_weight_zero_keeps_the_dual_stream_ranking(concept_data):
    encoder, split = concept_data
    dense = dual_stream(DualStreamConfig()).retrieve(split, encoder).scores
    result = FusionRerank(FusionRerankConfig(candidates=split.n_images, fusion_weight=0.0)).retrieve(split, encoder)
    assert torch.equal(result.scores.t2i.indices, dense.t2i.argsort(dim=1, descending=True, stable=True))
    assert torch.equal(result.scores.i2t.indices, dense.i2t.argsort(dim=1, descending=True, stable=True))
    assert "itm_loss_per_epoch" not in result.info  # nothing was fitted


def test_more_candidates_than_the_gallery_is_an_error_not_a_cut(concept_data):
    encoder, split = concept_data
    with pytest.raises(RsbenchError, match="larger than the gallery"):
        FusionRerank(FusionRerankConfig(candidates=split.n_images + 1)).retrieve(split, encoder)


def test_one_candidate_keeps_the_dual_stream_top_1(concept_data):
    encoder, split = concept_data
    dense = dual_stream(DualStreamConfig()).retrieve(split, encoder).scores
    result = FusionRerank(FusionRerankConfig(candidates=1, epochs=1)).retrieve(split, encoder)
    assert result.scores.t2i.indices[:, 0].tolist() == dense.t2i.argmax(dim=1).tolist()
    assert result.scores.i2t.indices[:, 0].tolist() == dense.i2t.argmax(dim=1).tolist()


def test_the_fit_learns_is_seeded_and_leaves_the_run_rng_alone(concept_data):
    encoder, split = concept_data
    config = FusionRerankConfig(candidates=4, width=32, heads=2, depth=1, epochs=20, batch_size=16, lr=3e-3)
    before = torch.get_rng_state()
    result = FusionRerank(config).retrieve(split, encoder)
    assert torch.equal(torch.get_rng_state(), before)  # the fit draws from its own generator only
    losses = result.info["itm_loss_per_epoch"]
    assert len(losses) == 20 and losses[-1] < 0.8 * losses[0]
    assert result.info["fit_pairs"] == len(split.train_records)  # one caption per training image
    listed = result.stage1.t2i
    assert not torch.equal(result.scores.t2i.scores, listed.scores)  # the ITM term moved the scores
    again = FusionRerank(config).retrieve(split, encoder)
    assert torch.equal(again.scores.t2i.scores, result.scores.t2i.scores)  # seeded: the same fit twice


def test_fit_itm_separates_matches_on_a_tiny_example():
    g = torch.Generator().manual_seed(1)
    n = 8
    patches = F.normalize(torch.randn(n, 3, DIM, generator=g), dim=-1)
    words = F.normalize(patches[:, :2] + 0.1 * torch.randn(n, 2, DIM, generator=g), dim=-1)
    f = PairFeatures(F.normalize(torch.randn(n, DIM, generator=g), dim=-1), patches,
                     F.normalize(torch.randn(n, DIM, generator=g), dim=-1), words, torch.ones(n, 2, dtype=torch.bool))
    torch.manual_seed(0)
    model = FusionEncoder(DIM, 32, 2, 1)
    ids = torch.arange(n)
    history = fit_itm(model, f, ids, ids, epochs=60, batch_size=n, lr=3e-3, hardest=False, generator=g)
    assert history[-1] < 0.5 * history[0]
    with torch.no_grad():
        matched = model.score(f, ids, ids)
        mismatched = model.score(f, ids, ids.roll(1))
    assert (matched > mismatched).float().mean() >= 0.75


def test_without_training_records_it_says_what_to_do(concept_data):
    encoder, split = concept_data
    bare = EvalSplit(split.records, split.captions, split.caption_to_image)
    with pytest.raises(RsbenchError, match="no training records"):
        FusionRerank(FusionRerankConfig(candidates=4)).retrieve(bare, encoder)
