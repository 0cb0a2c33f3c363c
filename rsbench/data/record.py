"""The unit every loader produces: one image with its captions, scene label and split."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Record:
    """One image of a retrieval dataset.

    ``image_id`` is the path relative to the data root (what annotation files name);
    ``image`` the resolved absolute path, always inside the root.
    """

    image: Path
    image_id: str
    captions: tuple[str, ...]
    scene: str | None
    split: str


@dataclass
class RetrievalDataset:
    """All records of a dataset plus the problems its loader found (and what it did about them)."""

    name: str
    root: Path
    records: list[Record]
    synthetic: bool = False
    problems: list[str] = field(default_factory=list)
    # What the loader left out, by reason (empty_captions, images_without_captions, unreadable_images),
    # and how many images the annotation lists in more than one split (kept, but reported): records carry both.
    dropped: dict[str, int] = field(default_factory=dict)
    images_in_several_splits: int = 0
    # Optional query groups for split metrics: family -> image_id -> one label (or None) per caption,
    # e.g. SynthRS's {"object_size": {...}} (small / large / mixed objects described).
    caption_groups: dict[str, dict[str, tuple[str | None, ...]]] = field(default_factory=dict)

    def split(self, name: str) -> list[Record]:
        return [r for r in self.records if r.split == name]

    def split_sizes(self) -> dict[str, int]:
        counts = Counter(r.split for r in self.records)
        return {s: counts.get(s, 0) for s in SPLITS} | {s: n for s, n in counts.items() if s not in SPLITS}

    @property
    def scenes(self) -> list[str]:
        """Sorted scene class names (empty when the dataset has no scene labels)."""
        return sorted({r.scene for r in self.records if r.scene is not None})

    def content_hash(self) -> str:
        """SHA-256 over image ids, captions, scenes and splits: the dataset's identity in a record."""
        h = hashlib.sha256()
        for r in sorted(self.records, key=lambda r: r.image_id):
            h.update(json.dumps([r.image_id, list(r.captions), r.scene, r.split]).encode())
        return h.hexdigest()
