"""The options of the built-in captioners (``--set captioner.<field>=VALUE``); light: listing imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rsbench.options import Options, option


@dataclass
class FileCaptionerConfig(Options):
    """captions made elsewhere: JSON/JSONL keyed by image file name (TRSLLaVA's RSRT release included)

    Captions made elsewhere, read from a file keyed by image filename.
    """

    path: str = option(
        "", "JSON {filename: [captions]} or {filename: caption}, or JSONL lines {image, captions|caption|variants} "
        "(TRSLLaVA's RSRT release format included); keys are image ids or file names")


@dataclass
class OracleCaptionerConfig(Options):
    """SynthRS only: captions written from what was drawn; the upper bound of caption quality

    SynthRS's drawing metadata written out as captions: the upper bound of caption quality.
    """

    metadata: str = option(
        "", "SynthRS metadata file (synthrs_meta.json); empty: the one next to the dataset's images/ folder")


@dataclass
class OpenAICaptionerConfig(Options):
    """any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, LM Studio), images sent inline

    Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, LM Studio) with images inline.
    """

    base_url: str = option(
        "https://api.openai.com/v1", "the endpoint's base URL, up to /v1 (vLLM: http://localhost:8000/v1, Ollama: "
        "http://localhost:11434/v1, LM Studio: http://localhost:1234/v1)", prefix=("http://", "https://"))
    model: str = option("gpt-4.1", "model name the endpoint serves (TRSLLaVA's code: gpt-4.1)", nonempty=True)
    api_key_env: str = option(
        "OPENAI_API_KEY", "environment variable holding the key; unset or empty sends no key (local servers need none)")
    temperature: float = option(0.3, "sampling temperature (TRSLLaVA's code: 0.3)", ge=0, le=2)
    max_tokens: int = option(1800, "most tokens per reply (TRSLLaVA's code: 1800)", ge=1)
    json_mode: bool = option(
        True, "ask for a JSON object (response_format) when the prompt's parser is structured; turn off for servers "
        "that refuse it")
    image_detail: str = option("high", "the image_url 'detail' (high, low, auto); empty leaves it out",
                               choices=("high", "low", "auto", ""))
    image_format: Literal["jpeg", "png"] = option(
        "jpeg", "how images are re-encoded into the data URL (jpeg at quality 90, as TRSLLaVA's code)")
    timeout: float = option(120.0, "seconds to wait for one reply", gt=0)
    max_retries: int = option(
        4, "tries after the first on 429, 5xx, timeouts and lost connections, with exponential backoff", ge=0)
    backoff: float = option(
        1.0, "seconds before the first retry, doubled for each further one (a Retry-After header wins)", ge=0)
    max_backoff: float = option(60.0, "the longest wait between two tries, in seconds", ge=0)
    concurrency: int = option(4, "requests in flight at once (threads)", ge=1)


@dataclass
class TransformersCaptionerConfig(Options):
    """any image-text-to-text model (hub id or local folder) through transformers, batched, greedy

    An image-text-to-text model through transformers' processor and auto-model API.
    """

    model: str = option(
        "", "hub id (Qwen/Qwen2-VL-2B-Instruct, llava-hf/llava-v1.6-mistral-7b-hf, ...) or a local folder")
    revision: str = option("", "hub revision (branch, tag or commit); empty: the default")
    max_new_tokens: int = option(
        1024, "most new tokens per reply (five structured variants need several hundred; one sentence ~40)", ge=1)
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = option(
        "auto", "weights' dtype: auto is bf16 on CUDA and fp32 on the CPU")
    local_files_only: bool | None = option(
        None, "never reach the hub; null: only when the model is a local folder or HF_HUB_OFFLINE=1")
    trust_remote_code: bool = option(
        False, "run the model repository's own Python code (some models, e.g. Florence-2, need it)")
    retry_temperature: float = option(
        0.7, "an unparsable greedy reply is asked once more with sampling at this temperature (seeded); 0 does not "
        "retry", ge=0)
    seed: int = option(0, "seed of the sampled retry")


@dataclass
class TinyCaptionerConfig(Options):
    """the shipped tiny generative captioner (a decoder over rsbench-tiny's image tokens), offline

    The tiny generative captioner that ships with rsbench (``rsbench pretrain-captioner`` makes one).
    """

    weights: str = option("", "a captioner file written by `rsbench pretrain-captioner`; empty: the shipped one")
    variants: int = option(
        5, "captions per image: the greedy one, then sampled ones (duplicates dropped); TRSLLaVA asks for 5", ge=1)
    temperature: float = option(0.7, "sampling temperature of variants 2..N", gt=0)
    seed: int = option(0, "seed of the sampled variants (with the image's content digest)")
