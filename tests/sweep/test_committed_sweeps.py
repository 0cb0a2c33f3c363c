"""The committed sweep files: every one plans, and the SynthRS ones are complete in the committed records, so the
leaderboard is what its sweep files say (a change to a sweep file, or to a config's identity, that would make
`rsbench sweep configs/synthrs/...` run again shows here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsbench.sweep.plan import load_sweep
from rsbench.sweep.runner import SweepRunner

REPO = Path(__file__).resolve().parents[2]
SYNTHRS = sorted((REPO / "configs" / "synthrs").glob("*.yaml"))
CMER = sorted((REPO / "configs" / "cmer").glob("table*.yaml"))


@pytest.mark.parametrize("path", SYNTHRS, ids=lambda p: p.name)
def test_every_synthrs_sweep_is_done_in_the_committed_records(path, monkeypatch):
    monkeypatch.chdir(REPO)  # the files name their results folders relative to the repository
    sweep = load_sweep(path)
    results = Path(sweep.base["results_dir"])
    steps = SweepRunner(sweep, results, [], None).plan()
    left = [f"{s.phase} seed {s.run.seed} {s.run.label()}" for s in steps if not (s.done or s.skipped)]
    assert steps and not left, f"{path.name}: {len(left)} runs have no committed record, e.g. {left[:3]}"


@pytest.mark.parametrize("path", CMER, ids=lambda p: p.name)
def test_every_cmer_sweep_plans_for_a_dataset_folder(path, tmp_path):
    steps = SweepRunner(load_sweep(path), tmp_path, [f"dataset.data_root={tmp_path}"], None).plan()
    assert steps and all(s.run.config.options("dataset").data_root == str(tmp_path) for s in steps)
