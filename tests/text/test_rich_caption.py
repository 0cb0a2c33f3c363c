"""The rich-caption augmenter: generated captions (from the run's captioner, through the cache) in training only."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rsbench.captioning.file import FileCaptioner
from rsbench.config import build_config
from rsbench.engine import run_experiment
from rsbench.errors import ConfigError
from rsbench.testing import toy_image_records
from rsbench.text.augmenters.config import RichCaptionConfig
from rsbench.text.augmenters.rich_caption import RichCaptionAugmenter
from rsbench.train.pairs import TrainPairs, eval_captions

GENERATED = {"toy_0.png": ["a red square field", "a red field with a dark block"],
             "toy_1.png": ["a green plot"], "toy_2.png": ["a blue lake", "a lake, blue"]}  # toy_3: no entry


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A caption cache of this test's own (the toy images and captions file are the same in every test)."""
    monkeypatch.setenv("RSBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def records(tmp_path, own_cache) -> list:
    return toy_image_records(tmp_path / "data", count=4)


@pytest.fixture
def captions_file(tmp_path) -> Path:
    path = tmp_path / "captions.json"
    path.write_text(json.dumps(GENERATED))
    return path


@pytest.fixture
def calls(monkeypatch) -> list:
    """Image ids of every FileCaptioner.caption call."""
    seen: list = []
    original = FileCaptioner.caption

    def spy(self, records, prompt, **kwargs):
        seen.append([r.image_id for r in records])
        return original(self, records, prompt, **kwargs)

    monkeypatch.setattr(FileCaptioner, "caption", spy)
    return seen


def prepared(records, captions_file, **options) -> RichCaptionAugmenter:
    augmenter = RichCaptionAugmenter(RichCaptionConfig(**options))
    augmenter.prepare_training(records, ("file", {"path": str(captions_file)}), "cpu")
    return augmenter


def pairs_of(augmenter, records, epoch: int = 0) -> list[str]:
    pairs = TrainPairs(records, lambda image: image, augmenter.augment, [], "all", seed=3,
                       extra_pairs=augmenter.extra_pairs)
    pairs.set_epoch(epoch)
    return [pairs.caption(k)[0] for k in range(len(pairs))]


def test_replace_with_p1_uses_a_generated_variant_and_failures_keep_the_human_caption(records, captions_file):
    augmenter = prepared(records, captions_file, p=1.0, mode="replace")
    for record in records:
        variants = GENERATED.get(record.image_id)
        for seed in range(20):
            out = augmenter.augment(record.captions[0], record, random.Random(seed))
            assert out in variants if variants else out == record.captions[0]
    seen = {augmenter.augment(records[0].captions[0], records[0], random.Random(s)) for s in range(40)}
    assert seen == set(GENERATED["toy_0.png"])  # the variant is drawn per use from the rng
    assert augmenter.augment("x", records[0], random.Random(5)) == augmenter.augment("x", records[0],
                                                                                   random.Random(5))
    described = augmenter.describe_eval()["rich_caption"]
    assert described["caption_failures"] == 1 and described["captioned_images"] == 3
    assert described["training_images"] == 4 and described["captioner"] == "file"
    assert described["failure_examples"][0]["image_id"] == "toy_3.png"
    json.dumps(described, allow_nan=False)


def test_p0_changes_nothing_and_queries_are_never_changed(records, captions_file):
    augmenter = prepared(records, captions_file, p=0.0)
    human = [c for r in records for c in r.captions]
    assert pairs_of(augmenter, records) == human
    always = prepared(records, captions_file, p=1.0, mode="append")
    assert eval_captions(records, always.at_query)[0] == human


def test_append_keeps_the_human_caption_as_a_prefix(records, captions_file):
    augmenter = prepared(records, captions_file, p=1.0, mode="append", separator=" | ",
                         variant="first")
    out = augmenter.augment(records[0].captions[0], records[0], random.Random(0))
    assert out == f"{records[0].captions[0]} | {GENERATED['toy_0.png'][0]}"
    assert augmenter.augment(records[3].captions[0], records[3], random.Random(0)) == records[3].captions[0]


def test_extra_pair_adds_generated_pairs_and_keeps_the_human_ones(records, captions_file):
    augmenter = prepared(records, captions_file, p=1.0, mode="extra-pair")
    captions = pairs_of(augmenter, records)
    human = [c for r in records for c in r.captions]
    assert captions[:len(human)] == human  # human pairs untouched
    extra = captions[len(human):]
    assert len(extra) == 3  # one per captioned image, none for the failed one
    assert all(any(c in v for v in GENERATED.values()) for c in extra)
    half = prepared(records, captions_file, p=0.5, mode="extra-pair")
    assert {len(pairs_of(half, records, epoch)) for epoch in range(5)} == {len(human) + 2}  # same length each epoch


def test_training_images_are_captioned_once_then_read_from_the_cache(records, captions_file, calls):
    records = records[:3]  # all captioned: a failed image is asked again by design
    prepared(records, captions_file)
    assert calls == [[r.image_id for r in records]]
    again = prepared(records, captions_file)  # a second build: the cache answers
    assert calls == [[r.image_id for r in records]]
    assert again.describe_eval()["rich_caption"]["captioned_images"] == 3


def test_without_a_captioner_prepare_is_one_clear_error(records):
    with pytest.raises(ConfigError, match="--captioner"):
        RichCaptionAugmenter(RichCaptionConfig()).prepare_training(records, None)


@pytest.mark.parametrize(("option", "message"), [({"p": 1.5}, "^p must be >= 0 and <= 1; got 1.5$"),
                                                 ({"mode": "swap"}, "^mode must be one of"),
                                                 ({"variant": "last"}, "^variant must be one of")])
def test_bad_options_are_config_errors(option, message):
    with pytest.raises(ConfigError, match=message):
        RichCaptionConfig(**option)


def test_a_run_with_the_oracle_captions_training_and_records_it(small_run, quiet_console):
    cfg = build_config(flags={"augmenter": {"name": "rich-caption"}, "captioner": {"name": "oracle"}},
                       sets=[*small_run, "augmenter.p=1.0"])
    record, path = run_experiment(cfg, quiet_console)
    assert path is not None
    described = record["extra"]["eval"]["rich_caption"]
    assert described["captioner"] == "oracle" and described["oracle_captions"] is True
    assert described["caption_failures"] == 0 and described["captioned_images"] == described["training_images"] > 0
    assert record["dataset"]["scene_at_eval"] == "none"
