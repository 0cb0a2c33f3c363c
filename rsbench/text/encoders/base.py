"""The text-encoder contract: strings in, one float32 sentence embedding per string out, in batches.

A text encoder puts queries and documents (human captions, generated captions) in one embedding space so
that text-to-text retrieval can score them by cosine (TRSLLaVA, Xiao et al. 2025). Subclasses encode one
batch; this base class checks the input, batches, and returns float32 CPU tensors, L2-normalised.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F

from rsbench.errors import RsbenchError

Role = Literal["query", "document"]
# What ``describe()`` always holds; backends add their own keys (prompts, library versions, ...).
DESCRIBE_KEYS: tuple[str, ...] = ("name", "model", "weights_sha256", "dim", "normalized")


class TextEncoder(abc.ABC):
    """Maps strings to sentence embeddings: ``encode_queries`` and ``encode_documents`` -> (N, dim) tensors.

    Both return float32 tensors on the CPU, row i the embedding of ``texts[i]``, L2-normalised unless the
    encoder was built with ``normalize=False`` (``describe()["normalized"]`` says which). Queries and
    documents differ only where the model defines a prompt (or a route) for each role. Outputs do not depend
    on how the strings are batched.
    """

    def __init__(self, batch_size: int, normalize: bool = True) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise RsbenchError(f"text encoder batch_size must be an integer >= 1; got {batch_size!r}")
        self.batch_size = batch_size
        self.normalize = normalize

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Width of the embeddings."""

    @abc.abstractmethod
    def embed(self, texts: list[str], role: Role) -> torch.Tensor:
        """Encode one batch (at most ``batch_size`` strings) as ``role``: a (len(texts), dim) tensor."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """Provenance for result records: at least ``name``, ``model`` (id or path), ``weights_sha256`` (None
        when the weights are not a local file), ``dim`` and ``normalized``; JSON values only."""

    @property
    def symmetric(self) -> bool:
        """Whether queries and documents are encoded alike (no prompt or route tells them apart), so one
        encoding of a text serves both roles. False unless a backend knows better."""
        return False

    def encode_queries(self, texts: Sequence[str]) -> torch.Tensor:
        """Embeddings of search queries (the model's query prompt applied, if any)."""
        return self._encode(texts, "query")

    def encode_documents(self, texts: Sequence[str]) -> torch.Tensor:
        """Embeddings of the texts searched over (the model's document prompt applied, if any)."""
        return self._encode(texts, "document")

    def _encode(self, texts: Sequence[str], role: Role) -> torch.Tensor:
        texts = checked_texts(texts, type(self).__name__)
        # Each distinct text once, longest first: batches of similar lengths pad little (outputs do not depend
        # on batching), and repeated captions cost nothing.
        unique = sorted(dict.fromkeys(texts), key=len, reverse=True)
        rows = []
        with torch.no_grad():
            for start in range(0, len(unique), self.batch_size):
                batch = unique[start : start + self.batch_size]
                out = self.embed(batch, role)
                if tuple(out.shape) != (len(batch), self.dim):
                    raise RsbenchError(f"{type(self).__name__} gave embeddings of shape {tuple(out.shape)} for "
                                       f"{len(batch)} texts; expected ({len(batch)}, {self.dim})")
                out = out.detach().float().cpu()
                rows.append(F.normalize(out, dim=-1) if self.normalize else out)
        if not rows:
            return torch.empty(0, self.dim)
        row_of = {text: i for i, text in enumerate(unique)}
        return torch.cat(rows)[torch.tensor([row_of[t] for t in texts], dtype=torch.long)]


def checked_texts(texts: Sequence[str], who: str) -> list[str]:
    """``texts`` as a list of str; a bare string or a non-string item is an error naming the item."""
    if isinstance(texts, str | bytes):
        raise RsbenchError(f"{who} encodes a list of strings, not one string: wrap it as [text]")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise RsbenchError(f"{who}: text {i} is {type(text).__name__} ({text!r:.60}), not a str")
    return texts
