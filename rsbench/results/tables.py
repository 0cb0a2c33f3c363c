"""The leaderboard rendered for people: a rich table, Markdown, CSV and LaTeX, all from ``leaderboard()``'s rows."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from rsbench.errors import RsbenchError
from rsbench.results.leaderboard import METRICS, SIZE_COLUMNS, SIZE_GROUPS, SIZE_RECALLS, format_figure, lr_text
from rsbench.results.paper_tables import cost_markdown, reference_markdown
from rsbench.results.record import METRIC_KEYS, write_text_atomically

# The columns the human-readable tables show, in order.
SHOWN_FIGURES: tuple[str, ...] = METRIC_KEYS + ("trainable_params", "peak_memory_bytes")
PARETO_MARK = "★"
OTHER_LR_MARK = "†"  # after the learning rate of a row at a rate its method's newest tuning did not choose
# what the mark means, said under every table that shows it
OTHER_LR_MEANING = ("a rate the method's newest tuning did not choose (an earlier grid's choice, or a rate run on "
                    "purpose), kept as a record")


def figure_cell(row: Any, key: str) -> str:
    """A figure as the tables show it: mean ± std over seeds where it is a recall or mR."""
    std = row[f"{key}_std"] if key in METRIC_KEYS else math.nan
    return format_figure(key, row[f"{key}_mean"], std)


def epochs_cell(row: Any) -> str:
    """The row's training epochs; a dash for records whose config has no ``train.epochs``."""
    return "–" if pd.isna(row["epochs"]) else str(int(row["epochs"]))


def lr_cell(row: Any) -> str:
    """The row's learning rate (``lr_text``), marked † where its method's newest tuning chose another
    (``lr_chosen``); a dash where nothing trains or the config has no ``train.lr``."""
    chosen = row.get("lr_chosen", True)
    return lr_text(row["lr"]) + ("" if chosen is None or bool(chosen) else f" {OTHER_LR_MARK}")


def dataset_label(row: Any) -> str:
    """The dataset name, marked when its data is synthetic."""
    return f"{row['dataset']} (synthetic)" if row["synthetic"] else str(row["dataset"])


def to_markdown(df: pd.DataFrame, profiles: list[dict] | None = None) -> str:
    """A Markdown page with one table per dataset (synthetic datasets say so in their heading), the published rows
    rsbench does not run, and the ``profiles`` records beside the paper's training costs."""
    lines = [
        "# rsbench leaderboard",
        "",
        f"Rendered by `rsbench leaderboard` from {int(df['n'].sum()) if len(df) else 0} result records; "
        "do not edit by hand. Figures are mean ± sample std over n seeds (recalls in %, 2 decimals). "
        f"{PARETO_MARK} marks the Pareto front of mR against trainable parameters within a dataset. "
        f"{OTHER_LR_MARK} after a learning rate: {OTHER_LR_MEANING}.",
    ]
    headers = ["Method", "Epochs", "LR", "Backbone", "n", *(METRICS[k].label for k in SHOWN_FIGURES),
               "Selected on", "Pareto", "Config"]
    for (dataset, synthetic), group in df.groupby(["dataset", "synthetic"], sort=True):
        published = group["paper_mR"].notna().any()
        heading = f"## {dataset}"
        if synthetic:
            heading += " (synthetic data: a smoke test, not comparable to published results)"
        shown = [*headers, "Paper mR"] if published else headers
        lines += ["", heading, "", "| " + " | ".join(shown) + " |", "|" + "|".join("---" for _ in shown) + "|"]
        for _, row in group.iterrows():
            cells = [
                str(row["method"]),
                epochs_cell(row),
                lr_cell(row),
                str(row["backbone"]),
                str(row["n"]),
                *(figure_cell(row, k) for k in SHOWN_FIGURES),
                str(row["selected_on"]),
                PARETO_MARK if row["pareto"] else "",
                f"`{row['config_id']}`",
            ]
            if published:
                cells.append(paper_cell(row))
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += _size_tables(df)
    lines += reference_markdown()
    lines += cost_markdown(profiles or [])
    return "\n".join(lines) + "\n"


def paper_cell(row: Any) -> str:
    """``47.96 (CMER T1; comparable)``, or the figure with every reason it cannot be compared; – without one."""
    if not row["paper"]:
        return "–"
    note = row.get("paper_note") or ""
    return f"{row['paper_mR']:.2f} ({row['paper']}; {note})" if note else f"{row['paper_mR']:.2f} ({row['paper']})"


def _size_tables(df: pd.DataFrame) -> list[str]:
    """Recall of each configuration within the small- and large-object query groups, where records have them."""
    columns = [f"{k}_mean" for k in SIZE_COLUMNS]
    sized = df[df[columns].notna().any(axis=1)] if len(df) else df
    if sized.empty:
        return []
    labels = [f"{k.split('_')[0]} R@{k.split('_r')[1]} {g}" for g in SIZE_GROUPS for k in SIZE_RECALLS]
    headers = ["Method", "Epochs", "LR", "Dataset", "n", *labels]
    lines = ["", "## Recall by the size of the objects a query describes", "",
             "Queries (captions for text→image, images for image→text) grouped by the objects they describe: "
             "small when every one covers under 2 % of the image, large when every one covers at least 2 %; "
             "each still searches the whole test gallery. Mean ± std over the same seeds as above.", "",
             "| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for _, row in sized.iterrows():
        cells = [str(row["method"]), epochs_cell(row), lr_cell(row), str(row["dataset"]), str(row["n"]),
                 *(format_figure("mR", row[f"{k}_mean"], row[f"{k}_std"]) for k in SIZE_COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def to_latex(df: pd.DataFrame) -> str:
    """A LaTeX ``tabular`` (booktabs rules) of the shown figures; ± becomes ``$\\pm$``."""
    headers = ["Method", "Epochs", "LR", "Dataset", "Backbone", "$n$",
               *(_latex_escape(METRICS[k].label) for k in SHOWN_FIGURES)]
    lines = [
        "% Rendered by `rsbench leaderboard`; needs \\usepackage{booktabs}.",
        "% $^\\star$: on the Pareto front of mR against trainable parameters within a dataset.",
        f"% $^\\dagger$ after a learning rate: {OTHER_LR_MEANING}.",
        "\\begin{tabular}{lrrll" + "r" * (1 + len(SHOWN_FIGURES)) + "}",
        "\\toprule",
        " & ".join(headers) + " \\\\",
        "\\midrule",
    ]
    for _, row in df.iterrows():
        method = _latex_escape(str(row["method"])) + ("$^\\star$" if row["pareto"] else "")
        figures = [_latex_escape(figure_cell(row, k)).replace("±", "$\\pm$") for k in SHOWN_FIGURES]
        cells = [method, epochs_cell(row), lr_cell(row).replace(OTHER_LR_MARK, "$^\\dagger$"),
                 _latex_escape(dataset_label(row)),
                 _latex_escape(str(row["backbone"])), str(row["n"])]
        lines.append(" & ".join(cells + figures) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_tables(df: pd.DataFrame, out_dir: Path, profiles: list[dict] | None = None) -> list[Path]:
    """Write leaderboard.md, leaderboard.csv (every column, full precision) and leaderboard.tex."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RsbenchError(f"cannot create output directory {out_dir}: {exc}") from exc
    outputs = {
        out_dir / "leaderboard.md": to_markdown(df, profiles),
        out_dir / "leaderboard.csv": df.to_csv(index=False),
        out_dir / "leaderboard.tex": to_latex(df),
    }
    for path, text in outputs.items():
        write_text_atomically(path, text, overwrite=True)
    return list(outputs)
