"""End-to-end runs on a tiny SynthRS: every registered combination trains briefly and writes a record."""

from __future__ import annotations

import itertools
import json

import pytest

from rsbench.config import build_config
from rsbench.engine import run_experiment
from rsbench.errors import ConfigError, TrainingError
from rsbench.hooks import get_registry
from rsbench.results.record import METRIC_KEYS, load_records, method_label
from rsbench.retrieval.rerankers.base import score_kinds_fit

KINDS = ("adapter", "sampler", "augmenter", "loss", "strategy", "reranker")
NAMES = {kind: get_registry(kind).names() for kind in KINDS}
# The default run trains every pair of every two of these choices at least once (all_pairs in tests/conftest.py);
# `pytest -m matrix` trains the rest of the full product that CI proves: every adapter x sampler x augmenter, and
# each loss and each strategy on the default rest (tests/retrieval/test_pipeline.py: every strategy x reranker).
MATRIX = [
    (adapter, sampler, augmenter, "infonce", "dual-stream", "none")
    for adapter, sampler, augmenter in itertools.product(NAMES["adapter"], NAMES["sampler"], NAMES["augmenter"])
] + [("full", "batch", "none", loss, "dual-stream", "none") for loss in NAMES["loss"] if loss != "infonce"] + [
    ("full", "batch", "none", "infonce", strategy, "none") for strategy in NAMES["strategy"]
    if strategy != "dual-stream"]


CAPTIONING = {"text-to-text", "hybrid"}


@pytest.fixture
def small_config(small_run):
    def make(*sets: str, **names: str):
        flags = {section: {"name": name} for section, name in names.items()}
        return build_config(flags=flags, sets=[*small_run, *sets])

    return make


@pytest.mark.combinations(NAMES, matrix=MATRIX)
def test_every_combination_trains_and_writes_a_record(
    tmp_path, small_config, quiet_console, training_calls, adapter, sampler, augmenter, loss, strategy, reranker
):
    # a shortlist must fit the small run's gallery (17 test images): a longer one is an error, not a cut
    fields = {f["name"] for f in get_registry("strategy").get(strategy).config_fields()}
    shortlist = ["strategy.candidates=10"] if "candidates" in fields else []
    if "text_encoder" in fields:  # the backbone's own text tower: MiniLM is tested in tests/retrieval
        shortlist.append("strategy.text_encoder=clip-text")
    # rich-caption trains on generated captions; text-to-text and hybrid search them
    captioner = {"captioner": "oracle"} if augmenter == "rich-caption" or strategy in CAPTIONING else {}
    cfg = small_config(*shortlist, adapter=adapter, sampler=sampler, augmenter=augmenter, loss=loss, strategy=strategy,
                       reranker=reranker, **captioner)
    if not score_kinds_fit(cfg):  # a reranker on scores it is not defined on: refused before training
        with pytest.raises(ConfigError, match=f"reranker {reranker} is defined on"):
            run_experiment(cfg, quiet_console)
        assert not training_calls
        return
    record, path = run_experiment(cfg, quiet_console)
    assert path is not None and path.is_file()
    assert json.loads(path.read_text()) == record
    assert set(record["metrics"]) == {*METRIC_KEYS, "by_object_size"}  # SynthRS defines size groups
    assert record["dataset"]["synthetic"] is True
    assert record["config"]["adapter"]["name"] == adapter
    section = record["extra"]["retrieval"]
    assert (section["strategy"], section["reranker"]) == (strategy, reranker)
    assert section["queries"]["i2t"] == record["dataset"]["split_sizes"]["test"]
    assert set(section["seconds_per_query"]) >= {"encode", "rerank"}
    assert all(v >= 0 for v in section["seconds_per_query"].values())
    if strategy == "fast-then-fine":
        assert section["k"] == {"t2i": 10, "i2t": 10}
    assert (f"+rerank:{reranker}" in method_label(record["config"])) == (reranker != "none")
    cost = record["cost"]
    assert 0 <= cost["trainable_params"] <= cost["total_params"]
    training = record["extra"]["training"]
    if cost["trainable_params"] > 0:
        assert training["steps"] == 2
        (run,) = training_calls
        # Every trainable tensor moved; the difficulty-weighted hinge works on cosines, so it never moves the
        # logit scale that `full` declares trainable.
        ignored = {"model.logit_scale"} if loss == "dw-hinge" else set()
        assert set(run.unchanged()) <= ignored, f"trainable tensors two steps left as they were: {run.unchanged()}"
        assert cost["saved_activation_bytes"] > 0
        assert cost["throughput_pairs_per_s"] is None or cost["throughput_pairs_per_s"] > 0
    else:
        assert training["steps"] == 0 and not training_calls
        assert cost["saved_activation_bytes"] == 0


def test_frozen_trains_nothing_and_full_trains_everything(tmp_path, small_config, quiet_console):
    frozen, _ = run_experiment(small_config(adapter="frozen"), quiet_console, write=False)
    full, _ = run_experiment(small_config(adapter="full"), quiet_console, write=False)
    assert frozen["cost"]["trainable_params"] == 0
    assert frozen["extra"]["training"]["best_epoch"] is None
    # logit_scale is the one parameter `full` leaves to train_logit_scale (True by default)
    assert full["cost"]["trainable_params"] == full["cost"]["total_params"]
    probe, _ = run_experiment(small_config(adapter="linear-probe"), quiet_console, write=False)
    assert 0 < probe["cost"]["trainable_params"] < full["cost"]["trainable_params"]


def test_same_seed_same_metrics_and_best_epoch_on_val(tmp_path, small_config, quiet_console):
    sets = ["train.epochs=2", "train.max_steps=4", "train.batch_size=16"]
    first, _ = run_experiment(small_config(*sets), quiet_console, write=False)
    second, _ = run_experiment(small_config(*sets), quiet_console, write=False)
    assert first["metrics"] == second["metrics"]
    history = first["extra"]["training"]["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    best = max(history, key=lambda h: h["mR"])
    assert first["extra"]["training"]["best_epoch"] == best["epoch"]
    assert first["selected_on"] == "val"


def test_nan_loss_stops_with_a_clear_error_and_writes_nothing(tmp_path, small_config, quiet_console, monkeypatch):
    from rsbench.train.losses import infonce

    monkeypatch.setattr(infonce.InfoNCE, "__call__", lambda self, *a, **k: a[0].sum() * float("nan"))
    with pytest.raises(TrainingError, match=r"loss became nan .* no record was written"):
        run_experiment(small_config(), quiet_console)
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").iterdir())


def test_selection_on_test_is_recorded(tmp_path, small_config, quiet_console):
    record, path = run_experiment(small_config("eval.select_on=test"), quiet_console)
    assert record["selected_on"] == "test"
    assert load_records(path.parent)[0]["selected_on"] == "test"
