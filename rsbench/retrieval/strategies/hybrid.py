"""``hybrid``: text-to-text and dual-stream scores, fused. No published system combines them; this is ours.

Each matrix is standardised over all its entries (zero mean, unit variance: sentence-encoder cosines and CLIP
cosines live on different scales), then ``s = (1 - w) · z(dual-stream) + w · z(text-to-text)`` in each
direction. ``w = 0`` is dual-stream's ranking, ``w = 1`` text-to-text's (tests pin both). With ``weight`` null, w
is chosen on the run's selection split (val) from ``weight_grid``, by mR, ties to the smaller w (the less
text-to-text), at every evaluation, since the trained model changes between epochs; the record carries the
chosen w and every tried w's val mR.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from rsbench.errors import RsbenchError
from rsbench.retrieval.base import EvalSplit, RetrievalResult
from rsbench.retrieval.encoder import Encoder
from rsbench.retrieval.scores import RetrievalScores
from rsbench.retrieval.strategies.config import HybridConfig
from rsbench.retrieval.strategies.text_to_text import TextToText


def standardise(scores: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance over every entry (a constant matrix becomes zeros)."""
    centred = scores - scores.mean()
    std = centred.std()
    return centred / std if std > 0 else centred


def fuse(dual: torch.Tensor, text: torch.Tensor, weight: float) -> torch.Tensor:
    return (1 - weight) * standardise(dual.float()) + weight * standardise(text.float())


class Hybrid:
    """Dual-stream cosine and text-to-text scores, standardised and mixed with weight w (chosen on val)."""

    needs_captioner = True
    needs_selection_split = True
    score_kind = "z-score"  # standardised mixtures: zero mean, unit variance, no longer cosines

    def __init__(self, config: HybridConfig) -> None:
        self.config = config
        self.text = TextToText(config)

    @property
    def chooses_on_selection_split(self) -> bool:
        """Whether the weight is chosen on the selection split (not fixed by ``weight``): a run without training
        then still selects something, and needs that split."""
        return self.config.weight is None

    def prepare(self) -> None:
        self.text.prepare()

    def components(self, split: EvalSplit, encoder: Encoder) -> tuple[dict[str, torch.Tensor],
                                                                           dict[str, torch.Tensor], dict[str, Any],
                                                                           dict[str, float]]:
        """Per direction, the dual-stream and the text-to-text score matrices; text-to-text's info; the seconds."""
        start = time.perf_counter()
        images = encoder.images(split.records).embeddings.float().cpu()
        texts = encoder.texts(split.captions).embeddings.float().cpu()
        dual = texts @ images.t()
        clip_seconds = time.perf_counter() - start
        t2i, i2t, info, seconds = self.text.similarity(split, str(encoder.device))
        seconds["encode"] += clip_seconds
        return {"t2i": dual, "i2t": dual.t()}, {"t2i": t2i, "i2t": i2t}, info, seconds

    def choose_weight(self, split: EvalSplit, encoder: Encoder) -> tuple[float, dict[str, float]]:
        """The grid's w with the best mR on the selection split (ties: the smaller w), and every w's mR."""
        from rsbench.metrics import retrieval_metrics

        if split.select is None:
            raise RsbenchError("strategy hybrid chooses its weight on the run's selection split, and none was "
                               "given; fix it with --set strategy.weight=W")
        dual, text, _, _ = self.components(split.select, encoder)
        tried: dict[str, float] = {}
        for w in sorted(float(w) for w in self.config.weight_grid):
            scores = RetrievalScores(t2i=fuse(dual["t2i"], text["t2i"], w), i2t=fuse(dual["i2t"], text["i2t"], w))
            tried[format(w, "g")] = retrieval_metrics(scores, split.select.caption_to_image)["mR"]
        best = max(tried.values())
        return next(float(w) for w, m in tried.items() if m == best), tried

    def retrieve(self, split: EvalSplit, encoder: Encoder) -> RetrievalResult:
        start = time.perf_counter()
        if self.config.weight is not None:
            weight, tried = float(self.config.weight), {}
        else:
            weight, tried = self.choose_weight(split, encoder)
        chosen = time.perf_counter()
        dual, text, info, seconds = self.components(split, encoder)
        fused = time.perf_counter()
        scores = RetrievalScores(t2i=fuse(dual["t2i"], text["t2i"], weight),
                                 i2t=fuse(dual["i2t"], text["i2t"], weight))
        seconds = {"choose": chosen - start, **seconds, "score": time.perf_counter() - fused}
        info = {**info, "hybrid_weight": weight, "weight_chosen_on": "fixed" if not tried else "select split",
                "weight_grid_mR": tried}
        return RetrievalResult(scores, seconds=seconds, info=info)


def build(config: HybridConfig) -> Hybrid:
    """Text-to-text and dual-stream scores, standardised and mixed with a weight chosen on val."""
    return Hybrid(config)
