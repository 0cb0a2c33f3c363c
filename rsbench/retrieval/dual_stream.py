"""Dual-stream retrieval: independent embeddings, cosine similarity (CLIP's own way)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F

from rsbench.retrieval.config import DualStreamConfig


class DualStream:
    def __init__(self, config: DualStreamConfig) -> None:
        self.config = config

    @torch.no_grad()
    def similarity(
        self,
        adapter,
        image_batches: Iterable[torch.Tensor],
        token_batches: Iterable[torch.Tensor],
        device: torch.device,
        autocast,
    ) -> torch.Tensor:
        """captions x images cosine similarity, computed in float32 on the CPU."""
        images, texts = [], []
        with autocast():
            for batch in image_batches:
                images.append(F.normalize(adapter.encode_image(batch.to(device)).float(), dim=-1).cpu())
            for batch in token_batches:
                texts.append(F.normalize(adapter.encode_text(batch.to(device)).float(), dim=-1).cpu())
        return torch.cat(texts) @ torch.cat(images).t()


def build(config: DualStreamConfig) -> DualStream:
    """Cosine similarity of independently encoded images and captions."""
    return DualStream(config)
