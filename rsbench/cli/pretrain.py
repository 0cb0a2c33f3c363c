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


def pretrain_captioner_command(
    out_dir: Path = typer.Option(Path("pretrained-captioner"), "--out-dir",
                                 help="where the captioner file and its model card go"),
    epochs: int | None = typer.Option(None, help="training epochs (default 6)"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="captions per step (default 128)"),
    lr: float | None = typer.Option(None, help="peak learning rate (default 2e-3)"),
    seed: int | None = typer.Option(None, help="seed of the initialisation and data order (default 0)"),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N"),
    set_: list[str] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                   help="any recipe field: --set width=128, --set dataset.overhead_tiles=1000"),
    print_config: bool = typer.Option(False, "--print-config", help="print the resolved recipe and exit"),
) -> None:
    """Train the tiny captioner on the pretraining corpus; with the defaults this reproduces the shipped file."""
    from dataclasses import asdict

    from rsbench.captioning.tiny_train import CaptionerRecipe
    from rsbench.config import merge, parse_set
    from rsbench.options import build_options

    flags = {k: v for k, v in {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed}.items()
             if v is not None}
    layer = merge(parse_set(list(set_ or [])), flags)
    defaults = asdict(CaptionerRecipe())
    for key in ("dataset", "eval_dataset"):  # dataset options are merged into the default corpus, not replacing it
        if isinstance(layer.get(key), dict) and "name" not in layer[key]:
            layer[key] = {**defaults[key], **layer[key]}
    recipe = build_options(CaptionerRecipe, layer, "")
    if print_config:
        import yaml

        typer.echo(yaml.safe_dump(asdict(recipe), sort_keys=False))
        return
    from rsbench.captioning.tiny_train import train_captioner
    from rsbench.runtime import check_output_folder, resolve_device

    check_output_folder(out_dir, "output folder", "--out-dir")
    console = Console()
    card = train_captioner(recipe, out_dir, console, device=str(resolve_device(device)))
    q = card["quality"]
    console.print(f"{q['dataset']} {q['split']} (synthetic): BLEU-4 {q['bleu4']:.3f}, CIDEr-D {q['cider']:.3f}; "
                  f"captioner {out_dir / card['model']['weights']}, card {out_dir}", markup=False)
