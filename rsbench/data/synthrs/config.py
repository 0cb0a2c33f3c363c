"""Options of SynthRS, the procedural aerial-scene dataset; light (no numpy/PIL) so listing components stays fast."""

from __future__ import annotations

from dataclasses import dataclass

from rsbench.data.config import image_size_option
from rsbench.options import Options, option

# The scene classes, named like RSITMD's file prefixes (`<scene>_<n>.png`). They live here rather than
# in scenes.py so that config validation needs no numpy; tests check the painters cover exactly these.
SCENE_CLASSES: tuple[str, ...] = (
    "airport",
    "baseballfield",
    "beach",
    "bridge",
    "desert",
    "farmland",
    "forest",
    "harbor",
    "industrial",
    "intersection",
    "meadow",
    "parking",
    "playground",
    "pond",
    "residential",
    "river",
    "storagetanks",
)

# RSITMD's official split, 3432/859/452 images.
SPLIT_FRACTIONS: dict[str, float] = {"train": 3432 / 4743, "val": 859 / 4743, "test": 452 / 4743}

MAX_IMAGES = 200_000


@dataclass
class SynthRSConfig(Options):
    """SynthRS: built-in procedural aerial scenes with grammar-made captions (synthetic)

    How many SynthRS images to paint, at which size, from which seed, and where to put them.
    """

    seed: int = option(0, "Seed of the generator; the same seed gives the same files.", ge=0)
    num_images: int = option(
        1600,
        f"Number of images, spread evenly over the {len(SCENE_CLASSES)} scene classes "
        f"(at least {3 * len(SCENE_CLASSES)}, so every class has an image in every split).",
        ge=3 * len(SCENE_CLASSES),  # 3 per scene class, one for each split
        le=MAX_IMAGES,
    )
    image_size: int = image_size_option(64)
    data_root: str = option(
        "",
        "Folder to write the dataset to; empty means the cache, $RSBENCH_CACHE/synthrs/<key> "
        "(or ~/.cache/rsbench/synthrs/<key>).",
    )
