"""Contract checks of the retrieval stage's components: strategies, rerankers and gallery indexes.

Import them from ``rsbench.testing`` (``check_strategy``, ``check_reranker``, ``check_index``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from rsbench.testing.rules import require, toy_dataset

# The share of queries a strategy must rank first on planted matches: the captioned check split leaves its last
# image without captions (a counted failure), so no captioning strategy reaches all of them.
PLANTED_SHARE = 0.9


class _FixedEncoder:
    """An encoder view with fixed, seeded features: what ``check_strategy`` hands a strategy.

    With ``planted`` (each caption's image), a caption's features are its image's plus a little noise: its global
    embedding near the image's, its word tokens near the image's patch tokens. Any sound strategy ranks those
    matches first. Planted features also share one direction, as CLIP's do (they fill a narrow cone): unrelated
    pairs score about 0.5 ± 0.1, matches about 0.99, so no cosine is near zero or negative.
    """

    device = torch.device("cpu")

    def __init__(self, n_images: int, n_captions: int, dim: int = 16, patches: int = 4, words: int = 5,
                 planted: list[int] | None = None) -> None:
        self.n_images, self.n_captions, self.dim, self.patches, self.words = n_images, n_captions, dim, patches, words
        self.cone = 1.0 if planted is not None else 0.0
        self._images, self._texts = self._features(n_images, n_captions, seed=0)
        if planted is not None:
            self._texts = self._planted(planted)

    def _features(self, n_images: int, n_captions: int, seed: int) -> tuple[Any, Any]:
        from rsbench.retrieval.encoder import ImageFeatures, TextFeatures

        g = torch.Generator().manual_seed(seed)
        shared = torch.nn.functional.one_hot(torch.tensor(0), self.dim).float() * self.cone

        def unit(*shape: int) -> torch.Tensor:
            return torch.nn.functional.normalize(shared + torch.randn(*shape, self.dim, generator=g) / self.dim ** 0.5,
                                                 dim=-1)

        mask = torch.ones(n_captions, self.words, dtype=torch.bool)
        mask[:, -2:] = torch.rand(n_captions, 2, generator=g) > 0.5  # some padding
        images = ImageFeatures(unit(n_images), unit(n_images, self.patches))
        texts = TextFeatures(unit(n_captions), unit(n_captions, self.words), mask)
        return images, texts

    def _planted(self, caption_to_image: list[int]) -> Any:
        from rsbench.retrieval.encoder import TextFeatures

        g = torch.Generator().manual_seed(7)
        unit = torch.nn.functional.normalize
        owner = torch.as_tensor(caption_to_image)
        words = self._images.tokens[owner][:, torch.arange(self.words) % self.patches]
        return TextFeatures(
            unit(self._images.embeddings[owner] + 0.1 * torch.randn(len(owner), self.dim, generator=g), dim=-1),
            unit(words + 0.1 * torch.randn(len(owner), self.words, self.dim, generator=g), dim=-1),
            self._texts.mask)

    def images(self, records: Any, tokens: bool = False) -> Any:
        """The split's fixed features; other records (the training split) get seeded ones of their number."""
        from rsbench.retrieval.encoder import ImageFeatures

        n = len(records)
        features = self._images if n == self.n_images else self._features(n, 0, seed=n)[0]
        return features if tokens else ImageFeatures(features.embeddings)

    def texts(self, texts: Any, tokens: bool = False) -> Any:
        from rsbench.retrieval.encoder import TextFeatures

        n = len(texts)
        features = self._texts if n == self.n_captions else self._features(0, n, seed=1000 + n)[1]
        return features if tokens else TextFeatures(features.embeddings)


def _check_direction(scores: Any, queries: int, gallery: int, where: str, name: str) -> None:
    from rsbench.retrieval.scores import Candidates

    if isinstance(scores, Candidates):
        require(scores.indices.shape[0] == queries and scores.gallery_size == gallery, where,
                f"{name} candidates must list {queries} queries over a gallery of {gallery}")
        values = scores.scores
    else:
        require(isinstance(scores, torch.Tensor) and tuple(scores.shape) == (queries, gallery), where,
                f"{name} must be ({queries}, {gallery}) or Candidates; got {getattr(scores, 'shape', scores)}")
        values = scores
    require(values.device.type == "cpu" and bool(torch.isfinite(values).all()), where,
            f"{name} scores must be finite and on the CPU")


def _check_kinds(kinds: list[Any], where: str, name: str) -> None:
    """Declared score kinds (a strategy's ``score_kind``, a reranker's ``accepts``) must be known ones."""
    from rsbench.retrieval.rerankers.base import SCORE_KINDS

    for kind in kinds:
        require(kind is None or kind in SCORE_KINDS, where,
                f"{name} must name kinds from {', '.join(SCORE_KINDS)}; got {kind!r}")


def check_strategy(strategy: Any) -> None:
    """A retrieval strategy: ``retrieve(split, encoder)`` -> a RetrievalResult scoring both directions.

    The split has 60 images with 84 captions (galleries large enough for a default shortlist of 50, as
    fast-then-fine's), and the toy dataset's training records as ``train_records``; the encoder hands out fixed
    features (tokens included), so the check needs no model. A strategy with ``needs_captioner`` gets 60 real toy
    images and the ``file`` captioner (``captioned_split``); one with ``needs_selection_split`` the split again as
    its selection split.
    Text->image must score (84 captions, 60 images), image->text (60, 84), densely or as candidate lists over
    the right gallery.
    """
    from rsbench.retrieval.base import EvalSplit, RetrievalResult

    where = f"strategy {type(strategy).__name__}"
    require(callable(getattr(strategy, "retrieve", None)), where, "must have retrieve(split, encoder)")
    _check_kinds([getattr(strategy, "score_kind", None)], where, "score_kind")
    images, captions = 60, 84
    with tempfile.TemporaryDirectory() as folder:
        owners = [c % images for c in range(captions)]
        split = EvalSplit(records=[None] * images, captions=[f"caption number {i}" for i in owners],
                          caption_to_image=owners, train_records=toy_dataset().split("train"))
        if getattr(strategy, "needs_captioner", False):
            split = captioned_split(split, Path(folder), images)
        if getattr(strategy, "needs_selection_split", False):
            split.select = EvalSplit(split.records, split.captions, split.caption_to_image, split.train_records,
                                     split.captioner)
        result = strategy.retrieve(split, _FixedEncoder(images, captions, dim=32, planted=owners))
    require(isinstance(result, RetrievalResult), where, "retrieve must return rsbench.retrieval.base.RetrievalResult")
    _check_direction(result.scores.t2i, captions, images, where, "t2i")
    _check_direction(result.scores.i2t, images, captions, where, "i2t")
    if result.stage1 is not None:
        _check_direction(result.stage1.t2i, captions, images, where, "stage-1 t2i")
        _check_direction(result.stage1.i2t, images, captions, where, "stage-1 i2t")
    _check_planted_first(result.scores, owners, where, PLANTED_SHARE,
                         "each caption's features are its image's plus a little noise (a captioning strategy's "
                         "captions name their image)")


def _check_planted_first(scores: Any, caption_to_image: list[int], where: str, share: float, planted: str) -> None:
    """At least ``share`` of the queries of each direction rank their true match first."""
    from rsbench.metrics import score_ranks

    i2t, t2i = score_ranks(scores, caption_to_image)
    for name, ranks in (("t2i", t2i), ("i2t", i2t)):
        ranked = ranks[ranks >= 0]
        first = int((ranked == 0).sum())
        require(first >= share * len(ranked), where,
                f"{name}: planted matches must come first ({planted}); only {first} of {len(ranked)} queries "
                f"rank theirs first (scores negated, or rows and columns mixed up?)")


def captioned_split(split: Any, folder: Path, images: int) -> Any:
    """``split`` over real toy images, with the ``file`` captioner as the run's captioner: two captions per image
    (its own caption number, and its colour), none for the last image (a counted failure)."""
    import json

    from rsbench.retrieval.base import EvalSplit
    from rsbench.testing.captioning import toy_image_records

    records = toy_image_records(folder, count=images)
    captions = {r.image_id: [f"caption number {i}", f"a toy image, number {i}"] for i, r in enumerate(records[:-1])}
    path = folder / "captions.json"
    path.write_text(json.dumps(captions))
    return EvalSplit(records, split.captions, split.caption_to_image, split.train_records,
                     ("file", {"path": str(path)}))


def check_reranker(reranker: Any) -> None:
    """A reranker: ``rerank(scores, context)`` scores both directions over the same queries and gallery, finitely;
    candidate lists stay lists (dense scores may become lists: GaLR keeps only its top K). Against planted truth:

    - every query's true match scores clearly highest (8 images, 12 captions, features planted as for strategies):
      it must stay first, in both directions;
    - candidate lists that hold the whole gallery must come back in the order the dense scores do (statistics
      over a gallery item use the queries that list it: with every item listed, all of them);
    - the scores it is given must be unchanged afterwards (the engine keeps them: stage-1 recalls, the record).

    It is also given the top 3 and 4 of each list; the toy dataset's train records are its query bank.
    """
    from rsbench.retrieval.base import EvalSplit
    from rsbench.retrieval.rerankers.base import RerankContext
    from rsbench.retrieval.scores import Candidates, RetrievalScores

    where = f"reranker {type(reranker).__name__}"
    require(callable(getattr(reranker, "rerank", None)), where, "must have rerank(scores, context)")
    _check_kinds(list(getattr(reranker, "accepts", None) or []), where, "accepts")
    owners = [c % 8 for c in range(12)]
    split = EvalSplit(records=[None] * 8, captions=[f"caption number {i}" for i in owners], caption_to_image=owners)
    encoder = _FixedEncoder(8, 12, dim=32, planted=owners)
    context = RerankContext(split, encoder, toy_dataset().split("train"))
    dense = encoder.texts(split.captions).embeddings @ encoder.images(split.records).embeddings.t()
    full = RetrievalScores(t2i=Candidates.top(dense, 8), i2t=Candidates.top(dense.t(), 12))
    outs = []
    for scores in (RetrievalScores.from_similarity(dense), full,
                   RetrievalScores(t2i=Candidates.top(dense, 3), i2t=Candidates.top(dense.t(), 4))):
        kept = {name: _copy(value) for name, value in scores.directions().items()}
        out = reranker.rerank(scores, context)
        require(isinstance(out, RetrievalScores), where, "rerank must return RetrievalScores")
        for name, before in scores.directions().items():
            require(_same(before, kept[name]), where, f"{name}: rerank must not change the scores it is given "
                    f"(work on a copy: the caller keeps them)")
            after = out.directions()[name]
            require(isinstance(after, Candidates) or not isinstance(before, Candidates), where,
                    f"{name}: candidate lists stay lists (a reranker cannot score what was never listed)")
            queries, gallery = (12, 8) if name == "t2i" else (8, 12)
            _check_direction(after, queries, gallery, where, name)
        outs.append(out)
    _check_planted_first(outs[0], owners, where, 1.0, "each query's true match scores clearly highest")
    for name in ("t2i", "i2t"):
        _check_same_order(outs[0].directions()[name], outs[1].directions()[name], where, name)


def _copy(value: Any) -> Any:
    from rsbench.retrieval.scores import Candidates

    if isinstance(value, Candidates):
        return Candidates(value.indices.clone(), value.scores.clone(), value.gallery_size)
    return value.clone()


def _same(value: Any, kept: Any) -> bool:
    from rsbench.retrieval.scores import Candidates

    if isinstance(value, Candidates):
        return torch.equal(value.indices, kept.indices) and torch.equal(value.scores, kept.scores)
    return torch.equal(value, kept)


def _check_same_order(dense_out: Any, lists_out: Any, where: str, name: str) -> None:
    """Each query orders the gallery items both outputs hold the same way (ties, within a relative 1e-5, either
    way: a dual softmax's scores of unlikely items are as small as 1e-20 and still ordered)."""
    from rsbench.retrieval.scores import Candidates

    def matrix(value: Any) -> torch.Tensor:
        return value.dense()[0].float() if isinstance(value, Candidates) else value.float()

    a, b = matrix(dense_out), matrix(lists_out)
    listed = torch.isfinite(a) & torch.isfinite(b)
    both = listed[:, :, None] & listed[:, None, :]

    def differences(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = m.masked_fill(~listed, 0.0)
        return m[:, :, None] - m[:, None, :], 1e-5 * torch.maximum(m.abs()[:, :, None], m.abs()[:, None, :])

    (da, ta), (db, tb) = differences(a), differences(b)
    swapped = both & (da > ta) & (db < -tb)
    queries = int(swapped.any(dim=2).any(dim=1).sum())
    require(queries == 0, where, f"{name}: candidate lists holding the whole gallery must be ranked as the dense "
            f"scores are; {queries} of {a.shape[0]} queries order their items otherwise (statistics over an item "
            f"must run over the queries that list it, not over a query's list)")


def check_index(factory: Callable[[int], Any], dim: int = 512, size: int = 300) -> None:
    """A gallery index: ``factory(dim)`` -> an empty index that finds each query's true nearest neighbour first.

    ``size`` random unit vectors are added in two calls (ids run on across calls); 40 queries, each a gallery
    vector moved slightly off it, must find that vector first, with ids in range, (Q, 10) int ids and scores
    best first. ``nbytes()`` must be positive; ``save`` then ``factory(dim).load`` must search the same and
    leave nothing but the saved file. (The defaults, 300 vectors of CLIP's width 512, let IVF-PQ train its
    256-centroid codebooks in a second or two.)
    """
    import numpy as np

    index = factory(dim)
    where = f"index {type(index).__name__}"
    for method in ("add", "search", "nbytes", "save", "load"):
        require(callable(getattr(index, method, None)), where,
                f"must have {method}() (rsbench.hooks.specs.GalleryIndex)")
    require(index.ntotal == 0, where, "factory(dim) must return an empty index (ntotal 0)")
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(size, dim)).astype(np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    index.add(gallery[: size // 3])
    index.add(gallery[size // 3 :])
    require(index.ntotal == size, where, f"ntotal must count every added vector: {size} added, {index.ntotal} counted")
    targets = rng.choice(size, 40, replace=False)
    queries = gallery[targets] + 0.05 * rng.normal(size=(40, dim)).astype(np.float32) / np.sqrt(dim)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = (queries @ gallery.T).argmax(axis=1)
    scores, ids = index.search(queries, 10)
    scores, ids = np.asarray(scores), np.asarray(ids)
    require(scores.shape == ids.shape == (40, 10), where,
            f"search(queries, 10) must return (40, 10) scores and ids; got {scores.shape} and {ids.shape}")
    require(np.issubdtype(ids.dtype, np.integer) and int(ids.min()) >= 0 and int(ids.max()) < size, where,
            f"ids must be integers in 0..{size - 1}, in the order vectors were added")
    require(bool(np.isfinite(scores).all()) and bool((np.diff(scores, axis=1) <= 1e-5).all()), where,
            "scores must be finite inner products, best (highest) first")
    missed = int((ids[:, 0] != truth).sum())
    require(missed == 0, where, f"the true nearest neighbour must come first; {missed} of 40 queries missed it")
    size_bytes = index.nbytes()
    require(isinstance(size_bytes, int) and size_bytes > 0, where, "nbytes() must be a positive int")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gallery.index"
        index.save(path)
        require(sorted(p.name for p in Path(tmp).iterdir()) == ["gallery.index"], where,
                "save(path) must write path and nothing else (write a temporary file, then rename it)")
        loaded = factory(dim).load(path)
        require(loaded is not None and loaded.ntotal == size, where,
                "load(path) must return the index with every saved vector")
        require(np.array_equal(np.asarray(loaded.search(queries, 10)[1]), ids), where,
                "a loaded index must search like the one saved")
