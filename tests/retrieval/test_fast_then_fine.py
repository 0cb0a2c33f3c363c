"""Fast-then-fine: the token interaction by hand, chunked recall, and fine_weight 0 = dual-stream's ranking."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rsbench.errors import ConfigError, RsbenchError
from rsbench.metrics import retrieval_metrics, score_ranks
from rsbench.retrieval.base import EvalSplit
from rsbench.retrieval.encoder import ImageFeatures, TextFeatures
from rsbench.retrieval.index.shortlist import shortlist
from rsbench.retrieval.scores import Candidates
from rsbench.retrieval.strategies.config import DualStreamConfig, FastThenFineConfig
from rsbench.retrieval.strategies.dual_stream import DualStream
from rsbench.retrieval.strategies.fast_then_fine import FastThenFine, fine_scores


class FixedEncoder:
    """An encoder view that hands out fixed features (the strategies only call images() and texts())."""

    device = torch.device("cpu")

    def __init__(self, images: ImageFeatures, texts: TextFeatures) -> None:
        self._images, self._texts = images, texts

    def images(self, records, tokens: bool = False) -> ImageFeatures:
        return self._images if tokens else ImageFeatures(self._images.embeddings)

    def texts(self, texts, tokens: bool = False) -> TextFeatures:
        return self._texts if tokens else TextFeatures(self._texts.embeddings)


def random_split(seed: int, n_images: int = 7, per_image: int = 3, dim: int = 8, patches: int = 5, words: int = 6):
    g = torch.Generator().manual_seed(seed)
    targets = [i for i in range(n_images) for _ in range(per_image)]
    n = len(targets)
    mask = torch.rand(n, words, generator=g) > 0.3
    mask[:, 0] = True
    images = ImageFeatures(F.normalize(torch.randn(n_images, dim, generator=g), dim=-1),
                           F.normalize(torch.randn(n_images, patches, dim, generator=g), dim=-1))
    texts = TextFeatures(F.normalize(torch.randn(n, dim, generator=g), dim=-1),
                         F.normalize(torch.randn(n, words, dim, generator=g), dim=-1), mask)
    split = EvalSplit(records=[None] * n_images, captions=[f"c{i}" for i in range(n)], caption_to_image=targets)
    return split, FixedEncoder(images, texts)


def test_fine_score_by_hand():
    # Two words (one padding), two patches, in 2-D. Word a=(1,0), b=(0,1) masked out; patches p=(1,0), q=(0.6,0.8).
    words = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    mask = torch.tensor([True, False])
    patches = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    # words->patches: word a's best patch is p (1.0) -> mean over real words = 1.0
    # patches->words: p's best word is a (1.0), q's is a (0.6) -> mean over patches = 0.8
    assert fine_scores(words, mask, patches, "words").item() == pytest.approx(1.0)
    assert fine_scores(words, mask, patches, "patches").item() == pytest.approx(0.8)
    assert fine_scores(words, mask, patches, "balanced").item() == pytest.approx(0.9)


def test_fine_score_is_not_biased_by_caption_length():
    # Repeating a caption's words changes no mean: a long caption scores as its short self.
    patches = F.normalize(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), dim=-1)
    words = F.normalize(torch.randn(2, 3, generator=torch.Generator().manual_seed(1)), dim=-1)
    short = fine_scores(words, torch.ones(2, dtype=torch.bool), patches)
    long = fine_scores(words.repeat(5, 1), torch.ones(10, dtype=torch.bool), patches)
    assert long.item() == pytest.approx(short.item())


def test_fine_scores_broadcast_like_a_loop():
    _, encoder = random_split(3)
    texts, images = encoder._texts, encoder._images
    batched = fine_scores(texts.tokens[:, None], texts.mask[:, None], images.tokens[None])
    for c in range(3):
        for i in range(4):
            assert batched[c, i].item() == pytest.approx(
                fine_scores(texts.tokens[c], texts.mask[c], images.tokens[i]).item(), abs=1e-6)


def test_chunked_top_k_equals_full_top_k(monkeypatch):
    import rsbench.retrieval.index.shortlist as stage1

    generator = torch.Generator().manual_seed(0)  # fixed: a blockwise product may differ from the full one by ~1e-6
    queries, gallery = torch.randn(13, 4, generator=generator), torch.randn(9, 4, generator=generator)
    monkeypatch.setattr(stage1, "_CHUNK_ELEMENTS", 20)  # two queries per block
    got = shortlist(queries, gallery, 5)
    full = (queries @ gallery.t()).topk(5, dim=1)
    assert torch.equal(got.indices, full.indices) and torch.allclose(got.scores, full.values, atol=1e-5)
    flat = shortlist(queries, gallery, 5, index="flat")  # faiss's exact index: the same shortlist
    assert torch.equal(flat.indices, full.indices) and torch.allclose(flat.scores, full.values, atol=1e-5)


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_dual_stream_top_k_through_an_index_ranks_like_the_dense_matrix(index):
    split, encoder = random_split(0)
    dense = DualStream(DualStreamConfig()).retrieve(split, encoder).scores
    short = DualStream(DualStreamConfig(candidates=3, index=index)).retrieve(split, encoder)
    assert short.info["index"] == index
    full = dense.t2i.topk(3, dim=1)
    assert torch.equal(short.scores.t2i.indices, full.indices)


@pytest.mark.parametrize("seed", range(3))
def test_fine_weight_zero_ranks_like_dual_stream(seed):
    split, encoder = random_split(seed)
    dual = DualStream(DualStreamConfig()).retrieve(split, encoder).scores
    k = 4
    ftf = FastThenFine(FastThenFineConfig(candidates=k, fine_weight=0.0)).retrieve(split, encoder)
    for direction in ("t2i", "i2t"):
        lists: Candidates = getattr(ftf.scores, direction)
        dense = getattr(dual, direction)
        assert torch.equal(lists.indices, dense.topk(k, dim=1).indices)
    # With K = every image, text->image metrics are dual-stream's exactly, and image->text ones up to R@K.
    everything = FastThenFine(FastThenFineConfig(candidates=split.n_images, fine_weight=0.0)).retrieve(split, encoder)
    got, expected = (retrieval_metrics(s, split.caption_to_image) for s in (everything.scores, dual))
    same = ["t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5"]
    assert {m: got[m] for m in same} == {m: expected[m] for m in same}


def test_fusion_adds_weighted_fine_scores_and_keeps_the_shortlist():
    split, encoder = random_split(5)
    result = FastThenFine(FastThenFineConfig(candidates=3, fine_weight=2.0)).retrieve(split, encoder)
    texts, images = encoder._texts, encoder._images
    lists = result.scores.t2i
    assert set(map(tuple, lists.indices.sort(dim=1).values.tolist())) == set(
        map(tuple, result.stage1.t2i.indices.sort(dim=1).values.tolist()))
    c, i = 0, int(lists.indices[0, 0])
    expected = texts.embeddings[c] @ images.embeddings[i] + 2.0 * fine_scores(
        texts.tokens[c], texts.mask[c], images.tokens[i])
    assert lists.scores[0, 0].item() == pytest.approx(expected.item(), abs=1e-5)
    assert (lists.scores[:, :-1] >= lists.scores[:, 1:]).all()
    assert set(result.seconds) == {"encode", "recall", "fine"}
    i2t, t2i = score_ranks(result.stage1, split.caption_to_image)
    assert len(t2i) == split.n_captions and len(i2t) == split.n_images


@pytest.mark.parametrize("strategy", ["dual-stream", "fast-then-fine"])
def test_a_shortlist_longer_than_the_gallery_is_an_error_before_encoding(strategy):
    split, encoder = random_split(0, n_images=7, per_image=3)  # 7 images, 21 captions

    class Refuses(FixedEncoder):
        def images(self, records, tokens=False):
            raise AssertionError("encoded before checking K")

    built = (DualStream(DualStreamConfig(candidates=8)) if strategy == "dual-stream"
             else FastThenFine(FastThenFineConfig(candidates=8)))
    with pytest.raises(RsbenchError, match=r"strategy.candidates=8 is larger than the gallery: .* 7 images; "
                                           r"set strategy.candidates to at most 7"):
        built.retrieve(split, Refuses(encoder._images, encoder._texts))
    with pytest.raises(RsbenchError, match="k=8 does not fit a gallery of 7"):
        shortlist(encoder._texts.embeddings, encoder._images.embeddings, 8)


@pytest.mark.parametrize("options", [{"candidates": 0}, {"fine_weight": -1.0}])
def test_bad_options_are_config_errors(options):
    with pytest.raises(ConfigError):
        FastThenFineConfig(**options)


def test_an_unknown_index_is_a_config_error_when_the_config_resolves():
    from rsbench.config import build_config

    with pytest.raises(ConfigError, match="^strategy.index: unknown index 'hnws'"):
        build_config(None, {}, ["strategy.name=fast-then-fine", "strategy.index=hnws"])
