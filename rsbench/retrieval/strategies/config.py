"""Config dataclasses of the built-in retrieval strategies, beside their modules (free of torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from rsbench.errors import ConfigError
from rsbench.options import Options, option

INDEX_HELP = ("stage-1 search, a registered index (rsbench list index): exact (blocks of queries against the "
              "whole gallery) or a faiss index (flat, hnsw, ivfpq) built over the gallery once, for galleries too "
              "large to score densely")


INDEX_OPTIONS_HELP = "options of strategy.index, e.g. {ef_search: 64} for hnsw or {nprobe: 64} for ivfpq"


# A strategy's options name other components: ``references`` says which field holds which kind's name and which its
# options; rsbench.config checks them once when the config resolves (never from ``__post_init__``).
INDEX_REFERENCE: dict[str, str] = {"index": "index_options"}


@dataclass
class DualStreamConfig(Options):
    """cosine similarity of independently encoded images and captions

    Encode images and captions independently; cosine similarity of the embeddings.
    """

    references: ClassVar[dict[str, str]] = INDEX_REFERENCE

    candidates: int | None = option(
        None, "null: the dense captions x images matrix; K: only each query's top K (large galleries), "
        "found through strategy.index", ge=1)
    index: str = option("exact", INDEX_HELP)
    index_options: dict = option(default_factory=dict, help=INDEX_OPTIONS_HELP)


@dataclass
class FastThenFineConfig(Options):
    """FTF (Chen et al. 2026), our reading: global top-K recall, then a word-patch token interaction reranks

    Fast-then-fine (Chen et al. 2026): global top-K recall, then a token interaction reranks the K.
    """

    references: ClassVar[dict[str, str]] = INDEX_REFERENCE

    candidates: int = option(
        50, "K: stage-1 shortlist per query, both directions (TGDT keeps 50 captions per image); "
        "a K above the split's images or captions is an error", ge=1)
    fine_weight: float = option(1.0, "beta in s = s_coarse + beta * s_fine (0 = dual-stream's ranking)", ge=0)
    interaction: Literal["balanced", "words", "patches"] = option(
        "balanced", "fine score: mean of words->patches and patches->words max-cosines (balanced), "
        "or one of the two terms alone")

    index: str = option("exact", INDEX_HELP)
    index_options: dict = option(default_factory=dict, help=INDEX_OPTIONS_HELP)


@dataclass
class TextToTextConfig(Options):
    """TRSLLaVA (Xiao et al. 2025): the gallery's generated captions against the queries, sentence embeddings

    Text-to-text retrieval (TRSLLaVA, Xiao et al. 2025): captions of the gallery images against the queries in
    a sentence-embedding space; the images themselves are never embedded. The captions come from the run's
    ``captioner`` section (``--captioner``; the shipped ``tiny`` when the run names none), through the caption
    cache."""

    needs_captioner: ClassVar[bool] = True  # a run that names no captioner gets config.DEFAULT_CAPTIONER
    references: ClassVar[dict[str, str]] = {"text_encoder": "text_encoder_options"}

    text_encoder: str = option("sentence-transformers", "a registered text encoder (rsbench list text_encoder)")
    text_encoder_options: dict = option(default_factory=dict, help="its options, e.g. {model: /path/to/folder}")
    prompt: str = option("trsllava", "captioning prompt: trsllava, plain or a file path")
    aggregation: Literal["max", "mean", "logsumexp"] = option(
        "max", "an image's score over its captions: max (the authors' code), mean, or "
        "temperature * logsumexp(s / temperature)")
    temperature: float = option(0.05, "logsumexp's temperature (cosine units)", gt=0)
    image_queries: Literal["variants", "description"] = option(
        "variants", "image->text query: variants (the aggregation over the image's "
        "caption variants) or description (one description per image from "
        "query_prompt, the authors' protocol); docs/text-to-text.md compares them")
    query_prompt: str = option(
        "trsllava-query",
        "image_queries=description's prompt: trsllava-query (the authors' image-query prompt) or a file")
    caption_batch_size: int = option(8, "images per captioner call", ge=1)


@dataclass
class HybridConfig(TextToTextConfig):
    """text-to-text and dual-stream scores standardised and mixed, the weight chosen on val (ours)

    A weighted fusion of text-to-text and dual-stream scores, each standardised over its whole matrix:
    s = (1 - w) z(dual-stream) + w z(text-to-text). No published system combines them; w is ours to choose, on
    the run's selection split (val) from ``weight_grid`` unless ``weight`` fixes it."""

    weight: float | None = option(None, "w in [0, 1]; null: chosen on val from weight_grid", ge=0, le=1)
    weight_grid: list = option(default_factory=lambda: [round(0.1 * i, 1) for i in range(11)],
                               help="the weights tried on val when weight is null", ge=0, le=1)

    def validate(self) -> None:
        super().validate()
        # `list` is not `list[float]` (a run key depends on the annotation), so its items' type is checked here
        for i, w in enumerate(self.weight_grid):
            if isinstance(w, bool) or not isinstance(w, int | float):
                raise ConfigError(f"weight_grid[{i}] must be a number in [0, 1]; got {w!r}")
        if self.weight is None and not self.weight_grid:
            raise ConfigError("weight_grid is empty: give weights to try, or fix weight")
