"""Options of SynthRS, the procedural aerial-scene dataset; light (no numpy/PIL) so listing components stays fast."""

from __future__ import annotations

from dataclasses import dataclass, field

from rsbench.errors import ConfigError

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

MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 512
MAX_IMAGES = 200_000


@dataclass
class SynthRSConfig:
    """SynthRS: built-in procedural aerial scenes with grammar-made captions (synthetic)

    How many SynthRS images to paint, at which size, from which seed, and where to put them.
    """

    seed: int = field(default=0, metadata={"help": "Seed of the generator; the same seed gives the same files."})
    num_images: int = field(
        default=1600,
        metadata={
            "help": f"Number of images, spread evenly over the {len(SCENE_CLASSES)} scene classes "
            f"(at least {3 * len(SCENE_CLASSES)}, so every class has an image in every split)."
        },
    )
    image_size: int = field(
        default=64,
        metadata={"help": f"Side of the square images in pixels ({MIN_IMAGE_SIZE}-{MAX_IMAGE_SIZE}; 64-256 usual)."},
    )
    data_root: str = field(
        default="",
        metadata={
            "help": "Folder to write the dataset to; empty means the cache, $RSBENCH_CACHE/synthrs/<key> "
            "(or ~/.cache/rsbench/synthrs/<key>)."
        },
    )

    def __post_init__(self) -> None:
        for name in ("seed", "num_images", "image_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"synthrs.{name} must be an integer, got {value!r}")
        if self.seed < 0:
            raise ConfigError(f"synthrs.seed must be >= 0, got {self.seed}")
        low = 3 * len(SCENE_CLASSES)
        if not low <= self.num_images <= MAX_IMAGES:
            raise ConfigError(
                f"synthrs.num_images must be between {low} (3 per scene class, one for each split) "
                f"and {MAX_IMAGES}, got {self.num_images}"
            )
        if not MIN_IMAGE_SIZE <= self.image_size <= MAX_IMAGE_SIZE:
            raise ConfigError(
                f"synthrs.image_size must be between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE} pixels, "
                f"got {self.image_size}"
            )
        if not isinstance(self.data_root, str):
            raise ConfigError(
                f"synthrs.data_root must be a path string (or empty for the cache), got {self.data_root!r}"
            )
