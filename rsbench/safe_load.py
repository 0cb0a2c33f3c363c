"""Reading ``.pt`` files without running pickled code, and saying plainly why a file was refused.

Backbone weights and training checkpoints are both read with ``torch.load(weights_only=True)``.
When torch refuses a file its message advises re-running with ``weights_only=False``: advice a user
must never follow for a file they did not make, so it is never passed on. The reason given here
says what the file is and how to make a safe one (safetensors) instead.
"""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

from rsbench.errors import RsbenchError

CONVERT = ("If the file comes from a source you trust, save its tensors as .safetensors "
           "(safetensors.torch.save_file) with the tool that made it, and pass that file")


class UnsafeFileError(RsbenchError):
    """A file ``torch.load(weights_only=True)`` will not read: not a plain tensor file."""


def refusal_reason(exc: BaseException, head: bytes = b"") -> str:
    """Why ``torch.load(weights_only=True)`` failed, in a few words and without torch's unsafe advice.

    ``head`` is the file's first bytes: a bare pickle starts with the PROTO opcode (0x80), a
    ``torch.save`` file with a zip header, anything else is not a PyTorch file at all.
    """
    text = str(exc)
    refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if refused:
        return f"it holds Python objects besides tensors (it refers to {refused[1].rstrip('.,')})"
    operand = re.search(r"Unsupported operand (\d+)", text)
    if operand and head.startswith(b"\x80"):
        return f"it is a pickle that uses instructions a tensor file never needs (operand {operand[1]})"
    if operand:
        return "it is not a PyTorch file (neither a torch.save archive nor a pickle)"
    if isinstance(exc, pickle.UnpicklingError | KeyError | EOFError):
        return "it is not a PyTorch file (no pickled tensors could be read)"
    lines = [line.strip() for line in text.splitlines() if line.strip() and "weights_only" not in line]
    return f"{type(exc).__name__}: {lines[-1] if lines else 'unreadable'}"


def load_tensors(path: Path, what: str = "file") -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; an UnsafeFileError saying why it was refused."""
    import torch

    path = Path(path)
    try:
        with warnings.catch_warnings():  # torch's protocol warning asks users to file issues; the error says enough
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UnsafeFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    except Exception as exc:  # UnpicklingError, KeyError, RuntimeError (bad zip), ...: all mean "not readable"
        with open(path, "rb") as handle:
            head = handle.read(4)
        raise UnsafeFileError(
            f"{what} {path} is not a safe tensor file: {refusal_reason(exc, head)}. rsbench reads .pt/.bin files only "
            f"with torch.load(weights_only=True), so that a file cannot run code. {CONVERT}."
        ) from exc
