"""What a backbone is made of: an open_clip architecture name, its weights and its precision.

Light on purpose (no torch or open_clip at import time) so that ``rsbench list`` stays fast.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rsbench.errors import ConfigError
from rsbench.options import Options, option

MODEL_CONFIG_DIR = Path(__file__).parent / "model_configs"
# Pretrained weights that ship inside the package: <architecture>-<tag>.safetensors plus its model card.
SHIPPED_WEIGHTS_DIR = Path(__file__).parent / "weights"
CHECKPOINT_SUFFIXES: tuple[str, ...] = (".pt", ".pth", ".bin", ".safetensors")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
HF_HUB_PREFIX = "hf-hub:"
LOCAL_DIR_PREFIX = "local-dir:"
SCHEMA_PREFIXES: tuple[str, ...] = (HF_HUB_PREFIX, LOCAL_DIR_PREFIX)


@dataclass
class BackboneConfig(Options):
    """An open_clip CLIP: architecture, weights, precision.

    QuickGELU (``force_quick_gelu=None``) is inferred, first rule that applies wins: a ``-quickgelu``
    architecture name; open_clip's table for a pretrained tag (``openai`` and other OpenAI-style tags
    are QuickGELU); a ``quick_gelu`` flag stored in the checkpoint (rsbench writes one); the OpenAI
    checkpoint layout (TorchScript archive or ``input_resolution``/``context_length``/``vocab_size``
    keys); a known release by file name (RemoteCLIP-*, GeoRSCLIP ``RS5M_ViT-B-32``: QuickGELU;
    GeoRSCLIP ``RS5M_ViT-H-14``: GELU); otherwise the architecture's default (GELU).
    """

    name: str = option(
        "rsbench-tiny",
        "open_clip architecture (ViT-B-32, ViT-L-14, RN50, ...), hf-hub:org/repo, "
        "local-dir:/path, or a built-in tiny model (rsbench-tiny, rsbench-tiny-vit16)",
        nonempty=True,
    )
    pretrained: str | None = option(
        None,
        "open_clip pretrained tag (openai, laion2b_s34b_b79k, ...), a tag rsbench ships "
        "(rsbench-tiny: synthetic), or a local checkpoint (.pt/.pth/.bin/.safetensors: RemoteCLIP, "
        "GeoRSCLIP, OpenAI, open_clip); null = random init",
        nonempty=True,
    )
    precision: Literal["fp32", "bf16", "fp16"] = option(
        "fp32", "weight precision (open_clip's fp16/bf16 keep LayerNorm in fp32)"
    )
    image_size: int | None = option(
        None, "override the input resolution; pretrained position embeddings are interpolated", ge=8
    )
    force_quick_gelu: bool | None = option(
        None,
        "QuickGELU activations (OpenAI-derived weights need them); null = infer from "
        "the name, tag or checkpoint",
    )
    cache_dir: str | None = option(None, "where open_clip caches downloaded weights (default: its own cache)")

    def validate(self) -> None:
        self.name = self.name.strip()  # normalise: ' ViT-B-32 ' names ViT-B-32
        if self.pretrained is None:
            return
        self.pretrained = self.pretrained.strip()
        if self.name.startswith(SCHEMA_PREFIXES):
            raise ConfigError(
                f"name '{self.name}' brings its own weights; drop pretrained={self.pretrained!r} "
                f"(or name the architecture and pass the file as pretrained)"
            )
        suffix = Path(self.pretrained).suffix.lower()
        if looks_like_path(self.pretrained) and suffix and suffix not in CHECKPOINT_SUFFIXES:
            raise ConfigError(
                f"pretrained file {self.pretrained!r} has suffix '{suffix}'; rsbench reads "
                f"{', '.join(CHECKPOINT_SUFFIXES)} (a folder with open_clip_config.json: use name=local-dir:PATH)"
            )


def looks_like_path(pretrained: str) -> bool:
    """True when ``pretrained`` names a file rather than an open_clip tag (tags have no '/' or suffix)."""
    return (
        "/" in pretrained
        or "\\" in pretrained
        or pretrained.startswith(("~", "."))
        or Path(pretrained).suffix.lower() in CHECKPOINT_SUFFIXES
    )


def shipped_tags(name: str) -> list[str]:
    """Pretrained tags rsbench ships for a built-in architecture (``rsbench-tiny`` -> ``["synthetic"]``)."""
    prefix = f"{name}-"
    return sorted(p.name[len(prefix):-len(".safetensors")] for p in SHIPPED_WEIGHTS_DIR.glob(f"{name}-*.safetensors")
                  if not p.name[len(prefix):].count("-"))


def shipped_weights(name: str, tag: str) -> Path | None:
    """The packaged weights file of ``name`` / ``tag``, or None when rsbench ships no such pair."""
    if name not in builtin_model_names() or looks_like_path(tag):
        return None
    path = SHIPPED_WEIGHTS_DIR / f"{name}-{tag}.safetensors"
    return path if path.is_file() else None


def builtin_model_names() -> list[str]:
    """The tiny architectures that ship with rsbench (``model_configs/*.json``)."""
    return sorted(p.stem for p in MODEL_CONFIG_DIR.glob("*.json"))


def known_model_names() -> list[str]:
    """Built-in names, then every architecture open_clip knows (imports open_clip: slow, call lazily)."""
    import open_clip

    names = builtin_model_names()
    return names + [n for n in open_clip.list_models() if n not in names]


def canonical_model_name(name: str) -> str:
    """Papers write ViT-B/32; open_clip spells it ViT-B-32 (schema names are left alone)."""
    return name if name.startswith(SCHEMA_PREFIXES) else name.replace("/", "-")


def is_backbone_name(name: str) -> bool:
    """Whether ``name`` can be built: a built-in or open_clip architecture, or an hf-hub:/local-dir: id."""
    if name.startswith(SCHEMA_PREFIXES):
        return len(name.split(":", 1)[1]) > 0
    canonical = canonical_model_name(name)
    return canonical in builtin_model_names() or canonical in known_model_names()


def close_model_names(name: str, n: int = 5) -> list[str]:
    """Known names closest to a misspelt one, ignoring case."""
    names = known_model_names()
    by_lower = {k.lower(): k for k in names}
    close = difflib.get_close_matches(canonical_model_name(name).lower(), list(by_lower), n=n, cutoff=0.6)
    return [by_lower[c] for c in close]
