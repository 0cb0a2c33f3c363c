"""The papers' published figures shipped as data, and the leaderboard rows that show them."""

from __future__ import annotations

import pytest

from rsbench.config import build_config
from rsbench.results.published import published_entries, published_figure, published_matches
from rsbench.results.record import METRIC_KEYS


def config(**sets):
    layer = {"dataset": {"name": "rsitmd", "data_root": "/data/RSITMD"},
             "backbone": {"name": "ViT-B-16", "pretrained": "openai"}}
    return build_config(None, layer, [f"{k}={v}" for k, v in sets.items()]).to_dict()


def test_transcribed_tables_are_consistent():
    entries = published_entries()
    assert {e["table"] for e in entries} == {"1", "2", "4", "5", "6"}
    for entry in entries:  # the paper's mR is the mean of its six recalls (or of the two direction sums)
        metrics = entry["metrics"]
        if set(METRIC_KEYS) <= set(metrics):
            assert sum(metrics[k] for k in METRIC_KEYS[:6]) / 6 == pytest.approx(metrics["mR"], abs=0.02), entry
        if "sums" in entry:
            assert sum(entry["sums"].values()) / 6 == pytest.approx(metrics["mR"], abs=0.02), entry


@pytest.mark.parametrize(("sets", "dataset", "mr", "tables"), [
    ({"adapter.name": "focus", "sampler.name": "queue", "augmenter.name": "scene"}, "rsitmd", 47.96, {"1", "4"}),
    ({"adapter.name": "focus", "sampler.name": "queue", "augmenter.name": "scene"}, "rsicd", 31.01, {"2", "4"}),
    ({"adapter.name": "clip-lora", "sampler.name": "batch", "augmenter.name": "none"}, "rsitmd", 43.90, {"1"}),
    ({"adapter.name": "focus", "sampler.name": "batch", "augmenter.name": "none", "adapter.hidden_dim": 128,
      "adapter.focus_field": 1}, "rsitmd", 40.19, {"5"}),
    ({"adapter.name": "focus", "sampler.name": "queue", "augmenter.name": "none", "sampler.queue_multiple": 8},
     "rsitmd", 40.73, {"6"}),
])
def test_a_configuration_finds_its_published_row(sets, dataset, mr, tables):
    cfg = config(**sets)
    matches = published_matches(cfg, dataset)
    assert {m["table"] for m in matches} == tables
    assert published_figure(cfg, dataset)[0] == mr


@pytest.mark.parametrize("sets", [
    {"adapter.name": "full", "sampler.name": "batch", "augmenter.name": "none"},  # not in the paper
    {"adapter.name": "clip-lora", "sampler.name": "queue", "augmenter.name": "none"},  # another sampler
    {"adapter.name": "focus", "sampler.name": "queue", "augmenter.name": "scene", "backbone.name": "RN50"},
])
def test_other_configurations_find_none(sets):
    assert published_figure(config(**sets), "rsitmd") == (None, "")
    assert published_figure(config(), "synthrs") == (None, "")
