"""``rsbench list``: registered components with their descriptions and options.

It works with a broken plugin installed (it provides nothing, and a line on stderr names it), so that a user
whose plugin takes a name already taken can see which names are.
"""

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
        for c in get_registry(k, allow_broken=True).list(pattern):
            rows.append(
                {"kind": k, "name": c.name, "description": c.description, "source": c.source,
                 "options": c.config_fields()}
            )
    if json_out:
        typer.echo(json.dumps(rows, indent=2, default=str))
    else:
        table = Table(title="rsbench components")
        for col in ("kind", "name", "description", "options", "source"):
            table.add_column(col, overflow="fold")
        for r in rows:
            options = ", ".join(_option_text(o) for o in r["options"]) or "-"
            table.add_row(r["kind"], r["name"], r["description"], options, r["source"])
        Console().print(table)
        if "backbone" in kinds:
            Console().print("backbone: any open_clip model name is accepted too (e.g. ViT-B-16, hf-hub:org/repo).")
    _warn_broken_plugins()


def _option_text(option: dict) -> str:
    """``k=1 (>= 1)``: an option's default and, where it declares any, its rules."""
    from rsbench.options import describe_rules

    rules = describe_rules(option["rules"])
    return f"{option['name']}={option['default']!r}" + (f" ({', '.join(rules)})" if rules else "")


def _warn_broken_plugins() -> None:
    """One ``warning:`` line on stderr per broken plugin: what is listed is what works without it."""
    from rsbench.cli.messages import print_warning
    from rsbench.hooks import loaded_plugins
    from rsbench.hooks.manager import broken_plugin_message

    for info in loaded_plugins():
        if info.problems:
            print_warning(f"{broken_plugin_message(info)}; none of its components is listed")
