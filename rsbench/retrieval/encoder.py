"""The encoder view a retrieval strategy gets of a trained model: normalised global embeddings and, on request,
token-level features in the joint space (image patch tokens; caption word tokens with their mask).

It batches, moves to the device, runs under the run's autocast and ``no_grad``, and returns float32 tensors on
the CPU, L2-normalised along the embedding (tokens each on their own). A view belongs to one state of the
model: it remembers what it encoded, so a strategy and a reranker asking for the same images pay once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from rsbench.data.record import Record


@dataclass
class ImageFeatures:
    """``embeddings`` (N, E); ``tokens`` (N, P, E) patch tokens, or None when not asked for."""

    embeddings: torch.Tensor
    tokens: torch.Tensor | None = None


@dataclass
class TextFeatures:
    """``embeddings`` (M, E); ``tokens`` (M, L, E) and ``mask`` (M, L) of word tokens, or None."""

    embeddings: torch.Tensor
    tokens: torch.Tensor | None = None
    mask: torch.Tensor | None = None


class EncoderView:
    """A trained adapter seen as an encoder of records and strings (``adapter.encode_*_tokens`` for tokens)."""

    def __init__(
        self,
        adapter: Any,
        tokenizer: Callable[[list[str]], torch.Tensor],
        preprocess: Callable[[Any], torch.Tensor],
        device: torch.device,
        autocast: Callable[[], Any],
        batch_size: int,
        num_workers: int = 0,
    ) -> None:
        self.adapter, self.tokenizer, self.preprocess = adapter, tokenizer, preprocess
        self.device, self.autocast, self.batch_size, self.num_workers = device, autocast, batch_size, num_workers
        self._images: dict[tuple[str, ...], ImageFeatures] = {}
        self._texts: dict[tuple[str, ...], TextFeatures] = {}

    def images(self, records: Sequence[Record], tokens: bool = False) -> ImageFeatures:
        """Embeddings (and patch tokens) of the records' images, in evaluation batches."""
        key = tuple(str(r.image) for r in records)
        cached = self._images.get(key)
        if cached is None or (tokens and cached.tokens is None):
            cached = self._images[key] = self._encode_images(records, tokens)
        return cached if tokens else ImageFeatures(cached.embeddings)

    def texts(self, texts: Sequence[str], tokens: bool = False) -> TextFeatures:
        """Embeddings (and word tokens with their mask) of ``texts``, in evaluation batches."""
        key = tuple(texts)
        cached = self._texts.get(key)
        if cached is None or (tokens and cached.tokens is None):
            cached = self._texts[key] = self._encode_texts(texts, tokens)
        return cached if tokens else TextFeatures(cached.embeddings)

    @torch.no_grad()
    def _encode_images(self, records: Sequence[Record], tokens: bool) -> ImageFeatures:
        from torch.utils.data import DataLoader

        from rsbench.train.pairs import EvalImages

        loader = DataLoader(EvalImages(records, self.preprocess), batch_size=self.batch_size,
                            num_workers=self.num_workers)
        pooled, patches = [], []
        with self.autocast():
            for batch in loader:
                batch = batch.to(self.device)
                if tokens:
                    g, t = self.adapter.encode_image_tokens(batch)
                    patches.append(F.normalize(t.float(), dim=-1).cpu())
                else:
                    g = self.adapter.encode_image(batch)
                pooled.append(F.normalize(g.float(), dim=-1).cpu())
        return ImageFeatures(torch.cat(pooled), torch.cat(patches) if tokens else None)

    @torch.no_grad()
    def _encode_texts(self, texts: Sequence[str], tokens: bool) -> TextFeatures:
        pooled, words, masks = [], [], []
        with self.autocast():
            for start in range(0, len(texts), self.batch_size):
                ids = self.tokenizer(list(texts[start : start + self.batch_size])).to(self.device)
                if tokens:
                    g, w, m = self.adapter.encode_text_tokens(ids)
                    words.append(F.normalize(w.float(), dim=-1).cpu())
                    masks.append(m.cpu())
                else:
                    g = self.adapter.encode_text(ids)
                pooled.append(F.normalize(g.float(), dim=-1).cpu())
        if not tokens:
            return TextFeatures(torch.cat(pooled))
        # Captions are short next to the context length: keep only the positions some caption uses.
        mask = torch.cat(masks)
        used = int(mask.any(dim=0).nonzero().max()) + 1
        return TextFeatures(torch.cat(pooled), torch.cat(words)[:, :used], mask[:, :used])
