"""Sentence embeddings kept on disk, as the caption cache keeps captions: a text list is encoded once per
encoder and role, then read back (``$RSBENCH_CACHE/text-embeddings``, else ``~/.cache/rsbench/text-embeddings``).

An entry is named by a digest of the encoder's ``describe()`` (model, weights digest, prompts, dimension,
normalisation, library version) and the role, and by a digest of the texts in order; it holds one float32
``.npy`` matrix, written atomically and read with ``allow_pickle=False``. A file of the wrong shape is
ignored and written again. Encoders whose ``describe()`` names no local weights (``weights_sha256`` None: an
endpoint whose model may change behind its name) are never cached.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rsbench.atomic import write_atomically
from rsbench.data.procedural import cache_base
from rsbench.safe_load import ArtefactError, read_npy

FOLDER = "text-embeddings"


def entry(encoder: Any, role: str, texts: list[str]) -> Path | None:
    """Where ``texts`` encoded by ``encoder`` as ``role`` are kept; None when the encoder is not cacheable."""
    described = encoder.describe()
    if not described.get("weights_sha256"):
        return None
    model = hashlib.sha256(json.dumps({**described, "role": role}, sort_keys=True, default=str).encode()).hexdigest()
    content = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
    return cache_base(FOLDER) / model[:16] / f"{content[:32]}.npy"


def cached_encode(encoder: Any, texts: list[str], role: str) -> tuple[torch.Tensor, bool]:
    """``texts`` encoded as ``role`` ("query", "document", or "either" for a symmetric encoder), and whether
    they came from the cache."""
    path = entry(encoder, role, texts)
    if path is not None and path.is_file():
        try:
            matrix = read_npy(path, "text embedding cache entry", "it is written again", ndim=2)
            if matrix.shape == (len(texts), encoder.dim) and matrix.dtype == np.float32:
                return torch.from_numpy(np.array(matrix)), True
        except ArtefactError:
            pass  # a damaged entry (a cache, not a user's file): encode again and replace it
    out = encoder.encode_documents(texts) if role == "document" else encoder.encode_queries(texts)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        matrix = out.numpy().astype(np.float32)
        write_atomically(path, lambda handle: np.save(handle, matrix, allow_pickle=False))
    return out, False
