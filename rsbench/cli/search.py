"""``rsbench index build`` and ``rsbench search``: embed a folder of images once, then query it with text."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

index_app = typer.Typer(help="Archive indexes: embed a folder of images for rsbench search.", no_args_is_help=True)


@index_app.command("build")
def index_build_command(
    images: Path = typer.Option(..., "--images", help="folder of images (searched recursively)"),
    out: Path = typer.Option(..., "--out", help="folder to write the index, embeddings and manifest to"),
    model: Path | None = typer.Option(None, "--model", help="a model saved by rsbench run --save-model DIR"),
    config: Path | None = typer.Option(None, "--config", "-c", help="or a config (e.g. a frozen CLIP) as YAML"),
    set_: list[str] = typer.Option(None, "--set", help="config overrides, e.g. --set adapter.name=frozen"),
    index: str = typer.Option("exact", "--index", help="exact, flat, hnsw, ivfpq or a plugin's (rsbench list index)"),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N"),
) -> None:
    """Embed every image under --images with a saved model (or a config) and index it; resumes if interrupted."""
    from rich.progress import Progress

    from rsbench.config import build_config
    from rsbench.errors import RsbenchError
    from rsbench.retrieval.archive import build_archive
    from rsbench.runtime import check_output_folder

    if model is not None and (config is not None or set_):
        raise RsbenchError("give either --model (a saved model) or --config/--set, not both")
    check_output_folder(out, "index output folder", "--out")
    if model is not None:
        spec = {"model_dir": str(model.resolve())}
    else:
        spec = {"config": build_config(config, {"adapter": {"name": "frozen"}}, list(set_ or [])).to_dict()}
    console = Console()
    with Progress(console=console) as progress:
        task = progress.add_task("embedding", total=None)
        manifest = build_archive(images, out, spec, index, device,
                                 lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"indexed {len(manifest['paths'])} images ({manifest['dim']}-d, {manifest['index']}) into "
                  f"{escape(str(out))}", highlight=False, soft_wrap=True)


def search_command(
    query: str = typer.Argument(..., help="what to look for, e.g. 'three white planes next to a terminal'"),
    index: Path = typer.Option(..., "--index", help="folder written by rsbench index build"),
    k: int = typer.Option(10, "-k", help="how many images to return"),
    show: Path | None = typer.Option(None, "--show", help="also write a contact sheet of the hits (PNG)"),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N"),
    json_out: bool = typer.Option(False, "--json", help="print the hits as JSON"),
) -> None:
    """The k images of an indexed archive that best match a text query, with their scores."""
    from rsbench.retrieval.archive import contact_sheet, search_archive

    if show is not None:
        from rsbench.runtime import check_output_folder

        check_output_folder(show.parent, "contact sheet folder", "--show")
    hits = search_archive(index, query, k, device)
    if show is not None:
        contact_sheet(query, hits, show)
    if json_out:
        typer.echo(json.dumps([{"rank": h.rank, "path": str(h.path), "score": h.score} for h in hits], indent=2))
        return
    console = Console()
    for hit in hits:
        console.print(f"{hit.rank:>3}  {hit.score:.4f}  {escape(str(hit.path))}", highlight=False, soft_wrap=True)
    if show is not None:
        console.print(f"contact sheet: {escape(str(show))}", highlight=False, soft_wrap=True)
