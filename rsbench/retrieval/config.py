"""Config dataclasses of the built-in retrieval strategies (free of torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DualStreamConfig:
    """Encode images and captions independently; cosine similarity of the embeddings."""
