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
    from rsbench.captioning.tiny import CARD_FILE, CARD_JSON, WEIGHTS_FILE, save_captioner
    from rsbench.results.record import write_text_atomically

    require_scorers()  # the card's scores need them: fail before training, not after
    started = time.perf_counter()
    torch.manual_seed(recipe.seed)
    data = _prepare(recipe, device, console)
    decoder = _decoder(recipe, data, device)
    history, steps, train_seconds = _fit(decoder, data, recipe, device, console)
    weights = save_captioner(decoder, data.vocabulary, data.identity, out_dir / WEIGHTS_FILE)
    quality = score_file(weights, recipe.eval_dataset, device, console)
    card = _card(recipe, data, decoder, weights, quality, device, training={
        "recipe": asdict(recipe), "steps": steps, "history": history, "train_seconds": train_seconds,
        "wall_seconds": time.perf_counter() - started})
    write_text_atomically(out_dir / CARD_JSON, json.dumps(card, indent=2) + "\n")
    write_text_atomically(out_dir / CARD_FILE, card_markdown(card))
    return card


@dataclass
class _Prepared:
    """The corpus as the decoder trains on it: frozen image tokens and token ids of every caption, per split."""

    corpus: Any
    identity: dict[str, str]
    vocabulary: Any
    features: dict[str, tuple[Any, Any]]  # split -> (pooled, patches)
    pairs: dict[str, tuple[Any, Any]]  # split -> (image index, token ids)


def _prepare(recipe: CaptionerRecipe, device: str, console: Console) -> _Prepared:
    from rsbench.captioning.tiny import Vocabulary, backbone_identity, image_tokens_for

    corpus = _dataset(recipe.dataset)
    splits = {"train": corpus.split("train"), "val": corpus.split("val")}
    if not splits["train"] or not splits["val"]:
        raise RsbenchError(f"the corpus {corpus.name} needs a train and a val split; it has {corpus.split_sizes()}")
    identity = backbone_identity()
    tokens = image_tokens_for(identity, device)
    console.log(f"training the tiny captioner on {corpus.name} ({len(splits['train']):,} train / "
                f"{len(splits['val']):,} val images), over the frozen image tower of {identity['name']} / "
                f"{identity['pretrained']}")
    vocabulary = Vocabulary.from_captions(c for r in splits["train"] for c in r.captions)
    features = {k: tuple(x.to(device) for x in _features(records, tokens, console, k)) for k, records in splits.items()}
    pairs = {k: tuple(x.to(device) for x in _pairs(records, vocabulary, recipe.max_length))
             for k, records in splits.items()}
    return _Prepared(corpus, identity, vocabulary, features, pairs)


def _decoder(recipe: CaptionerRecipe, data: _Prepared, device: str):
    """The untrained decoder; refused before any training when its file would be over ``MAX_BYTES``."""
    from rsbench.captioning.tiny import CaptionDecoder, DecoderShape

    pooled, patches = data.features["train"]
    shape = DecoderShape(len(data.vocabulary), recipe.width, recipe.layers, recipe.heads, recipe.max_length,
                         patches.shape[-1], pooled.shape[-1], recipe.memory_grid)
    decoder = CaptionDecoder(shape, recipe.dropout).to(device)
    size = 2 * sum(t.numel() for t in decoder.state_dict().values())  # float16 tensors, as save_captioner writes
    if size > MAX_BYTES:
        raise RsbenchError(f"the captioner would be {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB a shipped "
                           f"file may take; choose a smaller --set width or layers")
    return decoder


def _fit(decoder, data: _Prepared, recipe: CaptionerRecipe, device: str,
         console: Console) -> tuple[list[dict[str, float]], int, float]:
    """Teacher forcing with AdamW, linear warm-up then cosine to zero; the loss history, steps and seconds."""
    import torch

    decay = [p for n, p in decoder.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    rest = [p for n, p in decoder.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}], lr=recipe.lr)
    (index, ids), features = data.pairs["train"], data.features["train"]
    n_pairs = len(index)
    total = math.ceil(n_pairs / recipe.batch_size) * recipe.epochs
    warmup = max(1, int(recipe.warmup_ratio * total))
    history = [{"epoch": 0, "val_loss": _mean_loss(decoder, data.features["val"], *data.pairs["val"])}]
    console.log(f"{n_pairs:,} caption pairs, vocabulary {len(data.vocabulary)} tokens, "
                f"{sum(p.numel() for p in decoder.parameters()):,} parameters; val loss {history[0]['val_loss']:.3f}")
    generator = torch.Generator().manual_seed(recipe.seed)
    step, started = 0, time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        decoder.train()
        order = torch.randperm(n_pairs, generator=generator).to(device)
        running = 0.0
        for start in range(0, n_pairs, recipe.batch_size):
            batch = order[start:start + recipe.batch_size]
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, recipe.lr, warmup, total)
            loss = _loss(decoder, features, index[batch], ids[batch])
            if not torch.isfinite(loss):
                raise RsbenchError(f"the captioner's loss is {float(loss)} at step {step}; lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0)
            optimizer.step()
            running += loss.item() * len(batch)
            step += 1
        val_loss = _mean_loss(decoder, data.features["val"], *data.pairs["val"])
        history.append({"epoch": epoch, "train_loss": running / n_pairs, "val_loss": val_loss})
        console.log(f"epoch {epoch}/{recipe.epochs}: train loss {running / n_pairs:.3f}, val loss {val_loss:.3f}")
    return history, step, time.perf_counter() - started


def _lr_at(step: int, lr: float, warmup: int, total: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine to zero at ``total``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    return 0.5 * lr * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def _card(recipe: CaptionerRecipe, data: _Prepared, decoder, weights: Path, quality: dict[str, Any], device: str,
          training: dict[str, Any]) -> dict[str, Any]:
    """The model card: the file, its data, how it trained, how well it captions, and the environment."""
    import torch

    from rsbench.results.record import package_versions
    from rsbench.runtime import device_label
    from rsbench.safe_load import file_sha256

    return {
        "model": {"format": "rsbench-tiny-captioner", "weights": weights.name, "sha256": file_sha256(weights),
                  "bytes": weights.stat().st_size, "dtype": "float16", "shape": asdict(decoder.shape),
                  "parameters": sum(p.numel() for p in decoder.parameters()), "backbone": data.identity},
        "data": {"corpus": data.corpus.name, "synthetic": True, "content_hash": data.corpus.content_hash(),
                 "options": recipe.dataset, "train_images": len(data.features["train"][0]),
                 "train_pairs": len(data.pairs["train"][0]), "vocabulary": len(data.vocabulary)},
        "training": training | {"device": device_label(torch.device(device))},
        "quality": quality,
        "env": package_versions() | {"torch": torch.__version__},
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


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
