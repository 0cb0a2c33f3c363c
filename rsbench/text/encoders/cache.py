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
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rsbench.data.procedural import cache_base

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
            matrix = np.load(path, allow_pickle=False)
            if matrix.shape == (len(texts), encoder.dim) and matrix.dtype == np.float32:
                return torch.from_numpy(matrix), True
        except (OSError, ValueError):
            pass  # unreadable: encode again and replace it
    out = encoder.encode_documents(texts) if role == "document" else encoder.encode_queries(texts)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(temp, "wb") as handle:
            np.save(handle, out.numpy().astype(np.float32), allow_pickle=False)
        temp.replace(path)
    return out, False
