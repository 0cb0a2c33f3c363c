"""The ``openai`` captioner: each image goes inline (a base64 data URL) to an OpenAI-compatible chat endpoint.

One request per image, at most ``concurrency`` in flight; the HTTP client (``rsbench.remote.openai_client``) retries
429/5xx and timeouts. A request that still fails is that image's failure; a refused key, a wrong URL or model, or an
endpoint that cannot be reached stops the run with one error (the cache keeps the batches already finished).
As TRSLLaVA's code: temperature 0.3, JSON mode for the structured prompt, the image as a quality-90 JPEG with
``detail: high``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from rsbench.captioning.base import Captioner, CaptionFailure, Reply
from rsbench.captioning.config import OpenAICaptionerConfig
from rsbench.captioning.images import image_data_url
from rsbench.errors import DataError
from rsbench.remote.openai_client import OpenAICompatibleClient, RequestFailed

if TYPE_CHECKING:
    from rsbench.captioning.prompt import Prompt
    from rsbench.data.record import Record


class OpenAICaptioner(Captioner):
    """Captions from a chat-completions endpoint (OpenAI, vLLM, Ollama, LM Studio)."""

    def __init__(self, config: OpenAICaptionerConfig) -> None:
        self.config = config
        self._client: OpenAICompatibleClient | None = None

    @property
    def client(self) -> OpenAICompatibleClient:
        if self._client is None:
            c = self.config
            self._client = OpenAICompatibleClient(
                c.base_url, os.environ.get(c.api_key_env) or None, timeout=c.timeout, max_retries=c.max_retries,
                backoff=c.backoff, max_backoff=c.max_backoff, key_hint=f"${c.api_key_env} (captioner.api_key_env)")
        return self._client

    def describe(self) -> dict[str, Any]:
        c = self.config
        # The endpoint is part of what makes the captions: one model name may be other weights on another server.
        return {"model": c.model, "oracle": False, "endpoint": c.base_url.rstrip("/"),
                "settings": {"temperature": c.temperature, "max_tokens": c.max_tokens, "json_mode": c.json_mode,
                             "image_detail": c.image_detail, "image_format": c.image_format}}

    def messages(self, record: Record, prompt: Prompt) -> list[dict[str, Any]]:
        """The one user message for ``record``: the prompt's text, then the image as a data URL."""
        image: dict[str, Any] = {"url": image_data_url(record.image, self.config.image_format)}
        if self.config.image_detail:
            image["detail"] = self.config.image_detail
        return [{"role": "user", "content": [{"type": "text", "text": prompt.text},
                                             {"type": "image_url", "image_url": image}]}]

    def _one(self, record: Record, prompt: Prompt) -> Reply:
        c = self.config
        try:
            messages = self.messages(record, prompt)
        except DataError as exc:
            return CaptionFailure(str(exc))
        params: dict[str, Any] = {"temperature": c.temperature, "max_tokens": c.max_tokens}
        if c.json_mode and prompt.parser == "structured":
            params["response_format"] = {"type": "json_object"}
        try:
            return self.client.chat(c.model, messages, **params).text
        except RequestFailed as exc:
            return CaptionFailure(str(exc))

    def caption(self, records: Sequence[Record], prompt: Prompt, *, device: str = "cpu",
                retry: bool = False) -> list[Reply]:
        if not records:
            return []
        pool = ThreadPoolExecutor(max_workers=min(self.config.concurrency, len(records)),
                                  thread_name_prefix="rsbench-caption")
        try:
            futures = [pool.submit(self._one, record, prompt) for record in records]
            replies = [future.result() for future in futures]  # an EndpointError stops the batch here
        except BaseException as exc:
            # drop what has not started; let requests in flight end (within the timeout), except after Ctrl-C
            pool.shutdown(wait=not isinstance(exc, KeyboardInterrupt), cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return replies


def build(config: OpenAICaptionerConfig) -> OpenAICaptioner:
    """OpenAI-compatible chat endpoint captioner."""
    return OpenAICaptioner(config)
