"""Which SynthRS captions describe small objects and which large ones, for size-split retrieval metrics.

A caption's label comes from the objects it names (matched by their caption nouns) and the area of
one instance of each, from ``synthrs_meta.json``: ``small`` when every named object is below
``SMALL_AREA_FRACTION`` of the image (2 %: cars, planes, boats, houses, trees ...), ``large`` when
every one is at or above it, ``mixed`` otherwise, and None for captions that name no object ("This is
an airport."). An image takes the label most of its labelled captions share
(``rsbench.metrics.majority_label``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rsbench.data.record import RetrievalDataset
from rsbench.data.synthrs.build import META, SMALL_AREA_FRACTION
from rsbench.data.synthrs.captions import NOUNS

SIZE_LABELS = ("small", "large", "mixed")


def _noun_pattern(kind: str) -> re.Pattern[str]:
    singular, plural = NOUNS[kind]
    return re.compile(rf"\b({re.escape(plural)}|{re.escape(singular)})\b")


PATTERNS = {kind: _noun_pattern(kind) for kind in NOUNS}


def caption_size(caption: str, objects: list[dict]) -> str | None:
    """``small``/``large``/``mixed`` for the objects ``caption`` names, None when it names none."""
    text = caption.lower()
    areas = [o["area_fraction"] for o in objects if o["kind"] in PATTERNS and PATTERNS[o["kind"]].search(text)]
    if not areas:
        return None
    if max(areas) < SMALL_AREA_FRACTION:
        return "small"
    if min(areas) >= SMALL_AREA_FRACTION:
        return "large"
    return "mixed"


def object_size_groups(dataset: RetrievalDataset, meta_path: Path | None = None) -> dict[str, tuple[str | None, ...]]:
    """image_id -> the size label of each of its captions, from the dataset's metadata sidecar."""
    meta = json.loads(Path(meta_path or dataset.root / META).read_text())["images"]
    return {r.image_id: tuple(caption_size(c, meta[Path(r.image_id).name]["objects"]) for c in r.captions)
            for r in dataset.records}

