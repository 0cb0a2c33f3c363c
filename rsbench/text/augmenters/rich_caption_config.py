"""Config of the rich-caption augmenter (generated captions in training); light, no torch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from rsbench.errors import ConfigError

MODES = ("replace", "append", "extra-pair")
VARIANTS = ("random", "first")


@dataclass
class RichCaptionConfig:
    """Replace, extend or add training captions with the image's generated captions (the run's ``captioner``;
    the shipped ``tiny`` when the run names none)."""

    needs_captioner: ClassVar[bool] = True  # a run that names no captioner gets config.DEFAULT_CAPTIONER

    p: float = field(default=0.5, metadata={
        "help": "chance that a training caption is replaced or extended (replace, append), or share of the "
                "captioned training images that get one extra pair per epoch (extra-pair)"})
    mode: Literal["replace", "append", "extra-pair"] = field(default="replace", metadata={
        "help": "replace = the generated caption instead of the human one; append = human caption, separator, "
                "generated caption; extra-pair = an additional (image, generated caption) training pair"})
    prompt: str = field(default="trsllava", metadata={
        "help": "captioning prompt: trsllava (five structured variants), plain (one sentence) or a prompt file"})
    variant: Literal["random", "first"] = field(default="random", metadata={
        "help": "which of an image's caption variants is used: random = one drawn per use from the training "
                "rng (seeded); first = always the first"})
    separator: str = field(default=" ", metadata={"help": "what joins the human and the generated caption (append)"})
    caption_batch_size: int = field(default=8, metadata={"help": "images per captioner call"})

    def __post_init__(self) -> None:
        if isinstance(self.p, bool) or not isinstance(self.p, int | float) or not math.isfinite(self.p) \
                or not 0 <= self.p <= 1:
            raise ConfigError(f"augmenter.p must be a probability in [0, 1]; got {self.p!r}")
        if self.mode not in MODES:
            raise ConfigError(f"augmenter.mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        if self.variant not in VARIANTS:
            raise ConfigError(f"augmenter.variant must be one of {', '.join(VARIANTS)}; got {self.variant!r}")
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ConfigError("augmenter.prompt must name a prompt: trsllava, plain or a prompt file")
        if not isinstance(self.separator, str):
            raise ConfigError(f"augmenter.separator must be a string; got {self.separator!r}")
        if isinstance(self.caption_batch_size, bool) or not isinstance(self.caption_batch_size, int) \
                or self.caption_batch_size < 1:
            raise ConfigError(f"augmenter.caption_batch_size must be an integer >= 1; got {self.caption_batch_size!r}")
