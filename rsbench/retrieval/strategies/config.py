"""Config dataclasses of the built-in retrieval strategies, beside their modules (free of torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from rsbench.errors import ConfigError

INDEX_HELP = ("stage-1 search, a registered index (rsbench list index): exact (blocks of queries against the "
              "whole gallery) or a faiss index (flat, hnsw, ivfpq) built over the gallery once, for galleries too "
              "large to score densely")


INDEX_OPTIONS_HELP = "options of strategy.index, e.g. {ef_search: 64} for hnsw or {nprobe: 64} for ivfpq"


# A strategy's options name other components: ``references`` says which field holds which kind's name and which its
# options; rsbench.config checks them once when the config resolves (never from ``__post_init__``).
INDEX_REFERENCE: dict[str, str] = {"index": "index_options"}


@dataclass
class DualStreamConfig:
    """cosine similarity of independently encoded images and captions

    Encode images and captions independently; cosine similarity of the embeddings.
    """

    references: ClassVar[dict[str, str]] = INDEX_REFERENCE

    candidates: int | None = field(
        default=None,
        metadata={"help": "null: the dense captions x images matrix; K: only each query's top K (large galleries), "
                  "found through strategy.index"},
    )
    index: str = field(default="exact", metadata={"help": INDEX_HELP})
    index_options: dict = field(default_factory=dict, metadata={"help": INDEX_OPTIONS_HELP})

    def __post_init__(self) -> None:
        if self.candidates is not None and (isinstance(self.candidates, bool) or not isinstance(self.candidates, int)
                                            or self.candidates < 1):
            raise ConfigError(f"strategy.candidates must be null or an integer >= 1, got {self.candidates!r}")


@dataclass
class FastThenFineConfig:
    """FTF (Chen et al. 2026), our reading: global top-K recall, then a word-patch token interaction reranks

    Fast-then-fine (Chen et al. 2026): global top-K recall, then a token interaction reranks the K.
    """

    references: ClassVar[dict[str, str]] = INDEX_REFERENCE

    candidates: int = field(
        default=50,
        metadata={"help": "K: stage-1 shortlist per query, both directions (TGDT keeps 50 captions per image); "
                  "a K above the split's images or captions is an error"},
    )
    fine_weight: float = field(
        default=1.0, metadata={"help": "beta in s = s_coarse + beta * s_fine (0 = dual-stream's ranking)"}
    )
    interaction: Literal["balanced", "words", "patches"] = field(
        default="balanced",
        metadata={"help": "fine score: mean of words->patches and patches->words max-cosines (balanced), "
                  "or one of the two terms alone"},
    )

    index: str = field(default="exact", metadata={"help": INDEX_HELP})
    index_options: dict = field(default_factory=dict, metadata={"help": INDEX_OPTIONS_HELP})

    def __post_init__(self) -> None:
        if isinstance(self.candidates, bool) or not isinstance(self.candidates, int) or self.candidates < 1:
            raise ConfigError(f"strategy.candidates must be an integer >= 1, got {self.candidates!r}")
        if self.fine_weight < 0:
            raise ConfigError(f"strategy.fine_weight must be >= 0, got {self.fine_weight}")


AGGREGATIONS = ("max", "mean", "logsumexp")
IMAGE_QUERIES = ("variants", "description")  # text-to-text image->text: how an image becomes a query


@dataclass
class TextToTextConfig:
    """TRSLLaVA (Xiao et al. 2025): the gallery's generated captions against the queries, sentence embeddings

    Text-to-text retrieval (TRSLLaVA, Xiao et al. 2025): captions of the gallery images against the queries in
    a sentence-embedding space; the images themselves are never embedded. The captions come from the run's
    ``captioner`` section (``--captioner``; the shipped ``tiny`` when the run names none), through the caption
    cache."""

    needs_captioner: ClassVar[bool] = True  # a run that names no captioner gets config.DEFAULT_CAPTIONER
    references: ClassVar[dict[str, str]] = {"text_encoder": "text_encoder_options"}

    text_encoder: str = field(default="sentence-transformers",
                              metadata={"help": "a registered text encoder (rsbench list text_encoder)"})
    text_encoder_options: dict = field(default_factory=dict,
                                       metadata={"help": "its options, e.g. {model: /path/to/folder}"})
    prompt: str = field(default="trsllava", metadata={"help": "captioning prompt: trsllava, plain or a file path"})
    aggregation: Literal["max", "mean", "logsumexp"] = field(
        default="max", metadata={"help": "an image's score over its captions: max (the authors' code), mean, or "
                                 "temperature * logsumexp(s / temperature)"})
    temperature: float = field(default=0.05, metadata={"help": "logsumexp's temperature (cosine units)"})
    image_queries: Literal["variants", "description"] = field(
        default="variants", metadata={"help": "image->text query: variants (the aggregation over the image's "
                                      "caption variants) or description (one description per image from "
                                      "query_prompt, the authors' protocol); docs/text-to-text.md compares them"})
    query_prompt: str = field(default="trsllava-query", metadata={
        "help": "image_queries=description's prompt: trsllava-query (the authors' image-query prompt) or a file"})
    caption_batch_size: int = field(default=8, metadata={"help": "images per captioner call"})

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"strategy.aggregation must be one of {', '.join(AGGREGATIONS)}, got "
                              f"{self.aggregation!r}")
        if self.image_queries not in IMAGE_QUERIES:
            raise ConfigError(f"strategy.image_queries must be one of {', '.join(IMAGE_QUERIES)}, got "
                              f"{self.image_queries!r}")
        if not self.temperature > 0:
            raise ConfigError(f"strategy.temperature must be > 0, got {self.temperature}")
        if isinstance(self.caption_batch_size, bool) or not isinstance(self.caption_batch_size, int) \
                or self.caption_batch_size < 1:
            raise ConfigError(f"strategy.caption_batch_size must be an integer >= 1, got {self.caption_batch_size!r}")


@dataclass
class HybridConfig(TextToTextConfig):
    """text-to-text and dual-stream scores standardised and mixed, the weight chosen on val (ours)

    A weighted fusion of text-to-text and dual-stream scores, each standardised over its whole matrix:
    s = (1 - w) z(dual-stream) + w z(text-to-text). No published system combines them; w is ours to choose, on
    the run's selection split (val) from ``weight_grid`` unless ``weight`` fixes it."""

    weight: float | None = field(default=None, metadata={"help": "w in [0, 1]; null: chosen on val from weight_grid"})
    weight_grid: list = field(default_factory=lambda: [round(0.1 * i, 1) for i in range(11)],
                              metadata={"help": "the weights tried on val when weight is null"})

    def __post_init__(self) -> None:
        super().__post_init__()
        for w in ([self.weight] if self.weight is not None else []) + list(self.weight_grid):
            if isinstance(w, bool) or not isinstance(w, int | float) or not 0 <= w <= 1:
                raise ConfigError(f"strategy weights must be numbers in [0, 1], got {w!r}")
        if self.weight is None and not self.weight_grid:
            raise ConfigError("strategy.weight_grid is empty: give weights to try, or fix strategy.weight")
