"""Every provider in the record: the captioner, text encoder and index a run names get ``{name, provider,
version}`` in ``components`` like the other sections, and the leaderboard keeps (and labels) two plugin versions
of one component as two rows."""

from __future__ import annotations

import rsbench
from rsbench.config import resolve
from rsbench.hooks import record_components
from rsbench.results.leaderboard import leaderboard, one_per_seed


def text_to_text_config() -> dict:
    return resolve({"strategy": {"name": "text-to-text"}, "captioner": {"name": "file", "path": "captions.json"}
                    }).to_dict()


def test_a_text_to_text_record_names_captioner_text_encoder_and_index_providers():
    components = record_components(text_to_text_config())
    builtin = {"provider": "rsbench.builtin", "version": rsbench.__version__}
    assert components["captioner"] == {"name": "file", **builtin}
    assert components["text_encoder"] == {"name": "sentence-transformers", **builtin}
    assert components["strategy"] == {"name": "text-to-text", **builtin}
    assert {"dataset", "backbone", "adapter", "sampler", "augmenter", "reranker", "loss"} <= set(components)


def test_a_dual_stream_record_names_its_index_and_no_captioner():
    components = record_components(resolve({}).to_dict(), lambda kind, name: {"provider": f"p-{kind}",
                                                                                "version": "1"})
    assert components["index"] == {"name": "exact", "provider": "p-index", "version": "1"}
    assert "captioner" not in components and "text_encoder" not in components


def with_captioner(record: dict, version: str) -> dict:
    record["config"]["captioner"] = {"name": "mycap"}
    record["components"] = {"captioner": {"name": "mycap", "provider": "mycap-plugin", "version": version},
                            "adapter": {"name": "full", "provider": "rsbench.builtin", "version": "0.1"}}
    return record


def test_two_versions_of_a_plugin_captioner_are_two_labelled_rows(build_record):
    old, new = with_captioner(build_record(seed=0), "0.1"), with_captioner(build_record(seed=0, mR=60.0), "0.2")
    kept, repeats = one_per_seed([old, new])
    assert len(kept) == 2 and repeats == []  # not a "repeat of seed 0"
    methods = sorted(leaderboard([old, new])["method"])
    assert methods == ["full/batch/none+captions:mycap [mycap-plugin 0.1]",
                       "full/batch/none+captions:mycap [mycap-plugin 0.2]"]


def test_built_in_components_add_no_label(build_record):
    record = build_record()
    record["components"] = {"adapter": {"name": "full", "provider": "rsbench.builtin", "version": "0.1"}}
    assert list(leaderboard([record])["method"]) == ["full/batch/none"]
