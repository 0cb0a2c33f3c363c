"""Pretrain a tiny CLIP, export it as half-precision safetensors and write its model card.

``pretrain(cfg, out_dir)`` trains as the recipe (recipe.py) says, saving a checkpoint after every
epoch in ``out_dir`` (``resume=True`` continues from it). The final weights are written as
``<arch>-<tag>.safetensors`` in float16 — the tiny model's 49,408-token embedding alone is 3.2 M
parameters, so fp16 is what keeps the file under 10 MB — and the card reports the zero-shot
retrieval metrics *of that file*, loaded back as any user would load it, on SynthRS val and test.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from rsbench.config import RunConfig, build_config
from rsbench.errors import RsbenchError
from rsbench.pretrain.recipe import CARD_FILE, CARD_JSON, TAG, WEIGHTS_FILE

MAX_WEIGHTS_BYTES = 10 * 1000 * 1000  # the ceiling for a checkpoint shipped inside the package


def pretrain(cfg: RunConfig, out_dir: Path, console: Console, resume: bool = False,
             zero_shot_dataset: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the pretraining ``cfg`` describes; write weights and model card to ``out_dir``; return the card.

    ``zero_shot_dataset`` is the dataset section the card's zero-shot metrics use (default: SynthRS
    with its default options).
    """
    import torch

    from rsbench.engine import Experiment, checkpoint_path, resume_state
    from rsbench.pretrain.transfer import transfer_report
    from rsbench.results.record import package_versions, write_text_atomically
    from rsbench.runtime import device_label
    from rsbench.safe_load import file_sha256
    from rsbench.train.trainer import train

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exp = Experiment(cfg, console)
    corpus = exp.dataset
    console.log(f"pretraining {exp.backbone.name} from random weights on {corpus.name} "
                f"({corpus.split_sizes()} images), device {exp.device}")
    pairs = exp.training_pairs(corpus.split("train"), exp.backbone.preprocess_train)
    checkpoint = checkpoint_path(cfg)
    started = time.perf_counter()
    outcome, _, _ = train(
        exp.adapter, exp.sampler, pairs, exp.backbone.tokenizer, cfg.train, exp.device,
        lambda: exp.evaluate("val").metrics, console, seed=cfg.seed,
        checkpoint=checkpoint, run_key=cfg.run_key(), resume=resume_state(cfg, console, resume),
    )
    # Pretraining keeps its final weights (as open_clip does), not the best corpus-val epoch.
    weights = export_weights(exp.backbone.model, out_dir / WEIGHTS_FILE, cfg.name("backbone"))
    console.log(f"wrote {escape(str(weights))} ({weights.stat().st_size / 1e6:.2f} MB); "
                f"evaluating it zero-shot on SynthRS")
    zero_shot = zero_shot_metrics(weights, cfg.name("backbone"), cfg.device, console, zero_shot_dataset)
    transfer = transfer_report(str(weights), cfg.name("backbone"), cfg.to_dict()["dataset"],
                               zero_shot_dataset or {"name": "synthrs"}, cfg.device, console)
    card = {
        "model": {"architecture": cfg.name("backbone"), "tag": TAG, "weights": weights.name,
                  "sha256": file_sha256(weights), "tensors_sha256": tensors_sha256(weights),
                  "bytes": weights.stat().st_size, "dtype": "float16",
                  "parameters": sum(p.numel() for p in exp.backbone.model.parameters()),
                  "config": architecture_config(cfg.name("backbone"))},
        "data": {"corpus": corpus.name, "synthetic": True, "content_hash": corpus.content_hash(),
                 "split_sizes": corpus.split_sizes(), "train_pairs": len(pairs),
                 "options": cfg.to_dict()["dataset"]},
        "training": {"seed": cfg.seed, "epochs": cfg.train.epochs, "steps": outcome.steps,
                     "final_loss": outcome.final_loss, "recipe": cfg.to_dict(),
                     "history": outcome.history, "train_seconds": outcome.train_seconds,
                     "wall_seconds": time.perf_counter() - started,
                     "throughput_pairs_per_s": outcome.throughput_pairs_per_s},
        "zero_shot": zero_shot,
        "transfer": transfer,
        "env": package_versions() | {"device": device_label(exp.device), "torch": torch.__version__},
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_text_atomically(out_dir / CARD_JSON, json.dumps(card, indent=2) + "\n")
    write_text_atomically(out_dir / CARD_FILE, model_card_markdown(card))
    if not cfg.train.keep_checkpoint:
        checkpoint.unlink(missing_ok=True)
    return card


def export_weights(model, path: Path, architecture: str) -> Path:
    """The model's state dict as float16 safetensors (architecture stored in the metadata), ≤ 10 MB."""
    from rsbench.models.backbones.checkpoints import save_checkpoint

    half = {k: v.detach().to("cpu").half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_checkpoint(half, path, quick_gelu=False, architecture=architecture)
    size = path.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        path.unlink()
        raise RsbenchError(f"{path} is {size / 1e6:.1f} MB, over the {MAX_WEIGHTS_BYTES / 1e6:.0f} MB a shipped "
                           f"checkpoint may take; choose a smaller architecture")
    return path


def zero_shot_metrics(weights: Path, architecture: str, device: str, console: Console,
                      dataset: dict[str, Any] | None = None) -> dict[str, Any]:
    """Retrieval metrics of ``weights`` frozen (no training) on val and test of ``dataset`` (default SynthRS)."""
    from rsbench.engine import Experiment

    cfg = build_config(None, {"dataset": dataset or {"name": "synthrs"},
                              "backbone": {"name": architecture, "pretrained": str(weights)},
                              "adapter": {"name": "frozen"}, "sampler": {"name": "batch"},
                              "augmenter": {"name": "none"}, "device": device})
    exp = Experiment(cfg, console)
    return {"dataset": exp.dataset.name, "synthetic": exp.dataset.synthetic, "options": cfg.to_dict()["dataset"],
            "content_hash": exp.dataset.content_hash(),
            "val": exp.evaluate("val").metrics, "test": exp.evaluate("test").metrics}


def architecture_config(name: str) -> dict[str, Any]:
    import open_clip

    from rsbench.models.backbones.open_clip_backbone import register_builtin_configs

    register_builtin_configs()
    return open_clip.get_model_config(name)


def tensors_sha256(path: Path) -> str:
    """Digest of the tensors alone (names, dtypes, shapes, values in name order): checks a reproduction.

    The file digest cannot, because safetensors writes its metadata entries in no fixed order.
    """
    import torch
    from safetensors.torch import load_file

    digest = hashlib.sha256()
    for name, tensor in sorted(load_file(str(path)).items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def model_card_markdown(card: dict[str, Any]) -> str:
    m, d, t, z = card["model"], card["data"], card["training"], card["zero_shot"]
    rows = "\n".join(
        f"| {split} | " + " | ".join(f"{z[split][k]:.2f}" for k in
                                     ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mR")) + " |"
        for split in ("val", "test")
    )
    loss = f"{t['final_loss']:.4f}" if t["final_loss"] is not None else "–"
    return f"""# {m['architecture']} / {m['tag']}

A tiny CLIP ({m['parameters']:,} parameters, open_clip architecture `{m['architecture']}`) pretrained
contrastively by `rsbench pretrain` on **synthetic data only**: {d['corpus']} ({d['train_pairs']:,} training
image-caption pairs, content hash `{d['content_hash']}`).{overhead_sentence(d)} It exists so that adapters
in rsbench's tests and examples start from a pretrained model on machines that cannot download one; it
knows nothing about real imagery.

- Weights: `{m['weights']}`, {m['dtype']}, {m['bytes'] / 1e6:.2f} MB, file sha256 `{m['sha256']}`,
  tensors sha256 `{m['tensors_sha256']}` (what a reproduction on the same hardware matches)
- Architecture: `{json.dumps(m['config'])}`
- Training: seed {t['seed']}, {t['epochs']} epochs, {t['steps']:,} steps, final training loss {loss},
  {t['train_seconds'] / 60:.1f} min on {card['env']['device']} (torch {card['env']['torch']})
- Reproduce: `rsbench pretrain` (defaults; the full recipe is in `{m['architecture']}-{m['tag']}.json`)

## Zero-shot retrieval on SynthRS (synthetic), frozen weights as shipped

| split | I→T R@1 | R@5 | R@10 | T→I R@1 | R@5 | R@10 | mR |
|---|---|---|---|---|---|---|---|
{rows}
{transfer_markdown(card.get("transfer"))}"""


def overhead_sentence(data: dict[str, Any]) -> str:
    """What the card says of the corpus's overhead tiles (SynthShapes' ``overhead_tiles``), if it has any."""
    tiles = int(data.get("options", {}).get("overhead_tiles") or 0)
    if not tiles:
        return ""
    per_image = int(data["options"].get("captions_per_image", 3))
    share = 100 * tiles * per_image / max(1, data["train_pairs"])
    return (f" Beside the still-life sheets it holds {tiles:,} overhead tiles ({share:.0f}% of the training pairs),"
            f" painted by SynthRS's painters from a seed stream the benchmark never draws from and captioned"
            f" like web alt-text, never with a scene name, as a web corpus holds some aerial imagery.")


def transfer_markdown(report: dict[str, Any] | None) -> str:
    """The card's section on where zero-shot transfer stops (``rsbench transfer``); empty for older cards."""
    if not report:
        return ""
    v, corpus = report["vocabulary"], report["corpus"]
    unseen = ", ".join(f"{word} ({n})" for word, n in v["top_unseen"])
    lines = [
        f"- Text tower: {v['eval_tokens_seen_pct']:.1f}% of the caption word tokens occur in the {corpus} captions;\n"
        f"  {v['eval_words_unseen']} of {v['eval_words']} words never do, most often {unseen}.",
        f"- Zero-shot mR {report['zero_shot_mR']:.2f} as is, {report['known_words_mR']:.2f} with every caption cut to\n"
        f"  {corpus} words.",
    ]
    if report["image_scene_1nn_pct"] is not None:
        lines.append(f"- Image tower: 1-NN scene accuracy {report['image_scene_1nn_pct']:.1f}% (chance "
                     f"{report['scene_chance_pct']:.1f}%) with frozen image embeddings, train split as gallery.")
    g = report.get("grounding") or {}
    if g.get("words"):
        best = ", ".join(f"{w} {a:.2f}" for w, a in g["best"])
        lines.append(f"- Shared words: mean grounding AUC {g['mean_auc']:.2f} over {g['words']} content words "
                     f"both corpora use (0.5 = chance); best {best}.")
    body = "\n".join(lines)
    return f"""
## Where transfer stops (`rsbench transfer`, {report['dataset']} {report['split']})

{body}
"""
