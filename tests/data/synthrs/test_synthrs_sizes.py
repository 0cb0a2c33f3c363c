"""SynthRS size labels: a caption is small, large or mixed by the objects it names."""

from __future__ import annotations

from rsbench.data.synthrs.config import SynthRSConfig
from rsbench.data.synthrs.dataset import load_synthrs
from rsbench.data.synthrs.sizes import caption_size

OBJECTS = [
    {"kind": "plane", "area_fraction": 0.005},
    {"kind": "runway", "area_fraction": 0.09},
    {"kind": "tank", "area_fraction": 0.03},
]


def test_caption_size_follows_the_named_objects():
    assert caption_size("Two white planes are parked.", OBJECTS) == "small"
    assert caption_size("The airport has a long runway.", OBJECTS) == "large"
    assert caption_size("A plane is parked next to the runway.", OBJECTS) == "mixed"
    assert caption_size("Four grey storage tanks stand here.", OBJECTS) == "large"
    assert caption_size("This is an airport.", OBJECTS) is None
    assert caption_size("There is a tree.", OBJECTS) is None  # named, but not in this image


def test_every_synthrs_caption_gets_a_label_and_runs_report_the_split():
    dataset = load_synthrs(SynthRSConfig(num_images=51, image_size=32))
    groups = dataset.caption_groups["object_size"]
    assert set(groups) == {r.image_id for r in dataset.records}
    assert all(len(groups[r.image_id]) == len(r.captions) for r in dataset.records)
    labels = {label for per_image in groups.values() for label in per_image}
    assert {"small", "large"} <= labels
