"""Scene-prompt rows say where their test queries' scene label came from: scene@oracle, @predicted or @none."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsbench.results.leaderboard import leaderboard
from rsbench.results.record import load_records, method_label

RESULTS = Path(__file__).resolve().parents[2] / "leaderboard" / "results"
SCENE = {"adapter": "focus", "sampler": "queue"}


@pytest.mark.parametrize(("augmenter", "recorded", "label"), [
    ({"name": "scene", "at_eval": "oracle"}, None, "focus/queue/scene@oracle"),
    ("scene", None, "focus/queue/scene@oracle"),  # a config from before at_eval: queries got the oracle label
    ({"name": "scene", "at_eval": "predicted"}, None, "focus/queue/scene@predicted"),
    ({"name": "scene", "at_eval": "none"}, "none", "focus/queue/scene@none"),
    # a dataset without scene labels: the record says no query got one, whatever the config asked for
    ({"name": "scene", "at_eval": "oracle"}, "none", "focus/queue/scene@none"),
    ({"name": "scene", "at_eval": "oracle"}, False, "focus/queue/scene@oracle"),  # not a mode: the config decides
    ({"name": "none"}, "none", "focus/queue/none"),
])
def test_the_scene_label_follows_the_record(augmenter, recorded, label):
    assert method_label({**SCENE, "augmenter": augmenter}, recorded) == label


def test_the_committed_records_group_and_label_as_before():
    rows = leaderboard(load_records(RESULTS))
    scene = rows[rows["method"].str.startswith("focus/queue/scene")]
    found = set(zip(scene["method"], scene["epochs"], scene["n"], strict=True))
    assert {("focus/queue/scene@none", 12, 3), ("focus/queue/scene@none", 20, 3),
            ("focus/queue/scene@oracle", 12, 3), ("focus/queue/scene@predicted", 12, 3)} <= found
    assert "focus/queue/scene" not in set(rows["method"])  # no unlabelled scene row
    # an lr sweep added a row of it at 12 epochs and lr 0.01: the README's figure is the row at lr 0.005
    oracle = scene[(scene["method"] == "focus/queue/scene@oracle") & (scene["epochs"] == 12)
                   & (scene["lr"] == 0.005)]
    assert len(oracle) == 1
    assert round(oracle.iloc[0]["mR_mean"], 2) == 53.62  # leaderboard/README.md's figure
