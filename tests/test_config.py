"""Config resolution: precedence, validation and the errors users see."""

from __future__ import annotations

import pytest

from rsbench.config import TrainConfig, build_config, merge, parse_set
from rsbench.errors import ConfigError


def test_defaults_resolve_to_the_embedded_default():
    cfg = build_config()
    assert cfg.name("dataset") == "synthrs"
    # CMER (Focus-Adapter + recycled negatives + scene prompts) on the shipped pretrained tiny CLIP
    assert (cfg.name("adapter"), cfg.name("sampler"), cfg.name("augmenter")) == ("focus", "queue", "scene")
    assert (cfg.name("backbone"), cfg.options("backbone").pretrained) == ("rsbench-tiny", "synthetic")
    assert cfg.train == TrainConfig()


def test_precedence_defaults_yaml_flags_set(tmp_path):
    yaml_file = tmp_path / "x.yaml"
    yaml_file.write_text("train:\n  lr: 0.001\n  epochs: 3\nseed: 4\n")
    cfg = build_config(yaml_file, {"train": {"lr": 0.002}}, ["train.lr=0.003"])
    assert cfg.train.lr == 0.003
    assert cfg.train.epochs == 3
    assert cfg.seed == 4
    cfg = build_config(yaml_file, {"train": {"lr": 0.002}})
    assert cfg.train.lr == 0.002


def test_set_parses_values_as_yaml_and_scientific_floats():
    assert parse_set(["train.lr=1e-4", "train.max_steps=5", "eval.select_on=test", "train.amp=false"]) == {
        "train": {"lr": "1e-4", "max_steps": 5, "amp": False},
        "eval": {"select_on": "test"},
    }
    assert build_config(sets=["train.lr=1e-4"]).train.lr == pytest.approx(1e-4)


def test_resolved_config_round_trips(tmp_path):
    import yaml

    cfg = build_config(sets=["train.epochs=2", "loss.temperature=0.05"])
    path = tmp_path / "resolved.yaml"
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    assert build_config(path).to_dict() == cfg.to_dict()


def test_choosing_another_component_drops_the_old_options():
    base = {"loss": {"name": "infonce", "temperature": 0.1}}
    assert merge(base, {"loss": {"name": "other"}}) == {"loss": {"name": "other"}}
    assert merge(base, {"loss": {"temperature": 0.2}}) == {"loss": {"name": "infonce", "temperature": 0.2}}


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["train.lrr=1"], "unknown config key 'train.lrr'. Did you mean: lr?"),
        (["trian.lr=1"], "unknown config key 'trian'. Did you mean: train?"),
        (["train.epochs=two"], "train.epochs must be an integer"),
        (["train.batch_size=1"], "train.batch_size must be >= 2"),
        (["train.lr=-1"], "train.lr must be > 0"),
        (["eval.select_on=best"], "eval.select_on must be one of 'val', 'test'"),
        (["loss.temperature=0"], "loss.temperature must be > 0"),
        (["loss.bogus=1"], "unknown config key 'loss.bogus'"),
        (["adapter.name=ful"], "unknown adapter 'ful'. Did you mean: full"),
        (["train.amp=maybe"], "train.amp must be true or false"),
        (["train"], "--set expects KEY=VALUE"),
    ],
)
def test_bad_config_gives_one_clear_error(sets, message):
    with pytest.raises(ConfigError) as info:
        build_config(sets=sets)
    assert message in str(info.value)


def test_yaml_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        build_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        build_config(tmp_path / "missing.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        build_config(listy)
