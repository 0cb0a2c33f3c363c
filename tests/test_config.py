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


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["adapter.name=focus", "adapter.hidden_dim=0"], "adapter.hidden_dim must be >= 1; got 0"),
        (["adapter.name=focus", "adapter.heads=0"], "adapter.heads must be >= 1; got 0"),
        (["adapter.name=focus-visual", "adapter.text_lora_rank=0"], "adapter.text_lora_rank must be >= 1; got 0"),
        (["adapter.name=focus", "adapter.heads=5"], "adapter: heads=5 does not divide hidden_dim=192"),
        (["dataset.name=synthshapes", "dataset.image_size=1024"],
         "dataset.image_size must be >= 32 and <= 512; got 1024"),
        (["dataset.name=synthshapes", "dataset.val_fraction=0.5"],
         "dataset.val_fraction must be > 0 and <= 0.45; got 0.5"),
        (["dataset.name=synthshapes", "dataset.test_fraction=0"],
         "dataset.test_fraction must be > 0 and <= 0.45; got 0.0"),
        (["dataset.name=synthshapes", "dataset.overhead_tiles=-1"], "dataset.overhead_tiles must be >= 0; got -1"),
        (["dataset.name=synthshapes", "dataset.num_images=10", "dataset.overhead_tiles=6"],
         "dataset: overhead_tiles (6) may be at most half of num_images (10)"),
        (["backbone.name=hf-hub:org/repo", "backbone.pretrained=openai"],
         "backbone: name 'hf-hub:org/repo' brings its own weights"),
    ],
)
def test_model_and_dataset_option_rules_name_their_key(sets, message):
    with pytest.raises(ConfigError) as info:
        build_config(sets=sets)
    assert message in str(info.value) and "\n" not in str(info.value)


T2T, OPENAI = "strategy.name=text-to-text", ["strategy.name=text-to-text", "strategy.text_encoder=openai"]
CLIP_TEXT = ["strategy.name=text-to-text", "strategy.text_encoder=clip-text"]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["strategy.name=dual-stream", "strategy.candidates=0"], "strategy.candidates must be >= 1; got 0"),
        (["strategy.name=fast-then-fine", "strategy.fine_weight=-1"], "strategy.fine_weight must be >= 0; got -1.0"),
        ([T2T, "strategy.temperature=0"], "strategy.temperature must be > 0; got 0.0"),
        ([T2T, "strategy.caption_batch_size=0"], "strategy.caption_batch_size must be >= 1; got 0"),
        (["strategy.name=hybrid", "strategy.weight_grid=[0.5, 1.5]"],
         "strategy.weight_grid[1] must be >= 0 and <= 1; got 1.5"),
        (["strategy.name=hybrid", "strategy.weight_grid=[0.5, x]"],
         "strategy: weight_grid[1] must be a number in [0, 1]; got 'x'"),
        (["strategy.name=hybrid", "strategy.weight_grid=[]"],
         "strategy: weight_grid is empty: give weights to try, or fix weight"),
        (["reranker.name=dual-softmax", "reranker.inverse_temperature=-1"],
         "reranker.inverse_temperature must be >= 0; got -1.0"),
        (["reranker.name=qb-norm", "reranker.beta=-1"], "reranker.beta must be >= 0; got -1.0"),
        (["reranker.name=qb-norm", "reranker.k=0"], "reranker.k must be >= 1; got 0"),
        (["reranker.name=qb-norm", "reranker.bank_size=0"], "reranker.bank_size must be >= 1; got 0"),
        (["reranker.name=qb-norm", "reranker.activation=all"],
         "reranker.activation must be one of 'top1', 'topk'; got 'all'"),
        (["reranker.name=csls", "reranker.k=0"], "reranker.k must be >= 1; got 0"),
        (["reranker.name=galr", "reranker.k=0"], "reranker.k must be >= 1; got 0"),
        (["reranker.name=galr", "reranker.wp1=.inf"], "reranker.wp1 must be a finite number; got inf"),
        (["strategy.index_options.gallery_chunk=0"], "strategy.index_options.gallery_chunk must be >= 1; got 0"),
        (["strategy.index_options.query_batch=0"], "strategy.index_options.query_batch must be >= 1; got 0"),
        (["strategy.index=hnsw", "strategy.index_options.hnsw_m=0"], "strategy.index_options.hnsw_m must be >= 1"),
        (["strategy.index=hnsw", "strategy.index_options.ef_construction=0"],
         "strategy.index_options.ef_construction must be >= 1; got 0"),
        (["strategy.index=hnsw", "strategy.index_options.ef_search=0"],
         "strategy.index_options.ef_search must be >= 1; got 0"),
        (["strategy.index=ivfpq", "strategy.index_options.nlist=0"], "strategy.index_options.nlist must be >= 1"),
        (["strategy.index=ivfpq", "strategy.index_options.pq_m=0"], "strategy.index_options.pq_m must be >= 1"),
        (["strategy.index=ivfpq", "strategy.index_options.train_size=0"],
         "strategy.index_options.train_size must be >= 1; got 0"),
        (["augmenter.name=rich-caption", "augmenter.prompt=' '"], "augmenter.prompt must not be empty; got ' '"),
        (["augmenter.name=rich-caption", "augmenter.caption_batch_size=0"],
         "augmenter.caption_batch_size must be >= 1; got 0"),
        (["augmenter.name=scene", "augmenter.template='{caption} only'"],
         "augmenter: template must contain {scene}; got '{caption} only'"),
        (["augmenter.name=scene", "augmenter.scene_names={parking: ' '}"],
         "augmenter: scene_names must give non-empty words for parking"),
        ([T2T, "strategy.text_encoder_options.model=' '"], "strategy.text_encoder_options.model must not be empty"),
        ([T2T, "strategy.text_encoder_options.device=''"], "strategy.text_encoder_options.device must not be empty"),
        ([*CLIP_TEXT, "strategy.text_encoder_options.backbone=' '"],
         "strategy.text_encoder_options.backbone must not be empty"),
        ([*CLIP_TEXT, "strategy.text_encoder_options.pretrained=''"],
         "strategy.text_encoder_options.pretrained must not be empty"),
        ([*CLIP_TEXT, "strategy.text_encoder_options.batch_size=0"],
         "strategy.text_encoder_options.batch_size must be >= 1; got 0"),
        ([*OPENAI, "strategy.text_encoder_options.model=''"], "strategy.text_encoder_options.model must not be empty"),
        ([*OPENAI, "strategy.text_encoder_options.base_url=localhost:8000"],
         "strategy.text_encoder_options.base_url must start with 'http://' or 'https://'; got 'localhost:8000'"),
        ([*OPENAI, "strategy.text_encoder_options.timeout=0"], "strategy.text_encoder_options.timeout must be > 0"),
        ([*OPENAI, "strategy.text_encoder_options.max_retries=-1"],
         "strategy.text_encoder_options.max_retries must be >= 0; got -1"),
        ([*OPENAI, "strategy.text_encoder_options.backoff=-1"],
         "strategy.text_encoder_options.backoff must be >= 0; got -1.0"),
        ([*OPENAI, "strategy.text_encoder_options.max_backoff=-1"],
         "strategy.text_encoder_options.max_backoff must be >= 0; got -1.0"),
    ],
)
def test_retrieval_and_text_option_rules_name_their_key(sets, message):
    with pytest.raises(ConfigError) as info:
        build_config(sets=sets)
    assert message in str(info.value) and "\n" not in str(info.value)
