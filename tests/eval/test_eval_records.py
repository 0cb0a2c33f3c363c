"""Records of evaluate-only runs on the leaderboard: the parent link decides what is a repeat."""

from __future__ import annotations

from rsbench.results.leaderboard import one_per_seed
from rsbench.results.record import make_record


def record(config: dict, mR: float, parent: str | None = None, seed: int = 0) -> dict:
    metrics = {k: mR for k in ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mR")}
    return make_record(config=config, seed=seed, selected_on="val", metrics=metrics,
                       dataset={"name": "synthrs", "synthetic": True, "content_hash": "x", "split_sizes": {},
                                "scene_at_eval": "none"},
                       backbone={"name": "rsbench-tiny", "pretrained": "synthetic"},
                       cost={k: None for k in ("trainable_params", "total_params", "saved_activation_bytes",
                                               "peak_memory_bytes", "throughput_pairs_per_s", "train_seconds")},
                       parent_run_id=parent)


CONFIG = {"adapter": {"name": "focus"}, "strategy": {"name": "dual-stream"}, "reranker": {"name": "none"}}


def test_an_evaluation_of_the_parent_in_its_own_setting_restates_it_and_is_no_repeat():
    parent = record(CONFIG, 50.0)
    same = record(CONFIG, 50.0, parent=parent["run_id"])
    reranked = record({**CONFIG, "reranker": {"name": "csls"}}, 52.0, parent=parent["run_id"])
    kept, repeats = one_per_seed([parent, same, reranked])
    assert [r["run_id"] for r in kept] == [parent["run_id"], reranked["run_id"]] and repeats == []
    assert parent["parent_run_id"] is None and reranked["parent_run_id"] == parent["run_id"]


def test_a_second_training_of_the_same_seed_is_still_a_repeat():
    first, second = record(CONFIG, 50.0), record(CONFIG, 51.0)
    kept, repeats = one_per_seed([first, second])
    assert kept == [second] and repeats == [first]
