"""DistributedDataParallel on CPU with gloo, two processes: a step at 2 ranks x B is one step of one process at
2B (loss, gradients, weights), the recycling queue is the same on every rank and equal to that process's, and
a run under torchrun writes one record and resumes from its checkpoint.

The two ranks are this file run as a script (``python test_distributed.py RANK INIT_FILE OUT``), joined by a
file rendezvous in a temporary folder; the one-process reference runs in the test process.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
WORLD, PER_RANK, STEPS = 2, 4, 3
CAPTIONS = ["two white planes on the apron", "a green meadow with trees", "grey storage tanks in a row",
            "cars in a parking lot", "a small pond in the grass", "a bridge over a river", "a harbor with boats",
            "a playground next to a school"]


def build_parts():
    """The project default (Focus-Adapter + text LoRA, recycling queue, InfoNCE) on a randomly initialised tiny CLIP."""
    from rsbench.config import build_config
    from rsbench.engine import build

    cfg = build_config(None, {"device": "cpu", "backbone": {"name": "rsbench-tiny", "pretrained": None}})
    torch.manual_seed(0)
    backbone = build(cfg, "backbone")
    adapter = build(cfg, "adapter", backbone)
    loss = build(cfg, "loss")
    return adapter, build(cfg, "sampler", loss), backbone.tokenizer


def global_batches(tokenizer) -> list[tuple[torch.Tensor, ...]]:
    """STEPS batches of WORLD * PER_RANK pairs; image ids repeat across the ranks' halves (same-image masks)."""
    g = torch.Generator().manual_seed(1)
    n = WORLD * PER_RANK
    batches = []
    for _ in range(STEPS):
        images = torch.randn(n, 3, 64, 64, generator=g)
        order = torch.randperm(len(CAPTIONS), generator=g)[:n]
        image_ids = torch.randint(0, 5, (n,), generator=g)
        scene_ids = torch.randint(-1, 3, (n,), generator=g)
        batches.append((images, tokenizer([CAPTIONS[i] for i in order]), image_ids, scene_ids))
    return batches


def run_steps(rows: slice) -> list[dict]:
    """STEPS training steps on ``rows`` of each global batch; per step the loss, gradients, weights and queue."""
    from rsbench.train.schedule import adamw
    from rsbench.train.trainer import pair_encoder, train_step

    adapter, sampler, tokenizer = build_parts()
    adapter.train()
    names = [n for n, p in adapter.named_parameters() if p.requires_grad]
    params = adapter.trainable_parameters()
    optimizer = adamw(params, 1e-3, 0.05)
    encoder = pair_encoder(adapter, sampler, torch.device("cpu"))
    seen = []
    for batch in global_batches(tokenizer):
        # grad_clip 0: clipping to a norm would hide a gradient off by a constant factor
        logs = train_step(adapter, sampler, optimizer, params, tuple(t[rows] for t in batch), torch.device("cpu"),
                          contextlib.nullcontext, grad_clip=0.0, encoder=encoder)
        seen.append({"loss": logs["loss"],
                     "grads": {n: p.grad.clone() for n, p in zip(names, params, strict=True)},
                     "weights": {n: p.detach().clone() for n, p in zip(names, params, strict=True)},
                     "queue": sampler.queue.state_dict()})
    return seen


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[list[dict]]:
    folder = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, __file__, str(rank), str(folder / "rendezvous"),
                               str(folder / f"rank{rank}.pt")], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for rank in range(WORLD)]
    for proc in procs:
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output
    return [torch.load(folder / f"rank{rank}.pt", weights_only=True) for rank in range(WORLD)]


@pytest.fixture(scope="module")
def one_process() -> list[dict]:
    return run_steps(slice(None))


@pytest.mark.slow  # processes of their own (torch imports in each): CI runs it with the slow tests
def test_two_ranks_step_like_one_process_at_the_global_batch(two_ranks, one_process):
    for step, reference in enumerate(one_process):
        for rank, ranks_steps in enumerate(two_ranks):
            seen = ranks_steps[step]
            where = f"step {step + 1}, rank {rank}"
            assert seen["loss"] == pytest.approx(reference["loss"], rel=1e-5, abs=1e-6), where
            assert seen["grads"].keys() == reference["grads"].keys()
            for name, grad in reference["grads"].items():
                torch.testing.assert_close(seen["grads"][name], grad, rtol=1e-4, atol=1e-6,
                                           msg=lambda m, n=name, w=where: f"gradient of {n}, {w}: {m}")
            for name, weight in reference["weights"].items():  # AdamW divides tiny gradients by tiny norms:
                torch.testing.assert_close(seen["weights"][name], weight, rtol=1e-4, atol=1e-4,  # lr/10
                                           msg=lambda m, n=name, w=where: f"weight {n}, {w}: {m}")


@pytest.mark.slow  # shares the slow test's processes (fixture above)
def test_the_queue_is_the_same_on_every_rank_and_as_in_one_process(two_ranks, one_process):
    for step, reference in enumerate(one_process):
        first, second = (ranks_steps[step]["queue"] for ranks_steps in two_ranks)
        assert first["filled"] > 0 and first["length"] == reference["queue"]["length"] == WORLD * PER_RANK * 4
        for key, value in reference["queue"].items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(first[key], second[key]), f"queue {key} differs between ranks at step {step + 1}"
                torch.testing.assert_close(first[key], value, rtol=1e-5, atol=1e-6)
            else:
                assert first[key] == second[key] == value, key


@pytest.mark.slow
def test_a_torchrun_run_writes_one_record_and_its_checkpoint_resumes(tmp_path, rsbench_cache):
    """``torchrun --nproc-per-node 2 -m rsbench run`` writes one record; ``rsbench run --nproc 2 --resume`` loads
    rank 0's checkpoint on both ranks and ends with the same model. Both ranks share the feature cache."""
    results, checkpoints = tmp_path / "results", tmp_path / "checkpoints"
    env = {**os.environ, "PYTHONPATH": str(REPO), "RSBENCH_CACHE": str(rsbench_cache), "OMP_NUM_THREADS": "1"}
    argv = ["run", "--device", "cpu", "--results-dir", str(results), "--set", f"checkpoint_dir={checkpoints}",
            *[f"--set={s}" for s in ("dataset.num_images=60", "dataset.image_size=32", "train.epochs=1",
                                     "train.batch_size=8", "eval.batch_size=64", "train.keep_checkpoint=true",
                                     "train.image_augmentation=none", "train.cache_features=true")]]

    def launch(*command: str) -> None:
        done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr

    launch(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "rsbench", *argv)
    (first,) = [json.loads(p.read_text()) for p in results.glob("*.json")]
    assert first["env"]["world_size"] == 2
    assert first["extra"]["training"]["global_batch_size"] == 8
    assert first["extra"]["training"]["per_process_batch_size"] == 4
    assert first["extra"]["training"]["steps"] == 3  # 26 training pairs: 13 per rank, 3 steps of 4
    assert first["extra"]["feature_cache"]["used"] is True
    assert Path(first["extra"]["checkpoint"]).is_file()

    launch(sys.executable, "-m", "rsbench", *argv, "--nproc", "2", "--resume")
    records = [json.loads(p.read_text()) for p in results.glob("*.json")]
    assert len(records) == 2
    (second,) = [r for r in records if r["run_id"] != first["run_id"]]
    assert second["env"]["world_size"] == 2
    assert second["extra"]["training"]["resumed_after_epoch"] == 1
    assert second["extra"]["training"]["history"] == first["extra"]["training"]["history"]
    assert second["metrics"] == first["metrics"]


def _rank_main(rank: int, rendezvous: str, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=WORLD)
    try:
        torch.save(run_steps(slice(rank * PER_RANK, (rank + 1) * PER_RANK)), out)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    _rank_main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
