"""``rsbench plugins``: every plugin found, its version, where from, its hooks, and whether it works."""

from __future__ import annotations

import dataclasses
import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text


def plugins_command(json_out: bool = typer.Option(False, "--json", help="print as JSON")) -> None:
    """List plugins, broken ones included (set RSBENCH_DISABLE_PLUGINS=1 to load built-ins only)."""
    from rsbench.hooks import loaded_plugins

    infos = loaded_plugins()
    if json_out:
        typer.echo(json.dumps([dataclasses.asdict(i) | {"status": i.status} for i in infos], indent=2))
        return
    table = Table(title="rsbench plugins")
    for col in ("name", "version", "source", "hooks", "status"):
        table.add_column(col, overflow="fold")
    for i in infos:
        status = Text("broken: " + "; ".join(i.problems), style="red") if i.problems else Text("ok", style="green")
        if i.warnings:
            status.append("\n" + "; ".join(i.warnings), style="yellow")
        table.add_row(Text(i.name), Text(i.version), Text(i.source), Text(", ".join(i.hooks)), status)
    Console().print(table)
