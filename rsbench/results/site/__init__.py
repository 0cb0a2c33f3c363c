"""The leaderboard as a static web site: ``index.html`` with a sortable table per dataset and the plots, a page per
row with its records and retrieval examples, and the script and stylesheet they use. No server, no framework: the
folder works opened from disk and published on any static host (GitHub Pages serves it as it is).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

from rsbench.errors import RsbenchError
from rsbench.results.leaderboard import one_per_seed
from rsbench.results.site.pages import index_body, page, row_body

ASSETS = ("sortable.js", "style.css")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(text: str) -> str:
    """A file name made only of letters, digits, ``.``, ``_`` and ``-`` (never empty, never a dot file)."""
    return _SAFE.sub("-", str(text)).strip(".-") or "x"


def example_sheets(results_dir: Path | None, run_id: str) -> list[Path]:
    """The retrieval examples ``rsbench run --examples`` drew for a run: ``<record>-examples/*.png`` beside the
    record."""
    if results_dir is None or not Path(results_dir).is_dir():
        return []
    folders = sorted(Path(results_dir).glob(f"*_{_safe_name(run_id[:8])}-examples"))
    return sorted(p for folder in folders if folder.is_dir() for p in folder.glob("*.png") if p.is_file())


def write_site(df: pd.DataFrame, records: list[dict], site_dir: Path, *, results_dir: Path | None = None,
               figures: Sequence[Path] = ()) -> list[Path]:
    """Write the site into ``site_dir`` (replacing an earlier one whole) and return the path of its ``index.html``.

    ``df`` is ``leaderboard(records)``; ``figures`` are images (the plots) shown on the index, copied in;
    ``results_dir`` is where to look for retrieval examples beside the records.
    """
    site_dir = Path(site_dir)
    try:
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.", suffix=".tmp", dir=site_dir.parent))
    except OSError as exc:
        raise RsbenchError(f"cannot write the site into {site_dir}: {exc.strerror or exc}; pick another --out-dir") \
            from exc
    try:
        _build(df, records, build, results_dir, figures)
        _replace(build, site_dir)
    except OSError as exc:
        raise RsbenchError(f"cannot write the site into {site_dir}: {exc}; pick another --out-dir") from exc
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)
    return [site_dir / "index.html"]


def _build(df: pd.DataFrame, records: list[dict], build: Path, results_dir: Path | None,
           figures: Sequence[Path]) -> None:
    synthetic = bool(len(df)) and bool(df["synthetic"].any())
    (build / "assets").mkdir()
    (build / "rows").mkdir()
    for name in ASSETS:
        (build / "assets" / name).write_bytes(resources.files(__package__).joinpath("assets", name).read_bytes())
    (build / ".nojekyll").write_text("")  # GitHub Pages: serve the folder as it is
    shown = []
    for figure in figures:
        figure = Path(figure)
        if figure.suffix.lower() in IMAGE_SUFFIXES and figure.is_file():
            (build / "plots").mkdir(exist_ok=True)
            name = _safe_name(figure.name)
            shutil.copyfile(figure, build / "plots" / name)
            shown.append((f"plots/{name}", _figure_caption(figure.stem)))
    by_run = {str(r["run_id"]): r for r in one_per_seed(records)[0]}
    row_pages: dict[str, str] = {}
    for _, row in df.iterrows():
        config_id = _safe_name(row["config_id"])
        row_pages[str(row["config_id"])] = f"rows/{config_id}.html"
        members = [by_run[run] for run in str(row["run_ids"]).split(",") if run in by_run]
        examples = _copy_examples(members, build, results_dir)
        title = f"{row['method']} · {row['dataset']}"
        text = page(title, row_body(row, members, examples), root="../", synthetic=synthetic)
        (build / "rows" / f"{config_id}.html").write_text(text, encoding="utf-8")
    body = index_body(df, row_pages, shown, n_records=int(df["n"].sum()) if len(df) else 0)
    (build / "index.html").write_text(page("rsbench leaderboard", body, root="", synthetic=synthetic),
                                      encoding="utf-8")


def _copy_examples(members: list[dict], build: Path, results_dir: Path | None) -> dict[str, list[str]]:
    """Copy each record's retrieval examples into ``examples/<run id>/``; run id -> their srcs from a row page."""
    out: dict[str, list[str]] = {}
    for record in members:
        run_id = str(record["run_id"])
        sheets = example_sheets(results_dir, run_id)
        if sheets:
            folder = build / "examples" / _safe_name(run_id)
            folder.mkdir(parents=True, exist_ok=True)
            out[run_id] = []
            for n, sheet in enumerate(sheets):
                name = f"query-{n + 1:02d}{sheet.suffix.lower()}"
                shutil.copyfile(sheet, folder / name)
                out[run_id].append(f"../examples/{_safe_name(run_id)}/{name}")
    return out


def _figure_caption(stem: str) -> str:
    if stem == "pareto":
        return ("mR against trainable parameters and saved activations: one point per method (its longest row at its "
                "chosen rate), the Pareto front through the methods that train; methods that train nothing on the "
                "right")
    if stem.startswith("grid-"):
        return f"sweep {stem.removeprefix('grid-')}: test mR against the grid's values, mean ± std over seeds"
    return stem


def _replace(build: Path, site_dir: Path) -> None:
    """Put the finished ``build`` where ``site_dir`` is: a reader sees the old site or the new one, never a mix."""
    if site_dir.exists() and not site_dir.is_dir():
        raise RsbenchError(f"{site_dir} exists and is not a folder; move it away or pick another --out-dir")
    os.chmod(build, 0o755)  # mkdtemp makes it private; a site is for reading
    old = None
    if site_dir.exists():
        old = site_dir.with_name(f".{site_dir.name}.old-{os.getpid()}")
        site_dir.rename(old)
    build.rename(site_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
