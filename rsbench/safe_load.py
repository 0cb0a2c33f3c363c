"""Reading ``.pt`` files without running pickled code, and saying plainly why a file was refused.

Backbone weights and training checkpoints are both read with ``torch.load(weights_only=True)``.
When torch refuses a file its message advises re-running with ``weights_only=False``: advice a user
must never follow for a file they did not make, so it is never passed on. The reason given here
says what the file is and how to make a safe one (safetensors) instead.
"""

from __future__ import annotations

import json
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
    called = pickle_globals(head) if head.startswith(b"\x80") else []
    if called:
        return f"it is a pickle that would call Python code when loaded ({', '.join(called[:3])})"
    if operand and head.startswith(b"\x80"):
        return f"it is a pickle that uses instructions a tensor file never needs (operand {operand[1]})"
    if operand:
        return "it is not a PyTorch file (neither a torch.save archive nor a pickle)"
    if isinstance(exc, pickle.UnpicklingError | KeyError | EOFError):
        return "it is not a PyTorch file (no pickled tensors could be read)"
    lines = [line.strip() for line in text.splitlines() if line.strip() and "weights_only" not in line]
    return f"{type(exc).__name__}: {lines[-1] if lines else 'unreadable'}"


def pickle_globals(data: bytes) -> list[str]:
    """The Python callables a pickle names (``module.name``), read with pickletools: nothing is run."""
    import pickletools

    found, strings = [], []
    try:
        for opcode, arg, _ in pickletools.genops(data):
            if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
                strings = [*strings[-1:], str(arg)]
            elif opcode.name == "GLOBAL":
                found.append(str(arg).replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(strings) == 2:
                found.append(".".join(strings))
    except Exception:  # noqa: BLE001 - a truncated or damaged pickle: what was read so far is the answer
        pass
    return [name for name in dict.fromkeys(found) if not name.startswith(("torch.", "collections.OrderedDict"))]


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
            head = handle.read(MiB)
        raise UnsafeFileError(
            f"{what} {path} is not a safe tensor file: {refusal_reason(exc, head)}. rsbench reads .pt/.bin files only "
            f"with torch.load(weights_only=True), so that a file cannot run code. {CONVERT}."
        ) from exc


# --------------------------------------------------------------------------------------------------------------
# The loading layer for every artefact rsbench writes and reads back (saved models, indexes, caption files and
# caches, feature caches, records, checkpoints): safe formats only (JSON, YAML's safe loader, .npy without
# pickles, safetensors, torch.load(weights_only=True)), size and nesting limits, and one ArtefactError line per
# failure that names the file, says what is wrong and what to do.

MiB = 1 << 20
MAX_JSON_BYTES = 256 * MiB  # an archive manifest of a million image paths is about 60 MiB
MAX_DEPTH = 64  # rsbench's own files nest fewer than 12 levels


class ArtefactError(RsbenchError):
    """A file rsbench reads back (one it wrote, or one a user handed it) is missing, damaged or not what it says."""


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 16 MiB blocks (to check a file against the digest its manifest records)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def artefact_error(what: str, path: Path, problem: str, fix: str) -> ArtefactError:
    """``"<what> <path> <problem>; <fix>"`` on one line."""
    text = f"{what} {path} {problem}; {fix}"
    return ArtefactError(" ".join(text.split()))


def read_bytes(path: Path, what: str, fix: str, *, max_bytes: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of ``path``; an ArtefactError if it is missing, unreadable or larger than ``max_bytes``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise artefact_error(what, path, "is not a file", fix)
        if size > max_bytes:
            raise artefact_error(what, path, f"is {size / MiB:,.1f} MiB, more than the {max_bytes / MiB:,.0f} MiB "
                                             f"such a file can be", fix)
        with open(path, "rb") as handle:
            return handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise artefact_error(what, path, "does not exist", fix) from None
    except OSError as exc:
        raise artefact_error(what, path, f"cannot be read ({exc.strerror or exc})", fix) from None


def _decode(data: bytes, path: Path, what: str, fix: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise artefact_error(what, path, f"is not UTF-8 text (byte {exc.start})", fix) from None


def json_depth(value: Any, limit: int) -> int:
    """How deeply ``value`` nests lists and dicts, counted without recursion (stops past ``limit``)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(text: str, path: Path, what: str, fix: str, *, max_depth: int = MAX_DEPTH,
               expect: type | None = dict) -> Any:
    """``json.loads(text)`` of a file's content with the depth and type checks of ``read_json``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise artefact_error(what, path, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                             fix) from None
    except RecursionError:
        raise artefact_error(what, path, f"is JSON nested too deeply (more than {max_depth} levels)", fix) from None
    return _checked(value, path, what, fix, max_depth, expect, "JSON")


def _checked(value: Any, path: Path, what: str, fix: str, max_depth: int, expect: type | None, language: str) -> Any:
    """``value`` parsed from a JSON or YAML file, if it nests at most ``max_depth`` levels and is an ``expect``."""
    if json_depth(value, max_depth) > max_depth:
        raise artefact_error(what, path, f"is {language} nested too deeply (more than {max_depth} levels)", fix)
    if expect is not None and not isinstance(value, expect):
        found = _json_type(value) if language == "JSON" else type(value).__name__
        wanted = f"a JSON {_json_type(expect())}" if language == "JSON" else "a mapping"
        raise artefact_error(what, path, f"holds a {language} {found}, not {wanted}", fix)
    return value


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def read_json(path: Path, what: str, fix: str, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_DEPTH,
              expect: type | None = dict) -> Any:
    """A JSON file read within limits: UTF-8, at most ``max_bytes`` and ``max_depth`` levels, of type ``expect``."""
    text = _decode(read_bytes(path, what, fix, max_bytes=max_bytes), Path(path), what, fix)
    return parse_json(text, Path(path), what, fix, max_depth=max_depth, expect=expect)


def read_yaml(path: Path, what: str, fix: str, *, max_bytes: int = 16 * MiB, max_depth: int = MAX_DEPTH,
              expect: type | None = dict) -> Any:
    """A YAML file read with the safe loader (no Python tags), within the same limits as ``read_json``."""
    import yaml

    text = _decode(read_bytes(path, what, fix, max_bytes=max_bytes), Path(path), what, fix)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise artefact_error(what, path, f"is not plain YAML ({first})", fix) from None
    except RecursionError:
        raise artefact_error(what, path, f"is YAML nested too deeply (more than {max_depth} levels)", fix) from None
    return _checked(value, path, what, fix, max_depth, expect, "YAML")


def read_npy(path: Path, what: str, fix: str, *, mmap_mode: str | None = None, ndim: int | None = None):
    """A ``.npy`` array read without pickles (``allow_pickle=False``); never numpy's advice to load it unsafely."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise artefact_error(what, path, "does not exist", fix)
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"format version {version[0]}.{version[1]}, which rsbench never writes")
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(handle)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise artefact_error(what, path, f"is not a .npy array file ({first})", fix) from None
    if dtype.hasobject:
        raise artefact_error(what, path, "holds Python objects (an object array), which rsbench never writes", fix)
    if ndim is not None and len(shape) != ndim:
        raise artefact_error(what, path, f"holds an array of shape {shape}, not a {ndim}-d one", fix)
    try:
        return np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except (ValueError, OSError, EOFError) as exc:  # a header that promises more data than the file holds
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise artefact_error(what, path, f"is a damaged .npy file ({first})", fix) from None


def read_safetensors(path: Path, what: str, fix: str) -> dict[str, Any]:
    """The tensors of a ``.safetensors`` file (a format that holds tensors and nothing else)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise artefact_error(what, path, "does not exist", fix)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise artefact_error(what, path, f"is not a safetensors file ({exc})", fix) from None


def require_fields(value: dict[str, Any], fields: dict[str, type | tuple[type, ...]], path: Path, what: str,
                   fix: str) -> dict[str, Any]:
    """``value`` if each named field is present with one of its types; else an ArtefactError naming the first."""
    for name, types in fields.items():
        if name not in value:
            raise artefact_error(what, path, f"has no {name!r} field", fix)
        wanted = _tuple(types)
        if not isinstance(value[name], wanted) or (isinstance(value[name], bool) and bool not in wanted):
            names = " or ".join("null" if t is type(None) else _json_type(t()) for t in wanted)
            raise artefact_error(what, path, f"has a {name!r} of type {_json_type(value[name])}, not {names}", fix)
    return value


def _tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)
