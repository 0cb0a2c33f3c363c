"""The registry factory: build (or reuse) SynthShapes and read it through the ordinary Karpathy loader."""

from __future__ import annotations

import json
from typing import Any

from rsbench.data.karpathy import load_karpathy
from rsbench.data.record import RetrievalDataset
from rsbench.data.synthshapes.build import META, build_synthshapes
from rsbench.data.synthshapes.config import SynthShapesConfig


def load_synthshapes(config: SynthShapesConfig | None = None) -> RetrievalDataset:
    """SynthShapes: procedural still-life sheets with grammar-made captions and no scene labels (built once)."""
    root = build_synthshapes(config)
    return load_karpathy(
        root,
        "dataset.json",
        name="synthshapes",
        scene_rule=None,  # no scene classes: every record's scene is None
        image_dir="images",
        on_bad_image="error",
        check_images=False,  # just painted by us; a missing file is still caught
        synthetic=True,
    )


def load_synthshapes_meta(config: SynthShapesConfig | None = None) -> dict[str, dict[str, Any]]:
    """Per image file name: its background, objects (kind, colour, size, bbox, area, place) and relations."""
    root = build_synthshapes(config)
    return json.loads((root / META).read_text(encoding="utf-8"))["images"]
