"""Where and how a run executes: device choice, seeding, autocast and the hardware label records carry.

The lowest layer of the package: the engine, the trainer and the profiler all take these from here,
and it imports nothing else of rsbench but the error type.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rsbench.errors import ConfigError

if TYPE_CHECKING:
    import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """The torch device ``name`` stands for (``auto`` = CUDA when present); TF32 on for CUDA."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device '{name}' is not a torch device (use auto, cpu, cuda or cuda:N)") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return device


def autocast_for(device: torch.device, enabled: bool) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of autocast contexts: bf16 on CUDA when ``enabled``, a no-op otherwise."""
    import torch

    if device.type == "cuda" and enabled:
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def cpu_name() -> str:
    """The CPU's model name and core count, so records say what hardware measured them."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def device_label(device: torch.device) -> str:
    """``"cuda: NVIDIA H100 ..."`` or ``"cpu: AMD EPYC (2 cores)"``: what records say measured them."""
    import torch

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    return f"{device.type}: {name}"


def check_output_folder(path: str | Path, what: str, setting: str) -> None:
    """A ConfigError now, before any training, if ``path`` cannot become a folder this process writes to.

    Nothing is created: the nearest existing ancestor must be a writable folder (a file on the
    way, or a read-only folder, would otherwise fail only after the training time was spent).
    """
    path = Path(path).expanduser()
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "is a file" if probe == path else f"cannot be created: {probe} is a file"
        raise ConfigError(f"{what} {path} {where}, not a folder; set {setting} to a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path} is not writable ({probe} is read-only for this user); "
                          f"set {setting} to a folder you can write to")


def trim_memory() -> None:
    """Hand the allocator's free memory back to the system (glibc ``malloc_trim``; a no-op elsewhere).

    PyTorch's CPU tensors come from malloc; once freed, glibc keeps the pages in its arenas, so a process that
    runs many experiments in a row (a sweep) would otherwise grow by what each one briefly needed.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return
    trim(0)
