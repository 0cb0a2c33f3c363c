"""Does a process that runs many experiments in a row keep a flat footprint? (issue 22: a sweep in one process
grew by about 240 MB per run before runs released what they built.)

    python benchmarks/sweep_memory.py                 # 10 one-epoch runs on the embedded default, in one process
    python benchmarks/sweep_memory.py --runs 4 --small

Runs alternate CMER (focus/queue/scene) and CLIP-LoRA (batch/none), seeds 0, 1, ..., each trained for one
epoch and evaluated as ``rsbench run`` does (records in a temporary folder). After each run it prints the
resident size (VmRSS) and the peak so far (VmHWM) from /proc/self/status; the criterion is that the peak after
the last run is within 200 MB of the peak after the third. Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

LIMIT_MB = 200


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--small", action="store_true", help="60 images at 32 px, 2 steps (seconds per run)")
    args = parser.parse_args(argv)
    from rich.console import Console

    from rsbench.config import build_config
    from rsbench.engine import run_experiment

    methods = [["adapter.name=focus", "sampler.name=queue", "augmenter.name=scene"],
               ["adapter.name=clip-lora", "sampler.name=batch", "augmenter.name=none"]]
    small = ["dataset.num_images=60", "dataset.image_size=32", "train.max_steps=2", "train.batch_size=8"]
    peaks = []
    with tempfile.TemporaryDirectory(prefix="rsbench-sweep-memory-") as folder:
        print(f"{'run':>3}  {'method':<22} {'RSS MB':>8} {'peak MB':>8}")
        for run in range(args.runs):
            sets = [*methods[run % 2], "train.epochs=1", f"seed={run}", "device=cpu", f"results_dir={folder}/results",
                    f"checkpoint_dir={folder}/checkpoints", *(small if args.small else [])]
            run_experiment(build_config(None, None, sets), Console(file=io.StringIO()))
            peaks.append(status_mb("VmHWM"))
            print(f"{run + 1:>3}  {methods[run % 2][0].split('=')[1]:<22} {status_mb('VmRSS'):>8.0f} {peaks[-1]:>8.0f}",
                  flush=True)
    if len(peaks) < 3:
        return 0
    growth = peaks[-1] - peaks[2]
    verdict = "flat" if growth <= LIMIT_MB else "GROWING"
    print(f"peak after run {len(peaks)} - peak after run 3 = {growth:.0f} MB (limit {LIMIT_MB} MB): {verdict}")
    return 0 if growth <= LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
