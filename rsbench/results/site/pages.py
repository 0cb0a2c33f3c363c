"""The leaderboard's web pages as HTML text: the index (one sortable table per dataset, the plots) and one page per
row (its records: config, seeds, environment, ``parent_run_id``, retrieval examples).

Every string that comes from a record or a row goes through ``esc``: a caption or a plugin name holding ``<script>``
shows as text. Links are relative, so the pages work opened from disk and on any static host.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from rsbench.results.leaderboard import METRICS, format_figure
from rsbench.results.plot import FAMILIES, method_family
from rsbench.results.record import METRIC_KEYS
from rsbench.results.tables import OTHER_LR_MARK, OTHER_LR_MEANING, lr_cell

SYNTHETIC_NOTE = ("Synthetic data: rows marked synthetic were measured on a dataset rsbench paints itself (SynthRS). "
                  "They show that the pipeline works; they say nothing about any method on real imagery and are not "
                  "comparable to published results.")
# (heading, row key, figure key or None, first sort direction)
COLUMNS: tuple[tuple[str, str, str | None, str], ...] = (
    ("Method", "method", None, "ascending"),
    ("Family", "family", None, "ascending"),
    ("Epochs", "epochs", None, "descending"),
    ("LR", "lr", None, "ascending"),
    ("n", "n", None, "descending"),
    *((METRICS[k].label, k, k, "descending") for k in ("mR", *(k for k in METRIC_KEYS if k != "mR"))),
    *((METRICS[k].label, k, k, "ascending") for k in ("trainable_params", "saved_activation_bytes",
                                                         "peak_memory_bytes", "train_seconds")),
    ("Paper mR", "paper_mR", None, "descending"),
    ("Paper", "paper", None, "ascending"),
)


def esc(value: Any) -> str:
    """``value`` as HTML text: ``<``, ``>``, ``&`` and both quotes escaped."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str, *, root: str, synthetic: bool) -> str:
    """A whole HTML document; ``root`` is the relative path back to the site's top folder ("" or "../")."""
    note = f'<p class="synthetic" role="note">{esc(SYNTHETIC_NOTE)}</p>' if synthetic else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<link rel="stylesheet" href="{root}assets/style.css">
<script src="{root}assets/sortable.js" defer></script>
</head>
<body>
<header><h1>{esc(title)}</h1>{note}</header>
<main>
{body}
</main>
<footer>Rendered by <code>rsbench leaderboard</code> from the result records; never edited by hand.</footer>
</body>
</html>
"""


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _cell(row: pd.Series, key: str, figure: str | None) -> str:
    """One ``<td>``: the shown text and its sort key."""
    if figure is not None:
        mean = _number(row[f"{figure}_mean"])
        std = _number(row.get(f"{figure}_std")) if figure in METRIC_KEYS else None
        text = format_figure(figure, math.nan if mean is None else mean, math.nan if std is None else std)
        return f'<td data-value="{"" if mean is None else repr(mean)}">{esc(text)}</td>'
    value = row[key]
    if key == "paper_mR":
        number = _number(value)
        return (f'<td class="paper" data-value="{"" if number is None else repr(number)}">'
                f'{"–" if number is None else f"{number:.2f}"}</td>')
    if key == "epochs":
        number = _number(value)
        return f'<td data-value="{"" if number is None else int(number)}">{"–" if number is None else int(number)}</td>'
    if key == "lr":  # as the Markdown table shows it (0.005, 0.0002; † at a rate tuning did not choose)
        number = _number(value)
        mark = f'<span title="not the rate its tuning chose">{OTHER_LR_MARK}</span>'
        text = esc(lr_cell(row)).replace(OTHER_LR_MARK, mark)
        return f'<td data-value="{"" if number is None else repr(number)}">{text}</td>'
    if key == "n":
        return f'<td data-value="{int(value)}">{int(value)}</td>'
    if key == "family":
        colour = FAMILIES.get(str(value), "#999")
        return f'<td class="text" data-value="{esc(value)}"><span class="family" style="background:{colour}">' \
               f'</span>{esc(value)}</td>'
    if key == "paper":
        note = esc(row.get("paper_note") or "")
        return f'<td class="text paper" data-value="{esc(value)}" title="{note}">{esc(value)}</td>'
    return f'<td class="text" data-value="{esc(value)}">{esc(value)}</td>'


def leaderboard_table(rows: pd.DataFrame, row_pages: dict[str, str]) -> str:
    """One dataset's rows as a sortable table; the method links to the row's page."""
    heads = "".join(
        f'<th scope="col" class="{"text" if figure is None and key not in ("epochs", "lr", "n", "paper_mR") else ""}" '
        f'data-first="{first}" aria-sort="none"><button type="button">{esc(heading)}</button></th>'
        for heading, key, figure, first in COLUMNS
    )
    body = []
    for _, row in rows.iterrows():
        row = row.copy()
        row["family"] = method_family(str(row["method"]), _number(row["trainable_params_mean"]))
        cells = [_cell(row, key, figure) for _, key, figure, _ in COLUMNS]
        link = row_pages[str(row["config_id"])]
        cells[0] = (f'<td class="text" data-value="{esc(row["method"])}"><a href="{esc(link)}">'
                    f'{esc(row["method"])}</a></td>')
        front = ' class="front"' if bool(row.get("pareto")) else ""
        body.append(f'<tr{front} data-config="{esc(row["config_id"])}">{"".join(cells)}</tr>')
    return (f'<div class="table-wrap"><table class="sortable"><thead><tr>{heads}</tr></thead>\n'
            f'<tbody>\n{chr(10).join(body)}\n</tbody></table></div>')


def index_body(df: pd.DataFrame, row_pages: dict[str, str], figures: Sequence[tuple[str, str]],
               n_records: int) -> str:
    """The index: per dataset its table, then the figures (``(src, caption)`` pairs)."""
    parts = [f"<p>{len(df)} configurations from {n_records} result records. Figures are mean ± sample std over "
             "n seeds (recalls in %); ★ marks the Pareto front of mR against trainable parameters within a dataset; "
             f"{OTHER_LR_MARK} after a learning rate: {OTHER_LR_MEANING}. "
             "Click a column heading to sort; click a method for its records.</p>"]
    for (dataset, synthetic), rows in df.groupby(["dataset", "synthetic"], sort=True):
        badge = '<span class="badge">synthetic data</span>' if synthetic else ""
        parts.append(f'<section class="dataset" data-dataset="{esc(dataset)}"><h2>{esc(dataset)}{badge}</h2>')
        parts.append(leaderboard_table(rows, row_pages))
        parts.append("</section>")
    if figures:
        parts.append("<h2>Plots</h2>")
        for src, caption in figures:
            parts.append(f'<figure><img src="{esc(src)}" alt="{esc(caption)}" loading="lazy">'
                         f"<figcaption>{esc(caption)}</figcaption></figure>")
    return "\n".join(parts)


def _definitions(pairs: dict[str, Any]) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in pairs.items() if v not in (None, ""))
    return f"<dl>{items}</dl>"


def _json_block(value: Any) -> str:
    # element content: <, > and & escaped are enough (quotes matter only inside attributes), and half the bytes
    return f"<pre>{html.escape(json.dumps(value, indent=2, sort_keys=True, default=str), quote=False)}</pre>"


def _marked_table(head: Sequence[str], rows: Sequence[tuple[list[str], bool]]) -> str:
    """A small table of escaped cells; a row whose flag is set gets ★ after its first cell and ``class="chosen"``."""
    body = []
    for cells, chosen in rows:
        shown = [f"{cells[0]} ★" if chosen else cells[0], *cells[1:]]
        row_class = ' class="chosen"' if chosen else ""
        body.append(f"<tr{row_class}>" + "".join(f"<td>{esc(cell)}</td>" for cell in shown) + "</tr>")
    heads = "".join(f"<th>{esc(label)}</th>" for label in head)
    return f'<table class="history"><thead><tr>{heads}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _history_table(record: dict) -> str:
    """The record's selection-split figures after each epoch, the chosen epoch marked; empty if it has none."""
    training = (record.get("extra") or {}).get("training") if isinstance(record.get("extra"), dict) else None
    history = training.get("history") if isinstance(training, dict) else None
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history) or not history:
        return ""
    keys = [k for k in ("mR", *(k for k in METRIC_KEYS if k != "mR")) if any(k in h for h in history)]
    best = training.get("best_epoch")
    rows = [([str(entry.get("epoch")), str(entry.get("step", "")),
              *(format_figure(k, _number(entry.get(k))) for k in keys)], entry.get("epoch") == best)
            for entry in history]
    where = esc(record.get("selected_on") or "the selection split")
    return (f"<h3>Per epoch, on {where}</h3><p>★ the epoch whose weights were tested.</p>"
            + _marked_table(["Epoch", "Step", *(METRICS[k].label for k in keys)], rows))


def _tuning_table(record: dict) -> str:
    """The sweep's tuning behind the record: each value tried, its validation score (and each tuning seed's), its
    best epoch, the chosen values marked; empty for a record that no sweep tuned."""
    sweep = (record.get("extra") or {}).get("sweep") if isinstance(record.get("extra"), dict) else None
    tuned = sweep.get("tuned") if isinstance(sweep, dict) else None
    scores = tuned.get("scores") if isinstance(tuned, dict) else None
    if not isinstance(scores, list) or not scores or not all(isinstance(s, dict) for s in scores):
        return ""
    keys = [str(k) for k in tuned.get("keys") or []] or sorted({k for s in scores for k in s.get("values") or {}})
    several = any(s.get("per_seed") for s in scores)
    rows = []
    for score in scores:
        values = score.get("values") or {}
        cells = [str(values.get(k, "–")) for k in keys] + [format_figure("mR", _number(score.get("val")))]
        if several:
            cells.append(", ".join(format_figure("mR", _number(p.get("val"))) for p in score.get("per_seed") or []))
        cells.append(f"{score['best_epoch']}/{score.get('epochs')}" if score.get("best_epoch") else "–")
        rows.append((cells, values == tuned.get("chosen")))
    head = [*keys, str(tuned.get("metric") or "val"), *(["per seed"] if several else []), "best epoch"]
    seeds = ", ".join(str(seed) for seed in tuned.get("seeds") or [tuned.get("seed")])
    return (f"<h3>Tuning (sweep {esc(sweep.get('name'))}, seed {esc(seeds)})</h3>"
            "<p>★ the values the sweep chose, which this run used.</p>" + _marked_table(head, rows))


def row_body(row: pd.Series, records: Sequence[dict], examples: dict[str, list[str]]) -> str:
    """A row's page: its figures, its paper match, then each of its records (``examples``: run id -> image srcs)."""
    summary = {
        "dataset": f"{row['dataset']}{' (synthetic data)' if row['synthetic'] else ''}",
        "backbone": row["backbone"],
        "epochs": "–" if _number(row["epochs"]) is None else int(row["epochs"]),
        "learning rate": lr_cell(row),
        "seeds": row["seeds"],
        "n": int(row["n"]),
        "selected on": row["selected_on"],
        "mR": format_figure("mR", row["mR_mean"], row["mR_std"]),
        "trainable params": format_figure("trainable_params", row["trainable_params_mean"]),
        "paper": f"{row['paper']}: mR {row['paper_mR']:.2f} ({row['paper_note']})" if row["paper"] else "",
        "configuration id": row["config_id"],
    }
    parts = ['<p><a href="../index.html">← leaderboard</a></p>', _definitions(summary)]
    for record in records:
        run_id = str(record.get("run_id"))
        parts.append(f'<section class="record" id="run-{esc(run_id)}"><h2>run {esc(run_id)} · seed '
                     f'{esc(record.get("seed"))}</h2>')
        parts.append(_definitions({
            "created at": record.get("created_at"), "rsbench": record.get("rsbench_version"),
            "git sha": record.get("git_sha"), "selected on": record.get("selected_on"),
            "parent_run_id": record.get("parent_run_id"),
        }))
        parts.append("<h3>Metrics</h3>" + _json_block(record.get("metrics")))
        parts.append(_history_table(record))
        parts.append(_tuning_table(record))
        parts.append("<h3>Cost</h3>" + _json_block(record.get("cost")))
        parts.append("<h3>Environment</h3>" + _json_block(record.get("env")))
        parts.append("<h3>Config</h3>" + _json_block(record.get("config")))
        rest = {k: record.get(k) for k in ("dataset", "backbone", "components", "extra") if k in record}
        if isinstance(rest.get("extra"), dict) and "training" in rest["extra"]:  # its history is the table above
            rest["extra"] = {k: v for k, v in rest["extra"].items() if k != "training"} | {
                "training": "per-epoch history: the table above; all of it is in the record file"}
        parts.append("<details><summary>Dataset, backbone, components and the rest of the record</summary>"
                     + _json_block(rest) + "</details>")
        if examples.get(run_id):
            parts.append("<h3>Retrieval examples</h3><p>Each: a test query, its top 10 images, the true match "
                         "outlined.</p><div class=\"examples\">")
            parts += [f'<figure><img src="{esc(src)}" alt="retrieval example {n + 1} of run {esc(run_id)}" '
                      f'loading="lazy"></figure>' for n, src in enumerate(examples[run_id])]
            parts.append("</div>")
        parts.append("</section>")
    return "\n".join(parts)
