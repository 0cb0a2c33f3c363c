"""Text-to-text image→text protocols (issue 24): ``variants`` aggregates over the image's caption variants,
``description`` queries with one description per image from the image-query prompt (TRSLLaVA eval/i2t.py).
Hand-made embeddings stand in for the captioner and the sentence encoder."""

from __future__ import annotations

import pytest
import torch

import rsbench.captioning
from rsbench.captioning.captions import CaptionSet
from rsbench.retrieval.base import EvalSplit
from rsbench.retrieval.strategies.config import TextToTextConfig
from rsbench.retrieval.strategies.text_to_text import FAILED_SCORE, TextToText

# Every text is a unit vector by hand, so each score is a cosine we can write down.
VECTORS = {
    "plane at gate": [1.0, 0.0, 0.0], "river in forest": [0.0, 1.0, 0.0],  # human captions (documents)
    "variant a0": [0.6, 0.8, 0.0], "variant a1": [0.0, 0.0, 1.0],  # image 0's variants
    "variant b0": [0.8, 0.6, 0.0],  # image 1's variant
    "described a": [1.0, 0.0, 0.0], "described b": [0.0, 1.0, 0.0],  # the image-query descriptions
}
VARIANTS = [["variant a0", "variant a1"], ["variant b0"], []]  # image 2: captioning failed
DESCRIPTIONS = [["described a"], ["described b", "ignored second reply"], []]


class Image:
    def __init__(self, name: str) -> None:
        self.image, self.image_id, self.captions = name, name, []


IMAGES = [Image("a.png"), Image("b.png"), Image("c.png")]


class HandEncoder:
    symmetric = True

    def encode_queries(self, texts):
        return torch.tensor([VECTORS[t] for t in texts])

    encode_documents = encode_queries

    def describe(self):
        return {"name": "hand"}


@pytest.fixture
def asked(monkeypatch):
    """Stands in for the caption cache: the variants for the captioning prompt, descriptions for the query
    prompt; records which prompts were asked."""
    prompts = []

    def caption_records(records, name, options, *, prompt, device, batch_size):
        prompts.append(prompt)
        made = DESCRIPTIONS if prompt == "trsllava-query" else VARIANTS
        return CaptionSet([list(c) for c in made], sum(not c for c in made),
                          {"captioner": name, "prompt": {"name": prompt, "digest": "d-" + prompt}})

    monkeypatch.setattr(rsbench.captioning, "caption_records", caption_records)
    return prompts


def run(image_queries: str) -> tuple[torch.Tensor, dict]:
    strategy = TextToText(TextToTextConfig(image_queries=image_queries))
    strategy._encoder = HandEncoder()
    split = EvalSplit(IMAGES, ["plane at gate", "river in forest"], [0, 1], (),
                      ("file", {}))
    _, i2t, info, _ = strategy.similarity(split, "cpu")
    return i2t, info


def test_variants_take_the_best_variant_cosine(asked):
    i2t, info = run("variants")
    # image 0: max(cos(a0, plane) 0.6, cos(a1, plane) 0) and max(0.8, 0); image 1: b0 alone
    assert torch.allclose(i2t, torch.tensor([[0.6, 0.8], [0.8, 0.6], [FAILED_SCORE, FAILED_SCORE]]))
    assert info["image_queries"] == "variants" and asked == ["trsllava"]


def test_description_queries_with_one_description_per_image_from_the_query_prompt(asked):
    i2t, info = run("description")
    assert torch.allclose(i2t, torch.tensor([[1.0, 0.0], [0.0, 1.0], [FAILED_SCORE, FAILED_SCORE]]))
    assert set(asked) == {"trsllava", "trsllava-query"}
    assert info["image_queries"] == "description" and info["query_prompt"] == "trsllava-query"
    assert info["query_failures"] == 1


def test_text_to_image_is_the_same_under_either_protocol(asked):
    strategy = TextToText(TextToTextConfig(image_queries="description"))
    strategy._encoder = HandEncoder()
    split = EvalSplit(IMAGES, ["plane at gate", "river in forest"], [0, 1], (),
                      ("file", {}))
    t2i, _, _, _ = strategy.similarity(split, "cpu")
    assert torch.allclose(t2i, torch.tensor([[0.6, 0.8, FAILED_SCORE], [0.8, 0.6, FAILED_SCORE]]))


def test_an_unknown_protocol_or_query_prompt_fails_before_any_work():
    from rsbench.errors import ConfigError, RsbenchError

    with pytest.raises(ConfigError, match="image_queries"):
        TextToTextConfig(image_queries="both")
    with pytest.raises(RsbenchError, match="unknown prompt"):
        TextToText(TextToTextConfig(image_queries="description", query_prompt="no-such-prompt")).prepare()


def test_the_authors_image_query_prompt_ships_as_a_one_description_prompt():
    from rsbench.captioning.prompt import builtin_query_prompts, load_prompt

    prompt = load_prompt("trsllava-query")
    assert "trsllava-query" in builtin_query_prompts() and prompt.parser == "sentence"
    assert "north" in prompt.text and "percentages" in prompt.text


def test_a_record_from_before_the_protocol_option_stays_one_row_with_the_default():
    from rsbench.config import build_config
    from rsbench.results.leaderboard import config_identity

    def identity(**options):
        return config_identity(build_config(None, {"strategy": {"name": "text-to-text", **options},
                                                   "captioner": {"name": "oracle"}}).to_dict())

    default = identity()
    assert "image_queries" not in default["strategy"] and "query_prompt" not in default["strategy"]
    assert identity(image_queries="description") != default
