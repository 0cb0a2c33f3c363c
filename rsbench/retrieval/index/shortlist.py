"""Stage-1 recall through an index: each query's top-k gallery items as ``Candidates``.

``exact`` scores blocks of queries against the whole gallery on the strategy's device (never the full
queries x gallery matrix at once); any other registered index (faiss's ``flat``, ``hnsw``, ``ivfpq``, or a
plugin's) is built over the gallery once and searched, for galleries too large for a matrix product per query.
"""

from __future__ import annotations

import torch

from rsbench.errors import RsbenchError
from rsbench.retrieval.scores import Candidates

_CHUNK_ELEMENTS = 1 << 24  # queries x gallery scores per block: 64 MB of float32


def check_candidates(k: int, n_images: int, n_captions: int) -> None:
    """``strategy.candidates`` must fit both galleries, the split's images (text→image) and its captions
    (image→text): a shortlist longer than its gallery is a mistake to report, not to cut silently."""
    if k > min(n_images, n_captions):
        gallery, size = ("images", n_images) if n_images <= n_captions else ("captions", n_captions)
        raise RsbenchError(f"strategy.candidates={k} is larger than the gallery: the evaluation split has {size} "
                           f"{gallery}; set strategy.candidates to at most {size}")


def shortlist(queries: torch.Tensor, gallery: torch.Tensor, k: int, index: str = "exact",
              device: torch.device | str = "cpu", index_options: dict | None = None) -> Candidates:
    """The ``k`` best gallery rows of every query by inner product (cosine: both sides are normalised).

    ``index`` is a registered index name; ``exact`` runs here, on ``device``, any other is built over the
    gallery (on the CPU) with ``index_options`` and searched. ``k`` above the gallery's size is an error.
    """
    if not 1 <= k <= gallery.shape[0]:
        raise RsbenchError(f"a shortlist of k={k} does not fit a gallery of {gallery.shape[0]} items")
    if index != "exact":
        from rsbench.retrieval.index import make_index

        approximate = make_index(index, gallery.shape[1], **(index_options or {}))
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
