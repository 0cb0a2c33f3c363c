"""Every strategy × reranker pair end to end on a tiny run (``-m matrix``: the default run trains every pair of
them in tests/test_engine.py), and the issue's command on the embedded default."""

from __future__ import annotations

import itertools
import json

import pytest

from rsbench.cli import main
from rsbench.config import build_config
from rsbench.engine import run_experiment
from rsbench.errors import ConfigError
from rsbench.hooks import get_registry
from rsbench.results.leaderboard import leaderboard
from rsbench.results.record import METRIC_KEYS, load_records, method_label
from rsbench.retrieval.rerankers.base import score_kinds_fit

PAIRS = list(itertools.product(get_registry("strategy").names(), get_registry("reranker").names()))


@pytest.mark.matrix
@pytest.mark.parametrize(("strategy", "reranker"), PAIRS)
def test_every_strategy_and_reranker_pair_writes_a_record(small_run, quiet_console, strategy, reranker):
    shortlist = {"candidates": 10} if strategy in ("fast-then-fine", "fusion-rerank") else {}  # ~17 test images
    if strategy in ("text-to-text", "hybrid"):  # they search the oracle's captions, in the backbone's text space
        shortlist = {"text_encoder": "clip-text"}
    flags = {"adapter": {"name": "frozen"}, "sampler": {"name": "batch"}, "augmenter": {"name": "none"},
             "strategy": {"name": strategy, **shortlist}, "reranker": {"name": reranker}}
    if "text_encoder" in shortlist:
        flags["captioner"] = {"name": "oracle"}
    cfg = build_config(flags=flags, sets=[*small_run, "train.epochs=0"])
    if not score_kinds_fit(cfg):  # refused before training: tests/retrieval/test_score_kinds.py
        with pytest.raises(ConfigError, match=f"reranker {reranker} is defined on"):
            run_experiment(cfg, quiet_console)
        return
    record, path = run_experiment(cfg, quiet_console)
    assert json.loads(path.read_text()) == record
    assert all(0.0 <= record["metrics"][k] <= 100.0 for k in METRIC_KEYS)
    section = record["extra"]["retrieval"]
    assert (section["strategy"], section["reranker"]) == (strategy, reranker)
    assert section["queries"]["i2t"] == record["dataset"]["split_sizes"]["test"]
    assert set(section["seconds_per_query"]) >= {"encode", "rerank"}
    assert all(v >= 0 for v in section["seconds_per_query"].values())
    if strategy == "fast-then-fine":
        assert section["k"] == {"t2i": 10, "i2t": 10}
    label = method_label(record["config"])
    assert (f"+rerank:{reranker}" in label) == (reranker != "none")


def test_issue_command_runs_on_the_embedded_default(capsys, small_run, tmp_path):
    sets = [arg for s in small_run for arg in ("--set", s)]
    with pytest.raises(SystemExit) as info:
        main(["run", "--adapter", "focus", "--sampler", "queue", "--aug", "scene", "--strategy", "fast-then-fine",
              "--rerank", "dual-softmax", *sets, "--set", "strategy.candidates=5", "--json"])
        raise SystemExit(0)
    assert not info.value.code
    records = load_records(tmp_path / "results")
    assert len(records) == 1
    section = records[0]["extra"]["retrieval"]
    assert section["strategy"] == "fast-then-fine" and section["reranker"] == "dual-softmax"
    assert section["k"] == {"t2i": 5, "i2t": 5}
    assert 0.0 <= section["stage1_recall_at_k"]["t2i"] <= 100.0
    assert {"encode", "recall", "fine", "rerank"} <= set(section["seconds_per_query"])
    (row,) = leaderboard(records).to_dict("records")
    assert row["method"] == "focus/queue/scene@oracle+fast-then-fine+rerank:dual-softmax"
