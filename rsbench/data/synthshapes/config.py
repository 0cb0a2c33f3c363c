"""Options of SynthShapes, the procedural still-life pretraining corpus; light (no numpy/PIL) so listing stays fast."""

from __future__ import annotations

from dataclasses import dataclass, field

from rsbench.errors import ConfigError

MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 512
MIN_IMAGES, MAX_IMAGES = 3, 500_000
MAX_CAPTIONS = 10
MAX_SPLIT_FRACTION = 0.45


@dataclass
class SynthShapesConfig:
    """SynthShapes: procedural still-life shapes and objects, no scene labels; pretraining corpus (synthetic)

    How many SynthShapes images to paint, with how many captions, at which size and split, from which seed.
    """

    seed: int = field(default=0, metadata={"help": "Seed of the generator; the same seed gives the same files."})
    num_images: int = field(
        default=10_000,
        metadata={"help": f"Number of images ({MIN_IMAGES}-{MAX_IMAGES}); the default gives 30,000 image-text pairs."},
    )
    captions_per_image: int = field(
        default=3,
        metadata={"help": f"Captions written for each image (1-{MAX_CAPTIONS}), each from what the image shows."},
    )
    image_size: int = field(
        default=64,
        metadata={"help": f"Side of the square images in pixels ({MIN_IMAGE_SIZE}-{MAX_IMAGE_SIZE}; 64-256 usual)."},
    )
    val_fraction: float = field(
        default=0.05,
        metadata={"help": "Share of the images in the val split (at least one image; 0.05 of 10,000 is 500)."},
    )
    test_fraction: float = field(
        default=0.05,
        metadata={"help": "Share of the images in the test split (at least one image; the rest is train)."},
    )
    overhead_tiles: int = field(
        default=0,
        metadata={
            "help": "Overhead tiles painted by SynthRS's painters (own seed stream, alt-text captions without "
            "scene names) added to train, as web corpora hold some aerial imagery; at most half of num_images, "
            "so they are at most a third of the pairs. 0: shapes only."
        },
    )
    overhead_seed: int = field(
        default=0, metadata={"help": "Seed of the overhead tiles' stream (disjoint from SynthRS's at any seed)."}
    )
    data_root: str = field(
        default="",
        metadata={
            "help": "Folder to write the dataset to; empty means the cache, $RSBENCH_CACHE/synthshapes/<key> "
            "(or ~/.cache/rsbench/synthshapes/<key>)."
        },
    )

    def __post_init__(self) -> None:
        for name in ("seed", "num_images", "captions_per_image", "image_size", "overhead_tiles", "overhead_seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"synthshapes.{name} must be an integer, got {value!r}")
        for name in ("seed", "overhead_seed", "overhead_tiles"):
            if getattr(self, name) < 0:
                raise ConfigError(f"synthshapes.{name} must be >= 0, got {getattr(self, name)}")
        if 2 * self.overhead_tiles > self.num_images:
            raise ConfigError(
                f"synthshapes.overhead_tiles ({self.overhead_tiles}) may be at most half of num_images "
                f"({self.num_images}), so that overhead pairs stay a minority (at most a third of the corpus)"
            )
        if not MIN_IMAGES <= self.num_images <= MAX_IMAGES:
            raise ConfigError(
                f"synthshapes.num_images must be between {MIN_IMAGES} (one image for each split) "
                f"and {MAX_IMAGES}, got {self.num_images}"
            )
        if not 1 <= self.captions_per_image <= MAX_CAPTIONS:
            raise ConfigError(
                f"synthshapes.captions_per_image must be between 1 and {MAX_CAPTIONS}, got {self.captions_per_image}"
            )
        if not MIN_IMAGE_SIZE <= self.image_size <= MAX_IMAGE_SIZE:
            raise ConfigError(
                f"synthshapes.image_size must be between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE} pixels, "
                f"got {self.image_size}"
            )
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"synthshapes.{name} must be a number, got {value!r}")
            if not 0 < value <= MAX_SPLIT_FRACTION:
                raise ConfigError(f"synthshapes.{name} must be in (0, {MAX_SPLIT_FRACTION}], got {value}")
        if self.split_sizes()["train"] < 1:
            raise ConfigError(
                f"synthshapes: val_fraction {self.val_fraction} and test_fraction {self.test_fraction} leave no "
                f"train image out of num_images {self.num_images}; lower the fractions or add images"
            )
        if not isinstance(self.data_root, str):
            raise ConfigError(
                f"synthshapes.data_root must be a path string (or empty for the cache), got {self.data_root!r}"
            )

    def split_sizes(self) -> dict[str, int]:
        """Images per split: val and test their fractions (rounded, at least one each), train the rest."""
        val = max(1, round(self.num_images * self.val_fraction))
        test = max(1, round(self.num_images * self.test_fraction))
        return {"train": self.num_images - val - test, "val": val, "test": test}
