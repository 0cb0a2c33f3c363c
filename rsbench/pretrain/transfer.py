"""Where a pretrained CLIP's zero-shot transfer to a retrieval dataset stops: text tower or image tower.

Zero-shot retrieval works only when both towers carry their pretraining over. ``transfer_report`` measures
each side separately, so a calibration attempt can see which one fails:

- **vocabulary**: the share of the evaluation captions' word tokens that occur anywhere in the pretraining
  corpus's training captions, and the most frequent words that never do. A text tower has never trained
  the embedding of a word it never read: such a word is its random initialisation.
- **known-words zero-shot**: zero-shot mR with every evaluation caption cut down to its corpus words,
  beside the zero-shot mR as is. Equal figures mean the unknown words carry nothing the model can use.
- **word grounding**: for every content word both corpora use (colours, numbers, sides, ...), how well the
  word alone, as a text query, ranks the evaluation images whose captions use it above those whose captions
  do not: the area under the ROC curve (0.5 is chance, 1 perfect). A word the text tower knows can still mean
  nothing on images of another domain; this says whether the shared words carry over.
- **image 1-NN scene accuracy**: each evaluation image takes the scene label of its nearest training image
  under the frozen image embeddings, against chance (one over the number of scenes). A high figure means
  the image tower already tells the scenes apart, with no text involved.

The figures are diagnostics, not a benchmark row: they are not written into result records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console

from rsbench.data.caption_grammar import tokens


def corpus_words(captions: Iterable[str]) -> set[str]:
    """Every word the captions use (the grammar's tokenizer)."""
    return {word for caption in captions for word in tokens(caption)}


def vocabulary_overlap(known: set[str], eval_captions: Sequence[str], top: int = 10) -> dict[str, Any]:
    """How much of ``eval_captions``' wording the corpus words ``known`` cover, in word tokens and word types."""
    counts = Counter(word for caption in eval_captions for word in tokens(caption))
    total = sum(counts.values())
    unseen = Counter({word: n for word, n in counts.items() if word not in known})
    return {
        "corpus_words": len(known),
        "eval_words": len(counts),
        "eval_words_unseen": len(unseen),
        "eval_tokens_seen_pct": 100.0 * (total - sum(unseen.values())) / total if total else 0.0,
        "top_unseen": [[word, n] for word, n in unseen.most_common(top)],
    }


# Words that say nothing about an image by themselves; grounding is measured on the others.
FUNCTION_WORDS = frozenset(
    "a an the is are be was were of in on at to and or with by from as into onto it its this that these those "
    "there here has have had we can see some each".split()
)


def grounding_auc(scores: Sequence[float], present: Sequence[bool]) -> float:
    """Area under the ROC curve of ``scores`` for ``present``: the Mann-Whitney U statistic from ranks (tied
    scores share their mean rank, so a tie between an image with the word and one without counts half)."""
    n_pos = sum(bool(p) for p in present)
    n_neg = len(present) - n_pos
    if len(scores) != len(present):
        raise ValueError(f"grounding_auc: {len(scores)} scores for {len(present)} labels")
    if not n_pos or not n_neg:
        raise ValueError("grounding_auc needs images with and without the word")
    order = sorted(range(len(scores)), key=scores.__getitem__)
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):  # ranks 1..n, ties averaged
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2 + 1
        start = end + 1
    positive_ranks = sum(r for r, p in zip(ranks, present, strict=True) if p)
    return (positive_ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def known_words_only(caption: str, known: set[str]) -> str:
    """The caption reduced to the words in ``known``, in order ("a" when none is left, so it still tokenizes)."""
    return " ".join(word for word in tokens(caption) if word in known) or "a"


def transfer_report(
    weights: str,
    architecture: str,
    corpus: dict[str, Any],
    dataset: dict[str, Any],
    device: str,
    console: Console,
    split: str = "test",
) -> dict[str, Any]:
    """The four measurements above for ``weights`` (a shipped tag or a file) frozen, on ``dataset``'s
    ``split`` (``corpus`` and ``dataset`` are dataset config sections, e.g. ``{"name": "synthshapes"}``)."""
    import torch

    from rsbench.config import build_config
    from rsbench.engine import Experiment, build
    from rsbench.errors import ConfigError
    from rsbench.metrics import retrieval_metrics

    def config(section: dict[str, Any]):
        return build_config(None, {"dataset": section, "backbone": {"name": architecture, "pretrained": weights},
                                   "adapter": {"name": "frozen"}, "sampler": {"name": "batch"},
                                   "augmenter": {"name": "none"}, "device": device})

    corpus_captions = [c for r in build(config(corpus), "dataset").split("train") for c in r.captions]
    exp = Experiment(config(dataset), console)
    exp.adapter.eval()
    encoder = exp.encoder()

    def embed_texts(texts: list[str]) -> torch.Tensor:
        return encoder.texts(texts).embeddings
    records = exp.dataset.split(split)
    if not records:
        splits = sorted({r.split for r in exp.dataset.records})
        raise ConfigError(f"split {split!r} of {exp.dataset.name} has no images; its splits: {', '.join(splits)}")
    captions = [c for r in records for c in r.captions]
    caption_to_image = [i for i, r in enumerate(records) for _ in r.captions]
    images = encoder.images(records).embeddings
    known = corpus_words(corpus_captions)
    as_is = retrieval_metrics(embed_texts(captions) @ images.T, caption_to_image)["mR"]
    cut = [known_words_only(c, known) for c in captions]
    known_only = retrieval_metrics(embed_texts(cut) @ images.T, caption_to_image)["mR"]
    report: dict[str, Any] = {
        "weights": weights,
        "corpus": corpus.get("name"),
        "dataset": exp.dataset.name,
        "split": split,
        "vocabulary": vocabulary_overlap(known, captions),
        "zero_shot_mR": as_is,
        "known_words_mR": known_only,
        "grounding": _grounding(images, records, known, embed_texts),
        "image_scene_1nn_pct": None,
        "scene_chance_pct": None,
    }
    gallery = [r for r in exp.dataset.split("train") if r.scene is not None]
    if gallery and all(r.scene is not None for r in records):
        nearest = (images @ encoder.images(gallery).embeddings.T).argmax(dim=1).tolist()
        hits = sum(gallery[j].scene == r.scene for j, r in zip(nearest, records, strict=True))
        report["image_scene_1nn_pct"] = 100.0 * hits / len(records)
        report["scene_chance_pct"] = 100.0 / len({r.scene for r in gallery})
    return report


def _grounding(images, records, known: set[str], embed_texts, min_images: int = 5, top: int = 5) -> dict[str, Any]:
    """Grounding AUC of every shared content word used by at least ``min_images`` images and missing from as many."""
    said = [{word for caption in r.captions for word in tokens(caption)} for r in records]
    counts = Counter(word for words in said for word in words)
    words = sorted(
        word for word, n in counts.items()
        if word in known and word not in FUNCTION_WORDS and min_images <= n <= len(records) - min_images
    )
    if not words:
        return {"words": 0, "mean_auc": None, "best": [], "worst": []}
    scores = (images @ embed_texts(words).T).T.tolist()  # one row of image scores per word
    aucs = {w: grounding_auc(row, [w in s for s in said]) for w, row in zip(words, scores, strict=True)}
    ranked = sorted(aucs.items(), key=lambda item: item[1], reverse=True)
    return {
        "words": len(aucs),
        "mean_auc": sum(aucs.values()) / len(aucs),
        "best": [[w, a] for w, a in ranked[:top]],
        "worst": [[w, a] for w, a in ranked[::-1][:top]],
    }
