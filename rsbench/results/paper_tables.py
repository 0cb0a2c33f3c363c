"""The parts of the leaderboard that come from the papers: rows rsbench does not run, and published training costs
beside ``rsbench profile`` records of the same backbone and method.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

from rsbench.results.published import cost_matches, paper_setting, reference_rows
from rsbench.results.record import METRIC_KEYS, SkippedRecordWarning, component_name
from rsbench.safe_load import ArtefactError, read_json

RECALL_HEADERS = ("i2t R@1", "i2t R@5", "i2t R@10", "t2i R@1", "t2i R@5", "t2i R@10", "mR")


def load_profile_records(profiles_dir: Path, problems: list[str] | None = None) -> list[dict]:
    """The profile records (``"kind": "profile"``) directly in ``profiles_dir``, oldest first; [] if it is absent."""
    profiles_dir = Path(profiles_dir)
    if not profiles_dir.is_dir():
        return []
    records = []
    for path in sorted(profiles_dir.glob("*.json")):
        try:  # through the loading layer: size and nesting limits, one line on any fault
            record = read_json(path, "profile record", "move it out of the profiles folder", expect=None)
        except ArtefactError as exc:
            message = f"skipped {path.name}: {exc}"
            if problems is not None:
                problems.append(message)
            else:
                warnings.warn(message, SkippedRecordWarning, stacklevel=2)
            continue
        if isinstance(record, dict) and record.get("kind") == "profile" and isinstance(record.get("cost"), dict):
            records.append(record)
    return sorted(records, key=lambda r: str(r.get("created_at")))


def _params_m(value: Any) -> str:
    return "–" if value is None else f"{value:.2f} M"


def reference_markdown() -> list[str]:
    """One table per dataset of the published rows of methods rsbench does not implement (paper only)."""
    rows = reference_rows()
    if not rows:
        return []
    lines = ["", "## Published methods rsbench does not run (paper only)", "",
             "Rows that CMER's Tables 1 and 2 list for methods of other papers, as printed (test split; "
             "`rsbench/results/published/cmer.json`). No configuration reproduces them: they are references for "
             "CMER's own rows (the Paper mR column), not results of this benchmark."]
    for dataset in sorted({r["dataset"] for r in rows}):
        headers = ["Method", "Backbone (vision / text)", "Trainable params", *RECALL_HEADERS, "Source"]
        lines += ["", f"### {dataset} (paper only)", "", "| " + " | ".join(headers) + " |",
                  "|" + "|".join("---" for _ in headers) + "|"]
        for row in (r for r in rows if r["dataset"] == dataset):
            figures = [f"{row['metrics'][k]:.2f}" for k in METRIC_KEYS]
            cells = [row["row"], row["backbone"], _params_m(row.get("trainable_params_m")), *figures,
                     f"{row['paper']} T{row['table']}"]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def cost_rows(profiles: list[dict]) -> list[dict[str, Any]]:
    """One row per (profile record, published cost row of its backbone and adapter), ours beside the paper's."""
    rows = []
    for record in profiles:
        config, cost = record.get("config") or {}, record["cost"]
        for paper in cost_matches(config):
            setting = paper_setting(paper["paper"])
            method = f"{component_name(config.get('adapter'))}/{component_name(config.get('sampler'))}"
            if (config.get("adapter") or {}).get("backprop_through_backbone"):
                method += " (backward through the backbone)"
            rows.append({
                "method": method,
                "backbone": component_name(record.get("backbone") or config.get("backbone")),
                "run_id": str(record.get("run_id", ""))[:8],
                "device": cost.get("device") or (record.get("env") or {}).get("device"),
                "batch_size": cost.get("batch_size"),
                "trainable_params": cost.get("trainable_params"),
                "saved_activation_bytes": cost.get("saved_activation_bytes"),
                "peak_memory_bytes": cost.get("peak_memory_bytes"),
                "throughput_pairs_per_s": cost.get("throughput_pairs_per_s"),
                "paper": f"{paper['paper']} T{paper['table']} {paper['row']}",
                "paper_setting": f"{setting.get('hardware', '?')}, batch {setting.get('batch_size', '?')}",
                "paper_trainable_params_m": paper.get("trainable_params_m"),
                "paper_peak_memory_mb": paper.get("peak_memory_mb"),
                "paper_throughput_pairs_per_s": paper.get("throughput_pairs_per_s"),
            })
    return rows


def _measured(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not measured"
    if unit == "MB":
        return f"{value / 2**20:,.0f} MiB"
    if unit == "params":
        return f"{value / 1e6:.2f} M"
    return f"{value:,.1f}"


def cost_markdown(profiles: list[dict]) -> list[str]:
    """Published peak memory and throughput (CMER Tables 3 and 4) beside the profile records of the same setting."""
    rows = cost_rows(profiles)
    if not rows:
        return []
    headers = ["Method", "Backbone", "Profile", "Device", "Batch", "Trainable params (ours / paper)",
               "Saved for backward", "Peak memory (ours / paper)", "Pairs/s (ours / paper)", "Paper row",
               "Paper setting"]
    lines = ["", "## Training cost beside the paper's (rsbench profile records)", "",
             "Each `rsbench profile` record (leaderboard/profiles/) beside the published cost rows of the same "
             "backbone and adapter. The paper's memory is peak GPU memory in MB and its throughput training pairs "
             "per second, on its hardware and batch; a profile on another device or batch measures the same "
             "quantities in another setting, so read the two as a setting apart, not as a reproduction. A CPU "
             "profile measures no peak GPU memory and, with `--steps 0`, no throughput.", "",
             "| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        paper_params = _params_m(row["paper_trainable_params_m"])
        cells = [
            row["method"], str(row["backbone"]), f"`{row['run_id']}`", str(row["device"]), str(row["batch_size"]),
            f"{_measured(row['trainable_params'], 'params')} / {paper_params}",
            _measured(row["saved_activation_bytes"], "MB"),
            f"{_measured(row['peak_memory_bytes'], 'MB')} / {row['paper_peak_memory_mb']:,} MB",
            f"{_measured(row['throughput_pairs_per_s'], 'pairs')} / {row['paper_throughput_pairs_per_s']}",
            row["paper"], row["paper_setting"],
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def render_paper_rich(profiles: list[dict], console: Any) -> None:
    """The paper-only rows and the cost comparison as rich tables (what ``cost_markdown`` and
    ``reference_markdown`` write)."""
    from rich.table import Table

    rows = reference_rows()
    if rows:
        table = Table(title="Published methods rsbench does not run (paper only; CMER Tables 1-2)")
        for header in ("Method", "Dataset", "Backbone", "Params", *RECALL_HEADERS[-1:], "Source"):
            table.add_column(header, justify="right" if header in ("mR", "Params") else "left", overflow="fold")
        for row in rows:
            table.add_row(row["row"], row["dataset"], row["backbone"], _params_m(row.get("trainable_params_m")),
                          f"{row['metrics']['mR']:.2f}", f"{row['paper']} T{row['table']}")
        console.print(table)
    costs = cost_rows(profiles)
    if costs:
        table = Table(title="Training cost: rsbench profile records beside CMER Tables 3-4")
        for header in ("Method", "Backbone", "Device, batch", "Params ours/paper", "Peak memory ours/paper",
                       "Pairs/s ours/paper", "Paper row"):
            table.add_column(header, overflow="fold")  # at 80 columns a label folds; it is never cut
        for row in costs:
            table.add_row(
                row["method"], str(row["backbone"]), f"{row['device']}, {row['batch_size']}",
                f"{_measured(row['trainable_params'], 'params')} / {_params_m(row['paper_trainable_params_m'])}",
                f"{_measured(row['peak_memory_bytes'], 'MB')} / {row['paper_peak_memory_mb']:,} MB",
                f"{_measured(row['throughput_pairs_per_s'], 'pairs')} / {row['paper_throughput_pairs_per_s']}",
                f"{row['paper']} ({row['paper_setting']})",
            )
        console.print(table)
