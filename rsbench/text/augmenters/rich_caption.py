"""Generated captions as training text (the project brief's VLM rich-caption augmenter; issue 12, item 5).

The run's captioner (``--captioner``: a VLM, an endpoint, a captions file, SynthRS's oracle) describes every
training image once, before the first epoch, through the caption cache (``caption_records``): a second run, or
a second build, asks the captioner nothing. During training, with probability ``p``:

- ``replace``: the training caption becomes one of the image's generated caption variants;
- ``append``: the variant is added after the human caption (``separator`` between them; the human caption stays
  a prefix, so CLIP's 77-token cut only ever shortens the generated part);
- ``extra-pair``: human captions are untouched; each epoch, ``round(p * captioned training images)`` images
  drawn from the epoch's rng get one additional (image, variant) pair (a fixed count, so every epoch has the
  same length and the schedule its planned steps).

The variant is drawn per use from the rng ``augment`` is given (``variant: random``) or is the first one.
Queries are never changed (``at_query`` returns the caption) and nothing is captioned at evaluation. An
image whose captioning failed keeps its human captions; the record's ``extra.eval.rich_caption`` counts
those failures and carries the captioner's provenance (captioner, model, oracle flag, prompt and its digest).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from rsbench.data.record import Record
from rsbench.errors import ConfigError
from rsbench.text.augmenters.base import Augmenter
from rsbench.text.augmenters.config import RichCaptionConfig


class RichCaptionAugmenter(Augmenter):
    """Training captions replaced, extended or joined by generated captions; queries unchanged."""

    needs_captioner = True  # the engine refuses a run without --captioner before training

    def __init__(self, config: RichCaptionConfig) -> None:
        self.config = config
        self.generated: dict[str, list[str]] = {}  # image id -> caption variants (captioned images only)
        self.provenance: dict[str, Any] | None = None  # set by prepare_training
        self.images = 0
        self.failures = 0

    def prepare_training(self, records: Sequence[Record], captioner: tuple[str, Any] | None, device: str = "cpu",
                         progress: bool = False) -> None:
        """Caption the training images through the cache (only what the cache lacks reaches the captioner)."""
        from rsbench.captioning import caption_records

        if captioner is None:
            raise ConfigError("augmenter rich-caption trains on generated captions: name a captioner with "
                              "--captioner NAME (rsbench list captioner; oracle on SynthRS)")
        name, options = captioner
        made = caption_records(records, name, options, prompt=self.config.prompt, device=device,
                               batch_size=self.config.caption_batch_size, progress=progress)
        self.generated = {r.image_id: list(v) for r, v in zip(records, made.per_image, strict=True) if v}
        self.images, self.failures, self.provenance = len(records), made.failures, made.provenance

    def variant(self, record: Record, rng: random.Random) -> str | None:
        """One of ``record``'s generated captions (None when it has none: not captioned, or captioning failed)."""
        variants = self.generated.get(record.image_id)
        if not variants:
            return None
        return variants[0] if self.config.variant == "first" else rng.choice(variants)

    def augment(self, caption: str, record: Record, rng: random.Random) -> str:
        if self.config.mode == "extra-pair" or rng.random() >= self.config.p:
            return caption
        generated = self.variant(record, rng)
        if generated is None:  # captioning failed for this image: its human caption stays
            return caption
        return generated if self.config.mode == "replace" else f"{caption}{self.config.separator}{generated}"

    def extra_pairs(self, records: Sequence[Record], rng: random.Random) -> list[tuple[int, str]]:
        if self.config.mode != "extra-pair":
            return []
        captioned = [i for i, r in enumerate(records) if self.generated.get(r.image_id)]
        chosen = sorted(rng.sample(captioned, round(self.config.p * len(captioned))))
        return [(i, self.variant(records[i], rng) or "") for i in chosen]

    def describe_eval(self) -> dict:
        provenance = self.provenance or {}
        prompt = provenance.get("prompt") or {}
        return {"rich_caption": {
            "mode": self.config.mode, "p": self.config.p, "variant": self.config.variant,
            "queries": "unchanged",
            "captioner": provenance.get("captioner"), "model": provenance.get("model"),
            "oracle_captions": provenance.get("oracle"), "prompt": prompt.get("name"),
            "prompt_sha256": prompt.get("digest"),
            "training_images": self.images, "captioned_images": len(self.generated),
            "caption_failures": self.failures,
            "failure_examples": list(provenance.get("failure_examples", [])),
        }}


def build(config: RichCaptionConfig, dataset) -> RichCaptionAugmenter:
    """Generated captions in training (replace, append or extra pair), from the run's captioner; queries unchanged."""
    return RichCaptionAugmenter(config)
