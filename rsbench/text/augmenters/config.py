"""Config dataclasses of the built-in augmenters: the scene-label prompt (CMER §3.3) and rich captions (generated
captions in training); light, no torch. ``none`` has no options (``NoOptions``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from rsbench.errors import ConfigError


def _check_template(value: str, keys: tuple[str, ...], option: str) -> None:
    for key in keys:
        if "{" + key + "}" not in value:
            raise ConfigError(f"augmenter.{option} must contain {{{key}}}; got {value!r}")
    try:
        value.format(**{key: "x" for key in keys})
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"augmenter.{option} {value!r} is not a valid template: only {', '.join('{' + k + '}' for k in keys)} "
            f"may appear in braces (write {{{{ and }}}} for literal braces); {exc!r}"
        ) from None


@dataclass
class SceneConfig:
    """CMER scene-label prompt: the scene class before each caption; queries oracle, predicted or none

    Prepend the scene class to captions as a metadata prompt (CMER Eq. 14); say where queries get theirs.
    """

    template: str = field(
        default="{scene}, {caption}",
        metadata={
            "help": "how the scene words and the caption are joined (CMER Eq. 14: metadata tokens, then the content); "
            "must contain {scene} and {caption}"
        },
    )
    at_eval: Literal["oracle", "predicted", "none"] = field(
        default="oracle",
        metadata={
            "help": "scene of a test query: oracle = its image's true class (an assumption: the CMER paper does not "
            "say where a query's label comes from; records say scene_at_eval, the leaderboard scene@oracle); "
            "predicted = the class whose prompt the model's text encoder puts closest to the query; "
            "none = queries unchanged"
        },
    )
    class_prompt: str = field(
        default="a remote sensing image of {scene}",
        metadata={"help": "text each class name is embedded as when at_eval is 'predicted'; must contain {scene}"},
    )
    scene_names: dict[str, str] = field(
        default_factory=dict,
        metadata={"help": "extra class-label -> words entries over the built-in table (e.g. {parking: car park})"},
    )

    def __post_init__(self) -> None:
        _check_template(self.template, ("scene", "caption"), "template")
        _check_template(self.class_prompt, ("scene",), "class_prompt")
        if self.at_eval not in ("oracle", "predicted", "none"):
            raise ConfigError(f"augmenter.at_eval must be 'oracle', 'predicted' or 'none'; got {self.at_eval!r}")
        bad = [k for k, v in self.scene_names.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            raise ConfigError(f"augmenter.scene_names: give non-empty words for {', '.join(map(str, bad))}")


MODES = ("replace", "append", "extra-pair")
VARIANTS = ("random", "first")


@dataclass
class RichCaptionConfig:
    """generated captions (the run's --captioner, cached) replace, extend or add training captions

    Replace, extend or add training captions with the image's generated captions (the run's ``captioner``;
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
