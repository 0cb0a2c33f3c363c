"""``rsbench caption``: caption a dataset's images with a captioner, into the caption cache (resumable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from rsbench.errors import ConfigError, RsbenchError

SPLIT_CHOICES = ("train", "val", "test", "all")


def _sections(sets: list[str]) -> dict[str, Any]:
    """``--set`` values for this command: only ``captioner.*`` and ``dataset.*`` mean something here."""
    from rsbench.config import parse_set

    layer = parse_set(sets)
    wrong = [key for key in layer if key not in ("captioner", "dataset") or not isinstance(layer[key], dict)]
    if wrong:
        raise ConfigError(f"rsbench caption takes --set captioner.KEY=VALUE or dataset.KEY=VALUE; got '{wrong[0]}'")
    return layer


def _records(dataset: str, data_root: str | None, options: dict[str, Any], splits: list[str],
             limit: int | None) -> tuple[Any, list[Any]]:
    from rsbench.config import resolve_component
    from rsbench.hooks import get_registry

    spec = {"name": dataset, **options}
    if data_root is not None:
        spec["data_root"] = data_root
    name, config = resolve_component("dataset", spec)
    ds = get_registry("dataset").get(name).build(config)
    wanted = set(ds.split_sizes()) if "all" in splits else set(splits)
    records = [r for r in ds.records if r.split in wanted]
    if limit is not None:
        records = records[:limit]
    if not records:
        raise RsbenchError(f"dataset {name} has no images in {', '.join(sorted(wanted))} "
                           f"(its splits: {ds.split_sizes()})")
    return ds, records


def caption_command(
    captioner: str = typer.Option(..., "--captioner", help="captioner name (`rsbench list captioner`)"),
    dataset: str = typer.Option("synthrs", "--dataset", "-d", help="dataset name (`rsbench list dataset`)"),
    data_root: str | None = typer.Option(None, "--data-root", metavar="DIR", help="dataset folder"),
    set_: list[str] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                   help="captioner.KEY=VALUE or dataset.KEY=VALUE (e.g. captioner.model=DIR)"),
    split: list[str] = typer.Option(["test"], "--split", help="train, val, test or all; repeatable"),
    prompt: str = typer.Option("trsllava", "--prompt", help="trsllava, plain, or the path of a prompt file"),
    batch_size: int = typer.Option(8, "--batch-size", help="images per captioner call and per cache write"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N (for local models)"),
    limit: int | None = typer.Option(None, "--limit", help="only the first N images of the chosen splits"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", metavar="DIR",
                                          help="caption cache folder (default $RSBENCH_CACHE/captions)"),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    score: bool = typer.Option(False, "--score", help="also score the first caption of every image against the "
                                                      "dataset's own captions: BLEU-1..4 and CIDEr-D"),
) -> None:
    """Caption a dataset's images into the caption cache; a second run reuses it and an interrupted one resumes."""
    from rich.console import Console

    from rsbench.captioning.captions import CaptionRun
    from rsbench.config import resolve_component

    bad = [s for s in split if s not in SPLIT_CHOICES]
    if bad:
        raise RsbenchError(f"--split must be one of {', '.join(SPLIT_CHOICES)}; got {bad[0]!r}")
    if limit is not None and limit < 1:
        raise RsbenchError(f"--limit must be 1 or more; got {limit}")
    from rsbench.captioning.cache import default_cache_dir
    from rsbench.runtime import check_output_folder

    try:
        check_output_folder(cache_dir if cache_dir is not None else default_cache_dir(), "caption cache",
                            "--cache-dir (or RSBENCH_CACHE)")
    except RsbenchError as exc:
        raise RsbenchError(f"cannot write the caption cache: {exc}") from None
    sections = _sections(list(set_ or []))
    name, options = resolve_component("captioner", {"name": captioner, **sections.get("captioner", {})})
    ds, records = _records(dataset, data_root, sections.get("dataset", {}), list(split), limit)
    run = CaptionRun(records, name, options, prompt=prompt, cache_dir=cache_dir, device=device, batch_size=batch_size)
    console = Console(stderr=json_out)
    console.print(f"captioning {len(records)} images of {ds.name} ({', '.join(split)}) with {name}: "
                  f"{run.identity.get('model', '')}"
                  f"{' (oracle: the upper bound of caption quality)' if run.identity.get('oracle') else ''}",
                  highlight=False, markup=False, soft_wrap=True)
    result = run.run(progress=True)
    summary = {**result.provenance, "dataset": ds.name, "splits": list(split), "seconds": round(run.seconds, 3),
               "images_per_second": round(run.counts["captioned"] / run.seconds, 3)
               if run.seconds and run.counts["captioned"] else None,
               "damaged_cache_lines": run.cache.skipped_lines}
    if score:
        from rsbench.captioning.quality import caption_quality

        summary["quality"] = caption_quality([c[0] if c else "" for c in result.per_image],
                                             [r.captions for r in records])
    if json_out:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    render_summary(summary, console)


def render_summary(summary: dict[str, Any], console: Any) -> None:
    """What a caption run did: counts, speed, where the captions are, and the first failures."""
    from rich.text import Text

    counts = summary["counts"]
    prompt = summary.get("prompt")
    lines = [
        f"{counts['images']} images: {counts['from_cache']} from the cache, {counts['captioned']} captioned now, "
        f"{counts['failed']} failed ({counts['retried']} asked again, {counts['recovered_by_retry']} of them "
        f"recovered)",
        f"{summary['seconds']:.1f} s" + (f", {summary['images_per_second']:.2f} images/s"
                                          if summary["images_per_second"] else ""),
        f"prompt: {prompt['name']} (sha256 {prompt['digest'][:12]})" if prompt else "prompt: not used",
        f"captions: {summary['cache']}",
    ]
    if summary.get("damaged_cache_lines"):
        lines.append(f"{summary['damaged_cache_lines']} damaged cache line(s) skipped (an interrupted write)")
    quality = summary.get("quality")
    if quality:
        lines.append(f"against the dataset's captions ({quality['images']} images, first caption each): "
                     + ", ".join(f"BLEU-{n} {quality[f'bleu{n}']:.3f}" for n in range(1, 5))
                     + f", CIDEr-D {quality['cider']:.3f}")
    for line in lines:
        console.print(Text(line), soft_wrap=True)
    for failure in summary.get("failure_examples", []):
        console.print(Text.assemble(("failed:", "yellow"), f" {failure['image_id']}: {failure['reason']}"),
                      soft_wrap=True)
    if counts["failed"] > len(summary.get("failure_examples", [])):
        console.print(Text(f"... and {counts['failed'] - len(summary['failure_examples'])} more failures; the "
                           f"next run asks for them again"), soft_wrap=True)
