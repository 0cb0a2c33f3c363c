"""Text-to-text retrieval and the hybrid fusion: aggregation by hand, rankings through the real MiniLM, the
record's fields, hybrid's limits (w = 0 is dual-stream, w = 1 text-to-text) and its weight chosen on val."""

from __future__ import annotations

import json
import math

import pytest
import torch

from rsbench.config import build_config
from rsbench.metrics import retrieval_metrics
from rsbench.retrieval.base import EvalSplit
from rsbench.retrieval.scores import RetrievalScores
from rsbench.retrieval.strategies.config import HybridConfig, TextToTextConfig
from rsbench.retrieval.strategies.hybrid import Hybrid, fuse, standardise
from rsbench.retrieval.strategies.text_to_text import FAILED_SCORE, TextToText, aggregate
from rsbench.testing.captioning import toy_image_records
from rsbench.testing.retrieval import _FixedEncoder

GALLERY = ["three white planes parked beside an airport terminal",
           "a dense green forest cut by a winding river",
           "small boats moored in a harbour next to a pier",
           "rows of red-roofed houses along straight streets"]
QUERIES = ["planes at an airport", "a river running through woods", "boats in a harbor", "a residential area",
           "an airport with aircraft"]
TRUTH = [0, 1, 2, 3, 0]


def reference(scores: torch.Tensor, owner: list[int], groups: int, how: str, temperature: float) -> torch.Tensor:
    out = torch.full((scores.shape[0], groups), FAILED_SCORE)
    for q in range(scores.shape[0]):
        for g in range(groups):
            values = [float(scores[q, v]) for v in range(scores.shape[1]) if owner[v] == g]
            if not values:
                continue
            if how == "max":
                out[q, g] = max(values)
            elif how == "mean":
                out[q, g] = sum(values) / len(values)
            else:
                out[q, g] = temperature * math.log(sum(math.exp(v / temperature) for v in values))
    return out


@pytest.mark.parametrize("how", ["max", "mean", "logsumexp"])
def test_aggregation_matches_a_loop_over_each_image_s_captions(how):
    torch.manual_seed(0)
    scores = torch.rand(6, 9) * 2 - 1
    owner = [0, 0, 2, 2, 2, 3, 0, 3, 3]  # image 1 has no captions: a failure
    got = aggregate(scores, torch.tensor(owner), 4, how, temperature=0.05)
    assert torch.allclose(got, reference(scores, owner, 4, how, 0.05), atol=1e-5)
    assert (got[:, 1] == FAILED_SCORE).all()
    assert (aggregate(torch.zeros(3, 0), torch.zeros(0, dtype=torch.long), 2, how, 0.05) == FAILED_SCORE).all()


def test_logsumexp_lies_between_max_and_max_plus_t_log_n():
    scores = torch.tensor([[0.2, 0.5, 0.4]])
    soft = float(aggregate(scores, torch.zeros(3, dtype=torch.long), 1, "logsumexp", 0.05))
    assert 0.5 < soft <= 0.5 + 0.05 * math.log(3)


@pytest.fixture(scope="module")
def captioned(tmp_path_factory):
    """Four toy images, each with one caption and a paraphrase of it in a captions file; a fifth with none."""
    folder = tmp_path_factory.mktemp("t2t")
    records = toy_image_records(folder, count=5)
    captions = {r.image_id: [text, text.replace(" a ", " one ")] for r, text in zip(records, GALLERY, strict=False)}
    path = folder / "captions.json"
    path.write_text(json.dumps(captions))
    split = EvalSplit(records, QUERIES, TRUTH, (), ("file", {"path": str(path)}))
    return split, captions


@pytest.fixture(scope="module")
def strategy():
    return TextToText(TextToTextConfig())


def test_text_to_image_scores_are_the_best_caption_cosine_and_rank_the_right_image(captioned, strategy):
    split, captions = captioned
    result = strategy.retrieve(split, _FixedEncoder(5, len(QUERIES)))
    t2i, i2t = result.scores.t2i, result.scores.i2t
    assert t2i.shape == (5, 5) and i2t.shape == (5, 5)
    encoder = strategy.text_encoder()
    for g, record in enumerate(split.records[:4]):  # reference: each caption embedded on its own
        variants = torch.cat([encoder.encode_documents([c]) for c in captions[record.image_id]])
        for q, query in enumerate(QUERIES):
            assert float(t2i[q, g]) == pytest.approx(float((encoder.encode_queries([query]) @ variants.t()).max()),
                                                     abs=1e-5)
    assert t2i.argmax(dim=1).tolist() == TRUTH  # MiniLM matches paraphrases to their images
    assert (t2i[:, 4] == FAILED_SCORE).all() and (i2t[4] == FAILED_SCORE).all()  # the uncaptioned image ranks last
    assert torch.allclose(i2t, t2i.t(), atol=1e-5)  # MiniLM has no query/document prompts: symmetric
    assert retrieval_metrics(result.scores, TRUTH)["t2i_r1"] == 100.0
    info = result.info
    assert info["captioner"] == "file" and info["caption_failures"] == 1 and info["oracle_captions"] is False
    assert info["prompt"] is None and info["prompt_sha256"] is None  # captions made elsewhere used no prompt here
    assert info["text_encoder"]["model"].endswith("all-MiniLM-L6-v2") and info["aggregation"] == "max"
    assert info["captions_per_image"] == pytest.approx(8 / 5)


def test_mean_aggregation_changes_the_scores_not_the_failures(captioned, strategy):
    split, _ = captioned
    mean = TextToText(TextToTextConfig(aggregation="mean"))
    mean._encoder = strategy.text_encoder()  # the same model, loaded once
    best = strategy.retrieve(split, _FixedEncoder(5, len(QUERIES))).scores.t2i
    averaged = mean.retrieve(split, _FixedEncoder(5, len(QUERIES))).scores.t2i
    assert (averaged[:, :4] <= best[:, :4] + 1e-6).all() and not torch.allclose(averaged, best)
    assert (averaged[:, 4] == FAILED_SCORE).all()


def test_a_split_without_a_captioner_is_a_clear_error(captioned):
    split, _ = captioned
    bare = EvalSplit(split.records, split.captions, split.caption_to_image)
    with pytest.raises(Exception, match="needs a captioner: --captioner NAME"):
        TextToText(TextToTextConfig()).retrieve(bare, _FixedEncoder(5, len(QUERIES)))


def test_bad_options_are_config_errors():
    from rsbench.errors import ConfigError

    with pytest.raises(ConfigError, match="aggregation"):
        TextToTextConfig(aggregation="median")
    TextToTextConfig(text_encoder="minilm")  # a config class looks nothing up: names are checked as the config resolves
    with pytest.raises(ConfigError, match="strategy.text_encoder: unknown text_encoder 'minilm'"):
        build_config(None, {}, ["strategy.name=text-to-text", "strategy.text_encoder=minilm"])
    with pytest.raises(ConfigError, match="^weight must be >= 0 and <= 1; got 1.5$"):
        HybridConfig(weight=1.5)


def test_standardise_and_fuse_limits():
    torch.manual_seed(1)
    a, b = torch.randn(7, 5) * 0.1 + 0.3, torch.randn(7, 5)
    z = standardise(a)
    assert abs(float(z.mean())) < 1e-6 and float(z.std()) == pytest.approx(1.0, abs=1e-5)
    assert torch.equal(fuse(a, b, 0.0).argsort(dim=1), a.argsort(dim=1))
    assert torch.equal(fuse(a, b, 1.0).argsort(dim=1), b.argsort(dim=1))
    assert torch.equal(standardise(torch.ones(2, 2)), torch.zeros(2, 2))


def test_hybrid_at_its_limits_ranks_as_dual_stream_and_as_text_to_text(captioned, strategy):
    split, _ = captioned
    encoder = _FixedEncoder(5, len(QUERIES))
    dual = encoder.texts(QUERIES).embeddings @ encoder.images(split.records).embeddings.t()
    text = strategy.retrieve(split, encoder).scores.t2i
    for weight, expected in ((0.0, dual), (1.0, text)):
        hybrid = Hybrid(HybridConfig(weight=weight))
        hybrid.text._encoder = strategy.text_encoder()
        result = hybrid.retrieve(split, encoder)
        assert torch.equal(result.scores.t2i.argsort(dim=1, stable=True), expected.argsort(dim=1, stable=True))
        assert result.info["hybrid_weight"] == weight and result.info["weight_chosen_on"] == "fixed"


def test_hybrid_chooses_the_weight_with_the_best_val_mr(captioned, strategy):
    split, _ = captioned
    encoder = _FixedEncoder(5, len(QUERIES))  # random dual-stream features: text-to-text is far better here
    split_with_val = EvalSplit(split.records, split.captions, split.caption_to_image, (), split.captioner, split)
    hybrid = Hybrid(HybridConfig(weight_grid=[0.0, 0.5, 1.0]))
    hybrid.text._encoder = strategy.text_encoder()
    result = hybrid.retrieve(split_with_val, encoder)
    tried = result.info["weight_grid_mR"]
    assert set(tried) == {"0", "0.5", "1"} and result.info["weight_chosen_on"] == "select split"
    assert tried["1"] > tried["0"]
    assert result.info["hybrid_weight"] == float(max(tried, key=lambda w: (tried[w], -float(w))))
    with pytest.raises(Exception, match="selection split"):
        hybrid.retrieve(EvalSplit(split.records, split.captions, split.caption_to_image, (), split.captioner),
                        encoder)


def test_retrieval_scores_of_text_to_text_are_accepted_by_the_metrics(captioned, strategy):
    split, _ = captioned
    scores = strategy.retrieve(split, _FixedEncoder(5, len(QUERIES))).scores
    assert isinstance(scores, RetrievalScores)
    metrics = retrieval_metrics(scores, TRUTH)
    assert 0 <= metrics["mR"] <= 100


def test_captions_are_made_once_per_split_not_at_every_evaluation(captioned, strategy, monkeypatch):
    import rsbench.captioning as captioning

    split, _ = captioned
    calls = []
    real = captioning.caption_records

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(captioning, "caption_records", counting)
    fresh = TextToText(TextToTextConfig())
    fresh._encoder = strategy.text_encoder()
    first = fresh.retrieve(split, _FixedEncoder(5, len(QUERIES))).scores.t2i
    second = fresh.retrieve(split, _FixedEncoder(5, len(QUERIES))).scores.t2i  # the next epoch's evaluation
    assert calls == ["file"] and torch.equal(first, second)
