"""Device-independent and device-specific measures of what training an adapter costs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts, each shared tensor counted once."""
    seen: dict[int, nn.Parameter] = {}
    for p in module.parameters():
        seen.setdefault(id(p), p)
    total = sum(p.numel() for p in seen.values())
    trainable = sum(p.numel() for p in seen.values() if p.requires_grad)
    return trainable, total


def saved_for_backward_bytes(module: nn.Module, forward: Callable[[], torch.Tensor]) -> int:
    """Bytes autograd keeps for backward during ``forward()``: activation memory, device-independent.

    Every tensor packed by autograd is counted once per underlying storage
    (``untyped_storage().nbytes()``); parameters are excluded because they exist anyway. The math
    attention kernel is pinned so the count does not depend on which fused kernel a device has.
    """
    param_storages = {p.untyped_storage().data_ptr() for p in module.parameters()}
    seen: set[int] = set()
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in seen and ptr not in param_storages:
            seen.add(ptr)
            total += storage.nbytes()
        # Not ``tensor`` itself: a saved output packed as itself references its own grad_fn from C++, a cycle
        # the garbage collector cannot see, so the graph, the activations and the weights outlived every run
        # (about 230 MB a run on the embedded default). The detached view keeps the storage without the cycle.
        return tensor.detach()

    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel([SDPBackend.MATH]), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = forward()
    del out
    return total


@contextlib.contextmanager
def peak_memory(device: torch.device) -> Iterator[dict[str, Any]]:
    """Peak memory inside the block: ``torch.cuda.max_memory_allocated`` on CUDA, peak RSS growth on CPU.

    The CPU figure is the block's highest resident set less the one it started with (``rsbench.rss``: on Linux
    the kernel's high-water mark is reset for the block, so a second training in one process measures its own
    peak; elsewhere a lower bound, and ``result["rss_exact"]`` is False). ``result["so_far"]()`` gives the peak up
    to now, inside the block (a checkpoint stores it, so a resumed run can report the peak over both of its halves).
    """
    result: dict[str, Any] = {"peak_memory_bytes": 0}
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        result["so_far"] = lambda: int(torch.cuda.max_memory_allocated(device))
        yield result
        torch.cuda.synchronize(device)
        result["peak_memory_bytes"] = int(torch.cuda.max_memory_allocated(device))
    else:
        from rsbench.rss import rss_peak

        with rss_peak() as block:
            result["so_far"], result["rss_exact"] = block.growth, block.exact
            yield result
            result["peak_memory_bytes"] = block.growth()
