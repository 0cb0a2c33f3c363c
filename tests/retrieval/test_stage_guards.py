"""The retrieval stage's own logic against hand-computed truth (issue 24): fast-then-fine's fusion in both
directions, the record's stage-1 recall at K, dual softmax's configured temperature on dense scores, QB-Norm's
bank drawn from the training captions only, and hybrid's weight chosen on the selection split."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rsbench.data.record import Record
from rsbench.retrieval.base import EvalSplit, RetrievalResult
from rsbench.retrieval.encoder import ImageFeatures, TextFeatures
from rsbench.retrieval.evaluator import evaluate
from rsbench.retrieval.rerankers import make_reranker
from rsbench.retrieval.rerankers.base import NoRerank, RerankContext
from rsbench.retrieval.scores import RetrievalScores
from rsbench.retrieval.strategies.config import FastThenFineConfig, HybridConfig
from rsbench.retrieval.strategies.fast_then_fine import FastThenFine, fine_scores
from rsbench.retrieval.strategies.hybrid import Hybrid


class TableEncoder:
    """Hands out fixed features by text and by image id, and records every batch of texts it embeds."""

    device = torch.device("cpu")

    def __init__(self, images: dict, texts: dict, image_tokens=None, text_tokens=None, masks=None) -> None:
        self.image_table, self.text_table = images, texts
        self.image_tokens, self.text_tokens, self.masks = image_tokens, text_tokens, masks
        self.embedded: list[list[str]] = []

    def images(self, records, tokens: bool = False) -> ImageFeatures:
        ids = [r.image_id for r in records]
        emb = torch.stack([self.image_table[i] for i in ids])
        return ImageFeatures(emb, torch.stack([self.image_tokens[i] for i in ids]) if tokens else None)

    def texts(self, texts, tokens: bool = False) -> TextFeatures:
        self.embedded.append(list(texts))
        emb = torch.stack([self.text_table[t] for t in texts])
        if not tokens:
            return TextFeatures(emb)
        return TextFeatures(emb, torch.stack([self.text_tokens[t] for t in texts]),
                            torch.stack([self.masks[t] for t in texts]))


def records(n: int, split: str = "test", per_image: int = 2) -> list[Record]:
    return [Record(f"{split}{i}.png", f"{split}{i}", tuple(f"{split} caption {i}.{j}" for j in range(per_image)),
                   "scene", split) for i in range(n)]


def random_setting(seed: int = 0, n_images: int = 6, per_image: int = 2, dim: int = 8):
    g = torch.Generator().manual_seed(seed)
    recs = records(n_images, per_image=per_image)
    captions = [c for r in recs for c in r.captions]
    unit = lambda *shape: F.normalize(torch.randn(*shape, generator=g), dim=-1)  # noqa: E731
    encoder = TableEncoder({r.image_id: unit(dim) for r in recs}, {c: unit(dim) for c in captions},
                           {r.image_id: unit(4, dim) for r in recs}, {c: unit(5, dim) for c in captions},
                           {c: torch.tensor([True, True, True, False, True]) for c in captions})
    split = EvalSplit(recs, captions, [i for i in range(n_images) for _ in range(per_image)])
    return split, encoder


def test_fast_then_fine_fuses_coarse_plus_weighted_fine_in_both_directions():
    split, enc = random_setting()
    w = 1.5
    result = FastThenFine(FastThenFineConfig(candidates=3, fine_weight=w)).retrieve(split, enc)
    for direction in ("t2i", "i2t"):
        lists = getattr(result.scores, direction)
        for q in range(lists.indices.shape[0]):
            for slot in range(lists.k):
                g = int(lists.indices[q, slot])
                c, i = (q, g) if direction == "t2i" else (g, q)
                caption, image = split.captions[c], split.records[i].image_id
                coarse = enc.text_table[caption] @ enc.image_table[image]
                fine = fine_scores(enc.text_tokens[caption], enc.masks[caption], enc.image_tokens[image])
                assert lists.scores[q, slot].item() == pytest.approx((coarse + w * fine).item(), abs=1e-5)
        assert (lists.scores[:, :-1] >= lists.scores[:, 1:]).all()  # and ranked by the fused score


def test_the_record_s_stage1_recall_is_the_share_of_true_matches_in_the_top_k():
    split, enc = random_setting(seed=3, n_images=8)
    k = 3
    evaluation = evaluate(enc, split, FastThenFine(FastThenFineConfig(candidates=k)), NoRerank())
    cos = torch.stack([enc.text_table[c] for c in split.captions]) @ torch.stack(
        [enc.image_table[r.image_id] for r in split.records]).t()
    t2i_hits = [split.caption_to_image[c] in cos[c].topk(k).indices.tolist() for c in range(len(split.captions))]
    i2t_hits = [any(split.caption_to_image[c] == i for c in cos[:, i].topk(k).indices.tolist())
                for i in range(len(split.records))]
    got = evaluation.retrieval["stage1_recall_at_k"]
    assert evaluation.retrieval["k"] == {"t2i": k, "i2t": k}
    assert got["t2i"] == pytest.approx(100 * sum(t2i_hits) / len(t2i_hits))
    assert got["i2t"] == pytest.approx(100 * sum(i2t_hits) / len(i2t_hits))
    t2i_at_1 = [split.caption_to_image[c] == int(cos[c].argmax()) for c in range(len(split.captions))]
    assert sum(t2i_at_1) < sum(t2i_hits)  # the case tells R@K from R@1


def test_dense_dual_softmax_uses_the_configured_inverse_temperature():
    s = torch.tensor([[0.9, 0.2, 0.4], [0.5, 0.7, 0.1], [0.3, 0.6, 0.8], [0.2, 0.1, 0.3]])
    tau = 3.0
    out = make_reranker("dual-softmax", inverse_temperature=tau).rerank(RetrievalScores.from_similarity(s), None)
    for q in range(4):
        for g in range(3):  # Cheng et al. 2021 §3.3: s · softmax over queries of τ s
            prior = math.exp(tau * s[q, g]) / sum(math.exp(tau * s[x, g]) for x in range(4))
            assert out.t2i[q, g].item() == pytest.approx(s[q, g].item() * prior, rel=1e-5)


def test_qb_norm_s_text_to_image_bank_holds_only_training_captions():
    split, enc = random_setting(seed=1, n_images=5)
    train = records(4, split="train", per_image=3)
    g = torch.Generator().manual_seed(9)
    for r in train:
        enc.image_table[r.image_id] = F.normalize(torch.randn(8, generator=g), dim=-1)
        for c in r.captions:
            enc.text_table[c] = F.normalize(torch.randn(8, generator=g), dim=-1)
    split.train_records = train
    reranker = make_reranker("qb-norm")
    scores = RetrievalScores.from_similarity(torch.zeros(len(split.captions), len(split.records)))
    reranker.rerank(scores, RerankContext(split, enc, train))
    training = {c for r in train for c in r.captions}
    banks = [texts for texts in enc.embedded if texts != list(split.captions)]  # the rest is i2t's gallery
    assert banks and all(set(texts) <= training for texts in banks)
    assert set().union(*map(set, banks)) == training


class Components:
    """Hybrid's two score matrices by hand: on the selection split text-to-text ranks perfectly and dual-stream
    backwards; on the evaluated split the other way round. Chosen on the selection split, w = 1."""

    def __init__(self, select: EvalSplit) -> None:
        self.select = select

    def __call__(self, split: EvalSplit, encoder) -> tuple:
        n = len(split.records)
        right = torch.eye(n) + 0.01 * torch.arange(n).float()
        wrong = torch.flip(torch.eye(n), dims=[1])
        dual, text = (wrong, right) if split is self.select else (right, wrong)
        return {"t2i": dual, "i2t": dual.t()}, {"t2i": text, "i2t": text.t()}, {}, {"encode": 0.0}


def test_hybrid_chooses_its_weight_on_the_selection_split_not_the_evaluated_one(monkeypatch):
    test = EvalSplit(records(4), [f"t{i}" for i in range(4)], [0, 1, 2, 3])
    val = EvalSplit(records(4, split="val"), [f"v{i}" for i in range(4)], [0, 1, 2, 3])
    test.select = val
    monkeypatch.setattr(Hybrid, "components", lambda self, split, encoder: Components(val)(split, encoder))
    result = Hybrid(HybridConfig(weight_grid=[0.0, 1.0])).retrieve(test, None)
    assert result.info["hybrid_weight"] == 1.0
    tried = result.info["weight_grid_mR"]  # the selection split's mR: perfect at w = 1, not at w = 0
    assert tried["1"] == pytest.approx(100.0) and tried["0"] < 100.0


def test_evaluate_records_gives_the_strategy_the_selection_split_s_records():
    from rsbench.retrieval.evaluator import evaluate_records
    from rsbench.text.augmenters.base import Augmenter

    seen = {}

    class Chooser:
        needs_selection_split = True

        def retrieve(self, split, encoder):
            seen["select"] = [r.image_id for r in split.select.records]
            seen["evaluated"] = [r.image_id for r in split.records]
            return RetrievalResult(RetrievalScores.from_similarity(torch.eye(len(split.records)).repeat_interleave(
                2, dim=0)))

    split, enc = random_setting(n_images=3)
    val = records(3, split="val")
    for r in val:
        enc.image_table[r.image_id] = enc.image_table["test0"]
        for c in r.captions:
            enc.text_table[c] = enc.text_table["test caption 0.0"]
    evaluate_records(enc, split.records, Augmenter(), Chooser(), NoRerank(), select_records=val)
    assert seen == {"select": ["val0", "val1", "val2"], "evaluated": ["test0", "test1", "test2"]}

