"""Why clip-bitfit peaks at epoch 1 on SynthRS (issue 24): where its trained biases move the metrics.

Reads a clip-bitfit training checkpoint kept with ``--set train.keep_checkpoint=true`` (README beside this file)
and scores, on val and on a random 289-image sample of train (seed 0), the model of its *last* epoch with its
trained biases kept or reset to the pretrained ones per group: every bias, the text tower's only, the image
tower's only, none (= zero-shot). mR uses rsbench's metrics (pessimistic ties, as every record does). It also
prints the symmetric in-batch InfoNCE loss at the run's fixed temperature on fixed batches of 64 (the training
loss), the mean cosine of an image with its own first caption and with the other images' first captions, and
how many training captions another training image shares word for word.

    PYTHONPATH=$PWD python experiments/bitfit/diagnose.py CHECKPOINT.pt
"""

from __future__ import annotations

import random
import sys
from collections import Counter

import torch
import torch.nn.functional as F

from rsbench.data import load_dataset
from rsbench.metrics import retrieval_metrics
from rsbench.retrieval.saved_model import load_checkpoint_model, model_from_config
from rsbench.train.checkpoint import load_checkpoint

GROUPS = {  # which trained biases to keep; the rest go back to the pretrained values
    "every bias (as trained)": lambda key: True,
    "text tower's only": lambda key: not key.startswith("visual."),
    "image tower's only": lambda key: key.startswith("visual."),
    "none (zero-shot)": lambda key: False,
}


def last_epoch_model(path: str, keep) -> object:
    """The checkpoint's last-epoch model with only the biases ``keep(key)`` accepts trained."""
    model = load_checkpoint_model(path, device="cpu")
    last = load_checkpoint(path)["adapter"]
    zero_shot = model_from_config({**model.config, "adapter": {"name": "frozen"}}, device="cpu")
    pretrained = zero_shot.backbone.model.state_dict()
    with torch.no_grad():
        for name, param in model.adapter.named_parameters():
            if param.requires_grad:
                key = name.removeprefix("model.")
                param.copy_(last[name] if keep(key) else pretrained[key])
    model.adapter.eval()
    return model


def scores(model, records) -> tuple[dict[str, float], float, float, float]:
    """rsbench's R@K/mR on ``records``, the in-batch loss of their first captions (batches of 64), and the mean
    cosine of an image with its own first caption and with the other images' first captions."""
    encoder = model.encoder()
    images = encoder.images(records).embeddings
    captions = [c for r in records for c in r.captions]
    owner = [i for i, r in enumerate(records) for _ in r.captions]
    metrics = retrieval_metrics(encoder.texts(captions).embeddings @ images.T, owner)
    first = encoder.texts([r.captions[0] for r in records]).embeddings
    scale = float(model.adapter.logit_scale)
    losses = []
    for start in range(0, len(records) - 63, 64):
        logits = scale * images[start:start + 64] @ first[start:start + 64].T
        target = torch.arange(64)
        losses.append(float((F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2))
    cosine = images @ first.T
    own = float(cosine.diagonal().mean())
    other = float((cosine.sum() - cosine.diagonal().sum()) / (len(records) * (len(records) - 1)))
    return metrics, sum(losses) / len(losses), own, other


def main(path: str) -> None:
    dataset = load_dataset("synthrs")
    train = [r for r in dataset.records if r.split == "train"]
    shared = Counter(c for r in train for c in set(r.captions))
    n_captions = sum(len(r.captions) for r in train)
    print(f"training captions another training image also has: "
          f"{sum(1 for r in train for c in r.captions if shared[c] > 1) / n_captions:.1%} of {n_captions}")
    samples = {"val": [r for r in dataset.records if r.split == "val"],
               "train (289 at random)": random.Random(0).sample(train, 289)}
    print("| biases trained | split | mR | I→T R@1/5/10 | T→I R@1/5/10 | in-batch loss | cosine own / other |")
    print("|---|---|---|---|---|---|---|")
    for group, keep in GROUPS.items():
        model = last_epoch_model(path, keep)
        for split, records in samples.items():
            m, loss, own, other = scores(model, sorted(records, key=lambda r: r.image_id))
            i2t = "/".join(f"{m[f'i2t_r{k}']:.1f}" for k in (1, 5, 10))
            t2i = "/".join(f"{m[f't2i_r{k}']:.1f}" for k in (1, 5, 10))
            print(f"| {group} | {split} | {m['mR']:.2f} | {i2t} | {t2i} | {loss:.3f} | {own:.3f} / {other:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1])
