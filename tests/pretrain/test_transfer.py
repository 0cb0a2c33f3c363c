"""`rsbench transfer`: vocabulary overlap, known-words zero-shot, word grounding and image 1-NN scene accuracy."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from rsbench import engine
from rsbench.cli import app
from rsbench.data.record import Record
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
        "--set", "corpus.num_images=40", "--set", "corpus.overhead_tiles=10", "--set", "corpus.image_size=32",
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
                                      "--set", "corpus.num_images=40", "--set", "corpus.overhead_tiles=10",
                                      "--set", "corpus.image_size=32",
                                      "--set", "dataset.num_images=51", "--set", "dataset.image_size=32"])
    assert isinstance(result.exception, ConfigError) and "'tset'" in str(result.exception)
    assert "test" in str(result.exception)


# --- the report's figures on embeddings chosen by hand ------------------------------------------------------------
#
# Ten test images, image i embedded as the unit vector e_i; a text embeds as the sum of its words' vectors.
# Image i's caption is "<colour> <name_i>": name_i is 10 e_i, "red" (images 0-4) is e_0 + ... + e_4, "blue"
# (images 5-9) is e_5 + ... + e_9. Image 0's caption also says "wharf" (20 e_9), a word the corpus never uses.
# Two training images form the 1-NN gallery: "port" at e_0 + ... + e_4, "farm" at e_5 + ... + e_9.

NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
BASIS = torch.eye(10)
WORDS = {name: 10 * BASIS[i] for i, name in enumerate(NAMES)} | {
    "red": BASIS[:5].sum(0), "blue": BASIS[5:].sum(0), "wharf": 20 * BASIS[9]}
TEST_SCENES = ["port"] * 4 + ["farm"] * 6  # image 4 lies with the port images but is a farm


def hand_caption(i: int) -> str:
    return f"{'red' if i < 5 else 'blue'} {NAMES[i]}{' wharf' if i == 0 else ''}."


def hand_records() -> list[Record]:
    test = [Record(Path(f"t{i}.png"), f"t{i}", (hand_caption(i),), TEST_SCENES[i], "test") for i in range(10)]
    gallery = [Record(Path("port.png"), "port", ("a port",), "port", "train"),
               Record(Path("farm.png"), "farm", ("a farm",), "farm", "train")]
    return test + gallery


IMAGES = {f"t{i}": BASIS[i] for i in range(10)} | {"port": BASIS[:5].sum(0), "farm": BASIS[5:].sum(0)}


class HandExperiment:
    """Stands in for rsbench.engine.Experiment: the dataset and the embeddings above."""

    def __init__(self, cfg, console) -> None:
        records = hand_records()
        self.dataset = SimpleNamespace(name="hand", records=records,
                                       split=lambda split: [r for r in records if r.split == split])
        self.adapter = torch.nn.Identity()

    def encoder(self) -> SimpleNamespace:
        """The evaluation stage's encoder interface over the hand-made embeddings (normalised, as it returns)."""

        def texts(texts: list[str]) -> SimpleNamespace:
            summed = torch.stack([sum((WORDS.get(w, torch.zeros(10)) for w in corpus_words([t])), torch.zeros(10))
                                  for t in texts])
            return SimpleNamespace(embeddings=F.normalize(summed, dim=-1))

        def images(records) -> SimpleNamespace:
            return SimpleNamespace(embeddings=F.normalize(torch.stack([IMAGES[r.image_id] for r in records]), dim=-1))

        return SimpleNamespace(texts=texts, images=images)


@pytest.fixture
def hand_report(monkeypatch, quiet_console):
    corpus = SimpleNamespace(split=lambda split: [SimpleNamespace(captions=("red blue " + " ".join(NAMES),))])
    monkeypatch.setattr(engine, "Experiment", HandExperiment)
    monkeypatch.setattr(engine, "build", lambda cfg, section, *args: corpus)
    return transfer_report("synthetic", "rsbench-tiny", {"name": "synthshapes"}, {"name": "synthrs"}, "cpu",
                           quiet_console)


def test_image_1nn_takes_the_nearest_training_images_scene(hand_report):
    # Images 0-4 are nearest "port", 5-9 nearest "farm": all right but image 4 (a farm) -> 9 of 10.
    # (The farthest image would give 1 of 10.)
    assert hand_report["image_scene_1nn_pct"] == pytest.approx(90.0)
    assert hand_report["scene_chance_pct"] == pytest.approx(50.0)


def test_known_words_retrieval_ranks_by_similarity(hand_report):
    # Cut to corpus words, caption i is 10 e_i + its colour's vector: its own image first, both ways -> mR 100.
    # (With the similarity negated, every true match would rank last of ten: R@1 = R@5 = 0, R@10 = 100.)
    assert hand_report["known_words_mR"] == pytest.approx(100.0)
    # As is, "wharf" pulls caption 0 to image 9 (20 / |c0| against 11 / |c0|): text->image R@1 is 90. Image 9 still
    # ranks its own caption first (11 / sqrt(125) = 0.98 against 20 / sqrt(525) = 0.87): image->text is perfect.
    assert hand_report["zero_shot_mR"] == pytest.approx((3 * 100 + 90 + 100 + 100) / 6)


def test_vocabulary_and_grounding_by_hand(hand_report):
    vocabulary = hand_report["vocabulary"]
    assert vocabulary["corpus_words"] == 12 and vocabulary["eval_words"] == 13
    assert vocabulary["eval_words_unseen"] == 1 and vocabulary["top_unseen"] == [["wharf", 1]]
    assert vocabulary["eval_tokens_seen_pct"] == pytest.approx(100 * 20 / 21)
    # "red" and "blue" are the shared content words on 5 of the 10 images (names are on one image each); each
    # alone scores its five images 1/sqrt(5) and the others 0: AUC 1 (negated scores would give 0).
    grounding = hand_report["grounding"]
    assert grounding["words"] == 2 and grounding["mean_auc"] == pytest.approx(1.0)
    assert sorted(word for word, _ in grounding["best"]) == ["blue", "red"]
