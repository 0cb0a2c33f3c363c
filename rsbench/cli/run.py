"""``rsbench run``: train and evaluate one configuration (one record per seed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console


def flags_to_config(**flags: Any) -> dict[str, Any]:
    """Map the CLI's shortcut flags onto the nested config layout."""
    section_of = {
        "dataset": ("dataset", "name"),
        "data_root": ("dataset", "data_root"),
        "backbone": ("backbone", "name"),
        "pretrained": ("backbone", "pretrained"),
        "adapter": ("adapter", "name"),
        "sampler": ("sampler", "name"),
        "aug": ("augmenter", "name"),
        "strategy": ("strategy", "name"),
        "rerank": ("reranker", "name"),
        "loss": ("loss", "name"),
        "captioner": ("captioner", "name"),
        "epochs": ("train", "epochs"),
        "batch_size": ("train", "batch_size"),
        "lr": ("train", "lr"),
    }
    raw: dict[str, Any] = {}
    for flag, value in flags.items():
        if value is None:
            continue
        if flag in section_of:
            section, key = section_of[flag]
            raw.setdefault(section, {})[key] = value
        else:
            raw[flag] = value
    return raw


def run_command(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML experiment file"),
    adapter: str | None = typer.Option(None, help="adapter name (`rsbench list adapter`)"),
    sampler: str | None = typer.Option(None, help="sampler name"),
    aug: str | None = typer.Option(None, "--aug", help="caption augmenter name"),
    dataset: str | None = typer.Option(None, help="dataset name"),
    data_root: str | None = typer.Option(None, "--data-root", help="dataset folder"),
    backbone: str | None = typer.Option(None, help="open_clip model name or built-in tiny model"),
    pretrained: str | None = typer.Option(None, help="pretrained tag, or a local .pt/.safetensors file"),
    strategy: str | None = typer.Option(None, help="retrieval strategy (`rsbench list strategy`)"),
    rerank: str | None = typer.Option(None, "--rerank", help="reranker applied after the strategy (default none)"),
    loss: str | None = typer.Option(None, help="loss name"),
    captioner: str | None = typer.Option(None, help="captioner for strategies and augmenters that use generated "
                                         "captions (`rsbench list captioner`)"),
    epochs: int | None = typer.Option(None, help="training epochs"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="pairs per step"),
    lr: float | None = typer.Option(None, help="peak learning rate"),
    seed: list[int] = typer.Option(None, "--seed", help="seed; repeat for several runs (--seed 0 --seed 1)"),
    device: str | None = typer.Option(None, help="auto, cpu, cuda, cuda:N"),
    results_dir: str | None = typer.Option(None, "--results-dir", help="where result records go"),
    set_: list[str] = typer.Option(None, "--set", help="override any field: --set train.lr=1e-4"),
    resume: bool = typer.Option(False, "--resume", help="continue an interrupted run from its checkpoint"),
    nproc: int | None = typer.Option(
        None, "--nproc", help="train with N processes on this machine (DistributedDataParallel, launched as "
        "torchrun --nproc-per-node N would); train.batch_size is the global batch"
    ),
    print_config: bool = typer.Option(False, "--print-config", help="print the resolved config and exit"),
    json_out: bool = typer.Option(False, "--json", help="print the records' figures as JSON"),
    examples: int = typer.Option(0, "--examples", help="draw N test queries with their top 10 images, the true "
                                 "match outlined, into <record>-examples/"),
    save_model: Path | None = typer.Option(
        None, "--save-model", help="keep the selected model in this new folder (seed<k>/ inside it for several "
        "seeds), for rsbench index build --model"
    ),
) -> None:
    """Train and evaluate a configuration; with no flags, the embedded default on synthetic data."""
    from rsbench.config import build_config, merge

    console = Console(stderr=json_out)
    flags = flags_to_config(
        adapter=adapter, sampler=sampler, aug=aug, dataset=dataset, data_root=data_root, backbone=backbone,
        pretrained=pretrained, strategy=strategy, rerank=rerank, loss=loss, captioner=captioner, epochs=epochs,
        batch_size=batch_size, lr=lr, device=device, results_dir=results_dir,
    )
    seeds = list(seed) if seed else [None]
    configs = []
    for s in seeds:
        layer = merge(flags, {"seed": s}) if s is not None else flags
        configs.append(build_config(config, layer, list(set_ or [])))
    if print_config:
        import yaml

        for cfg in configs:
            typer.echo(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        return

    from rsbench.engine import run_experiment
    from rsbench.errors import RsbenchError
    from rsbench.results.display import render_metrics
    from rsbench.runtime import check_output_folder
    from rsbench.train import distributed

    if examples < 0:
        raise RsbenchError(f"--examples must be 0 or more, got {examples}")
    if nproc is not None and nproc > 1:
        distributed.check_launch(nproc, configs)
        root = ctx.find_root().obj
        argv = list(root["argv"]) if isinstance(root, dict) and "argv" in root else sys.argv[1:]
        raise typer.Exit(distributed.launch(nproc, distributed.without_nproc(argv)))
    if nproc is not None and nproc < 1:
        raise RsbenchError(f"--nproc must be 1 or more (processes to train with), got {nproc}")
    model_dirs = [None] * len(configs)
    if save_model is not None:
        model_dirs = [save_model] if len(configs) == 1 else [save_model / f"seed{c.seed}" for c in configs]
        taken = [str(d) for d in model_dirs if d.exists()]
        if taken:  # checked before any training time is spent
            raise RsbenchError(f"--save-model folder already exists: {', '.join(taken)}; choose a new one")
        check_output_folder(save_model, "--save-model folder", "--save-model")
    outputs = []
    try:
        for cfg, model_dir in zip(configs, model_dirs, strict=True):
            record, path = run_experiment(cfg, console, resume=resume, save_model=model_dir, examples=examples)
            if not record:  # a rank other than 0 of a multi-process run: rank 0 reports
                continue
            render_metrics(record, console)
            console.print(f"record: {path}", markup=False, highlight=False)
            outputs.append({"record": str(path), "metrics": record["metrics"], "cost": record["cost"]})
    finally:
        distributed.teardown()
    if json_out and outputs:
        typer.echo(json.dumps(outputs if len(outputs) > 1 else outputs[0], indent=2))
