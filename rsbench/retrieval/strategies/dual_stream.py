"""Dual-stream retrieval: independent embeddings, cosine similarity (CLIP's own way)."""

from __future__ import annotations

import time

from rsbench.retrieval.base import EvalSplit, RetrievalResult
from rsbench.retrieval.config import DualStreamConfig
from rsbench.retrieval.encoder import EncoderView
from rsbench.retrieval.scores import RetrievalScores


class DualStream:
    """Embed every image and caption once; score every pair by the cosine of their embeddings."""

    def __init__(self, config: DualStreamConfig) -> None:
        self.config = config

    def retrieve(self, split: EvalSplit, encoder: EncoderView) -> RetrievalResult:
        """A dense captions × images cosine matrix, float32 on the CPU, for both directions."""
        start = time.perf_counter()
        images = encoder.images(split.records).embeddings
        texts = encoder.texts(split.captions).embeddings
        encoded = time.perf_counter()
        similarity = texts @ images.t()
        scored = time.perf_counter()
        return RetrievalResult(
            RetrievalScores.from_similarity(similarity),
            seconds={"encode": encoded - start, "score": scored - encoded},
        )


def build(config: DualStreamConfig) -> DualStream:
    """Cosine similarity of independently encoded images and captions."""
    return DualStream(config)
