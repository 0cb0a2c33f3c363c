"""The plugin module named by the ``rsbench`` entry point: registers the ``synonym`` augmenter."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from rsbench.data.record import Record
from rsbench.errors import ConfigError
from rsbench.hooks import hookimpl
from rsbench.text.augmenters.base import Augmenter

# Words of aerial-image captions and interchangeable alternatives (all single words so that
# singular/plural handling stays a suffix rule).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "building": ("structure", "edifice"),
    "buildings": ("structures", "edifices"),
    "plane": ("aircraft", "airplane"),
    "planes": ("aircraft", "airplanes"),
    "road": ("street", "lane"),
    "roads": ("streets", "lanes"),
    "car": ("vehicle", "automobile"),
    "cars": ("vehicles", "automobiles"),
    "boat": ("ship", "vessel"),
    "boats": ("ships", "vessels"),
    "trees": ("woods",),
    "big": ("large", "huge"),
    "large": ("big", "huge"),
    "small": ("little", "tiny"),
    "many": ("lots of", "numerous"),
    "several": ("some", "a few"),
    "near": ("next to", "close to", "beside"),
    "beside": ("next to", "near"),
    "green": ("verdant",),
    "house": ("home", "residence"),
    "houses": ("homes", "residences"),
    "river": ("stream",),
    "pond": ("pool",),
    "field": ("meadow",),
    "parked": ("stationed",),
}
WORD = re.compile(r"[A-Za-z]+")


@dataclass
class SynonymConfig:
    """Replace words of training captions with remote-sensing synonyms."""

    probability: float = field(default=0.3, metadata={"help": "chance that each replaceable word is replaced"})
    max_replacements: int = field(default=2, metadata={"help": "at most this many words changed per caption"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ConfigError("augmenter.probability must be in [0, 1]")
        if self.max_replacements < 0:
            raise ConfigError("augmenter.max_replacements must be >= 0")


class SynonymAugmenter(Augmenter):
    def __init__(self, config: SynonymConfig) -> None:
        self.config = config

    def augment(self, caption: str, record: Record, rng: random.Random) -> str:
        budget = self.config.max_replacements

        def replace(match: re.Match) -> str:
            nonlocal budget
            word = match.group(0)
            options = SYNONYMS.get(word.lower())
            if not options or budget == 0 or rng.random() >= self.config.probability:
                return word
            budget -= 1
            choice = rng.choice(options)
            return choice.capitalize() if word[0].isupper() else choice

        return WORD.sub(replace, caption)


def build(config: SynonymConfig, dataset) -> SynonymAugmenter:
    """Replace caption words with remote-sensing synonyms."""
    return SynonymAugmenter(config)


@hookimpl
def register_augmenters(register):
    register("synonym", build, SynonymConfig, "replace caption words with remote-sensing synonyms")
