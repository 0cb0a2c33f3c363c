"""LoRA on open_clip transformer blocks: every targeted weight W acts as W + (alpha/r)·B·A (Hu et al. 2021).

Why not all through peft: ``mlp.c_fc``/``mlp.c_proj`` are plain ``nn.Linear`` layers called through their
``forward`` and get peft's LoRA layer (y = W x + b + (alpha/r)·B·A·dropout(x)). ``nn.MultiheadAttention``
hands ``in_proj_weight`` and ``out_proj.weight`` straight to ``F.multi_head_attention_forward``; no Linear
``forward`` runs. peft 0.21 gets in_proj right (it merges around each forward) but not out_proj: targeting
the attention adds the out_proj update twice (its merge adds it, then the nested LoRA Linear's merge adds it
again), and targeting ``out_proj`` alone changes nothing. So both attention weights are
``torch.nn.utils.parametrize`` parametrizations W -> W + (alpha/r)·B·A, and PyTorch's own attention (masks,
fast path) runs unchanged on exactly the adapted weight. Input dropout cannot act on a weight, so these two
get none (peft's attention LoRA has none either); ``LoraConfig`` refuses a dropout that would act on nothing.

A is Kaiming-uniform and B zero (loralib's and peft's init), so a fresh adapter computes the backbone's
function. Factors stay float32 on a half-precision backbone so that small updates are not rounded away.
``merge_lora`` folds the updates into the base weights for inference, ``unmerge_lora`` takes them out again;
while merged the factors get no gradient.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize

from rsbench.errors import ConfigError, RsbenchError
from rsbench.models.adapters.base import Adapter
from rsbench.models.adapters.lora.config import LoraConfig

PEFT_ADAPTER = "default"  # peft's adapter name; one LoRA per layer here
# Target -> (path of the module owning the weight, weight attribute) inside a ResidualAttentionBlock.
ATTENTION_WEIGHTS: dict[str, tuple[str, str]] = {"in_proj": ("attn", "in_proj_weight"),
                                                 "out_proj": ("attn.out_proj", "weight")}
MLP_LINEARS: dict[str, str] = {"c_fc": "mlp.c_fc", "c_proj": "mlp.c_proj"}


class LowRankDelta(nn.Module):
    """Parametrization W -> W + scale·B·A (B: out×r, A: r×in); the identity once merged into W."""

    def __init__(self, weight: torch.Tensor, rank: int, scale: float) -> None:
        super().__init__()
        out_features, in_features = weight.shape
        dtype = torch.float32 if weight.dtype in (torch.float16, torch.bfloat16) else weight.dtype
        self.lora_A = nn.Parameter(torch.empty(rank, in_features, device=weight.device, dtype=dtype))
        self.lora_B = nn.Parameter(torch.zeros(out_features, rank, device=weight.device, dtype=dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as nn.Linear, loralib and peft
        self.scale = scale
        self.merged = False

    def delta(self) -> torch.Tensor:
        return (self.lora_B @ self.lora_A) * self.scale

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.merged:
            return weight
        return weight + self.delta().to(weight.dtype)


def _peft_lora_layer():
    from peft.tuners.lora import LoraLayer

    return LoraLayer


def _attention_deltas(block: nn.Module) -> Iterator[tuple[str, LowRankDelta]]:
    """(target, its LowRankDelta) for each adapted attention weight of one block."""
    for target, (path, name) in ATTENTION_WEIGHTS.items():
        owner = block.get_submodule(path) if _has_submodule(block, path) else None
        if owner is not None and parametrize.is_parametrized(owner, name):
            for p in owner.parametrizations[name]:
                if isinstance(p, LowRankDelta):
                    yield target, p


def _has_submodule(module: nn.Module, path: str) -> bool:
    try:
        module.get_submodule(path)
    except AttributeError:
        return False
    return True


def lora_factors(block: nn.Module) -> dict[str, tuple[nn.Parameter, nn.Parameter]]:
    """``{target: (A, B)}`` of every adapted weight of one block; the update of that weight is scale·B·A."""
    factors = {target: (delta.lora_A, delta.lora_B) for target, delta in _attention_deltas(block)}
    LoraLayer = _peft_lora_layer()
    for target, path in MLP_LINEARS.items():
        if _has_submodule(block, path):
            layer = block.get_submodule(path)
            if isinstance(layer, LoraLayer) and PEFT_ADAPTER in layer.lora_A:
                factors[target] = (layer.lora_A[PEFT_ADAPTER].weight, layer.lora_B[PEFT_ADAPTER].weight)
    return factors


def _check_block(block: nn.Module, targets: Sequence[str]) -> None:
    kind = type(block).__name__
    LoraLayer = _peft_lora_layer()
    if any(isinstance(m, LowRankDelta | LoraLayer) for m in block.modules()):
        raise RsbenchError(f"this {kind} already carries LoRA; inject_lora must run once per block")
    if any(t in ATTENTION_WEIGHTS for t in targets):
        attn = getattr(block, "attn", None)
        if not isinstance(attn, nn.MultiheadAttention) or not attn._qkv_same_embed_dim:
            raise ConfigError(
                f"LoRA on in_proj/out_proj needs blocks with a packed nn.MultiheadAttention 'attn'; {kind} has "
                f"{type(attn).__name__}. Choose a standard open_clip ViT or drop in_proj/out_proj from adapter.targets"
            )
    for target in targets:
        if target in MLP_LINEARS and not (
            _has_submodule(block, MLP_LINEARS[target])
            and isinstance(block.get_submodule(MLP_LINEARS[target]), nn.Linear)
        ):
            raise ConfigError(f"LoRA target {target} needs an nn.Linear at {MLP_LINEARS[target]}; {kind} has none")


def inject_lora(blocks: Sequence[nn.Module], config: LoraConfig) -> list[nn.Parameter]:
    """Add LoRA to ``config.targets`` of every open_clip ResidualAttentionBlock in ``blocks``, in place.

    Everything else in the blocks is frozen; the returned LoRA factors (A then B, block by block) are
    the only parameters of the blocks that train. ``config.towers`` is not read: the caller picks the
    blocks (the Focus-Adapter passes ``backbone.text_blocks``).
    """
    targets = list(config.targets)
    if len({id(block) for block in blocks}) != len(blocks):
        raise RsbenchError("inject_lora got the same block twice")
    for block in blocks:  # check every block before changing any
        _check_block(block, targets)
    mlp_targets = [MLP_LINEARS[t] for t in targets if t in MLP_LINEARS]
    params: list[nn.Parameter] = []
    for block in blocks:
        for p in block.parameters():
            p.requires_grad_(False)
        for target in targets:
            if target in ATTENTION_WEIGHTS:
                path, name = ATTENTION_WEIGHTS[target]
                owner = block.get_submodule(path)
                delta = LowRankDelta(getattr(owner, name), config.rank, config.scale)
                parametrize.register_parametrization(owner, name, delta)
        if mlp_targets:
            _inject_peft_linears(block, mlp_targets, config)
        factors = lora_factors(block)
        for target in targets:
            params.extend(factors[target])
    for p in params:
        p.requires_grad_(True)
    return params


def _inject_peft_linears(block: nn.Module, paths: list[str], config: LoraConfig) -> None:
    import peft

    pattern = "|".join(p.replace(".", r"\.") for p in paths)  # full-match, so attn.out_proj never matches c_proj
    peft_config = peft.LoraConfig(
        r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout, target_modules=f"(?:{pattern})",
        bias="none", init_lora_weights=True,
    )
    peft.inject_adapter_in_model(peft_config, block, adapter_name=PEFT_ADAPTER)
    for path in paths:
        layer = block.get_submodule(path)
        for factor in (layer.lora_A[PEFT_ADAPTER].weight, layer.lora_B[PEFT_ADAPTER].weight):
            if factor.dtype in (torch.float16, torch.bfloat16):
                factor.data = factor.data.float()  # peft casts inputs to the factors' dtype and back


def _low_rank_deltas(module: nn.Module) -> Iterator[tuple[nn.Module, str, LowRankDelta]]:
    """(owner, weight name, LowRankDelta) of every weight parametrized with LoRA under ``module``."""
    for owner in module.modules():
        if parametrize.is_parametrized(owner):
            for name, chain in owner.parametrizations.items():
                for p in chain:
                    if isinstance(p, LowRankDelta):
                        yield owner, name, p


def merge_lora(module: nn.Module) -> None:
    """Fold every LoRA update under ``module`` into its base weight (idempotent); outputs do not change."""
    LoraLayer = _peft_lora_layer()
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, LoraLayer) and not sub.merged:
                sub.merge()
        for owner, name, delta in _low_rank_deltas(module):
            if not delta.merged:
                original = owner.parametrizations[name].original
                original.add_(delta.delta().to(original.dtype))
                delta.merged = True


def unmerge_lora(module: nn.Module) -> None:
    """Take merged LoRA updates back out of the base weights (idempotent)."""
    LoraLayer = _peft_lora_layer()
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, LoraLayer) and sub.merged:
                sub.unmerge()
        for owner, name, delta in _low_rank_deltas(module):
            if delta.merged:
                original = owner.parametrizations[name].original
                original.sub_(delta.delta().to(original.dtype))
                delta.merged = False


class LoraAdapter(Adapter):
    """Frozen CLIP with LoRA in the transformer blocks of the chosen towers; only the factors train."""

    def __init__(self, config: LoraConfig, backbone) -> None:
        super().__init__(backbone)
        self.config = config
        self.freeze_backbone()
        towers = ("visual", "text") if config.towers == "both" else (config.towers,)
        blocks: list[nn.Module] = []
        for tower in towers:
            tower_blocks = backbone.visual_blocks if tower == "visual" else backbone.text_blocks
            if not tower_blocks:
                raise ConfigError(
                    f"backbone '{backbone.name}' has no open_clip transformer blocks in its {tower} tower "
                    f"(a ResNet, timm or Hugging Face tower), so LoRA cannot go there; choose a ViT architecture "
                    f"or set adapter.towers to the other tower"
                )
            blocks.extend(tower_blocks)
        inject_lora(blocks, config)
        self.model.logit_scale.requires_grad_(config.train_logit_scale)

    def lora_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if "lora_" in n]

    def merge(self) -> None:
        """Fold the updates into the backbone's weights (for inference; the factors then get no gradient)."""
        merge_lora(self.model)

    def unmerge(self) -> None:
        """Restore the backbone's own weights after ``merge``."""
        unmerge_lora(self.model)


def build(config: LoraConfig, backbone) -> LoraAdapter:
    """LoRA on the towers ``config.towers`` names; the rest of the backbone frozen."""
    return LoraAdapter(config, backbone)
