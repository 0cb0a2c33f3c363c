"""Multi-process training (DistributedDataParallel): the process group torchrun describes, and the collectives
the trainer needs (features gathered with their gradients, as open_clip's ``gather_features``).

A run started by ``torchrun --nproc-per-node N -m rsbench run …`` (or ``rsbench run --nproc N``) finds
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in its environment and joins
the group: NCCL on CUDA (one GPU per process, ``cuda:LOCAL_RANK``), gloo on CPU. With ``WORLD_SIZE`` unset
or 1 nothing here creates a group, and every function below is the single-process identity.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from rsbench.errors import ConfigError

if TYPE_CHECKING:
    import torch

TORCHRUN_ENV: tuple[str, ...] = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
# Rank 0 alone evaluates after each epoch while the others wait: a large gallery may take a while.
TIMEOUT = timedelta(hours=1)


def env_world_size() -> int:
    """The world size torchrun set for this process (1 when not launched by torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError as exc:
        raise ConfigError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not an integer; launch with torchrun") from exc


def env_rank() -> int:
    """This process's rank as torchrun set it (0 when not launched by torchrun)."""
    return int(os.environ.get("RANK", "0") or 0)


def active() -> bool:
    """Whether this process belongs to a process group of more than one rank."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if active() else 1


def rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if active() else 0


def is_main() -> bool:
    """Rank 0, the one that evaluates, checkpoints and writes the record (always True in one process)."""
    return rank() == 0


def choose_backend(requested: str, device: torch.device) -> str:
    """``nccl`` for CUDA devices, ``gloo`` for the CPU, unless ``requested`` names one; refuses nccl without CUDA."""
    if requested == "auto":
        return "nccl" if device.type == "cuda" else "gloo"
    if requested == "nccl" and device.type != "cuda":
        raise ConfigError(f"train.dist_backend=nccl needs CUDA devices, but this run trains on {device}; "
                          f"use train.dist_backend=gloo (or auto) on the CPU")
    return requested


def setup(device_name: str, backend: str = "auto") -> torch.device:
    """Join torchrun's process group (once per process) and return this rank's device.

    Without torchrun (``WORLD_SIZE`` unset or 1) no group is made and the device is ``device_name``
    resolved as in a plain run.
    """
    import torch
    import torch.distributed as dist

    from rsbench.runtime import resolve_device

    device = resolve_device(device_name)
    size = env_world_size()
    if size <= 1:
        return device
    missing = [key for key in TORCHRUN_ENV if key not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE={size} but {', '.join(missing)} is not set; start multi-process runs with "
                          f"`torchrun --nproc-per-node N -m rsbench run …` or `rsbench run --nproc N`")
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"local rank {local_rank} has no GPU: this machine has {torch.cuda.device_count()}; "
                              f"start at most that many processes per node")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    backend = choose_backend(backend, device)
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=TIMEOUT,
                                device_id=device if backend == "nccl" else None)
    return device


def teardown() -> None:
    """Leave the process group, if this process joined one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    import torch.distributed as dist

    if active():
        dist.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (it may build a dataset cache the others then read), then the rest."""
    if not is_main():
        barrier()
    try:
        yield
    finally:
        if is_main():
            barrier()


def gather(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's ``tensor`` concatenated along dim 0, rank order, without gradients (ids, masks)."""
    import torch
    import torch.distributed as dist

    if not active():
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's ``tensor`` concatenated along dim 0, with this rank's own rows still in the autograd graph.

    As open_clip's ``gather_features``: ``all_gather`` carries no gradient, so the local tensor is put back
    in its slot; the loss's gradient then reaches this rank's features, and other ranks' features reach
    theirs on their own rank. Each rank computes the same global loss, so each rank's parameter gradient
    holds only its own share of the global batch: ``backward_scale`` says how to make DDP's average a sum.
    """
    import torch
    import torch.distributed as dist

    if not active():
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(world_size())]
    dist.all_gather(parts, tensor.detach().contiguous())
    parts[rank()] = tensor
    return torch.cat(parts)


def backward_scale() -> int:
    """The factor on the loss before ``backward`` that makes a DDP step equal a one-process step at the global batch.

    Every rank computes the loss over the global batch, but its gradient flows back only through its own
    rows (``gather_with_grad``), so rank r's parameter gradient is its share g_r of the full gradient
    sum_r g_r. DDP averages over ranks, giving sum_r g_r / W; multiplying the loss by W restores sum_r g_r.
    The two-process test (tests/train/test_distributed.py) compares against one process at the global batch.
    """
    return world_size()


def broadcast_object(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (a picklable object)."""
    import torch.distributed as dist

    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def without_nproc(argv: list[str]) -> list[str]:
    """``argv`` with its ``--nproc N`` / ``--nproc=N`` removed: what each launched process runs."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def check_launch(nproc: int, configs: list, gpus_here: bool = True) -> None:
    """Refuse, before any process starts, a launch of ``nproc`` processes per run that cannot work for one of
    ``configs`` (``RunConfig``): inside a torchrun launch, a backend the device cannot use, a global batch that
    does not divide over the processes, or (``gpus_here``: the processes start on this machine) fewer GPUs
    than processes."""
    import torch

    from rsbench.errors import RsbenchError
    from rsbench.runtime import resolve_device

    if env_world_size() > 1:
        raise RsbenchError("--nproc inside a torchrun launch: use one or the other")
    for cfg in configs:
        device = resolve_device(cfg.device)
        choose_backend(cfg.train.dist_backend, device)
        if gpus_here and device.type == "cuda" and nproc > torch.cuda.device_count():
            raise RsbenchError(f"--nproc {nproc} needs one GPU per process; this machine has "
                               f"{torch.cuda.device_count()}")
        if cfg.train.batch_size % nproc:
            raise RsbenchError(f"train.batch_size={cfg.train.batch_size} is the global batch and must divide "
                               f"evenly over --nproc {nproc}; use a multiple of {nproc}")


def launch_env(nproc: int) -> dict[str, str]:
    """The environment variables a launch of ``nproc`` processes sets for them: ``PYTHONPATH`` led by the folder
    this rsbench is imported from (so the processes import the same one) and, unless set, ``OMP_NUM_THREADS``
    as the cores divided by the processes (as torchrun does)."""
    from pathlib import Path

    import rsbench

    package_root = str(Path(rsbench.__file__).resolve().parents[1])
    env = {"PYTHONPATH": os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    if os.environ.get("OMP_NUM_THREADS") is None:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    return env


def launch(nproc: int, argv: list[str], module: str = "rsbench") -> int:
    """Run ``python -m <module> <argv>`` in ``nproc`` processes on this machine through torch's elastic launcher
    (what ``torchrun --standalone --nproc-per-node nproc`` does); return the exit status of the first that failed.

    The processes print for themselves (rank 0 speaks for the run); the launcher's own report of a failed
    process is not repeated, the failed process having said what went wrong. Ctrl-C stops the processes and
    is raised here as ``KeyboardInterrupt``.
    """
    import signal
    import sys
    import uuid

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    updates = launch_env(nproc)  # elastic_launch passes this process's environment on
    saved = {key: os.environ.get(key) for key in updates}
    os.environ.update(updates)
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0)
    try:
        elastic_launch(config, sys.executable)("-m", module, *argv)
        return 0
    except ChildFailedError as exc:
        codes = [failure.exitcode for failure in exc.failures.values()]
        return next((c for c in codes if c and c > 0), 1)
    except SignalException as exc:  # the launcher has stopped the processes
        if exc.sigval == signal.SIGINT:
            raise KeyboardInterrupt from exc
        raise
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
