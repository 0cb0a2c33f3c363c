"""What rsbench's procedural datasets (SynthRS, SynthShapes) share: cache folders and keys, painting images in
a process pool, writing the Karpathy JSON files, and atomic builds (a folder that exists is a complete build).

Light on purpose: no numpy or PIL here; the painters that use them are passed in.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from rsbench.data.caption_grammar import tokens
from rsbench.errors import DataError

CACHE_ENV = "RSBENCH_CACHE"


class PlannedImage(Protocol):
    """One image of a plan: its file name under ``images/``, its Karpathy id and its split."""

    @property
    def filename(self) -> str: ...

    @property
    def imgid(self) -> int: ...

    @property
    def split(self) -> str: ...


# render(spec, cfg) -> (PIL image, per-image metadata, captions); a module-level function, so it pickles
Render = Callable[[Any, Any], tuple[Any, dict[str, Any], list[str]]]


def cache_key(payload: dict[str, Any]) -> str:
    """A short stable digest of everything that changes a build's files (generator version and options)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def cache_base(dataset: str) -> Path:
    """``$RSBENCH_CACHE/<dataset>``, or ``~/.cache/rsbench/<dataset>``."""
    base = os.environ.get(CACHE_ENV)
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "rsbench") / dataset


def dataset_root(data_root: str, dataset: str, key: str) -> Path:
    """``data_root`` when given, else the cache entry of ``key``."""
    return Path(data_root).expanduser() if data_root else cache_base(dataset) / key


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def _render_chunk(job: tuple[list[PlannedImage], Render, Any, str]) -> list[tuple[int, dict[str, Any], list[str]]]:
    specs, render, cfg, images_dir = job
    out = []
    for spec in specs:
        image, meta, captions = render(spec, cfg)
        image.save(Path(images_dir) / spec.filename, format="PNG")
        out.append((spec.imgid, meta, captions))
    return out


def paint_images(
    specs: Sequence[PlannedImage], render: Render, cfg: Any, images_dir: Path, workers: int = 1
) -> dict[int, tuple[dict[str, Any], list[str]]]:
    """Render every planned image into ``images_dir``; return each image's (metadata, captions) by imgid.

    ``workers`` > 1 paints in that many processes; the result does not depend on it, as long as
    ``render`` depends only on the spec and the config (per-image seeds, no shared random state).
    """
    n_chunks = max(1, workers) * 4  # several chunks per worker even out slow and fast images
    chunks = [list(specs[i::n_chunks]) for i in range(n_chunks)]
    jobs = [(chunk, render, cfg, str(images_dir)) for chunk in chunks if chunk]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = [row for rows in pool.map(_render_chunk, jobs) for row in rows]
    else:
        results = [row for job in jobs for row in _render_chunk(job)]
    return {imgid: (meta, captions) for imgid, meta, captions in results}


def write_karpathy(
    root: Path,
    name: str,
    specs: Sequence[PlannedImage],
    painted: dict[int, tuple[dict[str, Any], list[str]]],
    sentids_per_image: int,
) -> dict[str, dict[str, Any]]:
    """Write ``root/dataset.json`` (Karpathy layout, in plan order); return the metadata keyed by file name.

    Sentence ids are ``imgid * sentids_per_image + j``, so they stay unique and stable per image.
    """
    images, meta_by_file = [], {}
    for spec in specs:
        meta, captions = painted[spec.imgid]
        sentids = [spec.imgid * sentids_per_image + j for j in range(len(captions))]
        sentences = [
            {"raw": raw, "tokens": tokens(raw), "imgid": spec.imgid, "sentid": sentid}
            for raw, sentid in zip(captions, sentids, strict=True)
        ]
        images.append(
            {
                "filename": spec.filename,
                "imgid": spec.imgid,
                "split": spec.split,
                "sentids": sentids,
                "sentences": sentences,
            }
        )
        meta_by_file[spec.filename] = meta
    write_json(root / "dataset.json", {"images": images, "dataset": name})
    return meta_by_file


MARKERS = ("synthrs_build.json", "synthshapes_build.json")


def file_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` by its path relative to it (what a build's marker records)."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file() and path.name not in MARKERS}


def cache_problems(root: Path) -> list[str]:
    """Problem lines for a generated dataset folder (SynthRS, SynthShapes) whose files no longer match the
    digests its build recorded: changed, missing or added files. [] for a sound build or any other folder."""
    root = Path(root)
    marker = next((root / name for name in MARKERS if (root / name).is_file()), None)
    if marker is None:
        return []
    fix = f"delete {root} and it is generated again on the next use"
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError, RecursionError):
        return [f"the build marker {marker} is damaged; {fix}"]
    if not isinstance(recorded, dict):
        return [f"{root} was generated by an older rsbench that recorded no file digests, so it cannot be "
                f"verified; {fix}"]
    found = file_digests(root)
    changed = sorted(name for name in recorded if name in found and found[name] != recorded[name])
    missing = sorted(set(recorded) - set(found))
    added = sorted(set(found) - set(recorded))
    problems = []
    for label, names in (("changed since it was generated", changed), ("missing", missing),
                         ("not part of the build", added)):
        if names:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            problems.append(f"{len(names)} file(s) of the generated dataset {root} are {label} ({shown}); {fix}")
    return problems


def generated_root(path: Path) -> Path | None:
    """The generated dataset folder (one holding a build marker) that ``path`` lies in, if any."""
    for folder in Path(path).parents:
        if any((folder / name).is_file() for name in MARKERS):
            return folder
    return None


def is_complete(root: Path, key: str, marker: str) -> bool:
    """Whether ``root`` holds a finished build for ``key`` (the marker is written last, before the rename)."""
    try:
        written = json.loads((root / marker).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return written.get("key") == key and (root / "dataset.json").is_file()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists but not ours, or unknowable: leave its folder alone
    return True


def remove_stale_temps(root: Path) -> None:
    """Delete temporary folders of builds of ``root`` whose process is gone (an interrupted build)."""
    prefix = f".{root.name}.tmp-"
    if not root.parent.is_dir():
        return
    for entry in root.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or not _pid_alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)


def build_once(
    root: Path,
    key: str,
    *,
    marker: str,
    marker_fields: dict[str, Any],
    write: Callable[[Path], None],
    title: str,
    option: str,
) -> Path:
    """Run ``write(folder)`` into a temporary sibling of ``root`` and rename it into place, unless done already.

    ``marker`` (a JSON file holding ``key`` and ``marker_fields``) is written last, so a folder with a
    matching marker is complete; a partial build never takes ``root``'s name. ``title`` ("SynthRS") and
    ``option`` ("synthrs.data_root") name the dataset in the error about a foreign folder.
    """
    if is_complete(root, key, marker):
        return root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DataError(
            f"{root} exists but is not a complete {title} build for this config (key {key}). "
            f"Point {option} at an empty or new folder, or delete this one to rebuild."
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(root)
    temp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        temp.mkdir()
        write(temp)
        write_json(temp / marker, {"key": key, **marker_fields, "files": file_digests(temp)})
        try:
            if root.is_dir():
                root.rmdir()  # an empty folder the user made for us
            os.rename(temp, root)
        except OSError as error:
            # another process finished the same build first: use theirs
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY) and is_complete(root, key, marker):
                return root
            raise
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return root
