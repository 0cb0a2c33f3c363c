"""Guards of training and sweeps against hand-made cases (issue 24): ``main_first`` lets rank 0 finish before
any other rank starts (two gloo processes on CPU), the feature-cache key changes with the tower's weights, and a
sweep's resume does not count a record made with other weights as done.

The two ranks are this file run as a script (``python test_guards.py RANK RENDEZVOUS LOG``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def test_main_first_runs_rank_zero_s_block_before_any_other_rank_enters(tmp_path):
    log = tmp_path / "log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, __file__, str(rank), str(tmp_path / "rendezvous"), str(log)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in range(2)]
    for proc in procs:
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output
    # rank 0 sleeps inside its block: a rank 1 let in early would write between rank 0's lines
    assert log.read_text().split() == ["enter0", "leave0", "enter1", "leave1"]


def _rank_main(rank: int, rendezvous: str, log: str) -> None:
    import torch.distributed as dist

    from rsbench.train.distributed import main_first

    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    try:
        with main_first():
            with open(log, "a") as f:
                f.write(f"enter{rank}\n")
            if rank == 0:
                time.sleep(2.0)
            with open(log, "a") as f:
                f.write(f"leave{rank}\n")
        dist.barrier()
    finally:
        dist.destroy_process_group()


class Tower(torch.nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.full((3, 3), value))


class Adapter:
    """What the feature-cache plan reads of an adapter: its backbone's weights digest and its image tower."""

    def __init__(self, value: float, weights_sha256: str | None) -> None:
        self.backbone = type("Backbone", (), {"weights_sha256": weights_sha256})()
        self.model = type("Model", (), {"visual": Tower(value)})()

    def frozen_features_unavailable(self):
        return None


def cache_key(adapter: Adapter, records=("a.png",)) -> str:
    from rsbench.data.record import Record
    from rsbench.train.feature_cache import plan

    recs = [Record(name, name, ("a caption",), "scene", "train") for name in records]
    chosen = plan(adapter, object(), "eval-transform", recs, "dataset-hash", lambda: torch.zeros(2))
    assert chosen.used, chosen.reason
    return chosen.extra["key"]


def test_the_feature_cache_key_changes_with_the_tower_s_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("RSBENCH_CACHE", str(tmp_path))
    assert cache_key(Adapter(1.0, "a" * 64)) == cache_key(Adapter(1.0, "a" * 64))
    assert cache_key(Adapter(1.0, "a" * 64)) != cache_key(Adapter(1.0, "b" * 64))  # another weights file
    assert cache_key(Adapter(1.0, None)) != cache_key(Adapter(2.0, None))  # no file: the tensors themselves


def test_a_sweep_resume_does_not_count_a_record_made_with_other_weights(tmp_path):
    from rsbench.config import build_config
    from rsbench.safe_load import file_sha256
    from rsbench.sweep.plan import config_id, record_ids, weights_digest

    ours, theirs = tmp_path / "ours.pt", tmp_path / "theirs.pt"
    ours.write_bytes(b"our weights")
    theirs.write_bytes(b"other weights")
    weights_digest.cache_clear()
    cfg = build_config(None, {"backbone": {"name": "rsbench-tiny", "pretrained": str(ours)}})
    planned = config_id(cfg)

    def record(weights: Path) -> dict:
        return {"config": cfg.to_dict(), "backbone": {"weights_sha256": file_sha256(weights)}, "seed": 0}

    assert planned in record_ids(record(ours))  # the same weights: done
    assert planned not in record_ids(record(theirs))  # the same config with other weights: not done


if __name__ == "__main__":
    _rank_main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
