"""``rsbench transfer``: why a pretrained CLIP does or does not transfer zero-shot (text side, image side)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape


def transfer_command(
    backbone: str = typer.Option("rsbench-tiny", help="open_clip architecture of the weights"),
    pretrained: str = typer.Option("synthetic", help="shipped tag or checkpoint file (the pretrain output)"),
    corpus: str = typer.Option(
        "synthshapes", help="dataset the weights were pretrained on (its train captions); synthshapes starts from "
        "the pretraining recipe's options (overhead tiles included)"
    ),
    dataset: str = typer.Option("synthrs", help="dataset to transfer to"),
    split: str = typer.Option("test", help="split of --dataset to measure on"),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N"),
    set_: list[str] = typer.Option(
        None, "--set", help="dataset options, e.g. --set corpus.num_images=4000 --set dataset.image_size=128"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Vocabulary overlap, zero-shot mR on captions cut to the corpus's words, word grounding, image 1-NN."""
    from rsbench.config import merge, parse_set
    from rsbench.errors import ConfigError
    from rsbench.pretrain.recipe import PRETRAIN_DEFAULTS
    from rsbench.pretrain.transfer import transfer_report

    given = parse_set(set_ or [])
    if set(given) - {"corpus", "dataset"} or not all(isinstance(v, dict) for v in given.values()):
        raise ConfigError(f"--set {' '.join(set_)}: expected corpus.<option>=<value> or dataset.<option>=<value>")
    recipe_corpus = PRETRAIN_DEFAULTS["dataset"]
    corpus_section = dict(recipe_corpus) if corpus == recipe_corpus["name"] else {"name": corpus}
    sections = merge({"corpus": corpus_section, "dataset": {"name": dataset}}, given)
    console = Console(stderr=as_json)
    report = transfer_report(pretrained, backbone, sections["corpus"], sections["dataset"], device, console, split)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    v = report["vocabulary"]
    unseen = ", ".join(f"{word} ({n})" for word, n in v["top_unseen"])
    console.print(f"[bold]{escape(str(backbone))} / {escape(str(pretrained))}[/]: "
                  f"from {escape(corpus)} to {escape(dataset)} {split}")
    console.print(f"  text:  {v['eval_tokens_seen_pct']:.1f}% of caption word tokens occur in {corpus}; "
                  f"{v['eval_words_unseen']} of {v['eval_words']} words never do, most often: {unseen}")
    console.print(f"  zero-shot mR {report['zero_shot_mR']:.2f} as is, {report['known_words_mR']:.2f} "
                  f"with captions cut to {corpus} words")
    g = report["grounding"]
    if g["words"]:
        best = ", ".join(f"{w} {a:.2f}" for w, a in g["best"])
        console.print(f"  shared words: mean grounding AUC {g['mean_auc']:.2f} over {g['words']} content words "
                      f"(0.5 = chance); best: {best}")
    if report["image_scene_1nn_pct"] is not None:
        console.print(f"  image: 1-NN scene accuracy {report['image_scene_1nn_pct']:.1f}% "
                      f"(chance {report['scene_chance_pct']:.1f}%), frozen image embeddings, train as gallery")
