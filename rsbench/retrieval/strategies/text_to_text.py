"""Text-to-text retrieval ("Beyond Pixels", TRSLLaVA, Xiao et al. 2025): search captions, not pixels.

A captioner (the run's ``captioner`` section: a VLM, an endpoint, a file, SynthRS's oracle) writes caption
variants for every gallery image, through the caption cache; a sentence encoder embeds them and the human
captions; cosine similarity in that space ranks. The images and the trained model are never used.

- **Text → image**: each human caption (a query, the encoder's query prompt) against every variant of every
  image (documents); an image's score aggregates its variants' cosines: ``max`` as in the authors' code,
  ``mean``, or ``logsumexp`` (``τ · log Σ exp(s / τ)``, a soft max; τ = ``temperature``).
- **Image → text**, two protocols (``image_queries``). ``variants`` (default): the same aggregation over the
  image's caption variants of ``cos(variant, caption)``, the variants as queries and the human captions as
  documents (an asymmetric encoder's prompts say which side is which; a symmetric one gives the text → image
  matrix transposed): an ensemble of five descriptions, markedly above the authors' image→text. ``description``:
  the authors' protocol (TRSLLaVA ``eval/i2t.py``): one description per image, written by the captioner from the
  image-query prompt (``query_prompt``, ``trsllava-query``), is the image's one query. A captioner that ignores
  prompts (``file``, ``tiny``) gives its first variant. docs/text-to-text.md compares the two.
- An image whose captioning failed has no variants: it scores ``FAILED_SCORE`` (below any cosine) in both
  directions, so it ranks last, and the record counts it (``caption_failures``).

The record's ``extra.retrieval`` carries the captioner, its model, the prompt's digest, the oracle flag, the
text encoder, the aggregation and the failure count. The authors' figure (RSITMD mR 42.62 against 23.86 for
zero-shot CLIP) came from a hosted chat model and a hosted embedding model: an offline run with another
captioner or encoder is labelled by these fields and does not reproduce it.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from rsbench.errors import ConfigError
from rsbench.retrieval.base import EvalSplit, RetrievalResult
from rsbench.retrieval.encoder import Encoder
from rsbench.retrieval.scores import RetrievalScores
from rsbench.retrieval.strategies.config import TextToTextConfig

FAILED_SCORE = -2.0  # below every cosine: an image without captions ranks after every captioned one


def aggregate(scores: torch.Tensor, owner: torch.Tensor, n_groups: int, how: str, temperature: float) -> torch.Tensor:
    """(Q, G) group scores from (Q, V) variant scores, ``owner[v]`` the group of variant v; a group without
    variants gets ``FAILED_SCORE``."""
    queries = scores.shape[0]
    out = torch.full((queries, n_groups), FAILED_SCORE, dtype=scores.dtype)
    if scores.shape[1] == 0:
        return out
    index = owner.view(1, -1).expand(queries, -1)
    count = torch.bincount(owner, minlength=n_groups)
    has = count > 0
    if how == "max":
        best = torch.full((queries, n_groups), float("-inf"), dtype=scores.dtype)
        value = best.scatter_reduce(1, index, scores, reduce="amax")
    elif how == "mean":
        value = torch.zeros((queries, n_groups), dtype=scores.dtype).index_add_(1, owner, scores)
        value = value / count.clamp(min=1).to(scores.dtype)
    elif how == "logsumexp":
        scaled = scores / temperature
        peak = torch.full((queries, n_groups), float("-inf"), dtype=scores.dtype).scatter_reduce(
            1, index, scaled, reduce="amax")
        shift = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
        total = torch.zeros_like(peak).index_add_(1, owner, torch.exp(scaled - shift.gather(1, index)))
        value = temperature * (torch.log(total) + shift)
    else:
        raise ConfigError(f"unknown aggregation {how!r}")
    return torch.where(has.view(1, -1), value, out)


class TextToText:
    """Caption the gallery (cached), embed captions and queries with a sentence encoder, rank by cosine."""

    needs_captioner = True  # the engine refuses a run without a captioner section before training
    score_kind = "sentence-cosine"  # cosines in the sentence encoder's space, not the trained model's
    uses_model = False  # ranks captions with a sentence encoder: a run with it trains nothing, and says so

    def __init__(self, config: TextToTextConfig) -> None:
        self.config = config
        self._encoder: Any = None
        self._memo: dict[tuple[str, tuple[str, ...]], torch.Tensor] = {}
        self._captions: dict[tuple[Any, ...], Any] = {}  # per split: the cache is read and images hashed once
        self.embedding_cache = {"hits": 0, "misses": 0}  # text lists read from the embedding cache, or encoded

    def prepare(self) -> None:
        """Load the text encoder now (the engine calls this before training): a missing model fails at once, and
        so does a missing image-query prompt."""
        if self.config.image_queries == "description":
            from rsbench.captioning.prompt import load_prompt

            load_prompt(self.config.query_prompt)
        self.text_encoder()

    def text_encoder(self) -> Any:
        if self._encoder is None:
            from rsbench.text.encoders import build_text_encoder

            self._encoder = build_text_encoder(self.config.text_encoder, self.config.text_encoder_options,
                                               where="strategy.text_encoder_options.")
        return self._encoder

    def _embed(self, side: str, texts: list[str]) -> torch.Tensor:
        """Embeddings of ``texts`` as queries or documents, remembered across evaluations and, for an encoder
        with local weights, across runs (rsbench/text/encoders/cache.py); a symmetric encoder's one encoding of
        a text serves both roles."""
        from rsbench.text.encoders.cache import cached_encode

        encoder = self.text_encoder()
        key = ("either" if encoder.symmetric else side, tuple(texts))
        if key not in self._memo:
            self._memo[key], hit = cached_encode(encoder, list(texts), key[0])
            self.embedding_cache["hits" if hit else "misses"] += 1
        return self._memo[key]

    def captions(self, split: EvalSplit, device: str, prompt: str | None = None) -> Any:
        """The gallery's caption variants through the cache (a CaptionSet) from ``prompt`` (the strategy's
        captioning prompt unless given), made once per run, split and prompt: every later evaluation (each
        epoch's val) reuses them instead of hashing every image and reading the cache."""
        from rsbench.captioning import caption_records

        if split.captioner is None:
            raise ConfigError("strategy text-to-text needs a captioner: --captioner NAME (rsbench list captioner)")
        name, options = split.captioner
        prompt = self.config.prompt if prompt is None else prompt
        key = (name, repr(options), prompt, tuple(str(r.image) for r in split.records))
        if key not in self._captions:
            self._captions[key] = caption_records(split.records, name, options, prompt=prompt,
                                                  device=device, batch_size=self.config.caption_batch_size)
        return self._captions[key]

    def image_query_scores(self, split: EvalSplit, device: str, humans: list[str]) -> tuple[torch.Tensor,
                                                                                           dict[str, Any]]:
        """(images × captions) scores of ``image_queries: description``: each image's one description (the first
        the captioner gives for ``query_prompt``) against the human captions; ``FAILED_SCORE`` where it failed."""
        made = self.captions(split, device, prompt=self.config.query_prompt)
        described = [i for i, texts in enumerate(made.per_image) if texts]
        out = torch.full((split.n_images, len(humans)), FAILED_SCORE)
        if described:
            queries = [made.per_image[i][0] for i in described]
            out[torch.tensor(described)] = self._embed("query", queries) @ self._embed("document", humans).t()
        prompt = made.provenance.get("prompt") or {}
        return out, {"query_prompt": prompt.get("name"), "query_prompt_sha256": prompt.get("digest"),
                     "query_failures": split.n_images - len(described)}

    def similarity(self, split: EvalSplit, device: str) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any],
                                                                  dict[str, float]]:
        """(captions × images) text→image scores, (images × captions) image→text scores, the record's info, and
        the seconds of captioning and of encoding and scoring."""
        cfg = self.config
        start = time.perf_counter()
        made = self.captions(split, device)
        if cfg.image_queries == "description":
            self.captions(split, device, prompt=cfg.query_prompt)  # the image queries: timed as captioning
        captioned = time.perf_counter()
        variants = [c for captions in made.per_image for c in captions]
        owner = torch.tensor([i for i, captions in enumerate(made.per_image) for _ in captions], dtype=torch.long)
        humans = list(split.captions)
        t2i = aggregate(self._embed("query", humans) @ self._embed("document", variants).t(), owner,
                        split.n_images, cfg.aggregation, cfg.temperature)
        query_info: dict[str, Any] = {}
        if cfg.image_queries == "description":
            i2t, query_info = self.image_query_scores(split, device, humans)
        else:
            by_variant = self._embed("query", variants) @ self._embed("document", humans).t()  # (V, captions)
            i2t = aggregate(by_variant.t(), owner, split.n_images, cfg.aggregation, cfg.temperature).t()
        provenance = made.provenance
        prompt = provenance.get("prompt") or {}
        info = {"captioner": provenance.get("captioner"), "caption_model": provenance.get("model"),
                "oracle_captions": provenance.get("oracle"), "prompt": prompt.get("name"),
                "prompt_sha256": prompt.get("digest"), "caption_failures": made.failures,
                "captions_per_image": len(variants) / max(1, split.n_images),
                "text_encoder": self.text_encoder().describe(), "aggregation": cfg.aggregation,
                "embedding_cache": dict(self.embedding_cache), "image_queries": cfg.image_queries, **query_info}
        if cfg.aggregation == "logsumexp":
            info["temperature"] = cfg.temperature
        return t2i, i2t, info, {"caption": captioned - start, "encode": time.perf_counter() - captioned}

    def retrieve(self, split: EvalSplit, encoder: Encoder) -> RetrievalResult:
        t2i, i2t, info, seconds = self.similarity(split, str(encoder.device))
        return RetrievalResult(RetrievalScores(t2i=t2i, i2t=i2t), seconds=seconds, info=info)


def build(config: TextToTextConfig) -> TextToText:
    """Text-to-text retrieval: generated captions of the gallery against the queries, in a sentence space."""
    return TextToText(config)
