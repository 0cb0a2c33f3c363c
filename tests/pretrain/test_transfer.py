"""`rsbench transfer`: vocabulary overlap, known-words zero-shot, word grounding and image 1-NN scene accuracy."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rsbench.cli import app
from rsbench.errors import ConfigError
from rsbench.models.backbones.config import shipped_weights
from rsbench.pretrain.pretrain import zero_shot_metrics
from rsbench.pretrain.transfer import (
    FUNCTION_WORDS,
    corpus_words,
    grounding_auc,
    known_words_only,
    transfer_report,
    vocabulary_overlap,
)

TINY_CORPUS = {"name": "synthshapes", "num_images": 40, "image_size": 32}
TINY_SYNTHRS = {"name": "synthrs", "num_images": 51, "image_size": 32}


def test_vocabulary_overlap_counts_tokens_and_words():
    overlap = vocabulary_overlap(corpus_words(["Two red stars.", "A blue cup"]),
                                 ["Two red planes.", "The planes are red."])
    # eval tokens: two red planes the planes are red -> 7, of which two, red, red are known
    assert overlap["eval_tokens_seen_pct"] == pytest.approx(100 * 3 / 7)
    assert overlap["corpus_words"] == 6 and overlap["eval_words"] == 5 and overlap["eval_words_unseen"] == 3
    assert overlap["top_unseen"][0] == ["planes", 2]


def test_known_words_only_keeps_order_and_never_returns_empty():
    assert known_words_only("Three white planes are on the apron.", {"three", "white", "the", "on"}) == \
        "three white on the"
    assert known_words_only("Runway.", {"red"}) == "a"


def test_grounding_auc_ranks_images_with_the_word_first():
    assert grounding_auc([0.9, 0.1, 0.8], [True, False, False]) == 1.0
    assert grounding_auc([0.1, 0.9, 0.8], [True, False, False]) == 0.0
    assert grounding_auc([0.5, 0.5, 0.2, 0.9], [True, False, True, False]) == pytest.approx((0.5 + 0 + 0 + 0) / 4)
    with pytest.raises(ValueError):
        grounding_auc([0.3], [True])
    # the rank formula equals counting every (with, without) pair, ties half
    scores = [0.3, 0.1, 0.3, 0.7, 0.2, 0.3, 0.9, 0.1]
    present = [True, False, False, True, True, False, False, True]
    pos = [s for s, p in zip(scores, present, strict=True) if p]
    neg = [s for s, p in zip(scores, present, strict=True) if not p]
    pairs = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))
    assert grounding_auc(scores, present) == pytest.approx(pairs)


def test_report_agrees_with_the_engines_zero_shot(quiet_console):
    weights = str(shipped_weights("rsbench-tiny", "synthetic"))
    report = transfer_report(weights, "rsbench-tiny", TINY_CORPUS, TINY_SYNTHRS, "cpu", quiet_console)
    engine = zero_shot_metrics(weights, "rsbench-tiny", "cpu", quiet_console, TINY_SYNTHRS)
    assert report["zero_shot_mR"] == pytest.approx(engine["test"]["mR"], abs=1e-3)
    assert 0 <= report["known_words_mR"] <= 100
    assert report["scene_chance_pct"] == pytest.approx(100 / 17)
    assert 0 <= report["image_scene_1nn_pct"] <= 100
    grounding = report["grounding"]
    assert grounding["words"] > 0 and 0 <= grounding["mean_auc"] <= 1
    tested = {word for word, _ in grounding["best"] + grounding["worst"]}
    unseen = {word for word, _ in report["vocabulary"]["top_unseen"]}
    assert tested and not tested & FUNCTION_WORDS and not tested & unseen  # shared content words only
    # SynthShapes never names a SynthRS object: "planes" and the like are among the unseen words
    vocabulary = report["vocabulary"]
    assert 0 < vocabulary["eval_tokens_seen_pct"] < 100 and vocabulary["eval_words_unseen"] > 0


def test_transfer_command_prints_json(quiet_console):
    result = CliRunner().invoke(app, [
        "transfer", "--device", "cpu", "--json",
        "--set", "corpus.num_images=40", "--set", "corpus.image_size=32",
        "--set", "dataset.num_images=51", "--set", "dataset.image_size=32",
    ])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{"):])
    assert report["corpus"] == "synthshapes" and report["dataset"] == "synthrs"


def test_transfer_command_rejects_a_bad_set():
    result = CliRunner().invoke(app, ["transfer", "--set", "backbone.name=x"])
    assert isinstance(result.exception, ConfigError)


def test_transfer_command_rejects_an_empty_split():
    result = CliRunner().invoke(app, ["transfer", "--device", "cpu", "--split", "tset",
                                      "--set", "corpus.num_images=40", "--set", "corpus.image_size=32",
                                      "--set", "dataset.num_images=51", "--set", "dataset.image_size=32"])
    assert isinstance(result.exception, ConfigError) and "'tset'" in str(result.exception)
    assert "test" in str(result.exception)
