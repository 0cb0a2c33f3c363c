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
            options = ", ".join(f"{o['name']}={o['default']!r}{_rules_text(o['rules'])}" for o in r["options"]) or "-"
            table.add_row(r["kind"], r["name"], r["description"], options, r["source"])
        Console().print(table)
        if "backbone" in kinds:
            Console().print("backbone: any open_clip model name is accepted too (e.g. ViT-B-16, hf-hub:org/repo).")
    _warn_broken_plugins()


_SIGNS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))


def _rules_text(rules: dict) -> str:
    """An option's declared rules, compact: `` (>= 1)``, `` (> 0, <= 1)``, `` (one of 'a', 'b')``; empty if none."""
    parts = [f"{sign} {rules[key]:g}" for key, sign in _SIGNS if key in rules]
    if "choices" in rules:
        parts.append("one of " + ", ".join(map(repr, rules["choices"])))
    if "prefix" in rules:
        prefixes = [rules["prefix"]] if isinstance(rules["prefix"], str) else list(rules["prefix"])
        parts.append("starts " + " or ".join(map(repr, prefixes)))
    if rules.get("nonempty"):
        parts.append("not empty")
    return f" ({', '.join(parts)})" if parts else ""


def _warn_broken_plugins() -> None:
    """One ``warning:`` line on stderr per broken plugin: what is listed is what works without it."""
    from rsbench.cli.messages import print_warning
    from rsbench.hooks import loaded_plugins
    from rsbench.hooks.manager import broken_plugin_message

    for info in loaded_plugins():
        if info.problems:
            print_warning(f"{broken_plugin_message(info)}; none of its components is listed")
