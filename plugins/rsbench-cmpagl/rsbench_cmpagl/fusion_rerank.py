"""The ``fusion-rerank`` strategy: CMPAGL's fusion stage, and the field's single-stream family, as a rerank of the
dual-stream ranking.

Stage 1: cosine of the global embeddings, each query's top ``candidates`` (K) in both directions (the record keeps
this shortlist and its recall@K, the ceiling of stage 2; a true match outside it is a miss). Stage 2: a small fusion
encoder (fusion_encoder.py: caption tokens cross-attend to image tokens, "align before fuse") with an ITM head
scores the K pairs; final score = cosine + ``fusion_weight`` · sigmoid(ITM logit).

Where the fusion encoder trains. CMPAGL trains its fusion half of BERT jointly with the pre-alignment losses
(ITC, triplet), MLM and ITM. In rsbench only the adapter's parameters reach the optimiser, and a loss sees
embeddings (and tokens), not the adapter, so an ITM head cannot be trained by the trainer without a change to
rsbench's contract. Our choice: **fit the fusion encoder inside the strategy**, at every evaluation, on the
training split's token features of the model as it then is (``split.train_records``; never on the evaluated
split's captions), for ``epochs`` epochs on hard negatives mined from each batch's cosines, with its own seed
(the run's RNGs are left untouched, so a run's training does not depend on this strategy). The fusion encoder
is thus trained after, and on top of, the pre-aligned features: align, then fuse, in two steps rather than one
joint objective; it costs one pass over the training images per evaluation and is not saved with the model.

Alternatives we did not build: (a) the fusion encoder as part of the adapter, trained jointly, which needs the
trainer to hand the loss the adapter (or optimise loss parameters) — a change to rsbench's contract;
(b) a reranker instead of a strategy (a ``RerankContext`` has the training records too), which would make the
dual-stream stage 1 and the fusion stage two components where CMPAGL has one model; (c) ALBEF's momentum
distillation and MLM, which need the joint training of (a).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from rsbench.data.record import Record
from rsbench.errors import RsbenchError
from rsbench.retrieval.base import EvalSplit, RetrievalResult
from rsbench.retrieval.encoder import EncoderView
from rsbench.retrieval.index.shortlist import check_candidates
from rsbench.retrieval.scores import Candidates, RetrievalScores
from rsbench_cmpagl.config import FusionRerankConfig
from rsbench_cmpagl.fusion_encoder import FusionEncoder, PairFeatures, fit_itm

PAIRS_PER_FORWARD = 2048  # candidate pairs scored by one forward of the fusion encoder


def features(images, texts, device: torch.device) -> PairFeatures:
    """PairFeatures on ``device`` from an encoder view's ImageFeatures and TextFeatures (tokens included)."""
    if images.tokens is None or texts.tokens is None or texts.mask is None:
        raise RsbenchError("fusion-rerank needs token features; the encoder returned none")
    return PairFeatures(images.embeddings.to(device), images.tokens.to(device), texts.embeddings.to(device),
                        texts.tokens.to(device), texts.mask.to(device))


class FusionRerank:
    """Dual-stream top-K, re-scored by a fusion encoder's ITM head fitted on the training split."""

    def __init__(self, config: FusionRerankConfig) -> None:
        self.config = config

    def check_split(self, n_images: int, n_captions: int) -> None:
        """K must fit the evaluated split: checked by rsbench before any training or encoding."""
        check_candidates(self.config.candidates, n_images, n_captions)

    def retrieve(self, split: EvalSplit, encoder: EncoderView) -> RetrievalResult:
        cfg, device = self.config, encoder.device
        fuse = cfg.fusion_weight > 0
        check_candidates(cfg.candidates, split.n_images, split.n_captions)  # a K above a gallery is an error, not cut
        start = time.perf_counter()
        images = encoder.images(split.records, tokens=fuse)
        texts = encoder.texts(split.captions, tokens=fuse)
        encoded = time.perf_counter()
        cosine = texts.embeddings @ images.embeddings.t()
        stage1 = RetrievalScores(t2i=Candidates.top(cosine, cfg.candidates),
                                 i2t=Candidates.top(cosine.t(), cfg.candidates))
        recalled = time.perf_counter()
        info: dict = {"candidates": cfg.candidates, "fusion_weight": cfg.fusion_weight}
        if not fuse:
            return RetrievalResult(stage1, stage1=stage1, info=info,
                                   seconds={"encode": encoded - start, "recall": recalled - encoded})
        model, history, n_pairs = self.fit(split.train_records, encoder)
        fitted = time.perf_counter()
        f = features(images, texts, device)
        final = RetrievalScores(t2i=self._rescore(model, f, stage1.t2i, text_queries=True),
                                i2t=self._rescore(model, f, stage1.i2t, text_queries=False))
        done = time.perf_counter()
        info.update(fusion_depth=cfg.depth, fusion_width=cfg.width, fit_pairs=n_pairs,
                    fusion_parameters=sum(p.numel() for p in model.parameters()),
                    itm_loss_per_epoch=[round(v, 4) for v in history])
        return RetrievalResult(final, stage1=stage1, info=info, seconds={
            "encode": encoded - start, "recall": recalled - encoded, "fit": fitted - recalled, "fuse": done - fitted})

    def fit(self, train_records: Sequence[Record], encoder: EncoderView) -> tuple[FusionEncoder, list[float], int]:
        """The fusion encoder fitted on the training split's features: (model, mean ITM loss per epoch, pairs)."""
        cfg, device = self.config, encoder.device
        records = list(train_records)
        if not records:
            raise RsbenchError("strategy fusion-rerank fits its ITM head on the training split, but this evaluation "
                               "has no training records; set strategy.fusion_weight=0 or use dual-stream")
        generator = torch.Generator().manual_seed(cfg.seed)
        if cfg.max_train_images is not None and cfg.max_train_images < len(records):
            keep = torch.randperm(len(records), generator=generator)[: cfg.max_train_images].sort().values
            records = [records[i] for i in keep.tolist()]
        captions, owners = [], []
        for index, record in enumerate(records):
            picked = torch.randperm(len(record.captions), generator=generator)[: cfg.captions_per_image]
            captions += [record.captions[i] for i in picked.tolist()]
            owners += [index] * len(picked)
        f = features(encoder.images(records, tokens=True), encoder.texts(captions, tokens=True), device)
        with torch.random.fork_rng(devices=[]):  # initialise with our seed, leave the run's RNG where it was
            torch.manual_seed(cfg.seed)
            model = FusionEncoder(f.text_emb.shape[1], cfg.width, cfg.heads, cfg.depth).to(device)
        pair_captions = torch.arange(len(captions), device=device)
        pair_images = torch.tensor(owners, dtype=torch.long, device=device)
        with torch.enable_grad():  # evaluations run under no_grad
            history = fit_itm(model, f, pair_captions, pair_images, cfg.epochs, cfg.batch_size, cfg.lr,
                              cfg.negatives == "hardest", generator)
        return model, history, len(captions)

    @torch.no_grad()
    def _rescore(self, model: FusionEncoder, f: PairFeatures, listed: Candidates, text_queries: bool) -> Candidates:
        """The K candidates of every query, re-scored: cosine + fusion_weight · P(match)."""
        queries = torch.arange(listed.indices.shape[0]).view(-1, 1).expand_as(listed.indices).reshape(-1)
        items = listed.indices.reshape(-1)
        captions, images = (queries, items) if text_queries else (items, queries)
        logits = [model.score(f, captions[s : s + PAIRS_PER_FORWARD].to(f.text_emb.device),
                              images[s : s + PAIRS_PER_FORWARD].to(f.text_emb.device)).float().cpu()
                  for s in range(0, len(captions), PAIRS_PER_FORWARD)]
        if not logits:  # no queries
            return listed
        match = torch.sigmoid(torch.cat(logits)).view_as(listed.scores)
        return listed.rescored(listed.scores + self.config.fusion_weight * match)


def build(config: FusionRerankConfig) -> FusionRerank:
    """Dual-stream top-K re-scored by a fusion encoder's ITM head (fitted on the training split's features)."""
    return FusionRerank(config)
