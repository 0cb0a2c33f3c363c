"""The evaluation stage: one evaluator over one encoder interface, with no side effects on its caller.

``evaluate(encoder, split, strategy, reranker)`` runs a strategy, then a reranker, on one evaluation split and
returns an ``Evaluation``: the metrics, the record's ``retrieval`` section and the scores (the rankings).
``evaluate_records`` is the same for a dataset split whose queries an augmenter writes (the scene prompt at
evaluation, say): it builds the selection split first when the strategy chooses something there (hybrid's
weight), then the evaluated split, so what the augmenter reports (the scene prediction accuracy) is the
evaluated split's. Training calls it for model selection on val and for the test figures; ``rsbench eval``
calls it for a saved model, a checkpoint or a frozen backbone. It never imports the engine or the trainer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rsbench.config import RunConfig
from rsbench.data.evaluation import eval_captions
from rsbench.data.record import Record
from rsbench.errors import ConfigError
from rsbench.retrieval.base import EvalSplit, RetrievalResult
from rsbench.retrieval.encoder import Encoder
from rsbench.retrieval.scores import Candidates, RetrievalScores


@dataclass
class Evaluation:
    """What one evaluation found: ``metrics`` (R@K, mR, per-group recalls), ``retrieval`` (the record's
    ``extra.retrieval`` section), the final ``scores`` and the ``split`` they rank, and ``eval`` (what the
    augmenter did to the queries: ``scene_at_eval`` and the like)."""

    metrics: dict[str, Any]
    retrieval: dict[str, Any]
    scores: RetrievalScores
    split: EvalSplit
    eval: dict[str, Any] = field(default_factory=dict)


def check_split_sizes(records: Sequence[Record], *components: Any) -> None:
    """Each component's ``check_split(n_images, n_captions)`` on ``records`` (a shortlist longer than the
    gallery, say): called before any training or encoding, so a mistake costs nothing."""
    n_images, n_captions = len(records), sum(len(r.captions) for r in records)
    for component in components:
        check = getattr(component, "check_split", None)
        if callable(check):
            check(n_images, n_captions)


def check_dataset_fit(dataset: Any, *components: Any) -> None:
    """Each component's ``check_dataset(dataset)`` (the scene augmenter needs scene labels, say): called before
    any training, like ``check_split_sizes``."""
    for component in components:
        check = getattr(component, "check_dataset", None)
        if callable(check):
            check(dataset)


def chooses_on_selection_split(strategy: Any) -> bool:
    """Whether ``strategy`` chooses something on the run's selection split (hybrid's weight when not fixed)."""
    return bool(getattr(strategy, "needs_selection_split", False)) and \
        bool(getattr(strategy, "chooses_on_selection_split", True))


def selection_split(cfg: RunConfig, strategy: Any, trained: bool) -> str | None:
    """The record's ``selected_on``: the selection split when something was chosen there (a trained model's best
    epoch, hybrid's weight), None when nothing was (a frozen backbone or text-to-text under a fixed strategy)."""
    return cfg.eval.select_on if trained or chooses_on_selection_split(strategy) else None


def query_split(records: Sequence[Record], augmenter: Any, encoder: Encoder, *,
                train_records: Sequence[Record] = (), captioner: tuple[str, Any] | None = None,
                select: EvalSplit | None = None) -> EvalSplit:
    """``records`` as an evaluation split, each caption a query as ``augmenter.at_query`` writes it (after its
    ``prepare_queries`` with the encoder's text embeddings: a predicted scene needs the model)."""
    augmenter.prepare_queries(records, lambda texts: encoder.texts(texts).embeddings)
    captions, caption_to_image = eval_captions(records, augmenter.at_query)
    return EvalSplit(records, captions, caption_to_image, train_records, captioner, select)


def evaluate(encoder: Encoder, split: EvalSplit, strategy: Any, reranker: Any, *,
             names: tuple[str, str] = ("dual-stream", "none"),
             groups: Mapping[str, Mapping[str, list[str]]] | None = None) -> Evaluation:
    """Score ``split`` with ``strategy`` then ``reranker`` (``names`` as the record shall call them).

    ``groups`` maps a family of query groups to each image's labels (``dataset.caption_groups``): the metrics
    then add R@K per group (``by_<family>``).
    """
    from rsbench.metrics import grouped_recalls, majority_label, retrieval_metrics
    from rsbench.retrieval.rerankers.base import RerankContext

    result = strategy.retrieve(split, encoder)
    start = time.perf_counter()
    scores = reranker.rerank(result.scores, RerankContext(split, encoder, split.train_records))
    seconds = {**result.seconds, "rerank": time.perf_counter() - start}
    metrics: dict[str, Any] = retrieval_metrics(scores, split.caption_to_image)
    for family, labels in (groups or {}).items():
        per_caption = [label for r in split.records for label in labels[r.image_id]]
        per_image = [majority_label(labels[r.image_id]) for r in split.records]
        metrics[f"by_{family}"] = grouped_recalls(scores, split.caption_to_image, per_caption, per_image)
    section = describe(*names, split, result, seconds, score_kind=getattr(strategy, "score_kind", None))
    return Evaluation(metrics, section, scores, split)


def evaluate_records(encoder: Encoder, records: Sequence[Record], augmenter: Any, strategy: Any, reranker: Any, *,
                     names: tuple[str, str] = ("dual-stream", "none"), train_records: Sequence[Record] = (),
                     captioner: tuple[str, Any] | None = None, select_records: Sequence[Record] | None = None,
                     groups: Mapping[str, Mapping[str, list[str]]] | None = None) -> Evaluation:
    """``evaluate`` on a dataset split whose queries ``augmenter`` writes; ``select_records`` is the selection
    split, given to a strategy that declares ``needs_selection_split`` (and only to it)."""
    select = None
    if getattr(strategy, "needs_selection_split", False) and select_records is not None:
        select = query_split(select_records, augmenter, encoder, train_records=train_records, captioner=captioner)
    split = query_split(records, augmenter, encoder, train_records=train_records, captioner=captioner, select=select)
    evaluation = evaluate(encoder, split, strategy, reranker, names=names, groups=groups)
    evaluation.eval = dict(augmenter.describe_eval())
    return evaluation



def captioner_of(cfg: RunConfig) -> tuple[str, Any] | None:
    """A run's captioner section as ``(name, options)``, or None when it names none."""
    return (cfg.name("captioner"), cfg.options("captioner")) if cfg.has("captioner") else None


def build_evaluation(cfg: RunConfig, augmenter: Any, dataset: Any, splits: set[str],
                     selection: bool | None = None, strategy: Any = None) -> tuple[Any, Any]:
    """The run's strategy and reranker, with what they need checked now, before any training: a captioner
    for a strategy or augmenter that uses generated captions, the reranker defined on the strategy's kind of
    scores (``check_score_kind``), the options that must fit each of ``splits`` of ``dataset``
    (``check_split_sizes``) and the dataset itself (``check_dataset_fit``: scene labels), the strategy's own
    models (``prepare``). ``selection``: whether the run selects on ``eval.select_on`` (it trains); the split is
    then added to ``splits``, as it is when the strategy chooses there (hybrid's weight); None: as ``splits``
    says. ``strategy``: the config's strategy when the caller built it already."""
    from rsbench.retrieval.rerankers.base import check_score_kind

    if getattr(augmenter, "needs_captioner", False) and not cfg.has("captioner"):
        raise ConfigError(f"augmenter {cfg.name('augmenter')} trains on generated captions: name a captioner "
                          f"with --captioner NAME (rsbench list captioner; oracle on SynthRS)")
    strategy = strategy if strategy is not None else cfg.build("strategy")
    if getattr(strategy, "needs_captioner", False) and not cfg.has("captioner"):
        raise ConfigError(f"strategy {cfg.name('strategy')} captions the gallery: name a captioner with "
                          f"--captioner NAME (rsbench list captioner; oracle on SynthRS)")
    if cfg.has("captioner") and any(getattr(c, "needs_captioner", False) for c in (augmenter, strategy)):
        from rsbench.captioning.captions import build_captioner

        build_captioner(cfg.name("captioner"), cfg.options("captioner"))  # a missing file fails now, not later
    reranker = cfg.build("reranker")
    check_score_kind(strategy, reranker, (cfg.name("strategy"), cfg.name("reranker")))  # before any model loads
    if selection is not None and (selection or chooses_on_selection_split(strategy)):
        require_selection_split(dataset, cfg, strategy if not selection else None)
        splits = {*splits, cfg.eval.select_on}
    check_dataset_fit(dataset, augmenter, strategy, reranker)
    for split in sorted(splits):
        check_split_sizes(dataset.split(split), strategy, reranker)
    if callable(getattr(strategy, "prepare", None)):
        strategy.prepare()  # loads what retrieval needs: a bad model folder fails now, not after training
    return strategy, reranker


def require_selection_split(dataset: Any, cfg: RunConfig, chooser: Any = None) -> None:
    """The selection split a run uses (it trains, or ``chooser``, its strategy, chooses there) must have images."""
    split = cfg.eval.select_on
    if dataset.split(split):
        return
    if chooser is not None:
        raise ConfigError(f"strategy {cfg.name('strategy')} chooses its setting on the selection split "
                          f"(eval.select_on={split}) and dataset '{dataset.name}' has no '{split}' images; fix the "
                          f"setting (--set strategy.weight=W) or set eval.select_on to a split it has")
    from rsbench.errors import DataError

    way_out = ("add a val split, or set eval.select_on=test to select the checkpoint on test (the record says so)"
               if split == "val" else f"add a {split} split, or set eval.select_on to a split the dataset has")
    raise DataError(f"dataset '{dataset.name}' has no '{split}' images, and a run that trains selects its "
                    f"checkpoint there; {way_out}. `rsbench data inspect` shows its splits")


def evaluate_config_split(encoder: Encoder, dataset: Any, cfg: RunConfig, augmenter: Any, strategy: Any,
                          reranker: Any, split: str, groups: bool = False) -> Evaluation:
    """``evaluate_records`` on ``split`` of ``dataset`` as the run ``cfg`` evaluates it: its training split for
    query banks, its captioner, its selection split (``eval.select_on``), and with ``groups`` the dataset's
    query groups."""
    return evaluate_records(encoder, dataset.split(split), augmenter, strategy, reranker,
                            names=(cfg.name("strategy"), cfg.name("reranker")), train_records=dataset.split("train"),
                            captioner=captioner_of(cfg), select_records=dataset.split(cfg.eval.select_on),
                            groups=dataset.caption_groups if groups else None)


def describe(strategy: str, reranker: str, split: EvalSplit, result: RetrievalResult,
             seconds: dict[str, float], score_kind: str | None = None) -> dict[str, Any]:
    """Strategy, the kind of its scores (``score_kind``: cosine, sentence-cosine, z-score...; null when the
    strategy does not say), reranker, index, K and stage-1 recall@K per direction, seconds per query per stage.

    Seconds per query divide each stage's wall time by every query of both directions (captions and images).
    Stage-1 recall@K is the share of queries whose true match is in the shortlist: the most a rerank can reach.
    """
    from rsbench.metrics import recalls_from_ranks, score_ranks

    queries = split.n_captions + split.n_images
    section: dict[str, Any] = {
        "strategy": strategy,
        "score_kind": score_kind,
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
