"""The registry factory: build (or reuse) SynthRS and read it through the ordinary Karpathy loader."""

from __future__ import annotations

from rsbench.data.karpathy import load_karpathy
from rsbench.data.record import RetrievalDataset
from rsbench.data.scenes import scene_from_prefix
from rsbench.data.synthrs.build import build_synthrs
from rsbench.data.synthrs.config import SynthRSConfig
from rsbench.data.synthrs.sizes import object_size_groups


def load_synthrs(config: SynthRSConfig) -> RetrievalDataset:
    """SynthRS: procedural aerial scenes with grammar-made captions (built once, then cached)."""
    root = build_synthrs(config)
    dataset = load_karpathy(
        root,
        "dataset.json",
        name="synthrs",
        scene_rule=scene_from_prefix,
        image_dir="images",
        on_bad_image="error",
        check_images=False,  # just painted by us; a missing file is still caught
        synthetic=True,
    )
    dataset.caption_groups["object_size"] = object_size_groups(dataset)
    return dataset
