"""The papers' published figures shipped as data, and the leaderboard rows that show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsbench.config import build_config
from rsbench.results.leaderboard import leaderboard
from rsbench.results.paper_tables import load_profile_records
from rsbench.results.published import (
    cost_matches,
    published_costs,
    published_entries,
    published_figure,
    published_matches,
    reference_rows,
)
from rsbench.results.record import METRIC_KEYS
from rsbench.results.tables import to_markdown

PROFILES = Path(__file__).resolve().parents[2] / "leaderboard" / "profiles"


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


OUTSIDE = {"AMFMN", "MCRN", "HVSA", "SWAN", "Single Language", "IEFT", "PIR", "Cross-Modal Adapter", "PE-RSITR"}


def _cost(table: str, row: str) -> dict:
    (found,) = [c for c in published_costs() if c["table"] == table and c["row"] == row]
    return found


def _paper_row(table: str, name: str) -> dict:
    rows = [r for r in reference_rows() if r["table"] == table and r["row"] == name]
    rows += [e for e in published_entries() if e["table"] == table and e["row"] == name]
    (found,) = rows
    return found["metrics"]


def test_table3_and_table4_costs_agree_with_the_papers_text():
    assert len([c for c in published_costs() if c["table"] == "3"]) == 9
    assert {c["row"] for c in published_costs() if c["table"] == "4"} == {"v1", "v2", "d1", "d2"}
    cmer, lora = _cost("3", "CMER ViT-B-16"), _cost("3", "CLIP-lora ViT-B-16")
    adapter = _cost("3", "CLIP-adapter ViT-B-16")
    # §4.3: against CLIP-lora on ViT-B-16, 51 % less memory and 2.0 x the throughput; against CLIP-adapter 49 %, 1.4 x
    assert round(100 * (1 - cmer["peak_memory_mb"] / lora["peak_memory_mb"])) == 51
    assert round(cmer["throughput_pairs_per_s"] / lora["throughput_pairs_per_s"], 1) == 2.0
    assert round(100 * (1 - cmer["peak_memory_mb"] / adapter["peak_memory_mb"])) == 49
    assert round(cmer["throughput_pairs_per_s"] / adapter["throughput_pairs_per_s"], 1) == 1.4
    # §4.4.1: the queue adds 4 MB and costs 2 pairs/s (v2 -> d1); d2 costs what d1 does
    v2, d1, d2 = _cost("4", "v2"), _cost("4", "d1"), _cost("4", "d2")
    assert d1["peak_memory_mb"] - v2["peak_memory_mb"] == 4
    assert v2["throughput_pairs_per_s"] - d1["throughput_pairs_per_s"] == 2
    assert (d2["peak_memory_mb"], d2["throughput_pairs_per_s"]) == (d1["peak_memory_mb"], d1["throughput_pairs_per_s"])
    for cost in published_costs():  # each names a method rsbench runs, so a profile record can stand beside it
        assert cost_matches({"backbone": {"name": cost["config"]["backbone.name"]},
                             "adapter": {"name": cost["config"]["adapter.name"], "text": "lora"},
                             "sampler": {"name": cost["config"]["sampler.name"]}})


def test_the_outside_methods_are_shipped_and_agree_with_the_papers_text():
    for table, dataset in (("1", "rsitmd"), ("2", "rsicd")):
        rows = [r for r in reference_rows() if r["table"] == table]
        assert {r["row"] for r in rows} == OUTSIDE and {r["dataset"] for r in rows} == {dataset}
        for row in rows:
            metrics = row["metrics"]
            assert sum(metrics[k] for k in METRIC_KEYS[:6]) / 6 == pytest.approx(metrics["mR"], abs=0.02), row
    # §4.3's comparisons of CMER (ViT-B-32) with the outside methods
    cmer1, cmer2 = _paper_row("1", "CMER ViT-B-32"), _paper_row("2", "CMER ViT-B-32")
    assert round(cmer1["mR"] - _paper_row("1", "SWAN")["mR"], 2) == 12.77
    assert round(cmer1["t2i_r10"] - _paper_row("1", "Single Language")["t2i_r10"], 2) == 13.11
    assert round(cmer1["mR"] - _paper_row("1", "Single Language")["mR"], 2) == 5.50
    assert round(cmer1["t2i_r10"] - _paper_row("1", "PE-RSITR")["t2i_r10"], 2) == 11.73
    assert round(cmer1["mR"] - _paper_row("1", "PE-RSITR")["mR"], 2) == 2.41
    assert round(cmer2["mR"] - _paper_row("2", "IEFT")["mR"], 2) == 3.13


def test_the_leaderboard_shows_paper_only_rows_and_costs_beside_profiles(build_record):
    profiles = load_profile_records(PROFILES)
    markdown = to_markdown(leaderboard([build_record()]), profiles)
    section = markdown.split("## Published methods rsbench does not run (paper only)")[1]
    assert all(f"| {name} |" in section for name in OUTSIDE)
    costs = markdown.split("## Training cost beside the paper's")[1]
    cmer = [line for line in costs.splitlines() if "CMER T3 CMER ViT-B-16" in line]
    assert cmer and "3,488 MB" in cmer[0] and "/ 276 |" in cmer[0] and cmer[0].startswith("| focus/queue |")
    assert "Paper mR" not in markdown.split("## Published methods")[0]  # a synthetic row matches no paper row


def test_a_hostile_profile_record_is_skipped_with_one_line(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)  # past the loading layer's depth limit
    (tmp_path / "cut.json").write_text('{"kind": "profile", "cost": {')
    problems: list[str] = []
    assert load_profile_records(tmp_path, problems=problems) == []
    assert len(problems) == 2 and all("\n" not in p for p in problems)
    assert any("deep.json" in p and "nested" in p for p in problems)
