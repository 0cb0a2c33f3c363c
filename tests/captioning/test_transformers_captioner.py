"""The ``transformers`` captioner on a tiny random LLaVA-NeXT saved to a folder and loaded back like any model."""

from __future__ import annotations

import shutil

import pytest

from rsbench.captioning import caption_records
from rsbench.captioning.config import TransformersCaptionerConfig
from rsbench.captioning.transformers_vlm import TransformersCaptioner
from rsbench.errors import ConfigError, RsbenchError

SHORT = {"max_new_tokens": 6}


def test_batched_output_equals_one_by_one(tiny_vlm, image_records, tmp_path):
    options = {"model": str(tiny_vlm), **SHORT}
    batched = caption_records(image_records, "transformers", options, prompt="plain", cache_dir=tmp_path / "b",
                              batch_size=6)
    single = caption_records(image_records, "transformers", options, prompt="plain", cache_dir=tmp_path / "s",
                             batch_size=1)
    assert batched.failures == 0 and batched.per_image == single.per_image
    # the replies depend on the image, so a batch that mixed images up would show
    assert len({tuple(c) for c in batched.per_image}) >= 4


def test_the_batch_is_padded_on_the_left(tiny_vlm, image_records):
    captioner = TransformersCaptioner(TransformersCaptionerConfig(model=str(tiny_vlm), **SHORT))
    from rsbench.captioning.images import open_rgb
    from rsbench.captioning.prompt import load_prompt

    model, processor, _ = captioner.load("cpu")
    assert processor.tokenizer.padding_side == "left"
    prompt = load_prompt("plain")
    texts = [captioner.prompt_text(processor, prompt)] * 3
    inputs = processor(images=[open_rgb(r.image) for r in image_records[:3]], text=texts, return_tensors="pt",
                       padding=True)
    lengths = inputs["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) > 1, "the toy images must need padding, or this test proves nothing"
    assert (inputs["attention_mask"][:, -1] == 1).all()  # every prompt ends at the last position


def test_structured_prompt_replies_fail_to_parse_and_are_retried_with_sampling(tiny_vlm, image_records, tmp_path):
    out = caption_records(image_records[:2], "transformers", {"model": str(tiny_vlm), **SHORT},
                          cache_dir=tmp_path)  # random words are never the JSON the prompt asks for
    assert out.failures == 2 and out.provenance["counts"]["retried"] == 2
    assert "reply does not parse" in out.provenance["failure_examples"][0]["reason"]
    no_retry = caption_records(image_records[:2], "transformers",
                               {"model": str(tiny_vlm), **SHORT, "retry_temperature": 0.0}, cache_dir=tmp_path)
    assert no_retry.provenance["counts"]["retried"] == 0


def test_the_sampled_retry_differs_from_greedy_and_repeats_with_its_seed(tiny_vlm, image_records):
    from rsbench.captioning.prompt import load_prompt

    captioner = TransformersCaptioner(TransformersCaptionerConfig(model=str(tiny_vlm), max_new_tokens=12,
                                                                  retry_temperature=2.0))
    records, prompt = image_records[:3], load_prompt("plain")
    greedy = captioner.caption(records, prompt)
    sampled = captioner.caption(records, prompt, retry=True)
    assert sampled != greedy and sampled == captioner.caption(records, prompt, retry=True)
    assert captioner.caption(records, prompt) == greedy


def test_the_cache_key_follows_the_weights_not_the_folders_name(tiny_vlm, tmp_path):
    from rsbench.testing.tiny_vlm import write_tiny_vlm

    def identity(folder):
        return TransformersCaptioner(TransformersCaptionerConfig(model=str(folder))).describe()

    copy = shutil.copytree(tiny_vlm, tmp_path / "copy")
    assert identity(copy)["revision"] == identity(tiny_vlm)["revision"]
    other = write_tiny_vlm(tmp_path / "other", seed=1)
    assert identity(other)["revision"] != identity(tiny_vlm)["revision"]
    assert identity(tiny_vlm)["model"] == str(tiny_vlm.resolve()) and identity(tiny_vlm)["oracle"] is False


def test_a_missing_folder_and_an_empty_name_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="model folder not found"):
        TransformersCaptioner(TransformersCaptionerConfig(model=str(tmp_path / "no-such-model")))
    with pytest.raises(ConfigError, match="needs captioner.model"):
        TransformersCaptioner(TransformersCaptionerConfig())


def test_a_model_that_is_not_image_to_text_is_one_error(tmp_path, image_records):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path / "bert"
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]))
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(folder)
    BertModel(BertConfig(vocab_size=7, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                         intermediate_size=8)).save_pretrained(folder)
    with pytest.raises(RsbenchError, match="not an image-to-text model|not an image-text-to-text model"):
        caption_records(image_records[:1], "transformers", {"model": str(folder)}, prompt="plain",
                        cache_dir=tmp_path / "c")


def test_an_unreachable_hub_id_is_one_error(image_records, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(RsbenchError, match="cannot load 'someone/no-such-vlm'.*local Hugging Face cache"):
        caption_records(image_records[:1], "transformers", {"model": "someone/no-such-vlm"}, prompt="plain",
                        cache_dir=tmp_path / "c")

