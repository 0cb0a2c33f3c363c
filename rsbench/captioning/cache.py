"""The caption cache: what a captioner wrote for each image, kept on disk so that no image is captioned twice.

One folder per (captioner, what ``describe()`` says of it, prompt digest) under ``$RSBENCH_CACHE/captions`` (else
``~/.cache/rsbench/captions``): ``identity.json`` says what made the captions, ``captions.jsonl`` holds one line per
image, keyed by the SHA-256 of the image file's bytes, appended and flushed batch by batch, so an interrupted run
keeps every batch it finished and the next run starts after them. A line is ``{"image": sha256, "image_id": ...,
"captions": [...]}`` or, for a failure, ``{..., "failure": reason}``; the last line of an image wins, and an image
whose last line is a failure is asked again by the next run. A line cut short by a crash is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from rsbench.atomic import write_text_atomically
from rsbench.data.procedural import cache_base
from rsbench.errors import RsbenchError


def default_cache_dir() -> Path:
    """``$RSBENCH_CACHE/captions``, or ``~/.cache/rsbench/captions``."""
    return cache_base("captions")


def cache_key(captioner: str, identity: dict[str, Any], prompt: dict[str, Any] | None) -> str:
    """A digest of the captioner's name, its ``describe()`` and the prompt's digest (None: it uses no prompt)."""
    payload = {"captioner": captioner, "identity": identity, "prompt_digest": prompt["digest"] if prompt else None}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:48] or "model"


class CaptionCache:
    """The cached captions of one (captioner, identity, prompt): load them, append a batch."""

    def __init__(self, root: Path, captioner: str, identity: dict[str, Any], prompt: dict[str, Any] | None) -> None:
        self.key = cache_key(captioner, identity, prompt)
        self.folder = Path(root).expanduser() / f"{_slug(captioner)}-{_slug(str(identity.get('model', '')))}-{self.key}"
        self.path = self.folder / "captions.jsonl"
        self.manifest = {"captioner": captioner, "identity": identity, "prompt": prompt}
        self.skipped_lines = 0  # lines cut short by an interrupted write, found by load()

    def check(self) -> None:
        """One RsbenchError, before any captioning, if the cache folder could not be written; creates nothing."""
        from rsbench.errors import ConfigError
        from rsbench.runtime import check_output_folder

        try:
            check_output_folder(self.folder, "caption cache", "RSBENCH_CACHE (or --cache-dir)")
        except ConfigError as exc:
            raise RsbenchError(f"cannot write the caption cache at {self.folder}: {exc}; set RSBENCH_CACHE (or "
                               f"--cache-dir) to a folder you can write") from None

    def open(self) -> None:
        """Create the folder and its identity file (the first ``append`` does, so a run that captions nothing
        leaves no empty folder); one RsbenchError if it cannot be written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            identity_file = self.folder / "identity.json"
            if not identity_file.exists():
                write_text_atomically(identity_file,
                                      json.dumps(self.manifest, indent=2, sort_keys=True, default=str) + "\n")
            with open(self.path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise RsbenchError(f"cannot write the caption cache at {self.folder}: {exc.strerror or exc}; set "
                               f"RSBENCH_CACHE (or --cache-dir) to a folder you can write") from None

    def load(self) -> dict[str, dict[str, Any]]:
        """Image SHA-256 -> its last line (``captions`` or ``failure``)."""
        entries: dict[str, dict[str, Any]] = {}
        self.skipped_lines = 0
        if not self.path.exists():
            return entries
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except (json.JSONDecodeError, RecursionError):  # cut short by a crash, or not a cache line at all
                    self.skipped_lines += 1
                    continue
                if not isinstance(entry, dict) or not isinstance(entry.get("image"), str):
                    self.skipped_lines += 1
                    continue
                captions = entry.get("captions")
                if captions is not None and not (isinstance(captions, list)
                                                 and all(isinstance(c, str) for c in captions)):
                    self.skipped_lines += 1
                    continue
                entries[entry["image"]] = entry
        return entries

    def append(self, lines: list[dict[str, Any]]) -> None:
        """Write one batch's lines at the end of the file and push them to disk before returning."""
        if not lines:
            return
        if not self.path.exists():
            self.open()
        text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        try:
            with open(self.path, "a+b") as handle:
                if handle.tell() > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":  # an interrupted write left half a line: start on a new one
                        text = "\n" + text
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise RsbenchError(f"cannot write the caption cache file {self.path}: {exc.strerror or exc}; the "
                               f"captions written before are kept") from None
