"""``rsbench pretrain``: pretrain the tiny CLIP on SynthShapes and write safetensors + model card."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from rsbench.cli.run import flags_to_config


def pretrain_command(
    out_dir: Path = typer.Option(Path("pretrained"), "--out-dir", help="where weights, model card and checkpoint go"),
    epochs: int | None = typer.Option(None, help="pretraining epochs (default 8)"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="pairs per step (default 128)"),
    lr: float | None = typer.Option(None, help="peak learning rate (default 1e-3)"),
    seed: int | None = typer.Option(None, help="seed of the initialisation and data order (default 0)"),
    device: str | None = typer.Option(None, help="auto, cpu, cuda, cuda:N"),
    resume: bool = typer.Option(False, "--resume", help="continue an interrupted pretraining from its checkpoint"),
    set_: list[str] = typer.Option(None, "--set", help="override any recipe field: --set dataset.num_images=20000"),
    print_config: bool = typer.Option(False, "--print-config", help="print the resolved recipe and exit"),
) -> None:
    """Pretrain rsbench-tiny contrastively on SynthShapes; with the defaults this reproduces the shipped weights."""
    from rsbench.config import build_config, merge
    from rsbench.pretrain.recipe import pretrain_layer

    console = Console()
    flags = flags_to_config(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device)
    layer = merge(pretrain_layer(str(out_dir)), flags)
    cfg = build_config(None, layer, list(set_ or []))
    if print_config:
        import yaml

        typer.echo(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        return
    from rsbench.pretrain.pretrain import pretrain
    from rsbench.runtime import check_output_folder

    check_output_folder(out_dir, "output folder", "--out-dir")

    card = pretrain(cfg, out_dir, console, resume=resume)
    z = card["zero_shot"]["test"]
    console.print(f"zero-shot on SynthRS test (synthetic): mR {z['mR']:.2f}; "
                  f"weights {out_dir / card['model']['weights']}, card {out_dir}", markup=False)
