"""``rsbench plugins``: which plugins are loaded, their versions, where from and which hooks they implement."""

from __future__ import annotations

import dataclasses
import json

import typer
from rich.console import Console
from rich.table import Table


def plugins_command(json_out: bool = typer.Option(False, "--json", help="print as JSON")) -> None:
    """List loaded plugins (set RSBENCH_DISABLE_PLUGINS=1 to load built-ins only)."""
    from rsbench.hooks import loaded_plugins

    infos = loaded_plugins()
    if json_out:
        typer.echo(json.dumps([dataclasses.asdict(i) for i in infos], indent=2))
        return
    table = Table(title="rsbench plugins")
    for col in ("name", "version", "source", "hooks"):
        table.add_column(col, overflow="fold")
    for i in infos:
        table.add_row(i.name, i.version, i.source, ", ".join(i.hooks))
    Console().print(table)
