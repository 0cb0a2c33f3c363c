"""``rsbench eval``: evaluate a saved model, a checkpoint or a frozen backbone, without training."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console


def _names(value: str | None) -> list[str] | None:
    """``"a,b"`` -> ``["a", "b"]`` (None when the flag was not given)."""
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        from rsbench.errors import ConfigError

        raise ConfigError(f"expected one or more names separated by commas, got {value!r}")
    return names


def eval_command(
    model: Path | None = typer.Option(None, "--model", help="a folder written by rsbench run --save-model"),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="a training checkpoint (.pt)"),
    backbone: str | None = typer.Option(None, help="or a frozen backbone: open_clip model name or rsbench-tiny"),
    pretrained: str | None = typer.Option(None, help="the backbone's weights: a tag or a local .pt/.safetensors"),
    strategy: str | None = typer.Option(None, help="strategies, comma-separated (default: the model's)"),
    rerank: str | None = typer.Option(None, "--rerank", help="rerankers, comma-separated (none for no rerank)"),
    dataset: str | None = typer.Option(None, help="dataset name (default: the model's)"),
    data_root: str | None = typer.Option(None, "--data-root", help="dataset folder"),
    split: str | None = typer.Option(None, "--split", help="test or val (default: the model's eval.report_on)"),
    captioner: str | None = typer.Option(None, help="captioner for strategies that caption the gallery"),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N"),
    results_dir: str | None = typer.Option(None, "--results-dir", help="where the records go"),
    set_: list[str] = typer.Option(None, "--set", help="evaluation-side options only, e.g. augmenter.at_eval=none"),
    json_out: bool = typer.Option(False, "--json", help="print the records' figures as JSON"),
) -> None:
    """Evaluate a trained or published model under one or more strategies and rerankers (a record each)."""
    from rsbench.errors import ConfigError
    from rsbench.eval.keys import check_eval_sets
    from rsbench.runtime import check_output_folder

    sets = list(set_ or [])
    check_eval_sets(sets)  # before any model is loaded
    if split is not None and split not in ("test", "val"):
        raise ConfigError(f"--split must be test or val, got {split!r}")
    if data_root is not None and dataset is None:
        raise ConfigError("--data-root goes with --dataset NAME")
    if results_dir is not None:
        check_output_folder(results_dir, "results directory", "--results-dir")
    if captioner is not None:
        sets.insert(0, f"captioner.name={captioner}")
    from rsbench.eval.runner import evaluation_configs, load_source, run_evaluations
    from rsbench.results.display import render_metrics

    console = Console(stderr=json_out)
    loaded = load_source(model, checkpoint, backbone, pretrained, device)
    section = None
    if dataset is not None:
        section = {"name": dataset, **({"data_root": data_root} if data_root is not None else {})}
    configs = evaluation_configs(loaded, strategies=_names(strategy), rerankers=_names(rerank), sets=sets,
                                 dataset=section, results_dir=results_dir, device=device, split=split)
    outputs = []
    for record, path in run_evaluations(loaded, configs, console):
        retrieval = record["extra"]["retrieval"]
        console.print(f"{retrieval['strategy']} + {retrieval['reranker']}", markup=False, highlight=False)
        render_metrics(record, console)
        console.print(f"record: {path}", markup=False, highlight=False)
        outputs.append({"record": str(path), "parent_run_id": record["parent_run_id"],
                        "strategy": retrieval["strategy"], "reranker": retrieval["reranker"],
                        "metrics": record["metrics"]})
    if json_out:
        typer.echo(json.dumps(outputs if len(outputs) > 1 else outputs[0], indent=2))
