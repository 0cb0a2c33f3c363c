"""``rsbench list``: registered components with their descriptions and options."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table


def list_command(
    kind: str | None = typer.Argument(
        None, help="backbone, adapter, sampler, augmenter, strategy, reranker, index, dataset, loss, text_encoder "
        "or captioner"
    ),
    pattern: str = typer.Option("*", "--pattern", "-p", help="shell-style wildcard on names, e.g. 'clip-*'"),
    json_out: bool = typer.Option(False, "--json", help="print as JSON"),
) -> None:
    """List registered components (all kinds, or one)."""
    from rsbench.hooks import get_registry
    from rsbench.registry import KINDS

    kinds = [kind] if kind else list(KINDS)
    rows = []
    for k in kinds:
        for c in get_registry(k).list(pattern):
            rows.append(
                {"kind": k, "name": c.name, "description": c.description, "source": c.source,
                 "options": c.config_fields()}
            )
    if json_out:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title="rsbench components")
    for col in ("kind", "name", "description", "options", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        options = ", ".join(f"{o['name']}={o['default']!r}" for o in r["options"]) or "-"
        table.add_row(r["kind"], r["name"], r["description"], options, r["source"])
    Console().print(table)
    if "backbone" in kinds:
        Console().print("backbone: any open_clip model name is accepted too (e.g. ViT-B-16, hf-hub:org/repo).")
