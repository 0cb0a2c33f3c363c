"""Check the calibrated benchmark's targets (issue 16) against the records of a results folder.

Reads every record in RESULTS (default ``leaderboard/results``), groups them as ``rsbench leaderboard`` does,
and prints, as Markdown, each target with whether it holds and the figures behind it:

- frozen zero-shot test mR between 15 and 35;
- every trained row above frozen by more than twice the larger of the two standard deviations over seeds;
- headroom: no row above mR 75, none with R@10 above 95 in both directions;
- every row's standard deviation over seeds at most 2.0 mR;
- each tuned method's chosen learning rate and its best validation epoch per seed (the last epoch would
  mean it was still improving when training stopped).

The default run's wall time (the fifth target) is not in a record of this sweep: time ``rsbench run``.

    python experiments/calibration/targets.py [RESULTS]
"""

from __future__ import annotations

import sys
from pathlib import Path

from rsbench.results.leaderboard import group_key, leaderboard, one_per_seed
from rsbench.results.record import load_records

FROZEN = "frozen/batch/none"


def best_epochs(records: list[dict]) -> dict[str, list[str]]:
    """Per leaderboard group: 'best/epochs' of each seed, and the learning rate the sweep chose."""
    out: dict[str, list[str]] = {}
    for record in records:
        training = record["extra"].get("training", {})
        best = training.get("best_epoch")
        out.setdefault(group_key(record)[:10], []).append(
            f"{best}/{record['config']['train']['epochs']}" if best is not None else "-")
    return out


def main(results: Path) -> int:
    records, _ = one_per_seed(load_records(results, problems=[]))
    df = leaderboard(records)
    if FROZEN not in set(df["method"]):
        print(f"no {FROZEN} row in {results}")
        return 1
    frozen = df[df["method"] == FROZEN].iloc[0]
    epochs = best_epochs(records)
    lines = ["| row | n | lr | mR | std | above frozen by | needed | R@10 i2t / t2i | best epoch per seed |",
             "|---|---|---|---|---|---|---|---|---|"]
    fails: dict[str, list[str]] = {"separation": [], "headroom": [], "std": []}
    pending: list[str] = []
    last = {key for key, seeds in epochs.items() if any(e != "-" and e.split("/")[0] == e.split("/")[1] for e in seeds)}
    still_improving = [row["method"] for _, row in df.iterrows() if row["config_id"] in last]
    for _, row in df.iterrows():
        lr = next(r["config"]["train"]["lr"] for r in records if group_key(r)[:10] == row["config_id"])
        std = max(row["mR_std"], frozen["mR_std"])
        gap, needed = row["mR_mean"] - frozen["mR_mean"], 2 * std
        trained = row["method"] != FROZEN
        if row["n"] < 2:  # no standard deviation yet: the sweep has not run its seeds
            pending.append(row["method"])
        elif trained and not gap > needed:
            fails["separation"].append(row["method"])
        if row["mR_mean"] > 75 or (row["i2t_r10_mean"] > 95 and row["t2i_r10_mean"] > 95):
            fails["headroom"].append(row["method"])
        if row["n"] >= 2 and not row["mR_std"] <= 2.0:
            fails["std"].append(row["method"])
        shown_lr = format(lr, "g") if trained else "-"
        lines.append(f"| {row['method']} | {row['n']} | {shown_lr} | {row['mR_mean']:.2f} | {row['mR_std']:.2f} | "
                     f"{gap:+.2f} | {'> ' + format(needed, '.2f') if trained else '-'} | "
                     f"{row['i2t_r10_mean']:.1f} / {row['t2i_r10_mean']:.1f} | "
                     f"{', '.join(epochs.get(row['config_id'], []))} |")
    frozen_ok = 15 <= frozen["mR_mean"] <= 35
    print("\n".join(lines))
    print()
    print("| target | holds? |\n|---|---|")
    print(f"| frozen zero-shot mR in [15, 35] | {'yes' if frozen_ok else 'no'} ({frozen['mR_mean']:.2f}) |")
    for name, label in (("separation", "every trained row above frozen by > 2 x max std"),
                        ("headroom", "no mR > 75, no R@10 > 95 in both directions"),
                        ("std", "std over seeds <= 2.0 mR")):
        failing = fails[name]
        print(f"| {label} | {'yes' if not failing else 'no: ' + ', '.join(failing)} |")
    print(f"| best val epoch before the last, every seed | "
          f"{'yes' if not still_improving else 'no: ' + ', '.join(still_improving)} |")
    if pending:
        print(f"| (rows with one seed so far, not judged on spread) | {', '.join(pending)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "leaderboard/results")))
