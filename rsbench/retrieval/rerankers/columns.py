"""Statistics of gallery items (columns) computed from candidate lists alone, in O(Q·K + N) memory.

A reranker that needs, for each gallery item, something over the queries (a softmax's normaliser, a mean of
the best scores, a rank) reads it here from the (Q, K) lists, never from a queries × gallery matrix: an item
is seen only by the queries that list it, which is the candidate-list reading every built-in documents.
"""

from __future__ import annotations

import torch

from rsbench.retrieval.scores import Candidates


def column_sum(lists: Candidates, values: torch.Tensor) -> torch.Tensor:
    """(N,) sum of ``values`` (Q, K) over the queries listing each item; 0 for an item nobody lists."""
    out = torch.zeros(lists.gallery_size, dtype=values.dtype)
    return out.index_add_(0, lists.indices.reshape(-1), values.reshape(-1))


def column_count(lists: Candidates) -> torch.Tensor:
    """(N,) how many queries list each item."""
    return torch.bincount(lists.indices.reshape(-1), minlength=lists.gallery_size)


def column_logsumexp(lists: Candidates, values: torch.Tensor) -> torch.Tensor:
    """(N,) log Σ exp(values) over the queries listing each item; -inf for an item nobody lists."""
    flat, index = values.reshape(-1), lists.indices.reshape(-1)
    peak = torch.full((lists.gallery_size,), float("-inf"), dtype=values.dtype)
    peak = peak.scatter_reduce(0, index, flat, reduce="amax")
    shift = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))  # keeps exp() finite
    total = torch.zeros_like(peak).index_add_(0, index, torch.exp(flat - shift[index]))
    return torch.log(total) + shift


def _by_column(lists: Candidates, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat entry positions sorted by item, then score (best first), then query; and each one's rank in its item."""
    flat, index = values.reshape(-1), lists.indices.reshape(-1)
    order = torch.sort(flat, descending=True, stable=True).indices  # entries are in query order: ties by query
    order = order[torch.sort(index[order], stable=True).indices]
    items = index[order]
    first = torch.ones_like(items, dtype=torch.bool)
    first[1:] = items[1:] != items[:-1]
    starts = torch.cummax(torch.where(first, torch.arange(len(items)), 0), dim=0).values
    return order, torch.arange(len(items)) - starts


def column_ranks(lists: Candidates, values: torch.Tensor) -> torch.Tensor:
    """(Q, K) zero-based rank of each entry among the entries of its item, best first (ties: lower query first)."""
    order, rank = _by_column(lists, values)
    return torch.empty_like(rank).scatter_(0, order, rank).view_as(lists.indices)


def column_top_k_mean(lists: Candidates, values: torch.Tensor, k: int) -> torch.Tensor:
    """(N,) mean of each item's ``k`` best ``values`` among the queries listing it (fewer if fewer list it)."""
    order, rank = _by_column(lists, values)
    kept = rank < k
    index = lists.indices.reshape(-1)[order][kept]
    total = torch.zeros(lists.gallery_size, dtype=values.dtype).index_add_(0, index, values.reshape(-1)[order][kept])
    count = torch.bincount(index, minlength=lists.gallery_size)
    return total / count.clamp(min=1)
