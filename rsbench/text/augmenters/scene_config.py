"""Config of the scene-label prompt augmenter (CMER §3.3); light, no torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
    """Prepend the scene class to captions as a metadata prompt (CMER Eq. 14); say where queries get theirs."""

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
