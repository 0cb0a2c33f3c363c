"""What a loaded dataset holds: split sizes, captions per image, scenes per split, duplicates, problems.

``inspect_dataset`` gives the figures as a JSON-ready dict; ``render_inspection`` prints them as tables.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rsbench.data.record import SPLITS, RetrievalDataset

NO_SCENE = "(none)"


def _split_order(ds: RetrievalDataset) -> list[str]:
    present = {r.split for r in ds.records}
    return list(SPLITS) + sorted(present - set(SPLITS))


def inspect_dataset(ds: RetrievalDataset, errors: list[str] | None = None) -> dict[str, Any]:
    """Figures of a dataset, keyed for ``--json``: every count per split, plus the loader's problems and
    ``errors`` (what stops a run: the figures are then of the entries that passed the checks).

    ``duplicate_captions.captions`` counts captions equal to an earlier caption of the same image.
    """
    splits = _split_order(ds)
    sizes: dict[str, dict[str, int]] = {}
    per_image: dict[str, dict[str, int]] = {}
    scenes: dict[str, dict[str, int]] = {}
    duplicates = Counter()
    for split in splits:
        records = ds.split(split)
        sizes[split] = {"images": len(records), "captions": sum(len(r.captions) for r in records)}
        histogram = Counter(len(r.captions) for r in records)
        per_image[split] = {str(n): histogram[n] for n in sorted(histogram)}
        scene_counts = Counter(r.scene if r.scene is not None else NO_SCENE for r in records)
        scenes[split] = dict(sorted(scene_counts.items()))
        for r in records:
            extra = len(r.captions) - len(set(r.captions))
            if extra:
                duplicates["captions"] += extra
                duplicates["images"] += 1
    total_histogram = Counter(len(r.captions) for r in ds.records)
    from rsbench.data.procedural import cache_problems

    problems = list(ds.problems) + empty_split_problems(sizes) + cache_problems(ds.root)  # generated: verified
    return {
        "name": ds.name,
        "root": str(ds.root),
        "synthetic": ds.synthetic,
        "content_hash": ds.content_hash(),
        "splits": sizes,
        "total": {"images": len(ds.records), "captions": sum(len(r.captions) for r in ds.records)},
        "captions_per_image": {"all": {str(n): total_histogram[n] for n in sorted(total_histogram)}} | per_image,
        "scene_classes": ds.scenes,
        "scenes": scenes,
        "duplicate_captions": {"captions": duplicates["captions"], "images": duplicates["images"]},
        "dropped": dict(ds.dropped),
        "images_in_several_splits": ds.images_in_several_splits,
        "problems": problems,
        "errors": list(errors or []),
    }


# What an empty split stops, and the way out, for each split a run uses.
EMPTY_SPLIT_ADVICE = {
    "train": "`rsbench run` has nothing to train on; only zero-shot evaluation (--adapter frozen) works",
    "val": "`rsbench run` selects the best epoch on val; add a val split, or run with "
           "--set eval.select_on=test (the record then says it was selected on test)",
    "test": "`rsbench run` reports on test; add a test split, or run with --set eval.report_on=val",
}


def empty_split_problems(sizes: dict[str, dict[str, int]]) -> list[str]:
    """A problem line for each of train, val and test that holds no images, saying what to do."""
    return [f"split '{split}' is empty: {advice}" for split, advice in EMPTY_SPLIT_ADVICE.items()
            if sizes.get(split, {}).get("images", 0) == 0]


def render_inspection(report: dict[str, Any], console: Any) -> None:
    """Print an ``inspect_dataset`` report on a rich console."""
    from rich.markup import escape
    from rich.table import Table

    splits = list(report["splits"])
    # headings go on their own line: a table title would wrap to the width of a narrow table
    synthetic = " (synthetic)" if report["synthetic"] else ""
    console.print(f"[bold]{escape(report['name'])}{synthetic}[/bold]: {escape(report['root'])}", soft_wrap=True)

    sizes = Table()
    sizes.add_column("split")
    sizes.add_column("images", justify="right")
    sizes.add_column("captions", justify="right")
    for split in splits:
        sizes.add_row(split, str(report["splits"][split]["images"]), str(report["splits"][split]["captions"]))
    sizes.add_row("total", str(report["total"]["images"]), str(report["total"]["captions"]), style="bold")
    console.print(sizes)

    per_image = report["captions_per_image"]
    counts = sorted({int(n) for hist in per_image.values() for n in hist})
    console.print("[bold]captions per image[/bold] (number of images)")
    hist_table = Table()
    hist_table.add_column("split")
    for n in counts:
        hist_table.add_column(str(n), justify="right")
    for split, hist in per_image.items():
        hist_table.add_row(split, *(str(hist.get(str(n), 0)) for n in counts))
    console.print(hist_table)

    scene_names = sorted({scene for per_split in report["scenes"].values() for scene in per_split})
    if scene_names:
        n_classes = len(report["scene_classes"])
        console.print(f"[bold]scenes[/bold] ({n_classes} class{'es' if n_classes != 1 else ''}; images per split)")
        scene_table = Table()
        scene_table.add_column("scene")
        for split in splits:
            scene_table.add_column(split, justify="right")
        for scene in scene_names:
            scene_table.add_row(escape(scene), *(str(report["scenes"][split].get(scene, 0)) for split in splits))
        console.print(scene_table)

    dup = report["duplicate_captions"]
    console.print(f"duplicate captions within an image: {dup['captions']} (in {dup['images']} images; kept)")
    if report.get("errors"):  # the lines themselves go to stderr, as every error does (rsbench/cli/data.py)
        console.print(f"[red]{len(report['errors'])} error(s), printed last: a run on this dataset stops at them; "
                      f"the figures above are of the entries that passed[/red]", highlight=False, soft_wrap=True)
    problems = report["problems"]
    if problems:
        console.print(f"[yellow]problems ({len(problems)}):[/yellow]")
        for line in problems:
            console.print(f"  - {line}", markup=False, highlight=False, soft_wrap=True)
    elif not report.get("errors"):
        console.print("[green]no problems found[/green]")
