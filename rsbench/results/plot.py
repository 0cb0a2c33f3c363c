"""The accuracy-cost plot of the leaderboard: mR against trainable parameters and against saved activations.

One row of panels per dataset; each configuration is a point with its seeds' standard deviation as an
error bar, labelled with its method (and its training epochs where that method has rows at several);
the Pareto front (no other row is both more accurate and cheaper) is drawn as a step line. Log axes,
with zero (frozen models train nothing) on a linear stretch below the first decade.
matplotlib is the optional ``plot`` extra.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rsbench.errors import RsbenchError
from rsbench.results.leaderboard import METRICS, pareto_front

COSTS = ("trainable_params", "saved_activation_bytes")
LINEAR_BELOW = {"trainable_params": 1e3, "saved_activation_bytes": 1e5}  # symlog threshold: zero stays visible


def plot_pareto(df: pd.DataFrame, out_dir: Path, stem: str = "pareto") -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.svg`` into ``out_dir``; returns their paths."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise RsbenchError("plots need matplotlib: pip install 'rsbench[plot]'") from exc
    if df.empty:
        raise RsbenchError("no leaderboard rows to plot")
    datasets = list(dict.fromkeys(df["dataset"]))
    fig, axes = plt.subplots(len(datasets), len(COSTS), figsize=(6.5 * len(COSTS), 4.8 * len(datasets)),
                             squeeze=False)
    for row_axes, dataset in zip(axes, datasets, strict=True):
        rows = df[df["dataset"] == dataset]
        synthetic = bool(rows["synthetic"].iloc[0])
        for ax, cost in zip(row_axes, COSTS, strict=True):
            _panel(ax, rows, cost, f"{dataset}{' (synthetic)' if synthetic else ''}")
    fig.tight_layout()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in ("png", "svg"):
        path = out_dir / f"{stem}.{suffix}"
        temp = path.with_name(f".{path.name}.tmp")
        fig.savefig(temp, format=suffix, dpi=150, metadata={"Date": None} if suffix == "svg" else None)
        temp.replace(path)  # atomic: a reader never sees half a picture
        paths.append(path)
    plt.close(fig)
    return paths


def point_labels(rows: pd.DataFrame) -> pd.Series:
    """Each row's method, with `` · 20 ep`` added when the rows hold that method at more than one epoch count.

    A method trained for one number of epochs keeps its bare label; a row without ``epochs`` (an older
    record) keeps it too.
    """
    epoch_counts = rows.groupby("method")["epochs"].nunique(dropna=False)  # a missing value counts as one
    labels = []
    for method, epochs in zip(rows["method"], rows["epochs"], strict=True):
        several = epoch_counts[method] > 1
        labels.append(f"{method} · {int(epochs)} ep" if several and pd.notna(epochs) else str(method))
    return pd.Series(labels, index=rows.index)


def _panel(ax, rows: pd.DataFrame, cost: str, title: str) -> None:
    x, y = rows[f"{cost}_mean"].astype(float), rows["mR_mean"].astype(float)
    err = rows["mR_std"].astype(float).fillna(0.0)
    known = x.notna() & y.notna()
    ax.errorbar(x[known], y[known], yerr=err[known], fmt="o", color="tab:blue", ecolor="tab:gray", capsize=3,
                markersize=5, zorder=3)
    for xi, yi, label in zip(x[known], y[known], point_labels(rows)[known], strict=True):
        ax.annotate(label, (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
    front = pareto_front(rows[known], cost=cost, by=()).sort_values(f"{cost}_mean")
    if len(front):
        ax.step(front[f"{cost}_mean"], front["mR_mean"], where="post", color="tab:red", linewidth=1.2,
                label="Pareto front", zorder=2)
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xscale("symlog", linthresh=LINEAR_BELOW[cost])
    ax.set_xlim(left=0, right=max(1.0, float(x[known].max())) * 3 if known.any() else 1.0)
    unit = " (bytes)" if METRICS[cost].unit == "bytes" else ""
    ax.set_xlabel(f"{METRICS[cost].label}{unit}, log scale")
    ax.set_ylabel("mR (%), mean ± std over seeds")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
