"""The options of the built-in captioners (``--set captioner.<field>=VALUE``); light: listing imports nothing heavy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from rsbench.errors import ConfigError


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


@dataclass
class FileCaptionerConfig:
    """captions made elsewhere: JSON/JSONL keyed by image file name (TRSLLaVA's RSRT release included)

    Captions made elsewhere, read from a file keyed by image filename.
    """

    path: str = field(default="", metadata={
        "help": "JSON {filename: [captions]} or {filename: caption}, or JSONL lines {image, captions|caption|"
                "variants} (TRSLLaVA's RSRT release format included); keys are image ids or file names"})


@dataclass
class OracleCaptionerConfig:
    """SynthRS only: captions written from what was drawn; the upper bound of caption quality

    SynthRS's drawing metadata written out as captions: the upper bound of caption quality.
    """

    metadata: str = field(default="", metadata={
        "help": "SynthRS metadata file (synthrs_meta.json); empty: the one next to the dataset's images/ folder"})


@dataclass
class OpenAICaptionerConfig:
    """any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, LM Studio), images sent inline

    Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, LM Studio) with images inline.
    """

    base_url: str = field(default="https://api.openai.com/v1", metadata={
        "help": "the endpoint's base URL, up to /v1 (vLLM: http://localhost:8000/v1, Ollama: "
                "http://localhost:11434/v1, LM Studio: http://localhost:1234/v1)"})
    model: str = field(default="gpt-4.1", metadata={
        "help": "model name the endpoint serves (TRSLLaVA's code: gpt-4.1)"})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={
        "help": "environment variable holding the key; unset or empty sends no key (local servers need none)"})
    temperature: float = field(default=0.3, metadata={"help": "sampling temperature (TRSLLaVA's code: 0.3)"})
    max_tokens: int = field(default=1800, metadata={"help": "most tokens per reply (TRSLLaVA's code: 1800)"})
    json_mode: bool = field(default=True, metadata={
        "help": "ask for a JSON object (response_format) when the prompt's parser is structured; turn off for "
                "servers that refuse it"})
    image_detail: str = field(default="high", metadata={
        "help": "the image_url 'detail' (high, low, auto); empty leaves it out"})
    image_format: Literal["jpeg", "png"] = field(default="jpeg", metadata={
        "help": "how images are re-encoded into the data URL (jpeg at quality 90, as TRSLLaVA's code)"})
    timeout: float = field(default=120.0, metadata={"help": "seconds to wait for one reply"})
    max_retries: int = field(default=4, metadata={
        "help": "tries after the first on 429, 5xx, timeouts and lost connections, with exponential backoff"})
    backoff: float = field(default=1.0, metadata={
        "help": "seconds before the first retry, doubled for each further one (a Retry-After header wins)"})
    max_backoff: float = field(default=60.0, metadata={"help": "the longest wait between two tries, in seconds"})
    concurrency: int = field(default=4, metadata={"help": "requests in flight at once (threads)"})

    def __post_init__(self) -> None:
        _check(self.base_url.startswith(("http://", "https://")),
               f"base_url must start with http:// or https://; got {self.base_url!r}")
        _check(bool(self.model.strip()), "model must name the model the endpoint serves")
        _check(math.isfinite(self.temperature) and 0 <= self.temperature <= 2,
               f"temperature must be in [0, 2]; got {self.temperature}")
        _check(self.max_tokens >= 1, "max_tokens must be >= 1")
        _check(math.isfinite(self.timeout) and self.timeout > 0, "timeout must be > 0 seconds")
        _check(self.max_retries >= 0, "max_retries must be >= 0")
        _check(math.isfinite(self.backoff) and self.backoff >= 0, "backoff must be >= 0 seconds")
        _check(math.isfinite(self.max_backoff) and self.max_backoff >= 0, "max_backoff must be >= 0")
        _check(self.concurrency >= 1, "concurrency must be >= 1")


@dataclass
class TransformersCaptionerConfig:
    """any image-text-to-text model (hub id or local folder) through transformers, batched, greedy

    An image-text-to-text model through transformers' processor and auto-model API.
    """

    model: str = field(default="", metadata={
        "help": "hub id (Qwen/Qwen2-VL-2B-Instruct, llava-hf/llava-v1.6-mistral-7b-hf, ...) or a local folder"})
    revision: str = field(default="", metadata={"help": "hub revision (branch, tag or commit); empty: the default"})
    max_new_tokens: int = field(default=1024, metadata={
        "help": "most new tokens per reply (five structured variants need several hundred; one sentence ~40)"})
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = field(default="auto", metadata={
        "help": "weights' dtype: auto is bf16 on CUDA and fp32 on the CPU"})
    local_files_only: bool | None = field(default=None, metadata={
        "help": "never reach the hub; null: only when the model is a local folder or HF_HUB_OFFLINE=1"})
    trust_remote_code: bool = field(default=False, metadata={
        "help": "run the model repository's own Python code (some models, e.g. Florence-2, need it)"})
    retry_temperature: float = field(default=0.7, metadata={
        "help": "an unparsable greedy reply is asked once more with sampling at this temperature (seeded); "
                "0 does not retry"})
    seed: int = field(default=0, metadata={"help": "seed of the sampled retry"})

    def __post_init__(self) -> None:
        _check(self.max_new_tokens >= 1, "max_new_tokens must be >= 1")
        _check(math.isfinite(self.retry_temperature) and self.retry_temperature >= 0,
               "retry_temperature must be >= 0")


@dataclass
class TinyCaptionerConfig:
    """the shipped tiny generative captioner (a decoder over rsbench-tiny's image tokens), offline

    The tiny generative captioner that ships with rsbench (``rsbench pretrain-captioner`` makes one).
    """

    weights: str = field(default="", metadata={
        "help": "a captioner file written by `rsbench pretrain-captioner`; empty: the shipped one"})
    variants: int = field(default=5, metadata={
        "help": "captions per image: the greedy one, then sampled ones (duplicates dropped); TRSLLaVA asks for 5"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature of variants 2..N"})
    seed: int = field(default=0, metadata={"help": "seed of the sampled variants (with the image's content digest)"})

    def __post_init__(self) -> None:
        _check(self.variants >= 1, "variants must be >= 1")
        _check(math.isfinite(self.temperature) and self.temperature > 0, "temperature must be > 0")
