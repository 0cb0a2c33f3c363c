"""The one encoder interface of the evaluation stage, and its implementation over an adapter.

Everything that evaluates or searches sees a model through ``Encoder``: normalised global embeddings of
records' images and of strings and, on request, token-level features in the joint space (image patch
tokens; caption word tokens with their mask), plus the device, the batch size and an identity digest.
The trained adapter of a run, a saved model folder, a training checkpoint and a frozen backbone all become
a ``ModelEncoder`` (rsbench/retrieval/saved_model.py builds the last three), as CLIP_benchmark and MTEB take
any model behind one ``encode`` interface.

A ``ModelEncoder`` batches, moves to the device, runs under the given autocast and ``no_grad``, and returns
float32 tensors on the CPU, L2-normalised along the embedding (tokens each on their own). It belongs to one
state of the model and remembers what it encoded, so a strategy, a reranker and a strategy × reranker grid
asking for the same images or texts pay once; a training run makes a new one at every evaluation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class Encoder(Protocol):
    """What the evaluation stage and search need of a model (see the module text).

    ``images``/``texts`` return normalised float32 CPU features; ``pil_images`` embeds already-opened images
    (an archive folder); ``digest`` identifies the weights and settings behind the embeddings (None when
    unknown); ``tokenizer``/``preprocess`` are the model's own, for callers that build batches themselves.
    """

    device: torch.device
    batch_size: int
    digest: str | None
    tokenizer: Callable[[list[str]], torch.Tensor]
    preprocess: Callable[[Any], torch.Tensor]

    def images(self, records: Sequence[Record], tokens: bool = False) -> ImageFeatures: ...

    def texts(self, texts: Sequence[str], tokens: bool = False) -> TextFeatures: ...

    def pil_images(self, images: Sequence[Any]) -> torch.Tensor: ...


def _no_autocast() -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


class ModelEncoder:
    """An adapter (with its backbone's tokenizer and evaluation transform) as an ``Encoder``.

    ``adapter.encode_image``/``encode_text`` give the global embeddings; ``encode_image_tokens`` and
    ``encode_text_tokens`` the joint-space tokens a strategy may ask for.
    """

    def __init__(
        self,
        adapter: Any,
        tokenizer: Callable[[list[str]], torch.Tensor],
        preprocess: Callable[[Any], torch.Tensor],
        device: torch.device,
        autocast: Callable[[], Any] | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        digest: str | None = None,
    ) -> None:
        self.adapter, self.tokenizer, self.preprocess = adapter, tokenizer, preprocess
        self.device, self.autocast = torch.device(device), autocast or _no_autocast
        self.batch_size, self.num_workers, self.digest = batch_size, num_workers, digest
        self._images: dict[tuple[str, ...], ImageFeatures] = {}
        self._texts: dict[tuple[str, ...], TextFeatures] = {}
        # (what: "images"/"texts", done, total) after every batch, for a progress bar over a long gallery
        self.progress: Callable[[str, int, int], None] | None = None

    @classmethod
    def of(cls, adapter: Any, backbone: Any, device: torch.device, autocast: Callable[[], Any] | None = None,
           batch_size: int = 64, num_workers: int = 0, digest: str | None = None) -> ModelEncoder:
        """The encoder of ``adapter`` over ``backbone`` (its tokenizer and evaluation transform)."""
        return cls(adapter, backbone.tokenizer, backbone.preprocess_eval, device, autocast, batch_size,
                   num_workers, digest)

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
    def pil_images(self, images: Sequence[Any]) -> torch.Tensor:
        """Normalised embeddings of already-opened (PIL) images, in evaluation batches; not remembered."""
        out = []
        with self.autocast():
            for start in range(0, len(images), self.batch_size):
                batch = torch.stack([self.preprocess(image) for image in images[start : start + self.batch_size]])
                out.append(F.normalize(self.adapter.encode_image(batch.to(self.device)).float(), dim=-1).cpu())
        return torch.cat(out)

    def forget(self) -> None:
        """Drop what this encoder remembers (the model changed, or the memory is needed)."""
        self._images.clear()
        self._texts.clear()

    def _report(self, what: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(what, done, total)

    @torch.no_grad()
    def _encode_images(self, records: Sequence[Record], tokens: bool) -> ImageFeatures:
        from torch.utils.data import DataLoader

        from rsbench.data.evaluation import EvalImages

        loader = DataLoader(EvalImages(records, self.preprocess), batch_size=self.batch_size,
                            num_workers=self.num_workers)
        pooled, patches, done = [], [], 0
        with self.autocast():
            for batch in loader:
                done += len(batch)
                self._report("images", done, len(records))
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
                self._report("texts", min(len(texts), start + self.batch_size), len(texts))
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


EncoderView = ModelEncoder  # the name strategies and plugins were written against; the same class
