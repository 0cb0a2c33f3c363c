"""Check the calibrated benchmark's targets (issue 16) against the records of a results folder.

Reads every record in RESULTS (default ``leaderboard/results``), groups them as ``rsbench leaderboard`` does,
and prints, as Markdown, each target with whether it holds and the figures behind it:

- frozen zero-shot test mR between 15 and 35;
- every trained row above frozen by more than twice the larger of the two standard deviations over seeds;
- headroom: no row above mR 75, none with R@10 above 95 in both directions;
- every row's standard deviation over seeds at most 2.0 mR;
- each tuned method's chosen learning rate and its best validation epoch: the epoch where the val mR
  averaged over seeds peaks must not be the last (the last would mean it was still improving when training
  stopped). One seed's best landing on the last epoch of a flat curve is noise, so the seed-mean curve is
  judged; the per-seed best epochs and the ``last-4 gain`` (val mR gained over the last four epochs, mean
  over seeds) are printed as the evidence.

A method trained at several lengths (methods.yaml's 12 epochs, then longer.yaml's 20 or 30 where the best
epoch was the last) is judged on its longest row at the learning rate the newest tuning chose (the ``sweep`` section
of its newest tuned record), the recipe the benchmark settles on; its shorter rows are printed, marked
``superseded``, as the evidence for training longer, and rows at a rate an earlier, narrower grid chose are marked
``other lr``; neither is judged.

Then the findings the issue asks for, whatever they show: CMER's Table 4 ablation beside the paper's figures
(``rsbench/results/published/cmer.json``), the scene prompt at evaluation (oracle / none / predicted), and
small- vs large-object R@10.

The default run's wall time (the fifth target) is not in a record of this sweep: time ``rsbench run``.

    python experiments/calibration/targets.py [RESULTS]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from rsbench.results.leaderboard import group_key, leaderboard, one_per_seed
from rsbench.results.record import load_records

FROZEN = "frozen/batch/none"
ABLATION = [("v1", "text LoRA", "lora/batch/none"), ("v2", "+ Focus-Adapter", "focus/batch/none"),
            ("d1", "+ recycling queue", "focus/queue/none"),
            ("d2", "+ scene prompt (CMER)", "focus/queue/scene@oracle")]
SCENE = [("oracle scene", "focus/queue/scene@oracle"), ("no scene", "focus/queue/scene@none"),
         ("predicted scene", "focus/queue/scene@predicted")]
PUBLISHED = Path(__file__).resolve().parents[2] / "rsbench" / "results" / "published" / "cmer.json"


def by_config(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for record in records:
        out.setdefault(group_key(record)[:10], []).append(record)
    return out


def best_epochs(runs: list[dict]) -> list[str]:
    """'best/epochs' of each seed ('-' for a run without training)."""
    out = []
    for record in runs:
        best = record["extra"].get("training", {}).get("best_epoch")
        out.append(f"{best}/{record['config']['train']['epochs']}" if best is not None else "-")
    return out


def last_four_gain(runs: list[dict]) -> float | None:
    """Mean over seeds of val mR at the last epoch minus val mR four epochs before."""
    gains = [h[-1]["mR"] - h[-5]["mR"] for r in runs
             if len(h := r["extra"].get("training", {}).get("history", [])) >= 5]
    return statistics.mean(gains) if gains else None


def mean_curve_best(runs: list[dict]) -> str:
    """'best/epochs' of the val mR averaged over seeds ('-' for a run without training)."""
    curves = [r["extra"].get("training", {}).get("history", []) for r in runs]
    if not curves or not all(curves) or len({len(c) for c in curves}) != 1:
        return "-"
    mean = [statistics.mean(c[i]["mR"] for c in curves) for i in range(len(curves[0]))]
    return f"{max(range(len(mean)), key=mean.__getitem__) + 1}/{len(mean)}"


def published_mr(row: str) -> dict[str, float]:
    entries = json.loads(PUBLISHED.read_text())["entries"]
    return {e["dataset"]: e["metrics"]["mR"] for e in entries if e["table"] == "4" and e["row"] == row}


def main(results: Path) -> int:
    records, _ = one_per_seed(load_records(results, problems=[]))
    df = leaderboard(records)
    if FROZEN not in set(df["method"]):
        print(f"no {FROZEN} row in {results}")
        return 1
    groups = by_config(records)
    epochs_of = {cid: runs[0]["config"]["train"]["epochs"] for cid, runs in groups.items()}
    df["epochs"] = df["config_id"].map(epochs_of)
    # a method's judged row: its longest at the rate its newest tuning chose (rsbench.results.leaderboard.chosen_rates)
    longest = df[df["lr_chosen"]].sort_values("epochs").groupby("method").tail(1).set_index("method")
    frozen = df[df["method"] == FROZEN].iloc[0]
    lines = ["| row | epochs | n | lr | mR | std | above frozen by | needed | R@10 i2t / t2i | best epoch per seed | "
             "best epoch of the seed mean | last-4 gain |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    fails: dict[str, list[str]] = {"separation": [], "headroom": [], "std": [], "epoch": []}
    pending: list[str] = []
    superseded: list[str] = []
    other_lr: list[str] = []
    for _, row in df.iterrows():
        runs = groups[row["config_id"]]
        label = f"{row['method']} ({row['epochs']} ep)"
        std = max(row["mR_std"], frozen["mR_std"])
        gap, needed = row["mR_mean"] - frozen["mR_mean"], 2 * std
        trained = (runs[0].get("cost") or {}).get("trainable_params") != 0  # text-to-text over frozen: not trained
        judged = longest.loc[row["method"], "config_id"] == row["config_id"]
        seeds, overall = best_epochs(runs), mean_curve_best(runs)
        if not row["lr_chosen"]:
            other_lr.append(f"{label} at lr {row['lr']:g}")
        elif not judged:
            superseded.append(label)
        elif row["n"] < 2:  # no standard deviation yet: the sweep has not run its seeds
            pending.append(label)
        else:
            if trained and not gap > needed:
                fails["separation"].append(label)
            if not row["mR_std"] <= 2.0:
                fails["std"].append(label)
            if overall != "-" and overall.split("/")[0] == overall.split("/")[1]:
                fails["epoch"].append(label)
        if judged and (row["mR_mean"] > 75 or (row["i2t_r10_mean"] > 95 and row["t2i_r10_mean"] > 95)):
            fails["headroom"].append(label)
        gain = last_four_gain(runs)
        shown_lr = format(runs[0]["config"]["train"]["lr"], "g") if trained else "-"
        mark = "" if judged else " (superseded)" if row["lr_chosen"] else " (other lr)"
        lines.append(f"| {row['method']}{mark} | {row['epochs']} | {row['n']} | "
                     f"{shown_lr} | {row['mR_mean']:.2f} | "
                     f"{row['mR_std']:.2f} | {gap:+.2f} | {'> ' + format(needed, '.2f') if trained else '-'} | "
                     f"{row['i2t_r10_mean']:.1f} / {row['t2i_r10_mean']:.1f} | {', '.join(seeds)} | {overall} | "
                     f"{'-' if gain is None else format(gain, '+.2f')} |")
    frozen_ok = 15 <= frozen["mR_mean"] <= 35
    print("\n".join(lines))
    print()
    print("| target | holds? |\n|---|---|")
    print(f"| frozen zero-shot mR in [15, 35] | {'yes' if frozen_ok else 'no'} ({frozen['mR_mean']:.2f}) |")
    for name, label in (("separation", "every trained row above frozen by > 2 x max std"),
                        ("headroom", "no mR > 75, no R@10 > 95 in both directions"),
                        ("std", "std over seeds <= 2.0 mR"),
                        ("epoch", "best epoch of the seed-mean val curve before the last")):
        failing = fails[name]
        print(f"| {label} | {'yes' if not failing else 'no: ' + ', '.join(failing)} |")
    if pending:
        print(f"| (rows with one seed so far, not judged on spread) | {', '.join(pending)} |")
    if superseded:
        print(f"| (shorter rows of a method trained longer, not judged) | {', '.join(superseded)} |")
    if other_lr:
        print(f"| (rows at a rate the newest tuning did not choose, not judged) | {', '.join(other_lr)} |")
    findings(longest)
    return 0


def cell(longest, method: str, column: str = "mR") -> str:
    if method not in longest.index:
        return "-"
    row = longest.loc[method]
    return f"{row[column + '_mean']:.2f} ± {row[column + '_std']:.2f}"


def findings(longest) -> None:
    print("\nCMER Table 4 ablation (SynthRS test mR, mean ± std over seeds; the paper: ViT-B-16, 3 seeds)\n")
    print("| step | | SynthRS (synthetic) | paper RSITMD | paper RSICD |\n|---|---|---|---|---|")
    for step, what, method in ABLATION:
        paper = published_mr(step)
        print(f"| {step} | {what} | {cell(longest, method)} | {paper.get('rsitmd', '-')} | {paper.get('rsicd', '-')} |")
    print("\nThe scene prompt at evaluation (CMER's training; SynthRS test)\n")
    print("| scene at evaluation | mR | R@10 i2t | R@10 t2i |\n|---|---|---|---|")
    for what, method in SCENE:
        print(f"| {what} | {cell(longest, method)} | {cell(longest, method, 'i2t_r10')} | "
              f"{cell(longest, method, 't2i_r10')} |")
    print("\nSmall- vs large-object R@10 (captions describing only small / only large objects; SynthRS test)\n")
    print("| row | i2t small | i2t large | t2i small | t2i large |\n|---|---|---|---|---|")
    for method in longest.sort_values("mR_mean", ascending=False).index:
        print(f"| {method} | " + " | ".join(cell(longest, method, f"{size}_{d}_r10")
                                           for d in ("i2t", "t2i") for size in ("small", "large")) + " |")


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "leaderboard/results")))
