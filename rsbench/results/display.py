"""Printing one run's figures: the metric table the CLI ends with."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

METRIC_COLUMNS = (
    ("i2t_r1", "I→T R@1"), ("i2t_r5", "R@5"), ("i2t_r10", "R@10"),
    ("t2i_r1", "T→I R@1"), ("t2i_r5", "R@5"), ("t2i_r10", "R@10"), ("mR", "mR"),
)


def _human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def render_metrics(record: dict[str, Any], console: Console) -> None:
    ds = record["dataset"]
    title = (
        f"{ds['name']}{' (synthetic)' if ds.get('synthetic') else ''} · {ds.get('reported_split', 'test')} · "
        f"seed {record['seed']} · "
        + (f"selected on {record['selected_on']}" if record["selected_on"] else "nothing selected (nothing trained)")
    )
    table = Table(title=title)
    for _, label in METRIC_COLUMNS:
        table.add_column(label, justify="right")
    table.add_row(*(f"{record['metrics'][k]:.2f}" for k, _ in METRIC_COLUMNS))
    console.print(table)
    cost = record["cost"]
    rate = cost.get("throughput_pairs_per_s")
    console.print(
        f"trainable {cost['trainable_params']:,} / {cost['total_params']:,} params · "
        f"saved for backward {_human_bytes(cost.get('saved_activation_bytes'))} · "
        f"peak memory {_human_bytes(cost.get('peak_memory_bytes'))} · "
        f"{f'{rate:.0f} pairs/s' if rate else 'no training'} · {record['env']['device']}"
    )


# The leaderboard's columns, most important first: a terminal too narrow for all of them drops them from the end.
# Method is never folded or cut (a number without its method cannot be read); mR follows it.
LEADERBOARD_PRIORITY: tuple[str, ...] = (
    "Method", "mR", "n", "Epochs", "LR", "Backbone", "trainable_params", "Dataset", "t2i_r1", "i2t_r1", "t2i_r10",
    "i2t_r10", "t2i_r5", "i2t_r5", "peak_memory_bytes", "Selected on", "Paper mR",
)
CELL_PADDING = 3  # rich's default box: one border and a space either side of each cell


def leaderboard_cells(df: Any) -> dict[str, list[str]]:
    """Every column of the terminal leaderboard as its header -> cells (rows in ``df``'s order), in the order the
    full table shows them."""
    from rsbench.results.leaderboard import METRICS
    from rsbench.results.tables import (
        PARETO_MARK,
        SHOWN_FIGURES,
        dataset_label,
        epochs_cell,
        figure_cell,
        lr_cell,
        paper_cell,
    )

    rows = [row for _, row in df.iterrows()]
    columns: dict[str, list[str]] = {
        "Method": [f"{r['method']} {PARETO_MARK}" if r["pareto"] else str(r["method"]) for r in rows],
        "Epochs": [epochs_cell(r) for r in rows],
        "LR": [lr_cell(r) for r in rows],
        "Dataset": [dataset_label(r) for r in rows],
        "Backbone": [str(r["backbone"]) for r in rows],
        "n": [str(r["n"]) for r in rows],
    }
    for key in SHOWN_FIGURES:
        columns[key] = [figure_cell(r, key) for r in rows]
    columns["Selected on"] = [str(r["selected_on"]) if isinstance(r["selected_on"], str) else "–" for r in rows]
    if len(df) and df["paper_mR"].notna().any():
        columns["Paper mR"] = [paper_cell(r) for r in rows]
    headers = {key: METRICS[key].label for key in SHOWN_FIGURES}
    return {headers.get(key, key): cells for key, cells in columns.items()} | {"__keys__": list(columns)}


def fitting_columns(widths: dict[str, int], width: int) -> list[str]:
    """The columns (by key, in ``LEADERBOARD_PRIORITY`` order) that fit ``width`` characters: Method always,
    then the next ones in order until one does not fit (a less important column never takes a more important
    one's place)."""
    chosen, used = [], 1  # the table's left border
    for key in LEADERBOARD_PRIORITY:
        if key not in widths:
            continue
        need = widths[key] + CELL_PADDING
        if key != "Method" and used + need > width:
            break
        chosen.append(key)
        used += need
    return chosen


def render_leaderboard(df: Any, console: Console, markdown: str | None = None) -> None:
    """Print the leaderboard as a rich table that keeps every cell whole: at the console's width (80 columns
    in a pipe unless ``COLUMNS`` says more) the less important columns are left out, and a line names them
    and where the full table is (``markdown``, the written leaderboard.md)."""
    from rsbench.results.leaderboard import METRICS
    from rsbench.results.tables import SHOWN_FIGURES

    cells = leaderboard_cells(df)
    keys: list[str] = cells.pop("__keys__")  # type: ignore[assignment]
    header = {key: METRICS[key].label if key in SHOWN_FIGURES else key for key in keys}
    widths = {key: max([len(header[key]), *(len(c) for c in cells[header[key]])]) for key in keys}
    shown = set(fitting_columns(widths, console.width))
    table = Table(title="rsbench leaderboard (mean ± std over n seeds; ★ = mR / trainable-params Pareto front)")
    for key in keys:
        if key in shown:
            table.add_column(header[key], justify="right" if key in SHOWN_FIGURES else "left", no_wrap=True,
                             min_width=widths[key] if key == "Method" else None)
    for i in range(len(df)):
        table.add_row(*(cells[header[key]][i] for key in keys if key in shown))
    console.print(table)
    left_out = [header[key] for key in keys if key not in shown]
    if left_out:
        where = f"; all of them are in {markdown}" if markdown else ""
        console.print(f"{len(left_out)} columns left out to fit {console.width} columns ({', '.join(left_out)}): "
                      f"widen the terminal or set COLUMNS{where}", highlight=False, markup=False, soft_wrap=False)
