"""Every setting that depends on the data is checked before the first training step: a strategy's shortlist
against the evaluated splits, the scene augmenter against the dataset's labels, a selection split for the runs
that select (training, or hybrid choosing its weight); a training-free run needs none and records
``selected_on: null``. Each refusal is asserted with ``training_calls`` empty: no training step ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from rsbench.config import build_config
from rsbench.engine import run_experiment
from rsbench.errors import ConfigError, DataError, RsbenchError


@pytest.fixture
def config(small_run):
    return lambda *sets: build_config(None, None, [*small_run, *sets])


@pytest.mark.parametrize(("sets", "error", "message"), [
    (["strategy.name=fast-then-fine"], RsbenchError, r"strategy.candidates=50 is larger than the gallery"),
    (["strategy.candidates=500"], RsbenchError, r"strategy.candidates=500 is larger than the gallery"),
    (["augmenter.name=scene", "augmenter.scene_names={harbour: port}"], ConfigError,
     r"scene_names names 'harbour', not a scene of dataset 'synthrs'; its scenes are airport, "),
], ids=["fast-then-fine-candidates", "dual-stream-candidates", "scene-names"])
def test_a_setting_the_synthetic_data_cannot_take_is_refused_before_training(
        tmp_path, config, training_calls, quiet_console, sets, error, message):
    with pytest.raises(error, match=message):
        run_experiment(config(*sets), quiet_console)
    assert training_calls == []
    assert not (tmp_path / "results").exists()  # small_run's results folder


def write_karpathy(root: Path, splits: dict[str, int]) -> Path:
    """A Karpathy-format folder whose file names carry no scene (``scene_rule=none`` reads none anyway)."""
    images, number = [], 0
    for split, count in splits.items():
        for _ in range(count):
            name = f"{number:04d}.png"
            root.mkdir(exist_ok=True)
            Image.new("RGB", (16, 16), (number * 37 % 256, number * 91 % 256, 120)).save(root / name)
            images.append({"filename": name, "imgid": number, "split": split,
                           "sentences": [{"raw": f"image number {number} view {k}"} for k in range(2)]})
            number += 1
    (root / "dataset.json").write_text(json.dumps({"images": images}))
    return root


@pytest.fixture
def karpathy_config(tmp_path, small_run):
    def make(splits: dict[str, int], *sets: str):
        root = write_karpathy(tmp_path / "data", splits)
        run = [s for s in small_run if not s.startswith("dataset.")]
        return build_config(None, None, [*run, "dataset.name=karpathy", f"dataset.data_root={root}",
                                         "dataset.annotation=dataset.json", "dataset.image_dir=null",
                                         "dataset.scene_rule=none", "augmenter.name=none", *sets])

    return make


def test_scene_prompts_on_a_dataset_without_scene_labels_are_refused_before_training(
        karpathy_config, training_calls, quiet_console):
    with pytest.raises(ConfigError, match=r"augmenter scene .* dataset 'karpathy' has no scene labels.*--aug none"):
        run_experiment(karpathy_config({"train": 8, "val": 4, "test": 4}, "augmenter.name=scene"),
                       quiet_console)
    assert training_calls == []


def test_a_training_run_without_a_selection_split_is_refused_before_training(
        karpathy_config, training_calls, quiet_console):
    with pytest.raises(DataError, match=r"no 'val' images, and a run that trains selects its checkpoint there"):
        run_experiment(karpathy_config({"train": 8, "test": 4}, "adapter.name=clip-bitfit"), quiet_console)
    assert training_calls == []


def test_hybrid_choosing_its_weight_without_a_selection_split_is_refused_before_training(
        karpathy_config, training_calls, quiet_console):
    cfg = karpathy_config({"train": 8, "test": 4}, "adapter.name=frozen", "strategy.name=hybrid",
                          "captioner.name=tiny")
    with pytest.raises(ConfigError, match=r"strategy hybrid chooses its setting on the selection split"):
        run_experiment(cfg, quiet_console)
    assert training_calls == []


def test_a_training_free_run_needs_no_selection_split_and_records_that_nothing_was_selected(
        karpathy_config, training_calls, quiet_console):
    record, path = run_experiment(karpathy_config({"train": 8, "test": 4}, "adapter.name=frozen"),
                                  quiet_console)
    assert training_calls == [] and record["selected_on"] is None
    assert json.loads(path.read_text())["selected_on"] is None  # a run that trains says val: tests/test_engine.py
