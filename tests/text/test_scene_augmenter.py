"""The scene-label prompt augmenter (CMER §3.3): training captions, and queries under oracle / predicted / none."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from rsbench.data.record import Record, RetrievalDataset
from rsbench.errors import ConfigError, RsbenchError
from rsbench.text.augmenters.config import SceneConfig
from rsbench.text.augmenters.scene import SCENE_SOURCES, SceneAugmenter, build, scene_words

SCENES = ["airport", "beach", "storagetanks"]


def record(scene: str | None, *captions: str, image_id: str = "x.png") -> Record:
    return Record(image=Path("/data") / image_id, image_id=image_id, captions=captions, scene=scene, split="test")


def augmenter(**options) -> SceneAugmenter:
    records = [record(s, "c", image_id=f"{s}_1.png") for s in SCENES]
    return build(SceneConfig(**options), RetrievalDataset("toy", Path("/data"), records))


@pytest.mark.parametrize(("label", "words"), [
    ("storagetanks", "storage tanks"),
    ("denseresidential", "dense residential"),
    ("parking", "parking lot"),
    ("parkinglot", "parking lot"),
    ("BareLand", "bare land"),  # RSICD class-list spelling
    ("storage_tank", "storage tank"),  # NWPU-style underscores, found in the table
    ("sea_ice", "sea ice"),  # not in the table: split on '_'
    ("ThermalPowerStation", "thermal power station"),
    ("airport", "airport"),
])
def test_scene_words(label, words):
    assert scene_words(label) == words


def test_scene_words_overrides_win():
    assert scene_words("parking", {"parking": "car park"}) == "car park"
    assert scene_words("Parking", {"parking": "car park"}) == "car park"


def test_training_captions_get_their_images_true_scene():
    aug = augmenter()
    rng = random.Random(0)
    tanks = aug.augment("four tanks near a road .", record("storagetanks"), rng)
    assert tanks == "storage tanks, four tanks near a road ."
    assert aug.augment("a plane", record("airport"), rng) == "airport, a plane"
    assert aug.augment("a lake", record(None), rng) == "a lake"  # no label: unchanged


def test_template_is_configurable():
    aug = augmenter(template="a remote sensing image of {scene}: {caption}")
    assert aug.augment("a plane", record("airport"), random.Random(0)) == "a remote sensing image of airport: a plane"


def test_oracle_queries_use_the_ground_truth_and_records_say_so():
    aug = augmenter()
    assert aug.at_query("many cars", record("parking")) == "parking lot, many cars"
    assert aug.at_query("many cars", record(None)) == "many cars"
    assert aug.describe_eval()["scene_at_eval"] == "oracle"
    assert "an assumption, the CMER paper does not say" in aug.describe_eval()["scene_source"]


def test_none_leaves_queries_unchanged_but_still_trains_with_scenes():
    aug = augmenter(at_eval="none")
    assert aug.at_query("many cars", record("parking")) == "many cars"
    assert aug.augment("many cars", record("parking"), random.Random(0)) == "parking lot, many cars"
    assert aug.describe_eval() == {"scene_at_eval": "none", "scene_source": SCENE_SOURCES["none"]}


KEYWORDS = {0: ("airport", "plane"), 1: ("beach", "sand"), 2: ("storage", "tank")}
calls: list[list[str]] = []  # what fake_encode_text was asked to embed


def fake_encode_text(texts: list[str]) -> torch.Tensor:
    """A text encoder: one axis per class, counting that class's keywords in the text (plus a shared offset)."""
    calls.append(list(texts))
    rows = []
    for text in texts:
        row = [0.1, 0.1, 0.1]
        for axis, words in KEYWORDS.items():
            row[axis] += sum(text.count(word) for word in words)
        rows.append(row)
    return torch.tensor(rows)


def test_predicted_takes_the_class_whose_prompt_embeds_closest_to_the_query():
    calls.clear()
    aug = augmenter(at_eval="predicted")
    records = [
        record("airport", "two planes are parked", "a white plane", image_id="airport_1.png"),
        record("beach", "yellow sand along the sea", "a plane over the sea", image_id="beach_1.png"),
        record(None, "three round tanks", image_id="x_1.png"),
    ]
    with pytest.raises(RsbenchError, match="prepare_queries"):
        aug.at_query("a white plane", records[0])
    aug.prepare_queries(records, fake_encode_text)
    assert calls[0] == ["a remote sensing image of airport", "a remote sensing image of beach",
                        "a remote sensing image of storage tanks"]
    assert aug.at_query("two planes are parked", records[0]) == "airport, two planes are parked"
    assert aug.at_query("yellow sand along the sea", records[1]) == "beach, yellow sand along the sea"
    # The prediction comes from the text, not the label: a wrong class here, and a class for an unlabelled record.
    assert aug.at_query("a plane over the sea", records[1]) == "airport, a plane over the sea"
    assert aug.at_query("a white plane", records[0]) == "airport, a white plane"
    assert aug.at_query("three round tanks", records[2]) == "storage tanks, three round tanks"
    assert aug.describe_eval() == {"scene_at_eval": "predicted", "scene_source": SCENE_SOURCES["predicted"],
                                   "scene_prediction_accuracy": 75.0}


def test_predicted_accuracy_counts_labelled_queries_only():
    aug = augmenter(at_eval="predicted")
    records = [record("airport", "sand and a plane plane", "sand on sand"), record("beach", "a beach beach, a plane"),
               record(None, "a tank")]
    aug.prepare_queries(records, fake_encode_text)
    # airport: "sand and a plane plane" -> airport (right), "sand on sand" -> beach (wrong); beach: right.
    assert aug.describe_eval()["scene_prediction_accuracy"] == pytest.approx(100 * 2 / 3, abs=0.01)


def test_oracle_and_none_do_not_need_the_model():
    for mode in ("oracle", "none"):
        aug = augmenter(at_eval=mode)
        aug.prepare_queries([record("airport", "a plane")], lambda texts: pytest.fail("encoder called"))


def test_dataset_without_scenes_changes_nothing():
    dataset = RetrievalDataset("plain", Path("/data"), [record(None, "a plane")])
    for mode in ("oracle", "predicted", "none"):
        aug = build(SceneConfig(at_eval=mode), dataset)
        aug.prepare_queries(dataset.records, lambda texts: pytest.fail("encoder called"))
        assert aug.at_query("a plane", dataset.records[0]) == "a plane"
        assert aug.augment("a plane", dataset.records[0], random.Random(0)) == "a plane"
        assert aug.describe_eval()["scene_at_eval"] == "none"
        assert aug.describe_eval()["scene_source"].startswith("the dataset has no scene labels")


@pytest.mark.parametrize(("options", "message"), [
    ({"template": "{scene} only"}, "caption"),
    ({"template": "{caption} in {place} ({scene})"}, "not a valid template"),
    ({"class_prompt": "an aerial image"}, "scene"),
    ({"at_eval": "guess"}, "at_eval"),
    ({"scene_names": {"parking": " "}}, "scene_names"),
])
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        SceneConfig(**options)
