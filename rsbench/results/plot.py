"""The leaderboard's pictures: mR against training cost, one point per method, and mR over a sweep's grid.

The accuracy-cost figure has one row of panels per dataset: mR against trainable parameters, mR against saved
activations (both log axes, methods that train something), and the methods that train nothing (zero-shot,
training-free text-to-text, oracle captions) in a panel of their own, on the same mR axis. Each method is one point,
its longest (settled) row, with its seeds' standard deviation as an error bar; colours are method families; the
Pareto front (no other method both more accurate and cheaper) is a step line through the methods that train.
Labels never overlap one another or a marker (``label_placement``). matplotlib is the optional ``plot`` extra.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pandas as pd

from rsbench.atomic import write_atomically
from rsbench.errors import RsbenchError
from rsbench.results.label_placement import Box, place_labels
from rsbench.results.leaderboard import METRICS, lr_text, one_per_seed, pareto_front

COSTS = ("trainable_params", "saved_activation_bytes")
# Method families and their colours (Okabe-Ito: told apart with the common colour-vision deficiencies).
FAMILIES: dict[str, str] = {
    "zero-shot": "#666666",
    "PETL adapters": "#0072B2",
    "full fine-tuning": "#D55E00",
    "plugins": "#E69F00",
    "training-free text-to-text": "#009E73",
    "oracle captions (upper bound)": "#CC79A7",
}
TRAINING_FREE = ("zero-shot", "training-free text-to-text", "oracle captions (upper bound)")
# The parameter-efficient adapters rsbench ships; any other adapter that trains comes from a plugin.
BUILTIN_PETL = frozenset({"focus", "focus-visual", "lora", "clip-lora", "clip-adapter", "clip-bitfit", "linear-probe"})
DPI = 150
FONT = 7.5
MARKER_PT = 6.0


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise RsbenchError("plots need matplotlib: pip install 'rsbench[plot]'") from exc
    return plt


def method_family(method: str, trainable_params: float | None) -> str:
    """The family a leaderboard method belongs to, from its label and what it trains."""
    adapter = str(method).split("/", 1)[0]
    if trainable_params == 0 or adapter == "frozen":
        if "+captions:oracle" in method:
            return "oracle captions (upper bound)"
        if "+text-to-text" in method or "+hybrid" in method:
            return "training-free text-to-text"
        return "zero-shot"
    if adapter == "full":
        return "full fine-tuning"
    return "PETL adapters" if adapter in BUILTIN_PETL else "plugins"


def settled_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Each method's longest row per dataset (the one trained until it settled) at the learning rate its newest
    tuning chose (``lr_chosen``), in the leaderboard's order.

    A row without epochs (nothing trained, or an older record) counts as shorter than any row with them. Two rows
    of one method at the same epochs (another learning rate, another backbone) keep the first, the best mR.
    """
    df = df[df["lr_chosen"].astype(bool).to_numpy()]
    if df.empty:
        return df
    epochs = df["epochs"].astype("Float64").fillna(-1.0)
    longest = epochs.groupby([df["dataset"], df["method"]]).transform("max")
    picked = df[(epochs == longest).to_numpy()]
    return picked[~picked.duplicated(["dataset", "method"])]


def point_labels(rows: pd.DataFrame) -> pd.Series:
    """Each row's method, with `` · 20 ep`` added when the rows hold that method at more than one epoch count, and
    `` · lr 0.01`` when they hold it at more than one learning rate (``all_epochs``: an lr sweep's rows).

    A method trained for one number of epochs (at one learning rate) keeps its bare label; a row without ``epochs``
    (or ``lr``: an older record, or nothing trained) keeps it too.
    """
    epoch_counts = rows.groupby("method")["epochs"].nunique(dropna=False)  # a missing value counts as one
    lr_counts = rows.groupby("method")["lr"].nunique(dropna=False)
    labels = []
    for method, epochs, lr in zip(rows["method"], rows["epochs"], rows["lr"], strict=True):
        label = f"{method} · {int(epochs)} ep" if epoch_counts[method] > 1 and pd.notna(epochs) else str(method)
        labels.append(f"{label} · lr {lr_text(lr)}" if lr_counts[method] > 1 and pd.notna(lr) else label)
    return pd.Series(labels, index=rows.index)


def pareto_figure(df: pd.DataFrame, *, all_epochs: bool = False):
    """The accuracy-cost figure of ``leaderboard()``'s rows; ``all_epochs`` also shows every shorter row, labelled
    with its epochs (and its learning rate where a method has rows at several)."""
    plt = _pyplot()
    if df.empty:
        raise RsbenchError("no leaderboard rows to plot")
    datasets = list(dict.fromkeys(df["dataset"]))
    fig, axes = plt.subplots(len(datasets), 3, figsize=(17, 6.2 * len(datasets)), squeeze=False, dpi=DPI,
                             gridspec_kw={"width_ratios": [3, 3, 1.7]}, sharey="row")
    panels = []
    for row_axes, dataset in zip(axes, datasets, strict=True):
        rows = df[df["dataset"] == dataset]
        rows = rows if all_epochs else settled_rows(rows)
        families = [method_family(m, t) for m, t in zip(rows["method"], rows["trainable_params_mean"], strict=True)]
        rows = rows.assign(family=families, label=point_labels(rows))
        synthetic = " — synthetic data" if bool(rows["synthetic"].iloc[0]) else ""
        trained, free = rows[~rows["family"].isin(TRAINING_FREE)], rows[rows["family"].isin(TRAINING_FREE)]
        for ax, cost in zip(row_axes[:2], COSTS, strict=True):
            panels.append(_cost_panel(ax, trained, cost, f"{dataset}{synthetic}: mR against {_cost_name(cost)}"))
        panels.append(_free_panel(row_axes[2], free, f"{dataset}: trains nothing"))
        _same_mr_axis(row_axes, rows)
    _legend(fig)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.canvas.draw()  # the layout is final: label spots are chosen in its pixels
    for ax, points, labels, obstacles in panels:
        place_labels(ax, points, labels, obstacles(), fontsize=FONT)
    return fig


def plot_pareto(df: pd.DataFrame, out_dir: Path, stem: str = "pareto", *, all_epochs: bool = False) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.svg`` into ``out_dir``; returns their paths."""
    return save_figure(pareto_figure(df, all_epochs=all_epochs), out_dir, stem)


def save_figure(fig, out_dir: Path, stem: str) -> list[Path]:
    """``fig`` as ``<stem>.png`` and ``<stem>.svg``, each written atomically; closes the figure."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in ("png", "svg"):
        path = out_dir / f"{stem}.{suffix}"
        # dpi "figure": the pixels the labels were placed in; no svg date and fixed svg ids, so an unchanged plot is
        # an unchanged file; written atomically, so a reader never sees half a picture
        with plt.rc_context({"svg.hashsalt": "rsbench"}):
            write_atomically(path, lambda handle, kind=suffix: fig.savefig(
                handle, format=kind, dpi="figure", metadata={"Date": None} if kind == "svg" else None))
        paths.append(path)
    plt.close(fig)
    return paths


def _cost_name(cost: str) -> str:
    return METRICS[cost].label.lower()


def _markers(ax, rows: pd.DataFrame, x: pd.Series):
    """Each row as a marker of its family's colour with its error bar; returns a function giving their pixel boxes
    (to be called once the layout is final)."""
    y, err = rows["mR_mean"].astype(float), rows["mR_std"].astype(float).fillna(0.0)
    for family, colour in FAMILIES.items():
        mine = (rows["family"] == family).to_numpy()
        if mine.any():
            ax.errorbar(x[mine], y[mine], yerr=err[mine], fmt="o", color=colour, ecolor=colour, elinewidth=0.9,
                        capsize=2.5, markersize=MARKER_PT, markeredgecolor="white", markeredgewidth=0.6, zorder=3)
    data = list(zip(x.astype(float), y, err, strict=True))

    def obstacles() -> list[Box]:
        pt = ax.figure.dpi / 72.0
        half = (MARKER_PT / 2 + 0.6) * pt  # the marker with its edge
        boxes = []
        for xi, yi, ei in data:
            cx, cy = ax.transData.transform((xi, yi))
            boxes.append(Box(cx - half, cy - half, cx + half, cy + half))
            _, top = ax.transData.transform((xi, yi + ei))
            _, bottom = ax.transData.transform((xi, yi - ei))
            boxes.append(Box(cx - 2.5 * pt, bottom - 1, cx + 2.5 * pt, top + 1))  # error bar with its caps
        return boxes

    return obstacles


def _cost_panel(ax, rows: pd.DataFrame, cost: str, title: str):
    rows = rows[rows[f"{cost}_mean"].astype(float) > 0]  # a log axis has no zero: nothing trained is elsewhere
    x = rows[f"{cost}_mean"].astype(float)
    obstacles = _markers(ax, rows, x)
    front = pareto_front(rows, cost=cost, by=()).sort_values(f"{cost}_mean")
    if len(front):
        ax.step(front[f"{cost}_mean"], front["mR_mean"], where="post", color="#CC0000", linewidth=1.4, alpha=0.8,
                zorder=2)
    ax.set_xscale("log")
    if len(x):  # room on both sides for labels
        ax.set_xlim(float(x.min()) / 6, float(x.max()) * 6)
    unit = " (bytes)" if METRICS[cost].unit == "bytes" else ""
    ax.set_xlabel(f"{METRICS[cost].label}{unit}, log scale")
    ax.set_ylabel("mR (%), mean ± std over seeds")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    return ax, list(zip(x, rows["mR_mean"].astype(float), strict=True)), list(rows["label"]), obstacles


def _free_panel(ax, rows: pd.DataFrame, title: str):
    """The methods that train nothing, one column per family, on the mR axis of the cost panels."""
    present = [f for f in TRAINING_FREE if (rows["family"] == f).any()]
    x = rows["family"].map({f: i for i, f in enumerate(present)}).astype(float)
    obstacles = _markers(ax, rows, x)
    ax.set_xticks(range(len(present)), [f.replace(" (", "\n(").replace("text-to-text", "\ntext-to-text")
                                        for f in present], fontsize=7)
    ax.set_xlim(-0.9, max(len(present), 1) - 0.1)
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    labels = [_short(label) for label in rows["label"]]
    return ax, list(zip(x, rows["mR_mean"].astype(float), strict=True)), labels, obstacles


def _short(label: str) -> str:
    """A training-free label without the frozen model's own name, which every row of that panel shares."""
    rest = label.removeprefix("frozen/batch/none")
    return rest.lstrip("+") or "frozen (zero-shot)"


def _same_mr_axis(row_axes, rows: pd.DataFrame) -> None:
    low = float((rows["mR_mean"] - rows["mR_std"].fillna(0)).min())
    high = float((rows["mR_mean"] + rows["mR_std"].fillna(0)).max())
    span = max(high - low, 5.0)
    row_axes[0].set_ylim(low - 0.12 * span, high + 0.12 * span)  # sharey: one mR axis for the row


def _legend(fig) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=f) for f, c in FAMILIES.items()]
    handles.append(Line2D([], [], color="#CC0000", linewidth=1.4, label="Pareto front (methods that train)"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8, frameon=False)


def sweep_grids(records: list[dict]) -> dict[str, list[dict]]:
    """The records of each sweep whose varied values include a number taking several values (a grid), by name."""
    by_sweep: dict[str, list[dict]] = {}
    for record in one_per_seed(records)[0]:
        sweep = (record.get("extra") or {}).get("sweep")
        if isinstance(sweep, dict) and isinstance(sweep.get("varied"), dict) and sweep.get("name"):
            by_sweep.setdefault(str(sweep["name"]), []).append(record)
    return {name: members for name, members in by_sweep.items() if _grid_axis(members) is not None}


def _grid_axis(records: list[dict]) -> str | None:
    """The varied key plotted along x: the last one (a sweep's grid comes after its zipped lists) that is a
    number with several values."""
    keys = list(dict.fromkeys(k for r in records for k in r["extra"]["sweep"]["varied"]))
    for key in reversed(keys):
        values = {r["extra"]["sweep"]["varied"].get(key) for r in records}
        if len(values) > 1 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return key
    return None


def grid_figure(name: str, records: list[dict]):
    """mR (mean ± std over seeds) against the sweep's grid values, one line per setting of its other varied keys."""
    plt = _pyplot()
    axis = _grid_axis(records)
    if axis is None:
        raise RsbenchError(f"sweep {name!r} varies no number over several values; there is no grid to plot")
    series: dict[str, dict[float, list[float]]] = {}
    for record in records:
        varied = record["extra"]["sweep"]["varied"]
        others = ", ".join(f"{k}={v}" for k, v in varied.items() if k != axis and k != "train.lr") or "mR"
        series.setdefault(others, {}).setdefault(float(varied[axis]), []).append(float(record["metrics"]["mR"]))
    fig, ax = plt.subplots(figsize=(7, 4.6), dpi=DPI)
    for label, points in series.items():
        xs = sorted(points)
        means = [statistics.fmean(points[x]) for x in xs]
        stds = [statistics.stdev(points[x]) if len(points[x]) > 1 else math.nan for x in xs]
        ns = sorted({len(points[x]) for x in xs})
        ax.errorbar(xs, means, yerr=[0 if math.isnan(s) else s for s in stds], marker="o", capsize=3,
                    label=f"{label} (n = {'/'.join(map(str, ns))} seeds)")
    ax.set_xticks(sorted({x for points in series.values() for x in points}))
    ax.set_xlabel(axis)
    ax.set_ylabel("test mR (%), mean ± std over seeds")
    first = records[0]["dataset"]
    synthetic = " — synthetic data" if first.get("synthetic") else ""
    ax.set_title(f"sweep {name}: {first.get('name')}{synthetic}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_grids(records: list[dict], out_dir: Path) -> list[Path]:
    """``grid-<sweep>.png``/``.svg`` for every sweep among ``records`` that has a grid; returns their paths."""
    written: list[Path] = []
    for name, members in sweep_grids(records).items():
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
        written += save_figure(grid_figure(name, members), out_dir, f"grid-{safe}")
    return written
