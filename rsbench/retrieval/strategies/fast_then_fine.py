"""Fast-then-fine retrieval (FTF; Chen et al., arXiv 2604.20429, 2026), as we read it.

Stage 1 (fast, text-agnostic): every image is embedded once, before and independently of any query, and
each query keeps its top-K gallery items by the cosine of global embeddings, in both directions
(``candidates``). Stage 2 (fine): a parameter-free, text-guided interaction between the query's word tokens
and each candidate's patch tokens (both in the joint space: final norm and projection of each tower, see
rsbench/models/joint_tokens.py) scores the K pairs, fused as ``s = s_coarse + fine_weight * s_fine``.

FTF's equations are not public (../shared/papers/METHODS.md), so stage 2 is our reading. With A the
words × patches cosine matrix of one caption and one image (padding, start and end tokens masked out):

- ``words``:    mean over words of the max over patches (every word looks for its region; TGDT sums this,
  SCAN attends softly with a log-sum-exp);
- ``patches``:  mean over patches of the max over words (every region looks for its word);
- ``balanced`` (default): the average of the two. Means, not sums, so a long caption is not favoured
  (TGDT's sum over words is); averaging both directions keeps a caption that names one salient object
  from matching every image that has it ("balanced" in FTF's abstract).

Alternatives we did not build: SCAN's softmax attention (inverse temperature 9, LSE λ 6) and iEBAKER's
Frobenius norm of A fused 0.6/0.4 with the global cosine. The fusion follows TGDT (global + local,
unweighted by default) with a weight to tune on val (Geigle et al. mix 0.5/0.5). A query's true match
outside its K candidates is a miss (rsbench.metrics); the record keeps stage-1 recall@K as the ceiling.
"""

from __future__ import annotations

import time

import torch

from rsbench.fine_scores import fine_scores
from rsbench.retrieval.base import EvalSplit, RetrievalResult
from rsbench.retrieval.encoder import Encoder
from rsbench.retrieval.index.shortlist import check_candidates, shortlist
from rsbench.retrieval.scores import Candidates, RetrievalScores
from rsbench.retrieval.strategies.config import FastThenFineConfig

# Elements per chunk of gathered candidate tokens (queries × K × tokens × E): about 64 MB of float32.
_CHUNK_ELEMENTS = 16_000_000


class FastThenFine:
    """Global recall of K candidates per query, reranked by a parameter-free token interaction."""

    # s_coarse + w * s_fine is a sum of a global cosine and a mean of token cosines: cosine-scale (within
    # [-(1 + w), 1 + w]) and from the same encoder, so rerankers defined on cosines accept it. A QB-Norm bank
    # is scored on the coarse part only (its docstring): an approximation we accept and document.
    score_kind = "cosine"

    def __init__(self, config: FastThenFineConfig) -> None:
        self.config = config

    def check_split(self, n_images: int, n_captions: int) -> None:
        """Options that must fit the evaluated split, checked before any training or encoding."""
        if self.config.candidates is not None:
            check_candidates(self.config.candidates, n_images, n_captions)

    def retrieve(self, split: EvalSplit, encoder: Encoder) -> RetrievalResult:
        cfg, device = self.config, encoder.device
        check_candidates(cfg.candidates, split.n_images, split.n_captions)  # before any encoding
        start = time.perf_counter()
        images = encoder.images(split.records, tokens=True)  # the gallery side: once, whatever the queries
        texts = encoder.texts(split.captions, tokens=True)
        encoded = time.perf_counter()
        t2i = shortlist(texts.embeddings, images.embeddings, cfg.candidates, cfg.index, device, cfg.index_options)
        i2t = shortlist(images.embeddings, texts.embeddings, cfg.candidates, cfg.index, device, cfg.index_options)
        recalled = time.perf_counter()
        assert images.tokens is not None and texts.tokens is not None and texts.mask is not None
        if cfg.fine_weight == 0:
            final = RetrievalScores(t2i=t2i, i2t=i2t)
        else:
            fine_t2i = self._fine(t2i, texts.tokens, texts.mask, images.tokens, text_queries=True, device=device)
            fine_i2t = self._fine(i2t, texts.tokens, texts.mask, images.tokens, text_queries=False, device=device)
            final = RetrievalScores(
                t2i=t2i.rescored(t2i.scores + cfg.fine_weight * fine_t2i),
                i2t=i2t.rescored(i2t.scores + cfg.fine_weight * fine_i2t),
            )
        done = time.perf_counter()
        info = {"candidates": cfg.candidates, "fine_weight": cfg.fine_weight, "interaction": cfg.interaction,
                "index": cfg.index}
        return RetrievalResult(
            final, stage1=RetrievalScores(t2i=t2i, i2t=i2t),
            seconds={"encode": encoded - start, "recall": recalled - encoded, "fine": done - recalled}, info=info,
        )

    def _fine(self, candidates: Candidates, words: torch.Tensor, mask: torch.Tensor, patches: torch.Tensor,
              text_queries: bool, device: torch.device) -> torch.Tensor:
        """Fine scores (Q, K) of each query's candidates; queries are captions or images."""
        k = candidates.k
        per_query = k * max(words.shape[1], patches.shape[1]) * words.shape[-1]
        rows = max(1, _CHUNK_ELEMENTS // max(1, per_query))
        out = []
        for start in range(0, candidates.indices.shape[0], rows):
            index = candidates.indices[start : start + rows]
            if text_queries:  # a caption's words against each candidate image's patches
                w = words[start : start + rows, None].to(device)
                m = mask[start : start + rows, None].to(device)
                p = patches[index].to(device)
            else:  # an image's patches against each candidate caption's words
                w, m = words[index].to(device), mask[index].to(device)
                p = patches[start : start + rows, None].to(device)
            out.append(fine_scores(w, m, p, self.config.interaction).float().cpu())
        return torch.cat(out)


def build(config: FastThenFineConfig) -> FastThenFine:
    """Global top-K recall, then a parameter-free, length-balanced word-patch interaction reranks the K."""
    return FastThenFine(config)
