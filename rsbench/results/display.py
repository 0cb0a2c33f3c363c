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
