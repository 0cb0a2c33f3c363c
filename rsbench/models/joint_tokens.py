"""Token-level features in the joint embedding space: every patch and word token of an open_clip CLIP,
passed through its tower's final norm and projection, the way CLIP maps its one pooled token.

The retrieval stage's token interaction (fast-then-fine) needs them. They are read with a forward hook on the
final norm (``visual.ln_post``, ``ln_final``) during the adapter's own forward, so an adapter that changes the
towers (LoRA, BitFit, full fine-tuning, a trained projection) changes its tokens too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from rsbench.errors import RsbenchError

# open_clip's SimpleTokenizer pads with 0 and ends a caption with its largest id (EOT, 49407); the first
# position is the start token. Other tokenizers are read the same way (pad 0, EOT = argmax).
PAD_ID = 0


def _text_owner(model: nn.Module) -> nn.Module:
    """CLIP keeps the text tower's modules on the model; CustomTextCLIP under ``model.text``."""
    if hasattr(model, "ln_final"):
        return model
    text = getattr(model, "text", None)
    if text is not None and hasattr(text, "ln_final"):
        return text
    raise RsbenchError(
        "token-level text features need an open_clip text transformer with a final LayerNorm (ln_final); "
        "this backbone's text tower has none (a Hugging Face tower?). Use the dual-stream strategy."
    )


def _visual_norm(model: nn.Module) -> nn.Module:
    visual = model.visual
    norm = getattr(visual, "ln_post", None)
    if norm is None or getattr(visual, "attn_pool", None) is not None or getattr(visual, "final_ln_after_pool", False):
        raise RsbenchError(
            "token-level image features need an open_clip ViT image tower whose ln_post normalises every token "
            "(no attention pooling, final_ln_after_pool false); this backbone's is not one. Use dual-stream."
        )
    return norm


@contextlib.contextmanager
def capture_final_norm(model: nn.Module, tower: str) -> Iterator[dict[str, torch.Tensor]]:
    """Keep the output of ``tower``'s final norm, (B, L, width), under ``"tokens"`` for forwards inside the ``with``."""
    norm = _visual_norm(model) if tower == "visual" else _text_owner(model).ln_final
    captured: dict[str, torch.Tensor] = {}

    def store(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        captured["tokens"] = output

    handle = norm.register_forward_hook(store)
    try:
        yield captured
    finally:
        handle.remove()


def _project(tokens: torch.Tensor, projection: Any) -> torch.Tensor:
    if projection is None:
        return tokens
    if isinstance(projection, nn.Module):
        return projection(tokens)
    return tokens @ projection.to(tokens.dtype)


def project_patch_tokens(model: nn.Module, normed: torch.Tensor) -> torch.Tensor:
    """(B, 1 + P, width) after ln_post -> (B, P, E): the patch tokens through ``visual.proj`` (class token dropped)."""
    return _project(normed[:, 1:], getattr(model.visual, "proj", None))  # open_clip puts the class token first


def project_word_tokens(model: nn.Module, normed: torch.Tensor) -> torch.Tensor:
    """(B, L, width) after ln_final -> (B, L, E) through ``text_projection``."""
    return _project(normed, getattr(_text_owner(model), "text_projection", None))


def word_mask(tokens: torch.Tensor) -> torch.Tensor:
    """(B, L) bool: the caption's word tokens, without start, end-of-text and padding.

    A caption that tokenises to nothing keeps its end-of-text token (the one CLIP pools), so every row has a word.
    """
    positions = torch.arange(tokens.shape[1], device=tokens.device)
    eot = tokens.argmax(dim=1, keepdim=True)
    mask = (tokens != PAD_ID) & (positions[None, :] > 0) & (positions[None, :] < eot)
    empty = ~mask.any(dim=1)
    if empty.any():
        mask[empty] = positions[None, :] == eot[empty]
    return mask
