"""Training checkpoints: everything needed to continue an interrupted run exactly where it stopped.

A checkpoint is written after every epoch, atomically (temporary file, fsync, rename), so the file
on disk is always the last *complete* epoch. It holds the trainable weights, the optimiser and
scheduler, the sampler's state (CMER's recycling queue, §3.4), the data-order and augmentation RNG
states, the validation history and the best epoch so far. It is read back with
``torch.load(weights_only=True)``: plain tensors and numbers only, no pickled code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rsbench.atomic import write_atomically
from rsbench.errors import RsbenchError
from rsbench.safe_load import UnsafeFileError, load_tensors

CHECKPOINT_FORMAT = "rsbench-train-checkpoint/1"


class CheckpointError(RsbenchError):
    """A checkpoint that cannot be read, or that belongs to another run."""


@dataclass
class ResumeState:
    """What the trainer keeps after an epoch to continue the run exactly there: ``pack`` makes the checkpoint's
    dict (the file format is unchanged), ``unpack`` reads one back. The only place either is spelt out."""

    epoch: int
    step: int
    adapter: dict[str, torch.Tensor]  # the trainable tensors
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    sampler: dict[str, Any]  # CMER's recycling queue lives here
    generator: torch.Tensor  # the data order
    torch_rng: torch.Tensor  # augmentation and dropout
    best_epoch: int | None = None
    best_score: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    final_loss: float | None = None
    timed_pairs: int = 0
    timed_seconds: float = 0.0
    elapsed: float = 0.0
    peak_memory_bytes: int | None = None  # the largest over every process that trained the run so far
    best_state: dict[str, torch.Tensor] | None = None
    best_sampler: dict[str, Any] | None = None

    OUTCOME = ("best_epoch", "best_score", "history", "final_loss", "timed_pairs", "timed_seconds", "elapsed",
               "peak_memory_bytes")

    def pack(self, run_key: str, config: dict[str, Any] | None) -> dict[str, Any]:
        """The checkpoint dict: the run's key and resolved config, the states, and the outcome so far."""
        return {
            "run_key": run_key, "config": config, "epoch": self.epoch, "step": self.step, "adapter": self.adapter,
            "optimizer": self.optimizer, "scheduler": self.scheduler, "sampler": self.sampler,
            "generator": self.generator, "torch_rng": self.torch_rng,
            "outcome": {key: getattr(self, key) for key in self.OUTCOME},
            "best_state": self.best_state, "best_sampler": self.best_sampler,
        }

    @classmethod
    def unpack(cls, state: dict[str, Any]) -> ResumeState:
        """The state a checkpoint dict holds; a ``CheckpointError`` naming what is missing."""
        keys = ("epoch", "step", "adapter", "optimizer", "scheduler", "sampler", "generator", "torch_rng", "outcome",
                "best_state", "best_sampler")
        outcome = state.get("outcome")
        missing = [k for k in keys if k not in state]
        missing += [f"outcome.{k}" for k in cls.OUTCOME[:-1] if not isinstance(outcome, dict) or k not in outcome]
        if missing:
            raise CheckpointError(f"the checkpoint lacks {', '.join(missing)}; delete it to start the run over")
        return cls(int(state["epoch"]), int(state["step"]), *(state[k] for k in keys[2:8]),
                   **{k: outcome.get(k) for k in cls.OUTCOME}, best_state=state["best_state"],
                   best_sampler=state["best_sampler"])

    def restore(self, adapter: Any, optimizer: Any, scheduler: Any, sampler: Any, generator: torch.Generator) -> None:
        """Load the saved states into a freshly built run (the trainable weights, not strictly: frozen ones stay)."""
        adapter.load_state_dict(self.adapter, strict=False)
        optimizer.load_state_dict(self.optimizer)
        scheduler.load_state_dict(self.scheduler)
        sampler.load_state_dict(self.sampler)
        generator.set_state(self.generator)
        torch.set_rng_state(self.torch_rng)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` so that readers see the previous complete file or the new one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"cannot create checkpoint folder {path.parent}: {exc.strerror or exc}; "
                              f"set checkpoint_dir to a folder you can write to") from exc
    remove_partial_writes(path)
    try:
        write_atomically(path, lambda handle: torch.save({"format": CHECKPOINT_FORMAT, **state}, handle))
    except RsbenchError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc}") from exc


def remove_partial_writes(path: Path) -> list[Path]:
    """Delete temporary files a killed ``save_checkpoint`` of ``path`` left behind; return them.

    A write is killed between creating its hidden ``.<name>.*.tmp`` file and renaming it, so
    the checkpoint itself is never partial, but the temporary file would stay forever. (Only one run writes a
    checkpoint, so every temporary of its name is a leftover, whichever process made it.)
    """
    removed = []
    for tmp in Path(path).parent.glob(f".{Path(path).name}.*.tmp"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def load_checkpoint(path: Path, run_key: str | None = None) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint``; with ``run_key``, check it belongs to that run."""
    path = Path(path)
    try:
        state = load_tensors(path, "checkpoint")
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint {path} does not exist") from exc
    except UnsafeFileError as exc:  # truncated zip, foreign pickle, ...: all mean "not a usable checkpoint"
        raise CheckpointError(f"{exc} This checkpoint cannot be read: delete it to start the run over.") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not an rsbench training checkpoint (format {CHECKPOINT_FORMAT})")
    if run_key is not None and state.get("run_key") != run_key:
        raise CheckpointError(
            f"checkpoint {path} belongs to another configuration (run key {state.get('run_key')!r}, "
            f"this run is {run_key!r}); delete it or change checkpoint_dir"
        )
    return state
