"""Example queries as pictures (CMER Fig. 7-8 style): for a few test captions, the top images with the true
match outlined, written next to the run's record by ``rsbench run --examples N``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from rsbench.retrieval.archive import Hit, contact_sheet
from rsbench.retrieval.scores import Candidates


def ranked_images(t2i: Any, query: int, k: int) -> tuple[list[int], list[float]]:
    """The top ``k`` images of caption ``query`` (dense row or candidate list), best first, ties to the lower id."""
    if isinstance(t2i, Candidates):
        return t2i.indices[query, :k].tolist(), t2i.scores[query, :k].tolist()
    row = t2i[query].float()
    order = sorted(range(len(row)), key=lambda j: (-float(row[j]), j))[:k]
    return order, [float(row[j]) for j in order]


def write_examples(scores: Any, captions: list[str], caption_to_image: list[int], records: list[Any], count: int,
                   out_dir: Path, k: int = 10) -> list[Path]:
    """Contact sheets for ``count`` captions spread evenly over the split; returns their paths."""
    picks = torch.linspace(0, len(captions) - 1, steps=min(count, len(captions))).round().long().tolist()
    written = []
    for n, query in enumerate(dict.fromkeys(picks)):
        ids, values = ranked_images(scores.t2i, query, k)
        truth = records[caption_to_image[query]].image
        hits = [Hit(rank + 1, records[i].image, v) for rank, (i, v) in enumerate(zip(ids, values, strict=True))]
        place = next((h.rank for h in hits if h.path == truth), None)
        title = f"{captions[query]}  [true image: {'rank ' + str(place) if place else 'not in the top ' + str(k)}]"
        written.append(contact_sheet(title, hits, Path(out_dir) / f"query-{n + 1:02d}.png", outlined={truth}))
    return written
