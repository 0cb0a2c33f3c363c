"""``rsbench profile``: parameters, saved-for-backward bytes, peak memory and throughput of a few steps."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rsbench.cli.run import flags_to_config


def profile_command(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML experiment file"),
    backbone: str | None = typer.Option(None, help="open_clip model name or built-in tiny model"),
    pretrained: str | None = typer.Option(None, help="pretrained tag, or a local .pt/.safetensors file"),
    adapter: str | None = typer.Option(None, help="adapter name (`rsbench list adapter`)"),
    sampler: str | None = typer.Option(None, help="sampler name"),
    loss: str | None = typer.Option(None, help="loss name"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="pairs per step (default: train.batch_size)"),
    steps: int = typer.Option(10, help="timed training steps (0: parameters and saved bytes only)"),
    warmup: int = typer.Option(3, help="untimed steps before timing"),
    saved_batch_size: int | None = typer.Option(
        None, "--saved-batch-size", help="count saved-for-backward bytes at this batch instead (host memory)"
    ),
    seed: int | None = typer.Option(None, help="seed of the weights and the random batch"),
    device: str | None = typer.Option(None, help="auto, cpu, cuda, cuda:N"),
    set_: list[str] = typer.Option(None, "--set", help="override any field: --set backbone.image_size=224"),
    out: Path | None = typer.Option(None, "--out", help="also write a profile record into this folder"),
    json_out: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """Measure what training a configuration costs on random inputs, without training it.

    The dataset and augmenter are not used: images are random tensors of the backbone's input
    size and captions are padded to its context length, which is all a step's cost depends on.
    """
    from rsbench.config import build_config

    console = Console(stderr=True)
    flags = flags_to_config(backbone=backbone, pretrained=pretrained, adapter=adapter, sampler=sampler, loss=loss,
                            batch_size=batch_size, device=device, seed=seed)
    cfg = build_config(config, flags, list(set_ or []))
    if out is not None:
        from rsbench.runtime import check_output_folder

        check_output_folder(out, "profile output folder", "--out")

    from rsbench.profile.profiler import profile_record, profile_training, write_profile_record

    with console.status(f"profiling {cfg.name('adapter')} on {cfg.name('backbone')} "
                        f"at batch {cfg.train.batch_size} ({warmup} warm-up + {steps} timed steps)"):
        result = profile_training(cfg, steps=steps, warmup=warmup, saved_batch_size=saved_batch_size)
    record = profile_record(cfg, result)
    path = write_profile_record(record, out) if out is not None else None
    if json_out:
        typer.echo(json.dumps(record | ({"path": str(path)} if path else {}), indent=2))
        return
    render_profile(record, Console())
    if path:
        console.print(f"profile record: {path}", markup=False, highlight=False)


def render_profile(record: dict, console: Console) -> None:
    from rsbench.results.leaderboard import format_figure

    cost = record["cost"]
    cfg = record["config"]
    title = (f"{cfg['adapter']['name']}/{cfg['sampler']['name']} on {record['backbone']['name']} "
             f"({cost['image_size']} px), batch {cost['batch_size']}, {cost['device']}")
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("trainable params", f"{cost['trainable_params']:,}")
    table.add_row("total params", f"{cost['total_params']:,}")
    table.add_row(f"saved for backward (batch {cost['saved_batch_size']})",
                  format_figure("saved_activation_bytes", cost["saved_activation_bytes"]))
    for key, label in (("peak_memory_bytes", "peak memory"), ("throughput_pairs_per_s", "throughput (pairs/s)")):
        value = cost[key]
        table.add_row(label, format_figure(key, value) if value is not None else "not measured (--steps 0)")
    console.print(table)
