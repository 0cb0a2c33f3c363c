"""Config dataclasses of the built-in augmenters: the scene-label prompt (CMER §3.3) and rich captions (generated
captions in training); light, no torch. ``none`` has no options (``NoOptions``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from rsbench.errors import ConfigError
from rsbench.options import Options, option


def _check_template(value: str, keys: tuple[str, ...], option: str) -> None:
    for key in keys:
        if "{" + key + "}" not in value:
            raise ConfigError(f"{option} must contain {{{key}}}; got {value!r}")
    try:
        value.format(**{key: "x" for key in keys})
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"{option} {value!r} is not a valid template: only {', '.join('{' + k + '}' for k in keys)} "
            f"may appear in braces (write {{{{ and }}}} for literal braces); {exc!r}"
        ) from None


@dataclass
class SceneConfig(Options):
    """CMER scene-label prompt: the scene class before each caption; queries oracle, predicted or none

    Prepend the scene class to captions as a metadata prompt (CMER Eq. 14); say where queries get theirs.
    """

    template: str = option(
        "{scene}, {caption}",
        "how the scene words and the caption are joined (CMER Eq. 14: metadata tokens, then the content); "
        "must contain {scene} and {caption}")
    at_eval: Literal["oracle", "predicted", "none"] = option(
        "oracle",
        "scene of a test query: oracle = its image's true class (an assumption: the CMER paper does not "
        "say where a query's label comes from; records say scene_at_eval, the leaderboard scene@oracle); "
        "predicted = the class whose prompt the model's text encoder puts closest to the query; "
        "none = queries unchanged")
    class_prompt: str = option(
        "a remote sensing image of {scene}",
        "text each class name is embedded as when at_eval is 'predicted'; must contain {scene}")
    scene_names: dict[str, str] = option(
        default_factory=dict,
        help="extra class-label -> words entries over the built-in table (e.g. {parking: car park})")

    def validate(self) -> None:
        # templates are checked by formatting them, and a mapping's values are not checked by its annotation
        _check_template(self.template, ("scene", "caption"), "template")
        _check_template(self.class_prompt, ("scene",), "class_prompt")
        bad = [k for k, v in self.scene_names.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            raise ConfigError(f"scene_names must give non-empty words for {', '.join(map(str, bad))}")


@dataclass
class RichCaptionConfig(Options):
    """generated captions (the run's --captioner, cached) replace, extend or add training captions

    Replace, extend or add training captions with the image's generated captions (the run's ``captioner``;
    the shipped ``tiny`` when the run names none)."""

    needs_captioner: ClassVar[bool] = True  # a run that names no captioner gets config.DEFAULT_CAPTIONER

    p: float = option(
        0.5, "chance that a training caption is replaced or extended (replace, append), or share of the "
        "captioned training images that get one extra pair per epoch (extra-pair)", ge=0, le=1)
    mode: Literal["replace", "append", "extra-pair"] = option(
        "replace", "replace = the generated caption instead of the human one; append = human caption, separator, "
        "generated caption; extra-pair = an additional (image, generated caption) training pair")
    prompt: str = option(
        "trsllava", "captioning prompt: trsllava (five structured variants), plain (one sentence) or a prompt file",
        nonempty=True)
    variant: Literal["random", "first"] = option(
        "random", "which of an image's caption variants is used: random = one drawn per use from the training "
        "rng (seeded); first = always the first")
    separator: str = option(" ", "what joins the human and the generated caption (append)")
    caption_batch_size: int = option(8, "images per captioner call", ge=1)
