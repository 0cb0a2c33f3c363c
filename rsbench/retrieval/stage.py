"""The retrieval stage of an evaluation: the run's strategy, then its reranker, and what the record says of them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rsbench.data.record import Record
from rsbench.retrieval.base import EvalSplit, RetrievalResult
from rsbench.retrieval.encoder import EncoderView
from rsbench.retrieval.scores import Candidates, RetrievalScores


def encoder_view(exp: Any) -> EncoderView:
    """The encoder view of an Experiment's current model, with its device, autocast and batch size."""
    return EncoderView(exp.adapter, exp.backbone.tokenizer, exp.backbone.preprocess_eval, exp.device,
                       exp.autocast, exp.cfg.eval.batch_size, exp.cfg.train.num_workers)


def retrieve(
    exp: Any, records: Sequence[Record], captions: list[str], caption_to_image: list[int]
) -> tuple[RetrievalScores, dict[str, Any]]:
    """Scores of ``exp``'s strategy and reranker on one split, and the record's ``retrieval`` section."""
    from rsbench.retrieval.rerankers.base import RerankContext

    train_records = exp.dataset.split("train")
    captioner = (exp.cfg.name("captioner"), exp.cfg.options("captioner")) if exp.cfg.has("captioner") else None
    split = EvalSplit(records, captions, caption_to_image, train_records, captioner,
                      selection_split(exp, captioner) if getattr(exp.strategy, "needs_selection_split", False)
                      else None)
    encoder = encoder_view(exp)
    result = exp.strategy.retrieve(split, encoder)
    start = time.perf_counter()
    scores = exp.reranker.rerank(result.scores, RerankContext(split, encoder, train_records))
    seconds = {**result.seconds, "rerank": time.perf_counter() - start}
    return scores, describe(exp.cfg.name("strategy"), exp.cfg.name("reranker"), split, result, seconds)


def selection_split(exp: Any, captioner: tuple[str, Any] | None) -> EvalSplit:
    """The run's selection split (``eval.select_on``) with its queries as the augmenter writes them."""
    from rsbench.train.pairs import eval_captions

    records = exp.dataset.split(exp.cfg.eval.select_on)
    exp.augmenter.prepare_queries(records, exp.encode_texts)
    captions, caption_to_image = eval_captions(records, exp.augmenter.at_query)
    return EvalSplit(records, captions, caption_to_image, exp.dataset.split("train"), captioner)


def describe(strategy: str, reranker: str, split: EvalSplit, result: RetrievalResult,
             seconds: dict[str, float]) -> dict[str, Any]:
    """Strategy, reranker, index, K and stage-1 recall@K per direction, seconds per query per stage.

    Seconds per query divide each stage's wall time by every query of both directions (captions and images).
    Stage-1 recall@K is the share of queries whose true match is in the shortlist: the most a rerank can reach.
    """
    from rsbench.metrics import recalls_from_ranks, score_ranks

    queries = split.n_captions + split.n_images
    section: dict[str, Any] = {
        "strategy": strategy,
        "reranker": reranker,
        "index": "dense",  # a strategy that searches an index says which in its info
        "queries": {"t2i": split.n_captions, "i2t": split.n_images},
        "k": None,
        "stage1_recall_at_k": None,
        "seconds_per_query": {stage: s / max(1, queries) for stage, s in seconds.items()},
        **result.info,
    }
    stage1 = result.stage1
    if stage1 is not None:
        i2t, t2i = score_ranks(stage1, split.caption_to_image)
        ks = {d: (v.k if isinstance(v, Candidates) else v.shape[1]) for d, v in stage1.directions().items()}
        section["k"] = ks
        section["stage1_recall_at_k"] = {
            "t2i": recalls_from_ranks(t2i, [ks["t2i"]])[ks["t2i"]],
            "i2t": recalls_from_ranks(i2t, [ks["i2t"]])[ks["i2t"]],
        }
    return section
