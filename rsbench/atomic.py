"""Files and folders that appear whole or not at all, and no hidden leftovers from a write that was killed.

Every write goes to a hidden sibling ``.<name>.<host>-<pid>-<random>.tmp`` in the same folder, is flushed to
disk, then renamed over the target (``os.replace``: readers see the old file or the whole new one). A write
that fails or is interrupted (Ctrl-C, SIGTERM) removes its temporary file on the way out. One that is killed
outright (``kill -9``, the OOM killer) cannot, so each write first removes the temporaries of earlier writes in
its folder whose process, on this host, is gone: a killed record write leaves nothing behind once the next
one runs, and readers never see the hidden files (they read ``*.json``, ``*.npy``, ...).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from rsbench.errors import RsbenchError

_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:32] or "host"
_TEMP = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


def temp_sibling(path: Path) -> Path:
    """A hidden temporary name beside ``path``, unique to this process and call."""
    path = Path(path)
    return path.with_name(f".{path.name}.{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove the temporaries that killed writes left in ``folder`` (this host's, whose process is gone)."""
    removed = []
    try:
        candidates = [p for p in Path(folder).iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    except OSError:
        return removed
    for candidate in candidates:
        match = _TEMP.match(candidate.name)
        if not match or match["host"] != _HOST or _alive(int(match["pid"])):
            continue
        _remove(candidate)
        removed.append(candidate)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk; best effort where a platform cannot open folders."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _link_without_replacing(source: Path, target: Path) -> None:
    """Give ``source`` the name ``target`` unless ``target`` exists (atomic where hard links work)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here: check-then-rename, a tiny race for names that hold a random id
        if target.exists():
            raise FileExistsError(str(target)) from None
        os.replace(source, target)
        return
    source.unlink()


@contextmanager
def atomic_path(path: Path, *, overwrite: bool = True, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content at (a file, or with ``folder=True`` a folder made for
    it); on leaving the block it is renamed into place, on any exception (Ctrl-C included) removed.

    With ``overwrite=False`` an existing ``path`` is an RsbenchError and stays untouched.
    """
    path = Path(path)
    remove_stale_temps(path.parent)
    if not overwrite and path.exists():
        raise RsbenchError(f"{path} already exists and is never overwritten; choose a new name or remove it")
    temp = temp_sibling(path)
    try:
        if folder:
            temp.mkdir()
        yield temp
        if folder or overwrite:
            if folder and path.exists():
                raise FileExistsError(str(path))
            os.replace(temp, path)
        else:
            _link_without_replacing(temp, path)
    except FileExistsError as exc:
        raise RsbenchError(f"{path} already exists and is never overwritten; choose a new name or remove it") \
            from exc
    except OSError as exc:
        raise RsbenchError(f"cannot write {path}: {exc.strerror or exc}; check that its folder is writable and "
                           f"has space") from exc
    finally:
        if temp.exists() or temp.is_symlink():
            _remove(temp)
    _fsync(path.parent)


def write_atomically(path: Path, write: Callable[[BinaryIO], object], *, overwrite: bool = True) -> Path:
    """Call ``write(handle)`` on a binary file that becomes ``path`` only once it returns."""
    with atomic_path(path, overwrite=overwrite) as temp, open(temp, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path)


def write_bytes_atomically(path: Path, data: bytes, *, overwrite: bool = True) -> Path:
    """``path`` holds ``data`` afterwards, or (on any failure) what it held before."""
    return write_atomically(path, lambda handle: handle.write(data), overwrite=overwrite)


def write_text_atomically(path: Path, text: str, *, overwrite: bool = True) -> Path:
    """``path`` holds ``text`` (UTF-8) afterwards, or (on any failure) what it held before."""
    return write_bytes_atomically(path, text.encode("utf-8"), overwrite=overwrite)
