"""The queue-loss reduction experiment (issue 28): CMER on SynthRS with `sampler.reduction` mean, per_pair and sum.

Reads the records in experiments/queue-reduction/results/ (made by the commands in README.md next to this file)
and prints one Markdown row per (reduction, learning rate): mean ± sample std over seeds of the val mR of the
selected epoch (what chooses a learning rate) and of the test mR and R@10,
the epoch val selected for each seed, and the training time. Synthetic data.

    PYTHONPATH=$PWD python experiments/queue-reduction/summarize.py
"""

from __future__ import annotations

import statistics
from pathlib import Path

from rsbench.results.leaderboard import group_key, one_per_seed
from rsbench.results.record import load_records

RESULTS = Path(__file__).resolve().parent / "results"


def mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.fmean(values):.2f} ± {std:.2f}" if len(values) > 1 else f"{values[0]:.2f}"


def main() -> None:
    records, _ = one_per_seed(load_records(RESULTS))
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(group_key(record), []).append(record)
    print("| reduction | lr | n | seeds | val mR (selected epoch) | test mR | i2t R@10 | t2i R@10 "
          "| best val epoch per seed | train s per run |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for members in groups.values():
        config = members[0]["config"]
        members.sort(key=lambda r: r["seed"])
        metric = {k: [r["metrics"][k] for r in members] for k in ("mR", "i2t_r10", "t2i_r10")}
        epochs = ", ".join(f"{r['extra']['training']['best_epoch']}/{config['train']['epochs']}" for r in members)
        seconds = statistics.fmean(r["cost"]["train_seconds"] for r in members)
        val = [max(h["mR"] for h in r["extra"]["training"]["history"]) for r in members]
        rows.append((config["sampler"]["reduction"], config["train"]["lr"], len(members),
                     ",".join(str(r["seed"]) for r in members), mean_std(val), mean_std(metric["mR"]),
                     mean_std(metric["i2t_r10"]), mean_std(metric["t2i_r10"]), epochs, f"{seconds:.0f}"))
    order = {"mean": 0, "per_pair": 1, "sum": 2}
    for row in sorted(rows, key=lambda r: (order.get(r[0], 9), -r[1])):
        print("| " + " | ".join(str(cell) for cell in row) + " |")


if __name__ == "__main__":
    main()
