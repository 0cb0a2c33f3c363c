"""One lock per (config, seed) in a sweep's results folder, so that two sweeps started on the same folder (two
terminals, or a sweep restarted while the first still runs) share the work instead of training a run twice.

The lock is ``<results_dir>/.locks/<config id>-seed<k>.lock``, held with ``flock``: the kernel lets it go when
its process ends however it ends, so the lock of a killed sweep is simply taken by the next one (its file, which
names its holder, stays until then; a lock released normally removes its file). The local launcher runs a run
only while holding its lock and while the folder has no record of it yet; the sweep then waits for the runs
another sweep holds, and runs itself any whose holder went away without writing a record.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

LOCKS_FOLDER = ".locks"


def lock_path(results_dir: str | Path, config_id: str, seed: int) -> Path:
    return Path(results_dir) / LOCKS_FOLDER / f"{config_id}-seed{seed}.lock"


@contextmanager
def run_lock(results_dir: str | Path, config_id: str, seed: int) -> Iterator[bool]:
    """Hold the lock of one (config, seed) for the ``with`` block if no other process holds it: yields whether
    it is held here. Never waits. The file is removed on release (before the lock is let go), so a finished
    sweep leaves no ``.locks`` folder behind."""
    path = lock_path(results_dir, config_id, seed)
    handle = _locked(path)
    if handle is None:
        yield False
        return
    try:
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}))
        handle.flush()
        yield True
    finally:
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()  # only when no other lock is in it
        except OSError:
            pass
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _locked(path: Path) -> TextIO | None:
    """The lock file, opened and flock'ed (emptied for its new holder); None when another process holds it. The
    file a holder removed on release may still be open here: then the lock is taken again on the new file."""
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = open(path, "a+", encoding="utf-8")
        except FileNotFoundError:  # the folder was removed in between
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(handle.fileno()).st_ino:
            handle.seek(0)
            handle.truncate()
            return handle
        fcntl.flock(handle, fcntl.LOCK_UN)  # a file its holder removed: lock the one at the path now
        handle.close()


def is_held(results_dir: str | Path, config_id: str, seed: int) -> bool:
    """Whether another process holds the lock of this (config, seed) now."""
    with run_lock(results_dir, config_id, seed) as held:
        return not held


def holder(results_dir: str | Path, config_id: str, seed: int) -> str:
    """Who last held the lock (``pid 123 on host``), for messages; empty if nobody did."""
    try:
        owner = json.loads(lock_path(results_dir, config_id, seed).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return ""
    return f"pid {owner.get('pid')} on {owner.get('host')}" if owner else ""
