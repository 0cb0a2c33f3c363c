"""No augmentation: captions are used as annotated."""

from __future__ import annotations

from rsbench.registry import NoOptions
from rsbench.text.augmenters.base import Augmenter


def build(config: NoOptions, dataset) -> Augmenter:
    """Captions as annotated."""
    return Augmenter()
