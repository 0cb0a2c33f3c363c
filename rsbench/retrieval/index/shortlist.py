"""Stage-1 recall through an index: each query's top-k gallery items as ``Candidates``.

``exact`` scores blocks of queries against the whole gallery on the strategy's device (never the full
queries x gallery matrix at once); ``flat``, ``hnsw`` and ``ivfpq`` build a faiss index over the gallery
once and search it, for galleries too large for a matrix product per query.
"""

from __future__ import annotations

import torch

from rsbench.retrieval.scores import Candidates

_CHUNK_ELEMENTS = 1 << 24  # queries x gallery scores per block: 64 MB of float32


def shortlist(queries: torch.Tensor, gallery: torch.Tensor, k: int, index: str = "exact",
              device: torch.device | str = "cpu") -> Candidates:
    """The ``k`` best gallery rows of every query by inner product (cosine: both sides are normalised)."""
    k = min(k, gallery.shape[0])
    if index != "exact":
        from rsbench.retrieval.index import make_index

        approximate = make_index(index, gallery.shape[1])
        approximate.add(gallery.detach().float().cpu().numpy())
        scores, ids = approximate.search(queries.detach().float().cpu().numpy(), k)
        return Candidates(torch.from_numpy(ids), torch.from_numpy(scores), int(gallery.shape[0]))
    rows = max(1, _CHUNK_ELEMENTS // max(1, gallery.shape[0]))
    gallery_d = gallery.to(device)
    indices, scores = [], []
    for start in range(0, queries.shape[0], rows):
        block = queries[start : start + rows].to(device) @ gallery_d.t()
        values, found = block.topk(k, dim=1)
        indices.append(found.cpu())
        scores.append(values.cpu())
    return Candidates(torch.cat(indices), torch.cat(scores), int(gallery.shape[0]))
