"""Recall@K for text-image retrieval, both ways, under the field's protocol with pessimistic ties.

The similarity matrix is captions × images; every caption has exactly one true image and an
image may have several captions (usually 5; duplicates allowed). A strategy may instead hand back
:class:`~rsbench.retrieval.scores.RetrievalScores`: per direction a dense matrix or top-k candidate
lists. A true match missing from a query's list is a miss at every K (rank ``MISSED``): a
shortlist caps recall at its own recall, it never adds hits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from rsbench.errors import RsbenchError
from rsbench.retrieval.scores import Candidates, RetrievalScores


class NonFiniteSimilarityError(RsbenchError):
    """A similarity matrix holds NaN: the embeddings were not finite (training code turns this into its hint)."""


METRIC_KEYS: tuple[str, ...] = ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "mR")
DEFAULT_KS: tuple[int, ...] = (1, 5, 10)

# Rows per chunk are chosen so one chunk's comparison mask stays near this many elements
# (4 M booleans = 4 MB), whatever the gallery size.
_CHUNK_ELEMENTS = 4_000_000

# Marks an image that has no caption: it has no rank and is left out of image→text recall.
NO_RANK = -1

# The rank of a true match missing from a query's candidate list: above every K, so a miss at every K.
MISSED = 2**62


def ranks(
    similarity: torch.Tensor | np.ndarray,
    caption_to_image: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    chunk_rows: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-based ranks of the true matches: ``(i2t_ranks, t2i_ranks)``, int64 tensors on the CPU.

    ``t2i_ranks[c]`` is the rank of caption ``c``'s image among all images. ``i2t_ranks[i]`` is
    the best rank of any of image ``i``'s captions among all captions, or ``NO_RANK`` (-1) when
    image ``i`` has no caption. Ties are pessimistic: a wrong candidate with a score equal to the
    true one's is counted as ranked in front of it (other true captions of the same image are not
    wrong candidates), so rank = #wrong candidates with score >= the best true score.
    """
    sim, targets = _validated(similarity, caption_to_image)
    n_captions, n_images = sim.shape
    if chunk_rows is not None and chunk_rows < 1:
        raise RsbenchError(f"chunk_rows must be at least 1, got {chunk_rows}")
    rows = chunk_rows or max(1, _CHUNK_ELEMENTS // n_images)

    true_scores = sim[torch.arange(n_captions, device=sim.device), targets]

    # Best score of each image's own captions; images without captions stay at +inf so their
    # comparisons below count nothing of interest (their rank is overwritten with NO_RANK).
    best_true = torch.full((n_images,), float("inf"), dtype=sim.dtype, device=sim.device)
    best_true = best_true.scatter_reduce(0, targets, true_scores, reduce="amax", include_self=False)
    has_caption = torch.zeros(n_images, dtype=torch.bool, device=sim.device)
    has_caption[targets] = True

    t2i = torch.empty(n_captions, dtype=torch.int64, device=sim.device)
    at_least_best = torch.zeros(n_images, dtype=torch.int64, device=sim.device)
    for start in range(0, n_captions, rows):
        block = sim[start : start + rows]
        # Every image scoring >= the true one counts, minus the true image itself.
        t2i[start : start + rows] = (block >= true_scores[start : start + rows, None]).sum(dim=1) - 1
        at_least_best += (block >= best_true[None, :]).sum(dim=0)

    # Own captions that reach the image's best score are true matches, not competitors.
    own_at_best = torch.zeros(n_images, dtype=torch.int64, device=sim.device)
    own_at_best.scatter_add_(0, targets, (true_scores >= best_true[targets]).to(torch.int64))
    i2t = torch.where(has_caption, at_least_best - own_at_best, torch.full_like(at_least_best, NO_RANK))
    return i2t.cpu(), t2i.cpu()


def score_ranks(
    scores: torch.Tensor | np.ndarray | RetrievalScores,
    caption_to_image: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    chunk_rows: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`ranks` of a captions × images matrix, or of a strategy's per-direction scores.

    Dense directions are ranked as by :func:`ranks` (``i2t`` is images × captions); candidate lists by
    :func:`candidate_ranks`, where a true match outside the list gets rank ``MISSED`` (a miss at every K).
    """
    if not isinstance(scores, RetrievalScores):
        return ranks(scores, caption_to_image, chunk_rows=chunk_rows)
    targets = torch.as_tensor(np.asarray(caption_to_image), dtype=torch.int64)
    if isinstance(scores.t2i, Candidates):
        t2i = candidate_ranks(scores.t2i, targets)
    else:
        t2i = ranks(scores.t2i, targets, chunk_rows=chunk_rows)[1]
    if isinstance(scores.i2t, Candidates):
        if scores.i2t.gallery_size != targets.numel():
            raise RsbenchError(f"image→text candidates over {scores.i2t.gallery_size} captions, "
                               f"but caption_to_image names {targets.numel()}")
        i2t = candidate_ranks(scores.i2t, targets, by_owner=True)
    else:
        i2t = ranks(scores.i2t.t(), targets, chunk_rows=chunk_rows)[0]
    return i2t, t2i


def candidate_ranks(candidates: Candidates, targets: torch.Tensor, *, by_owner: bool = False) -> torch.Tensor:
    """Zero-based ranks of the true matches inside top-k lists, with pessimistic ties as in :func:`ranks`.

    Text→image (``by_owner`` False): ``targets[q]`` is query q's one true gallery item. Image→text
    (``by_owner`` True): ``targets[g]`` is the image gallery caption g belongs to, and query q's true items
    are the captions with ``targets[g] == q``; a query with none gets ``NO_RANK``. A query whose true
    items are all missing from its list gets ``MISSED``: a miss at every K (TGDT's evaluator counts
    such a query as a rank-1 hit; we do not).
    """
    indices, scores = candidates.indices.cpu(), candidates.scores.detach().cpu()
    if torch.isnan(scores).any():
        raise RsbenchError("candidate scores contain NaN; check the embeddings for a non-finite value")
    n_queries = indices.shape[0]
    targets = targets.cpu().to(torch.int64)
    if by_owner:
        is_true = targets[indices] == torch.arange(n_queries)[:, None]
        has_true = torch.zeros(n_queries, dtype=torch.bool)
        owners = targets[targets >= 0]
        has_true[owners[owners < n_queries]] = True
    else:
        if targets.numel() != n_queries:
            raise RsbenchError(f"{targets.numel()} true matches for {n_queries} candidate lists")
        is_true = indices == targets[:, None]
        has_true = torch.ones(n_queries, dtype=torch.bool)
    found = is_true.any(dim=1)
    best = torch.where(is_true, scores, torch.full_like(scores, float("-inf"))).amax(dim=1)
    wrong_ahead = ((scores >= best[:, None]) & ~is_true).sum(dim=1)
    out = torch.where(found, wrong_ahead, torch.full_like(wrong_ahead, MISSED))
    return torch.where(has_true, out, torch.full_like(out, NO_RANK))


def recalls_from_ranks(
    ranks: Sequence[int] | np.ndarray | torch.Tensor, ks: Sequence[int] = DEFAULT_KS
) -> dict[int, float]:
    """Recall@K in percent for each K: the share of queries whose zero-based rank is below K.

    Negative ranks (``NO_RANK``: an image with no caption) are left out of the denominator.
    """
    values = torch.as_tensor(np.asarray(ranks) if not isinstance(ranks, torch.Tensor) else ranks).reshape(-1)
    if values.is_floating_point() or values.dtype == torch.bool:
        raise RsbenchError(f"ranks must be integers, got dtype {values.dtype}")
    values = values[values >= 0]
    if values.numel() == 0:
        raise RsbenchError("no ranked queries: recall is undefined for an empty set of queries")
    for k in ks:
        if int(k) < 1:
            raise RsbenchError(f"recall@K needs K >= 1, got {k}")
    total = values.numel()
    return {int(k): 100.0 * int((values < int(k)).sum()) / total for k in ks}


def retrieval_metrics(
    similarity: torch.Tensor | np.ndarray | RetrievalScores,
    caption_to_image: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    chunk_rows: int | None = None,
) -> dict[str, float]:
    """R@1/5/10 image→text and text→image and their mean mR, in percent (not rounded).

    ``similarity`` is captions × images; ``caption_to_image[c]`` is the index of caption ``c``'s
    image. Images with no caption are left out of image→text recall (they have nothing to find)
    but stay in the gallery of text→image retrieval.
    """
    i2t, t2i = score_ranks(similarity, caption_to_image, chunk_rows=chunk_rows)
    i2t_recalls = recalls_from_ranks(i2t, DEFAULT_KS)
    t2i_recalls = recalls_from_ranks(t2i, DEFAULT_KS)
    metrics = {f"i2t_r{k}": i2t_recalls[k] for k in DEFAULT_KS} | {f"t2i_r{k}": t2i_recalls[k] for k in DEFAULT_KS}
    metrics["mR"] = sum(metrics.values()) / len(metrics)
    return metrics


def _validated(similarity: Any, caption_to_image: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The similarity matrix as a real-valued tensor and the targets as int64 on its device."""
    if isinstance(similarity, torch.Tensor):
        sim = similarity.detach()
    else:
        try:
            sim = torch.as_tensor(np.asarray(similarity))
        except (TypeError, ValueError) as exc:
            raise RsbenchError(f"similarity must be a 2-D numeric array, could not convert it: {exc}") from exc
    if sim.dtype == torch.bool or sim.is_complex():
        raise RsbenchError(f"similarity must hold real numbers, got dtype {sim.dtype}")
    if not sim.is_floating_point():
        sim = sim.to(torch.float64)  # integer scores: exact in float64, and comparisons need one dtype
    if sim.dim() != 2:
        raise RsbenchError(f"similarity must be 2-D (captions × images), got shape {tuple(sim.shape)}")
    n_captions, n_images = sim.shape
    if n_captions == 0 or n_images == 0:
        raise RsbenchError(f"similarity is empty (shape {tuple(sim.shape)}): need at least one caption and image")

    if isinstance(caption_to_image, torch.Tensor):
        targets = caption_to_image.detach()
    else:
        try:
            targets = torch.as_tensor(np.asarray(caption_to_image))
        except (TypeError, ValueError) as exc:
            raise RsbenchError(f"caption_to_image must be a sequence of image indices: {exc}") from exc
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise RsbenchError(f"caption_to_image must hold integer image indices, got dtype {targets.dtype}")
    if targets.dim() != 1 or targets.numel() != n_captions:
        raise RsbenchError(
            f"caption_to_image must give one image index per caption: expected shape ({n_captions},) "
            f"for a similarity of shape {tuple(sim.shape)}, got {tuple(targets.shape)}"
        )
    targets = targets.to(device=sim.device, dtype=torch.int64)
    low, high = int(targets.min()), int(targets.max())
    if low < 0 or high >= n_images:
        bad = low if low < 0 else high
        raise RsbenchError(
            f"caption_to_image holds image index {bad}, outside 0..{n_images - 1} (the similarity columns)"
        )

    rows = max(1, _CHUNK_ELEMENTS // n_images)
    for start in range(0, n_captions, rows):  # chunked so the check never materialises a full mask
        nan_rows = torch.isnan(sim[start : start + rows]).any(dim=1).nonzero()
        if nan_rows.numel():
            raise NonFiniteSimilarityError(
                f"similarity contains NaN (first in caption row {start + int(nan_rows[0])}); "
                "check the embeddings for a non-finite value (e.g. a zero vector normalised)"
            )
    return sim, targets


def grouped_recalls(
    similarity: torch.Tensor | np.ndarray | RetrievalScores,
    caption_to_image: Sequence[int] | np.ndarray | torch.Tensor,
    caption_labels: Sequence[str | None],
    image_labels: Sequence[str | None],
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, dict[str, float | int]]:
    """Recall@K within groups of queries, ranked against the whole gallery as usual.

    Text→image recall of group g averages over the captions labelled g; image→text recall over the
    images labelled g (each still searching all captions). Unlabelled (None) queries count in no
    group. Returns ``{label: {"t2i_r1": ..., "i2t_r1": ..., "n_captions": n, "n_images": m}}``.
    """
    if len(caption_labels) != len(caption_to_image):
        raise RsbenchError(f"{len(caption_labels)} caption labels for {len(caption_to_image)} captions")
    i2t, t2i = score_ranks(similarity, caption_to_image)
    if len(image_labels) != len(i2t):
        raise RsbenchError(f"{len(image_labels)} image labels for {len(i2t)} images")
    out: dict[str, dict[str, float | int]] = {}
    for label in sorted({x for x in (*caption_labels, *image_labels) if x is not None}):
        captions = [i for i, x in enumerate(caption_labels) if x == label]
        images = [i for i, x in enumerate(image_labels) if x == label and i2t[i] >= 0]
        entry: dict[str, float | int] = {"n_captions": len(captions), "n_images": len(images)}
        if captions:
            entry |= {f"t2i_r{k}": v for k, v in recalls_from_ranks(t2i[captions], ks).items()}
        if images:
            entry |= {f"i2t_r{k}": v for k, v in recalls_from_ranks(i2t[images], ks).items()}
        out[label] = entry
    return out


def majority_label(caption_labels: Sequence[str | None], tie: str = "mixed") -> str | None:
    """The label most of an image's labelled captions share; ``tie`` on a tie, None when none is labelled."""
    counts = Counter(label for label in caption_labels if label is not None)
    if not counts:
        return None
    (first, n), *rest = counts.most_common()
    return tie if rest and rest[0][1] == n else first
