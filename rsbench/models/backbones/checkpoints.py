"""CLIP checkpoint files: reading them safely, fitting them to an open_clip model, writing rsbench's own.

Files are read without running pickled code: safetensors, or ``torch.load(weights_only=True)``. OpenAI's
original TorchScript archives are the one exception; they go through ``torch.jit.load`` as in OpenAI's and
open_clip's loaders. RemoteCLIP and GeoRSCLIP release plain open_clip state dicts, so they need no conversion.
"""

from __future__ import annotations

import fnmatch
import logging
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from rsbench.atomic import atomic_path
from rsbench.errors import RsbenchError
from rsbench.safe_load import load_tensors

log = logging.getLogger(__name__)

# Extra entries in OpenAI's TorchScript state dicts (OpenAI's clip.build_model deletes them too).
OPENAI_EXTRA_KEYS: tuple[str, ...] = ("input_resolution", "context_length", "vocab_size")
# Where training scripts nest the weights: open_clip/Lightning "state_dict", timm/DeiT "model", ...
WRAPPER_KEYS: tuple[str, ...] = ("state_dict", "model", "module", "model_state_dict")
# Prefixes that wrap every key: DistributedDataParallel, torch.compile, a Lightning module's ``self.model``.
KEY_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.", "model.")

# Released remote-sensing CLIPs whose files carry no QuickGELU flag: (file-name pattern, quick_gelu, why).
KNOWN_RELEASES: tuple[tuple[str, bool, str], ...] = (
    ("remoteclip-*", True, "RemoteCLIP continues OpenAI CLIP (its retrieval script builds pretrained='openai')"),
    ("rs5m_vit-b-32*", True, "GeoRSCLIP ViT-B-32 is fine-tuned from OpenAI CLIP"),
    ("rs5m_vit-h-14*", False, "GeoRSCLIP ViT-H-14 is fine-tuned from LAION-2B laion2b_s32b_b79k (GELU)"),
)


@dataclass
class Checkpoint:
    """The weights of one file, unwrapped to a flat ``{key: tensor}`` state dict."""

    path: Path
    state_dict: dict[str, torch.Tensor]
    layout: Literal["open_clip", "openai"]
    quick_gelu: bool | None = None  # flag written by save_checkpoint; None when the file does not say
    architecture: str | None = None  # architecture name written by save_checkpoint


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read a .safetensors, .pt/.pth/.bin or OpenAI TorchScript file on the CPU."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise RsbenchError(
            f"checkpoint {path} is a folder; pass the weights file inside it, or name the backbone "
            f"local-dir:{path} when it holds an open_clip_config.json"
        )
    if not path.is_file():
        raise RsbenchError(f"checkpoint file not found: {path}")
    if path.suffix.lower() == ".safetensors":
        return _read_safetensors(path)
    if _is_torchscript_archive(path):
        return _read_torchscript(path)
    raw = load_tensors(path, "weights file")
    flags = raw if isinstance(raw, Mapping) else {}
    state_dict = unwrap_state_dict(raw, str(path))
    layout = "openai" if any(k in state_dict for k in OPENAI_EXTRA_KEYS) else "open_clip"
    quick_gelu = flags.get("quick_gelu")
    architecture = flags.get("architecture")
    return Checkpoint(
        path,
        state_dict,
        layout,
        quick_gelu if isinstance(quick_gelu, bool) else None,
        architecture if isinstance(architecture, str) else None,
    )


def _read_safetensors(path: Path) -> Checkpoint:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            state_dict = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as exc:  # safetensors raises its own SafetensorError for corrupt headers
        raise RsbenchError(f"cannot read {path} as safetensors: {exc}") from exc
    state_dict = unwrap_state_dict(state_dict, str(path))
    flag = metadata.get("quick_gelu", "").lower()
    layout = "openai" if any(k in state_dict for k in OPENAI_EXTRA_KEYS) else "open_clip"
    return Checkpoint(
        path,
        state_dict,
        layout,
        {"true": True, "false": False}.get(flag),
        metadata.get("architecture") or None,
    )


def _is_torchscript_archive(path: Path) -> bool:
    # torch.save zips hold data.pkl; TorchScript archives add constants.pkl and code/.
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") or name == "constants.pkl" for name in archive.namelist())


def _read_torchscript(path: Path) -> Checkpoint:
    log.info("%s is a TorchScript archive (OpenAI's original CLIP format); reading it with torch.jit.load", path)
    try:
        with warnings.catch_warnings():
            # torch deprecates TorchScript, but OpenAI's released weights exist only in this format.
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.* is deprecated", category=FutureWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as exc:
        raise RsbenchError(f"cannot read TorchScript archive {path}: {exc}") from exc
    return Checkpoint(path, dict(module.state_dict()), "openai")


def unwrap_state_dict(obj: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The flat state dict inside a training checkpoint: nested wrappers and key prefixes removed."""
    for _ in range(len(WRAPPER_KEYS) + 1):
        if isinstance(obj, Mapping) and not _is_tensor_map(obj):
            inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
            if inner is None:
                keys = ", ".join(map(str, list(obj)[:8]))
                raise RsbenchError(
                    f"{source} holds a dict with keys [{keys}] but no tensors under any of "
                    f"{', '.join(WRAPPER_KEYS)}; save the model's state_dict() instead"
                )
            obj = inner
    if not isinstance(obj, Mapping) or not _is_tensor_map(obj):
        raise RsbenchError(f"{source} does not hold a state dict of tensors (found {type(obj).__name__})")
    state_dict = {str(k): v for k, v in obj.items()}
    for prefix in KEY_PREFIXES:
        if all(k.startswith(prefix) for k in state_dict):
            state_dict = {k[len(prefix) :]: v for k, v in state_dict.items()}
    return state_dict


def _is_tensor_map(obj: Mapping) -> bool:
    return len(obj) > 0 and all(isinstance(v, torch.Tensor) for v in obj.values())


def release_quick_gelu(path: Path) -> tuple[bool, str] | None:
    """QuickGELU of a known released checkpoint, recognised by its file name, with the reason."""
    for pattern, quick_gelu, why in KNOWN_RELEASES:
        if fnmatch.fnmatch(path.name.lower(), pattern):
            return quick_gelu, why
    return None


def save_checkpoint(
    obj: nn.Module | Mapping[str, Any],
    path: str | Path,
    *,
    quick_gelu: bool | None = None,
    architecture: str | None = None,
) -> Path:
    """Write weights as .safetensors (metadata) or .pt (``{"state_dict": ...}``), atomically.

    ``quick_gelu`` and ``architecture`` are stored with the weights so that loading the file later
    builds the same activation without the user having to remember it.
    """
    path = Path(path)
    state = obj.state_dict() if isinstance(obj, nn.Module) else unwrap_state_dict(obj, "object to save")
    tensors = _detached_unshared(state)
    flags: dict[str, Any] = {}
    if quick_gelu is not None:
        flags["quick_gelu"] = bool(quick_gelu)
    if architecture is not None:
        flags["architecture"] = architecture
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import save_file

            metadata = {"format": "pt", **{k: str(v).lower() if isinstance(v, bool) else v for k, v in flags.items()}}
            save_file(tensors, str(temp), metadata=metadata)
        else:
            torch.save({"state_dict": tensors, **flags}, temp)
    return path


def _detached_unshared(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses tensors that share storage; copy only those, not the whole model.
    seen: set[int] = set()
    out = {}
    for key, value in state.items():
        tensor = value.detach().cpu().contiguous()
        ptr = tensor.untyped_storage().data_ptr()
        if ptr in seen:
            tensor = tensor.clone()
        seen.add(ptr)
        out[key] = tensor
    return out


def load_into(
    model: nn.Module,
    checkpoint: Checkpoint,
    architecture: str,
    model_configs: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None,
) -> None:
    """Load ``checkpoint`` into ``model`` strictly; a mismatch names the keys and the likely architecture.

    Position embeddings are interpolated when only the sequence length differs (``image_size`` override).
    On a mismatch, ``model_configs()`` (name -> open_clip model config) is searched for architectures
    that fit the file.
    """
    state_dict = _to_model_layout(model, dict(checkpoint.state_dict))
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    reshaped = [
        k
        for k in expected
        if k in state_dict and state_dict[k].shape != expected[k].shape and not _resizable(k, state_dict, expected)
    ]
    if missing or unexpected or reshaped:
        raise RsbenchError(_mismatch_message(checkpoint, architecture, missing, unexpected, reshaped, state_dict,
                                             expected, model_configs))
    from open_clip.model import resize_pos_embed, resize_text_pos_embed

    resize_pos_embed(state_dict, model)
    resize_text_pos_embed(state_dict, model)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise RsbenchError(f"checkpoint {checkpoint.path} does not fit architecture '{architecture}': {exc}") from exc


def _to_model_layout(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Bring a CLIP state dict in another layout to this open_clip model's key names and shapes."""
    try:
        from open_clip.convert import convert_state_dict  # MobileCLIP and other third-party layouts
    except ImportError:  # open_clip < 2.25
        convert_state_dict = None
    from open_clip.model import convert_to_custom_text_state_dict

    if convert_state_dict is not None:
        state_dict = convert_state_dict(model, state_dict)
    expected = model.state_dict()
    buffers_not_saved = {name for name, _ in model.named_buffers()} - set(expected)
    for key in [*OPENAI_EXTRA_KEYS, *buffers_not_saved, "text.transformer.embeddings.position_ids"]:
        if key in state_dict and key not in expected:
            del state_dict[key]
    if "positional_embedding" in state_dict and "positional_embedding" not in expected:
        state_dict = convert_to_custom_text_state_dict(state_dict)  # CLIP -> CustomTextCLIP key names
    for key in ("logit_scale", "logit_bias"):
        if key in state_dict and key in expected and state_dict[key].numel() == expected[key].numel():
            state_dict[key] = state_dict[key].reshape(expected[key].shape)
    if "logit_bias" in expected and "logit_bias" not in state_dict:
        state_dict["logit_bias"] = torch.zeros_like(expected["logit_bias"])  # CLIP weights into a SigLIP head
    return state_dict


def _resizable(key: str, state_dict: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor]) -> bool:
    # Position embeddings differing only in length are interpolated (open_clip does the same).
    if key not in ("visual.positional_embedding", "positional_embedding", "text.positional_embedding"):
        return False
    got, want = state_dict[key], expected[key]
    return got.ndim == want.ndim == 2 and got.shape[1] == want.shape[1]


def _mismatch_message(
    checkpoint: Checkpoint,
    architecture: str,
    missing: list[str],
    unexpected: list[str],
    reshaped: list[str],
    state_dict: Mapping[str, torch.Tensor],
    expected: Mapping[str, torch.Tensor],
    model_configs: Callable[[], Mapping[str, Mapping[str, Any]]] | None,
) -> str:
    def few(keys: list[str]) -> str:
        shown = ", ".join(keys[:4])
        return shown + (f", ... ({len(keys) - 4} more)" if len(keys) > 4 else "")

    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys ({few(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys ({few(unexpected)})")
    if reshaped:
        shapes = [f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(expected[k].shape)}" for k in reshaped]
        parts.append(f"{len(reshaped)} keys with another shape ({few(shapes)})")
    message = f"checkpoint {checkpoint.path} does not fit architecture '{architecture}': {'; '.join(parts)}."
    candidates = guess_architectures(checkpoint.state_dict, model_configs()) if model_configs else []
    if checkpoint.architecture and checkpoint.architecture not in candidates:
        candidates.insert(0, checkpoint.architecture)
    if candidates:
        message += f" The file's shapes fit: {', '.join(candidates[:6])}; pass one of those as the backbone name."
    else:
        message += " Pass the architecture it was trained with as the backbone name (`rsbench list backbone`)."
    return message


def guess_architectures(
    state_dict: Mapping[str, torch.Tensor], model_configs: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Names in ``model_configs`` whose tower shapes fit ``state_dict`` (exact resolution first).

    Only standard open_clip CLIP layouts (ViT or ModifiedResNet image tower, open_clip text tower) are
    recognised; ``-quickgelu`` twins are left out since they have the same shapes.
    """
    found = _shape_signature(state_dict)
    if found is None:
        return []
    exact, resized = [], []
    for name, cfg in model_configs.items():
        if name.endswith("-quickgelu"):
            continue
        sig = _config_signature(cfg)
        if sig is None:
            continue
        if sig == found:
            exact.append(name)
        elif sig[:-2] == found[:-2]:  # same towers, other image size or context length
            resized.append(name)
    return exact + resized


def _shape_signature(sd: Mapping[str, torch.Tensor]) -> tuple | None:
    """(embed_dim, image tower, text tower, image_size, context_length) read from the weights."""
    try:
        text = (
            sd["ln_final.weight"].shape[0],
            _count_blocks(sd, "transformer.resblocks."),
            sd["token_embedding.weight"].shape[0],
        )
        embed_dim = sd["text_projection"].shape[-1]
        context_length = sd["positional_embedding"].shape[0]
        if "visual.conv1.weight" in sd and "visual.proj" in sd:
            conv = sd["visual.conv1.weight"]
            patch = conv.shape[-1]
            grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
            vision = ("vit", conv.shape[0], _count_blocks(sd, "visual.transformer.resblocks."), patch)
            image_size = grid * patch
        elif "visual.layer1.0.conv1.weight" in sd:
            layers = tuple(len({k.split(".")[2] for k in sd if k.startswith(f"visual.layer{i}.")}) for i in range(1, 5))
            vision = ("rn", sd["visual.layer1.0.conv1.weight"].shape[0], layers, None)
            image_size = round((sd["visual.attnpool.positional_embedding"].shape[0] - 1) ** 0.5) * 32
        else:
            return None
    except KeyError:
        return None
    return (embed_dim, vision, text, image_size, context_length)


def _count_blocks(sd: Mapping[str, torch.Tensor], prefix: str) -> int:
    return len({k[len(prefix) :].split(".")[0] for k in sd if k.startswith(prefix)})


def _config_signature(cfg: Mapping[str, Any]) -> tuple | None:
    from open_clip.model import CLIPTextCfg, CLIPVisionCfg

    vision_cfg, text_cfg = dict(cfg.get("vision_cfg", {})), dict(cfg.get("text_cfg", {}))
    if cfg.get("custom_text") or "hf_model_name" in text_cfg or vision_cfg.get("timm_model_name"):
        return None
    try:
        vision, text = CLIPVisionCfg(**vision_cfg), CLIPTextCfg(**text_cfg)
    except TypeError:  # a config key this open_clip does not know
        return None
    image_size = vision.image_size if isinstance(vision.image_size, int) else vision.image_size[0]
    if isinstance(vision.layers, int):
        tower = ("vit", vision.width, vision.layers, vision.patch_size)
    else:
        tower = ("rn", vision.width, tuple(vision.layers), None)
    return (cfg["embed_dim"], tower, (text.width, text.layers, text.vocab_size), image_size, text.context_length)
