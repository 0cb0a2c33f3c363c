"""The ``openai`` text encoder: an OpenAI-compatible ``/embeddings`` endpoint, through rsbench's HTTP client.

TRSLLaVA's code embeds captions with a hosted embedding model; this backend reaches any such endpoint (OpenAI,
or a local vLLM / Ollama / LM Studio / text-embeddings-inference server), with the client's timeouts and retries
(rsbench/remote/openai_client.py). The key comes from the environment variable ``api_key_env`` names, never from
a config file. The width is the model's own unless ``dimensions`` asks for another; until the first reply it is
learnt with a one-text request. Query and document prompts are plain prefixes (endpoints have no roles).
"""

from __future__ import annotations

import os
from typing import Any

import torch

from rsbench.errors import RsbenchError
from rsbench.text.encoders.base import Role, TextEncoder
from rsbench.text.encoders.config import OpenAIEmbeddingsConfig


class OpenAIEmbeddingsEncoder(TextEncoder):
    """Embeddings from an OpenAI-compatible endpoint, one request per ``batch_size`` texts."""

    def __init__(self, config: OpenAIEmbeddingsConfig) -> None:
        from rsbench.remote.openai_client import OpenAICompatibleClient

        super().__init__(config.batch_size, normalize=True)
        self.config = config
        self.client = OpenAICompatibleClient(
            config.base_url, os.environ.get(config.api_key_env) or None, timeout=config.timeout,
            max_retries=config.max_retries, backoff=config.backoff, max_backoff=config.max_backoff,
            key_hint=f"${config.api_key_env} (text_encoder.api_key_env)")
        self._dim: int | None = config.dimensions

    def _request(self, texts: list[str]) -> torch.Tensor:
        params = {"dimensions": self.config.dimensions} if self.config.dimensions is not None else {}
        vectors = self.client.embeddings(self.config.model, texts, batch_size=self.batch_size, **params)
        out = torch.tensor(vectors, dtype=torch.float32)
        if out.ndim != 2 or out.shape[0] != len(texts):
            raise RsbenchError(f"the endpoint at {self.config.base_url} returned embeddings of shape "
                               f"{tuple(out.shape)} for {len(texts)} texts")
        if self._dim is None:
            self._dim = int(out.shape[1])
        elif out.shape[1] != self._dim:
            raise RsbenchError(f"the endpoint's {self.config.model} embeddings are {out.shape[1]} wide, not "
                               f"{self._dim} as before (or as text_encoder.dimensions asks)")
        return out

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._request(["width probe"])  # the model's width, from one short request
        return int(self._dim)  # type: ignore[arg-type]

    def embed(self, texts: list[str], role: Role) -> torch.Tensor:
        prompt = self.config.query_prompt if role == "query" else self.config.document_prompt
        return self._request([prompt + text for text in texts])

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {"name": "openai", "model": c.model, "endpoint": c.base_url.rstrip("/"), "weights_sha256": None,
                "dim": self.dim, "normalized": True, "dimensions_requested": c.dimensions,
                "query_prompt": c.query_prompt, "document_prompt": c.document_prompt}


def build(config: OpenAIEmbeddingsConfig) -> OpenAIEmbeddingsEncoder:
    """An OpenAI-compatible embeddings endpoint (key from the environment)."""
    return OpenAIEmbeddingsEncoder(config)
