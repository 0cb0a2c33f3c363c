"""``rsbench pretrain-captioner``: train the tiny captioner on the pretraining corpus and write weights + model card.

The corpus is the one the shipped tiny CLIP was pretrained on (``PRETRAIN_DEFAULTS["dataset"]``: SynthShapes with
its overhead tiles), training split only; SynthRS is refused. The CLIP's image tower stays frozen, so its outputs
for every corpus image are computed once (the evaluation transform, float16 in memory) and the decoder trains on
them with teacher forcing: cross-entropy of each next word, padding ignored, AdamW with linear warm-up and cosine
decay. Every epoch reports the corpus-val loss; the final weights are kept (as ``rsbench pretrain`` does). The
card scores the file as a user loads it: greedy captions of SynthRS test against its human captions (BLEU-4,
CIDEr-D; captioning/quality.py). These choices are ours, not a paper's; every one is a recipe field.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console

from rsbench.errors import ConfigError, RsbenchError

MAX_BYTES = 10 * 1000 * 1000  # the ceiling for a file shipped inside the package


def _corpus() -> dict[str, Any]:
    from rsbench.pretrain.recipe import PRETRAIN_DEFAULTS

    return dict(PRETRAIN_DEFAULTS["dataset"])


@dataclass
class CaptionerRecipe:
    """What ``rsbench pretrain-captioner`` trains, with the defaults that made the shipped file."""

    dataset: dict[str, Any] = field(default_factory=_corpus)
    epochs: int = 6
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.05
    width: int = 128
    layers: int = 3
    heads: int = 4
    max_length: int = 32
    memory_grid: int = 4
    dropout: float = 0.1
    seed: int = 0
    eval_dataset: dict[str, Any] = field(default_factory=lambda: {"name": "synthrs"})

    def __post_init__(self) -> None:
        if str(self.dataset.get("name")) == "synthrs":
            raise ConfigError("the tiny captioner trains on the pretraining corpus only, never on SynthRS "
                              "(the benchmark it is scored on)")
        if self.memory_grid < 0:
            raise ConfigError(f"memory_grid must be >= 0; got {self.memory_grid}")
        for name in ("epochs", "batch_size", "width", "layers", "heads", "max_length"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1; got {getattr(self, name)}")
        if self.width % self.heads:
            raise ConfigError(f"width ({self.width}) must divide by heads ({self.heads})")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be > 0; got {self.lr}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1); got {self.dropout}")


def _dataset(spec: dict[str, Any]):
    from rsbench.data import load_dataset

    return load_dataset(spec["name"], {k: v for k, v in spec.items() if k != "name"})


def _features(records, tokens, console: Console, what: str, batch: int = 256):
    """Pooled embeddings and patch tokens of every record's image (float16), in order."""
    import torch

    pooled, patches = [], []
    for start in range(0, len(records), batch):
        p, t = tokens.of_files([r.image for r in records[start:start + batch]])
        pooled.append(p.half().cpu())
        patches.append(t.half().cpu())
    console.log(f"image tokens of {len(records):,} {what} images")
    return torch.cat(pooled), torch.cat(patches)


def _pairs(records, vocabulary, max_length: int):
    """(image index, padded token ids) for every caption of every record."""
    import torch

    from rsbench.captioning.tiny import PAD

    index, rows = [], []
    for i, record in enumerate(records):
        for caption in record.captions:
            ids = vocabulary.encode(caption, max_length)
            rows.append(ids + [PAD] * (max_length - len(ids)))
            index.append(i)
    return torch.tensor(index), torch.tensor(rows)


def _loss(decoder, features, index, ids):
    import torch.nn.functional as F

    from rsbench.captioning.tiny import PAD

    pooled, patches = features
    ids = ids[:, : int((ids != PAD).sum(dim=1).max())]  # drop the columns that are padding in every row
    logits = decoder(decoder.memory(pooled[index], patches[index]), ids[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), ignore_index=PAD)


def _mean_loss(decoder, features, index, ids, batch: int = 512) -> float:
    import torch

    decoder.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(index), batch):
            n = min(batch, len(index) - start)
            total += float(_loss(decoder, features, index[start:start + n], ids[start:start + n])) * n
            count += n
    return total / count


def train_captioner(recipe: CaptionerRecipe, out_dir: Path, console: Console, device: str = "cpu") -> dict[str, Any]:
    """Train as ``recipe`` says; write the captioner file and its card (.md, .json); return the card."""
    import torch

    from rsbench.captioning.quality import require_scorers
    from rsbench.captioning.tiny import (
        CARD_FILE,
        CARD_JSON,
        WEIGHTS_FILE,
        CaptionDecoder,
        DecoderShape,
        Vocabulary,
        backbone_identity,
        image_tokens_for,
        save_captioner,
    )
    from rsbench.results.record import package_versions, write_text_atomically
    from rsbench.runtime import device_label

    require_scorers()  # the card's scores need them: fail before training, not after
    started = time.perf_counter()
    torch.manual_seed(recipe.seed)
    corpus = _dataset(recipe.dataset)
    train, val = corpus.split("train"), corpus.split("val")
    if not train or not val:
        raise RsbenchError(f"the corpus {corpus.name} needs a train and a val split; it has {corpus.split_sizes()}")
    identity = backbone_identity()
    tokens = image_tokens_for(identity, device)
    console.log(f"training the tiny captioner on {corpus.name} ({len(train):,} train / {len(val):,} val images), "
                f"over the frozen image tower of {identity['name']} / {identity['pretrained']}")
    vocabulary = Vocabulary.from_captions(c for r in train for c in r.captions)
    features = {"train": _features(train, tokens, console, "train"), "val": _features(val, tokens, console, "val")}
    features = {k: tuple(x.to(device) for x in v) for k, v in features.items()}
    pairs = {"train": _pairs(train, vocabulary, recipe.max_length), "val": _pairs(val, vocabulary, recipe.max_length)}
    pairs = {k: tuple(x.to(device) for x in v) for k, v in pairs.items()}
    pooled, patches = features["train"]
    shape = DecoderShape(len(vocabulary), recipe.width, recipe.layers, recipe.heads, recipe.max_length,
                         patches.shape[-1], pooled.shape[-1], recipe.memory_grid)
    decoder = CaptionDecoder(shape, recipe.dropout).to(device)
    decay = [p for n, p in decoder.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    rest = [p for n, p in decoder.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}], lr=recipe.lr)
    n_pairs = len(pairs["train"][0])
    per_epoch = math.ceil(n_pairs / recipe.batch_size)
    total, warmup = per_epoch * recipe.epochs, max(1, int(recipe.warmup_ratio * per_epoch * recipe.epochs))

    def lr_at(step: int) -> float:  # linear warm-up, then cosine to zero
        if step < warmup:
            return recipe.lr * (step + 1) / warmup
        return 0.5 * recipe.lr * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    history = [{"epoch": 0, "val_loss": _mean_loss(decoder, features["val"], *pairs["val"])}]
    console.log(f"{n_pairs:,} caption pairs, vocabulary {len(vocabulary)} tokens, "
                f"{sum(p.numel() for p in decoder.parameters()):,} parameters; val loss {history[0]['val_loss']:.3f}")
    generator = torch.Generator().manual_seed(recipe.seed)
    step, train_start = 0, time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        decoder.train()
        order = torch.randperm(n_pairs, generator=generator).to(device)
        running = 0.0
        for start in range(0, n_pairs, recipe.batch_size):
            batch = order[start:start + recipe.batch_size]
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            loss = _loss(decoder, features["train"], pairs["train"][0][batch], pairs["train"][1][batch])
            if not torch.isfinite(loss):
                raise RsbenchError(f"the captioner's loss is {float(loss)} at step {step}; lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0)
            optimizer.step()
            running += loss.item() * len(batch)
            step += 1
        val_loss = _mean_loss(decoder, features["val"], *pairs["val"])
        history.append({"epoch": epoch, "train_loss": running / n_pairs, "val_loss": val_loss})
        console.log(f"epoch {epoch}/{recipe.epochs}: train loss {running / n_pairs:.3f}, val loss {val_loss:.3f}")
    train_seconds = time.perf_counter() - train_start

    out_dir.mkdir(parents=True, exist_ok=True)
    weights = save_captioner(decoder, vocabulary, identity, out_dir / WEIGHTS_FILE)
    if weights.stat().st_size > MAX_BYTES:
        weights.unlink()
        raise RsbenchError(f"the captioner is {weights.stat().st_size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} "
                           f"MB a shipped file may take; choose a smaller --set width or layers")
    quality = score_file(weights, recipe.eval_dataset, device, console)
    from rsbench.safe_load import file_sha256

    card = {
        "model": {"format": "rsbench-tiny-captioner", "weights": weights.name, "sha256": file_sha256(weights),
                  "bytes": weights.stat().st_size, "dtype": "float16", "shape": asdict(shape),
                  "parameters": sum(p.numel() for p in decoder.parameters()), "backbone": identity},
        "data": {"corpus": corpus.name, "synthetic": True, "content_hash": corpus.content_hash(),
                 "options": recipe.dataset, "train_images": len(train), "train_pairs": n_pairs,
                 "vocabulary": len(vocabulary)},
        "training": {"recipe": asdict(recipe), "steps": step, "history": history, "train_seconds": train_seconds,
                     "wall_seconds": time.perf_counter() - started, "device": device_label(torch.device(device))},
        "quality": quality,
        "env": package_versions() | {"torch": torch.__version__},
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_text_atomically(out_dir / CARD_JSON, json.dumps(card, indent=2) + "\n")
    write_text_atomically(out_dir / CARD_FILE, card_markdown(card))
    return card


def score_file(weights: Path, dataset: dict[str, Any], device: str, console: Console,
               split: str = "test") -> dict[str, Any]:
    """BLEU and CIDEr-D of the file's greedy captions on ``dataset``'s ``split``, loaded as a user loads it."""
    from rsbench.captioning.config import TinyCaptionerConfig
    from rsbench.captioning.quality import caption_quality
    from rsbench.captioning.tiny import TinyCaptioner

    ds = _dataset(dataset)
    records = ds.split(split)
    captioner = TinyCaptioner(TinyCaptionerConfig(weights=str(weights), variants=1))
    hypotheses = [c[0] if c else "" for start in range(0, len(records), 64)
                  for c in captioner.write([r.image for r in records[start:start + 64]], device)]
    scores = caption_quality(hypotheses, [r.captions for r in records])
    console.log(f"{ds.name} {split}: BLEU-4 {scores['bleu4']:.3f}, CIDEr-D {scores['cider']:.3f} "
                f"({len(records)} images, greedy captions against the dataset's captions)")
    examples = [{"image_id": r.image_id, "caption": h, "reference": r.captions[0]}
                for r, h in list(zip(records, hypotheses, strict=True))[:5]]
    return {"dataset": ds.name, "synthetic": ds.synthetic, "split": split, "options": dataset,
            "content_hash": ds.content_hash(), **scores, "examples": examples}


def card_markdown(card: dict[str, Any]) -> str:
    m, d, t, q = card["model"], card["data"], card["training"], card["quality"]
    r = t["recipe"]
    last = t["history"][-1]
    examples = "\n".join(f"| `{e['image_id']}` | {e['caption']} | {e['reference']} |" for e in q["examples"])
    return f"""# rsbench-tiny-captioner

A small **generative** captioner ({m['parameters']:,} parameters: a {m['shape']['layers']}-layer transformer
decoder, width {m['shape']['width']}, over the frozen image tokens of `{m['backbone']['name']}` /
`{m['backbone']['pretrained']}`) trained by `rsbench pretrain-captioner` on **synthetic data only**: the training
split of {d['corpus']} ({d['train_images']:,} images, {d['train_pairs']:,} captions, content hash
`{d['content_hash']}`), the corpus the shipped tiny CLIP was pretrained on. It never saw SynthRS. Its vocabulary
is that corpus's {d['vocabulary'] - 4} words, so it describes objects, colours, counts and positions and never
names a scene. It exists so that text-to-text retrieval (`--captioner tiny`) runs offline; it knows nothing
about real imagery.

- Weights: `{m['weights']}`, {m['dtype']}, {m['bytes'] / 1e6:.2f} MB, sha256 `{m['sha256']}`
- Reads the image tokens of backbone weights sha256 `{m['backbone']['sha256']}` (refused with other weights)
- Training: seed {r['seed']}, {r['epochs']} epochs, batch {r['batch_size']}, lr {r['lr']}, {t['steps']:,} steps,
  {t['train_seconds'] / 60:.1f} min on {t['device']} (torch {card['env']['torch']}); final train loss
  {last.get('train_loss', float('nan')):.3f}, corpus-val loss {t['history'][0]['val_loss']:.3f} untrained →
  {last['val_loss']:.3f}
- Reproduce: `rsbench pretrain-captioner` (defaults; the full recipe is in `{m['format']}.json`)

## Caption quality on {q['dataset']} {q['split']} (synthetic), greedy captions against its human captions

| images | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | CIDEr-D |
|---|---|---|---|---|---|
| {q['images']} | {q['bleu1']:.3f} | {q['bleu2']:.3f} | {q['bleu3']:.3f} | {q['bleu4']:.3f} | {q['cider']:.3f} |

Scored by {q['scorer']}. SynthRS's captions name the scene ("This is an airport."), which this captioner's
vocabulary cannot; that bounds both scores.

| image | caption | first reference |
|---|---|---|
{examples}
"""
