"""The backbone: an open_clip CLIP with its tokenizer and image transforms, built from a BackboneConfig.

Weights come from an open_clip pretrained tag (downloaded by open_clip), an ``hf-hub:``/``local-dir:``
name (loaded by open_clip), or a local checkpoint file (read by rsbench, strictly, see checkpoints.py).
"""

from __future__ import annotations

import contextlib
import difflib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from rsbench.errors import ConfigError, RsbenchError, UnknownComponentError
from rsbench.models.backbones.checkpoints import Checkpoint, load_into, read_checkpoint, release_quick_gelu
from rsbench.models.backbones.config import (
    HF_HUB_PREFIX,
    MODEL_CONFIG_DIR,
    SCHEMA_PREFIXES,
    BackboneConfig,
    builtin_model_names,
    canonical_model_name,
    close_model_names,
    looks_like_path,
    shipped_tags,
    shipped_weights,
)
from rsbench.safe_load import file_sha256

log = logging.getLogger(__name__)

Tower = Literal["visual", "text"]


@dataclass(eq=False)
class Backbone:
    """A CLIP model and everything needed to feed it.

    ``tokenizer(list[str]) -> LongTensor (N, context_length)``; ``preprocess_train``/``preprocess_eval``
    map a PIL image to a (3, H, W) tensor (train adds open_clip's random resized crop).
    """

    model: nn.Module = field(repr=False)
    tokenizer: Callable[[list[str]], torch.Tensor] = field(repr=False)
    preprocess_train: Callable[[Any], torch.Tensor] = field(repr=False)
    preprocess_eval: Callable[[Any], torch.Tensor] = field(repr=False)
    name: str
    pretrained: str | None
    precision: str = "fp32"
    quick_gelu: bool = False
    quick_gelu_reason: str = ""
    weights_sha256: str | None = None  # digest of the weights file read, so records tell weights apart

    @property
    def image_size(self) -> int:
        size = self.model.visual.image_size
        return int(size if isinstance(size, int) else size[0])

    @property
    def embed_dim(self) -> int:
        return int(self.model.visual.output_dim)

    @property
    def context_length(self) -> int:
        return int(self.model.context_length)

    @property
    def visual_blocks(self) -> list[nn.Module]:
        """``model.visual.transformer.resblocks``; empty for a ResNet or timm image tower."""
        transformer = _visual_transformer(self.model)
        return list(transformer.resblocks) if transformer is not None else []

    @property
    def text_blocks(self) -> list[nn.Module]:
        """``model.transformer.resblocks`` (``model.text.transformer`` for CustomTextCLIP); empty for HF text."""
        transformer = _text_transformer(self.model)
        return list(transformer.resblocks) if transformer is not None else []

    @property
    def width_visual(self) -> int:
        """Channel width of the image tower's tokens (ResNet: the attention-pool input width)."""
        visual = self.model.visual
        transformer = _visual_transformer(self.model)
        if transformer is not None:
            return int(transformer.width)
        if hasattr(visual, "attnpool"):
            return int(visual.attnpool.c_proj.in_features)
        return int(getattr(getattr(visual, "trunk", None), "num_features", visual.output_dim))

    @property
    def width_text(self) -> int:
        transformer = _text_transformer(self.model)
        if transformer is not None:
            return int(transformer.width)
        return int(self.model.text.transformer.config.hidden_size)  # Hugging Face text tower

    def info(self) -> dict[str, Any]:
        """What a result record says about the backbone."""
        return {
            "name": self.name,
            "pretrained": self.pretrained,
            "precision": self.precision,
            "quick_gelu": self.quick_gelu,
            "image_size": self.image_size,
            "embed_dim": self.embed_dim,
        }

    @contextlib.contextmanager
    def capture_blocks(
        self, tower: Tower, indices: int | Sequence[int] | None = None
    ) -> Iterator[dict[int, torch.Tensor]]:
        """Collect block outputs, (B, L, D), of the forwards run inside the ``with``.

        ``indices`` are block numbers (negative counts from the end, None = every block); the dict is
        keyed by the indices as given, and a second forward overwrites the first. Tensors are not
        detached, so gradients flow through them when the forward records any. Hooks are removed on
        exit, also when the body raises.
        """
        if tower == "visual":
            transformer = _visual_transformer(self.model)
        elif tower == "text":
            transformer = _text_transformer(self.model)
        else:
            raise RsbenchError(f"capture_blocks: tower must be 'visual' or 'text', got {tower!r}")
        if transformer is None:
            raise RsbenchError(
                f"backbone '{self.name}' has no open_clip transformer blocks in its {tower} tower "
                f"(a ResNet, timm or Hugging Face tower); choose a ViT architecture"
            )
        blocks = transformer.resblocks
        if indices is None:
            wanted = list(range(len(blocks)))
        else:
            wanted = [indices] if isinstance(indices, int) else list(indices)
        for index in wanted:
            if not -len(blocks) <= index < len(blocks):
                raise RsbenchError(
                    f"capture_blocks: {tower} block {index} does not exist; '{self.name}' has {len(blocks)} blocks"
                )
        batch_first = getattr(transformer, "batch_first", True)
        captured: dict[int, torch.Tensor] = {}

        def hook_for(index: int) -> Callable[..., None]:
            def store(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
                captured[index] = output if batch_first else output.transpose(0, 1)

            return store

        handles = []
        try:
            for index in wanted:
                handles.append(blocks[index].register_forward_hook(hook_for(index)))
            yield captured
        finally:
            for handle in handles:
                handle.remove()


def _visual_transformer(model: nn.Module) -> nn.Module | None:
    transformer = getattr(model.visual, "transformer", None)
    return transformer if hasattr(transformer, "resblocks") else None


def _text_transformer(model: nn.Module) -> nn.Module | None:
    for owner in (model, getattr(model, "text", None)):
        transformer = getattr(owner, "transformer", None)
        if hasattr(transformer, "resblocks"):
            return transformer
    return None


def register_builtin_configs() -> None:
    """Make rsbench's tiny architectures known to open_clip (idempotent)."""
    import open_clip

    if not set(builtin_model_names()) <= set(open_clip.list_models()):
        open_clip.add_model_config(MODEL_CONFIG_DIR)


def build_backbone(cfg: BackboneConfig) -> Backbone:
    """Build the CLIP that ``cfg`` names, with its weights, tokenizer and transforms, on the CPU."""
    import open_clip

    register_builtin_configs()
    name = canonical_model_name(cfg.name)
    if name.startswith(SCHEMA_PREFIXES):
        return _build_from_schema(cfg, name)
    arch_cfg = open_clip.get_model_config(name)
    if arch_cfg is None:
        close = close_model_names(name)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownComponentError(
            f"unknown backbone '{cfg.name}'.{hint} Any open_clip architecture works (open_clip.list_models()), "
            f"as do hf-hub:org/repo, local-dir:/path and the built-in {', '.join(builtin_model_names())}."
        )

    tag_cfg: dict[str, Any] | None = None
    checkpoint: Checkpoint | None = None
    if cfg.pretrained is not None:
        shipped = shipped_weights(name, cfg.pretrained)
        if shipped is not None:
            checkpoint = read_checkpoint(shipped)
        elif looks_like_path(cfg.pretrained) or Path(cfg.pretrained).expanduser().is_file():
            checkpoint = read_checkpoint(cfg.pretrained)
        else:
            tag_cfg = _pretrained_tag_cfg(name, cfg.pretrained)
            checkpoint = read_checkpoint(_download(name, cfg.pretrained, tag_cfg, cfg.cache_dir))
    quick_gelu, reason = resolve_quick_gelu(cfg, name, bool(arch_cfg.get("quick_gelu", False)), tag_cfg, checkpoint)

    # The tag's normalisation and resize (OpenAI, Inception or ImageNet statistics) go with its weights.
    preprocess = {
        f"image_{key}": tag_cfg[key]
        for key in ("mean", "std", "interpolation", "resize_mode")
        if tag_cfg and tag_cfg.get(key) is not None
    }
    with _without_random_init_warning():
        model, preprocess_train, preprocess_eval = open_clip.create_model_and_transforms(
            name,
            pretrained=None,
            precision=cfg.precision,
            device="cpu",
            force_image_size=cfg.image_size,
            cache_dir=cfg.cache_dir,
            quick_gelu=quick_gelu,
            **preprocess,
        )
    if checkpoint is not None:
        load_into(model, checkpoint, name, _open_clip_model_configs)
    log.info("backbone %s (%s): QuickGELU=%s because %s", name, cfg.pretrained or "random init", quick_gelu, reason)
    tokenizer = open_clip.get_tokenizer(name, context_length=model.context_length)
    return Backbone(
        model, tokenizer, preprocess_train, preprocess_eval, name, cfg.pretrained, cfg.precision, quick_gelu, reason,
        weights_sha256=file_sha256(checkpoint.path) if checkpoint is not None else None,
    )


def resolve_quick_gelu(
    cfg: BackboneConfig,
    name: str,
    arch_quick_gelu: bool,
    tag_cfg: dict[str, Any] | None,
    checkpoint: Checkpoint | None,
) -> tuple[bool, str]:
    """Whether to build with QuickGELU, and why: the rule documented on :class:`BackboneConfig`.

    OpenAI trained CLIP with QuickGELU (x * sigmoid(1.702 x)); weights derived from it keep working only
    with the same activation, while open_clip's plain architecture names build nn.GELU.
    """
    if cfg.force_quick_gelu is not None:
        return cfg.force_quick_gelu, "force_quick_gelu is set in the config"
    if arch_quick_gelu:
        return True, f"architecture '{name}' is a QuickGELU variant"
    if tag_cfg is not None:
        quick = bool(tag_cfg.get("quick_gelu", False))
        activation = "QuickGELU" if quick else "GELU"
        return quick, f"open_clip's pretrained table says {name}/{cfg.pretrained} uses {activation}"
    if checkpoint is not None:
        if checkpoint.quick_gelu is not None:
            return checkpoint.quick_gelu, f"{checkpoint.path.name} stores quick_gelu={checkpoint.quick_gelu}"
        if checkpoint.layout == "openai":
            return True, f"{checkpoint.path.name} has OpenAI's layout, and OpenAI CLIP uses QuickGELU"
        release = release_quick_gelu(checkpoint.path)
        if release is not None:
            return release
    return False, f"the default of '{name}' (GELU)"


def _pretrained_tag_cfg(name: str, tag: str) -> dict[str, Any]:
    from open_clip import pretrained

    tag_cfg = pretrained.get_pretrained_cfg(name, tag)
    if tag_cfg:
        return dict(tag_cfg)
    tags = pretrained.list_pretrained_tags_by_model(name)
    if not tags and name in builtin_model_names():
        shipped = shipped_tags(name)
        close = difflib.get_close_matches(tag, shipped, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"open_clip has no pretrained weights for the built-in '{name}', and rsbench ships none tagged "
            f"'{tag}'.{hint} Tags shipped with rsbench: {', '.join(shipped) or 'none'}; `rsbench pretrain` "
            f"makes new weights, and a local checkpoint path works too."
        )
    if not tags:
        raise ConfigError(
            f"open_clip has no pretrained weights for '{name}', and '{tag}' is not a checkpoint file. "
            f"Pass a local checkpoint path as pretrained, or pretrained=null for random init."
        )
    close = difflib.get_close_matches(tag.lower(), tags, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ConfigError(
        f"'{tag}' is neither a pretrained tag of {name} in open_clip nor a checkpoint file.{hint} "
        f"Tags of {name}: {', '.join(tags)}."
    )


def _download(name: str, tag: str, tag_cfg: dict[str, Any], cache_dir: str | None) -> str:
    """The tag's weights from the cache, or downloaded; offline, a clear error at once (backbones/hub.py)."""
    from rsbench.models.backbones.hub import fetch_pretrained

    return fetch_pretrained(name, tag, tag_cfg, cache_dir)


def _build_from_schema(cfg: BackboneConfig, name: str) -> Backbone:
    """``hf-hub:`` and ``local-dir:`` names: open_clip reads config and weights itself."""
    import open_clip

    overrides = {} if cfg.force_quick_gelu is None else {"quick_gelu": cfg.force_quick_gelu}
    try:
        model, preprocess_train, preprocess_eval = open_clip.create_model_and_transforms(
            name, precision=cfg.precision, device="cpu", force_image_size=cfg.image_size, cache_dir=cfg.cache_dir,
            **overrides,
        )
        cache = {} if cfg.cache_dir is None else {"cache_dir": cfg.cache_dir}  # for Hugging Face tokenizers
        tokenizer = open_clip.get_tokenizer(name, context_length=model.context_length, **cache)
    # open_clip wraps hub, file and shape errors alike (RuntimeError, FileNotFoundError, ValueError, ...).
    except Exception as exc:
        if name.startswith(HF_HUB_PREFIX):
            repo = name[len(HF_HUB_PREFIX) :]
            raise RsbenchError(
                f"could not load {name} from the Hugging Face Hub: {type(exc).__name__}: {exc}. This machine may "
                f"have no network: download the repo where there is one (huggingface-cli download {repo} "
                f"--local-dir DIR), copy DIR here and use local-dir:DIR as the backbone name."
            ) from exc
        raise RsbenchError(f"could not load backbone {name}: {type(exc).__name__}: {exc}") from exc
    from open_clip.transformer import QuickGELU

    quick_gelu = any(isinstance(m, QuickGELU) for m in model.modules())
    reason = "force_quick_gelu is set in the config" if overrides else f"{name}'s own open_clip config"
    return Backbone(
        model, tokenizer, preprocess_train, preprocess_eval, name, None, cfg.precision, quick_gelu, reason
    )


def _open_clip_model_configs() -> dict[str, dict[str, Any]]:
    import open_clip

    return {n: open_clip.get_model_config(n) for n in open_clip.list_models()}


class _RandomInitFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Model initialized randomly" not in record.getMessage()


@contextlib.contextmanager
def _without_random_init_warning() -> Iterator[None]:
    # open_clip warns "initialized randomly" on the root logger; rsbench loads the weights itself afterwards.
    root = logging.getLogger()
    drop = _RandomInitFilter()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


def named_factory(name: str) -> Callable[[BackboneConfig], Backbone]:
    """A registry factory bound to one backbone name.

    The run config keeps a section's ``name`` beside its options, so the config the factory receives
    carries the default name; this puts the registered name in before building.
    """

    def factory(cfg: BackboneConfig | None = None) -> Backbone:
        return build_backbone(replace(cfg or BackboneConfig(), name=name))

    factory.__doc__ = f"open_clip backbone '{name}'"
    return factory
