"""Options of SynthShapes, the procedural still-life pretraining corpus; light (no numpy/PIL) so listing stays fast."""

from __future__ import annotations

from dataclasses import dataclass

from rsbench.data.config import image_size_option
from rsbench.errors import ConfigError
from rsbench.options import Options, option

MIN_IMAGES, MAX_IMAGES = 3, 500_000
MAX_CAPTIONS = 10
MAX_SPLIT_FRACTION = 0.45


@dataclass
class SynthShapesConfig(Options):
    """SynthShapes: procedural still-life shapes and objects, no scene labels; pretraining corpus (synthetic)

    How many SynthShapes images to paint, with how many captions, at which size and split, from which seed.
    """

    seed: int = option(0, "Seed of the generator; the same seed gives the same files.", ge=0)
    num_images: int = option(
        10_000,
        f"Number of images ({MIN_IMAGES}-{MAX_IMAGES}); the default gives 30,000 image-text pairs.",
        ge=MIN_IMAGES,  # one image for each split
        le=MAX_IMAGES,
    )
    captions_per_image: int = option(
        3, f"Captions written for each image (1-{MAX_CAPTIONS}), each from what the image shows.", ge=1, le=MAX_CAPTIONS
    )
    image_size: int = image_size_option(64)
    val_fraction: float = option(
        0.05,
        "Share of the images in the val split (at least one image; 0.05 of 10,000 is 500).",
        gt=0,
        le=MAX_SPLIT_FRACTION,
    )
    test_fraction: float = option(
        0.05,
        "Share of the images in the test split (at least one image; the rest is train).",
        gt=0,
        le=MAX_SPLIT_FRACTION,
    )
    overhead_tiles: int = option(
        0,
        "Overhead tiles painted by SynthRS's painters (own seed stream, alt-text captions without "
        "scene names) added to train, as web corpora hold some aerial imagery; at most half of num_images, "
        "so they are at most a third of the pairs. 0: shapes only.",
        ge=0,
    )
    overhead_seed: int = option(
        0, "Seed of the overhead tiles' stream (disjoint from SynthRS's at any seed).", ge=0
    )
    data_root: str = option(
        "",
        "Folder to write the dataset to; empty means the cache, $RSBENCH_CACHE/synthshapes/<key> "
        "(or ~/.cache/rsbench/synthshapes/<key>).",
    )

    def validate(self) -> None:
        if 2 * self.overhead_tiles > self.num_images:
            raise ConfigError(
                f"overhead_tiles ({self.overhead_tiles}) may be at most half of num_images "
                f"({self.num_images}), so that overhead pairs stay a minority (at most a third of the corpus)"
            )
        if self.split_sizes()["train"] < 1:
            raise ConfigError(
                f"val_fraction {self.val_fraction} and test_fraction {self.test_fraction} leave no "
                f"train image out of num_images {self.num_images}; lower the fractions or add images"
            )

    def split_sizes(self) -> dict[str, int]:
        """Images per split: val and test their fractions (rounded, at least one each), train the rest."""
        val = max(1, round(self.num_images * self.val_fraction))
        test = max(1, round(self.num_images * self.test_fraction))
        return {"train": self.num_images - val - test, "val": val, "test": test}
