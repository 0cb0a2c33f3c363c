"""How close generated captions come to a dataset's own captions: BLEU-1..4 and CIDEr-D, the COCO caption metrics.

The scorers are pycocoevalcap's pure-Python ones (``Bleu(4)``, ``Cider``: the COCO caption evaluation code,
Vedantam et al. 2015 for CIDEr-D). COCO's Java PTB tokenizer is replaced by the same lower-casing word split the
tiny captioner uses (letters and digits; punctuation dropped), so no Java is needed; figures are comparable
between captioners scored here, not with published COCO numbers. One hypothesis per image: the first variant a
captioner wrote (the greedy one for ``tiny``). Images with no caption are scored as an empty hypothesis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rsbench.errors import RsbenchError

TOKEN = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> str:
    return " ".join(TOKEN.findall(text.lower()))


def require_scorers() -> None:
    """RsbenchError now, not after a training, when pycocoevalcap is missing."""
    try:
        import pycocoevalcap.bleu.bleu  # noqa: F401
        import pycocoevalcap.cider.cider  # noqa: F401
    except ImportError as exc:
        raise RsbenchError("caption quality needs pycocoevalcap: pip install 'rsbench[captions]'") from exc


def caption_quality(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, Any]:
    """``{"bleu1".."bleu4", "cider", "images"}`` of one hypothesis per image against that image's references."""
    require_scorers()
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider

    if len(hypotheses) != len(references) or not hypotheses:
        raise RsbenchError(f"caption quality needs one hypothesis per image and at least one image; got "
                           f"{len(hypotheses)} hypotheses for {len(references)} images")
    if any(not refs for refs in references):
        raise RsbenchError("caption quality needs at least one reference caption for every image")
    # pycocoevalcap wants one non-empty string per hypothesis; an empty caption scores as a single unknown word.
    res = {i: [normalise(h) or "<empty>"] for i, h in enumerate(hypotheses)}
    gts = {i: [normalise(r) for r in refs] for i, refs in enumerate(references)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    return {**{f"bleu{n + 1}": float(b) for n, b in enumerate(bleu)}, "cider": float(cider), "images": len(res),
            "scorer": "pycocoevalcap Bleu(4), Cider (CIDEr-D); rsbench tokenisation"}
