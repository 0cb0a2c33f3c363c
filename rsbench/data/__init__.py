"""Datasets: records of (image, captions, scene, split) read from the public annotation formats."""

from __future__ import annotations

from typing import Any

from rsbench.data.record import Record, RetrievalDataset

__all__ = ["Record", "RetrievalDataset", "load_dataset"]


def load_dataset(name: str, options: dict[str, Any] | None = None) -> RetrievalDataset:
    """Build a registered dataset by name with config options given as a dict (validated):
    ``rsbench.components.build("dataset", ...)`` under its older name."""
    from rsbench.components import build

    return build("dataset", {**(options or {}), "name": name})
