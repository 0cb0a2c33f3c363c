"""Dual-stream retrieval: independent embeddings, cosine similarity (CLIP's own way)."""

from __future__ import annotations

import time

from rsbench.retrieval.base import EvalSplit, RetrievalResult
from rsbench.retrieval.encoder import Encoder
from rsbench.retrieval.index.shortlist import check_candidates, shortlist
from rsbench.retrieval.scores import RetrievalScores
from rsbench.retrieval.strategies.config import DualStreamConfig


class DualStream:
    """Embed every image and caption once; score every pair by the cosine of their embeddings."""

    score_kind = "cosine"  # what the scores are (rsbench/retrieval/rerankers/base.py SCORE_KINDS)

    def __init__(self, config: DualStreamConfig) -> None:
        self.config = config

    def check_split(self, n_images: int, n_captions: int) -> None:
        """Options that must fit the evaluated split, checked before any training or encoding."""
        if self.config.candidates is not None:
            check_candidates(self.config.candidates, n_images, n_captions)

    def retrieve(self, split: EvalSplit, encoder: Encoder) -> RetrievalResult:
        """A dense captions × images cosine matrix, float32 on the CPU, for both directions; with
        ``candidates`` K, each query's top K only, found through ``index`` (K above the gallery: an error)."""
        if self.config.candidates is not None:
            check_candidates(self.config.candidates, split.n_images, split.n_captions)  # before any encoding
        start = time.perf_counter()
        images = encoder.images(split.records).embeddings
        texts = encoder.texts(split.captions).embeddings
        encoded = time.perf_counter()
        k, index = self.config.candidates, self.config.index
        if k is None:
            scores = RetrievalScores.from_similarity(texts @ images.t())
        else:
            options = self.config.index_options
            scores = RetrievalScores(t2i=shortlist(texts, images, k, index, encoder.device, options),
                                     i2t=shortlist(images, texts, k, index, encoder.device, options))
        scored = time.perf_counter()
        return RetrievalResult(scores, seconds={"encode": encoded - start, "score": scored - encoded},
                               info={"index": index if k is not None else "dense"})


def build(config: DualStreamConfig) -> DualStream:
    """Cosine similarity of independently encoded images and captions."""
    return DualStream(config)
