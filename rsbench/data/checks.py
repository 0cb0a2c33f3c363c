"""Checks every loader runs on what an annotation file names: paths stay inside the image folder,
images exist and open, captions are not empty. Unsafe paths always stop loading; the rest is
either an error or a recorded problem, as the dataset's ``on_bad_image`` says.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rsbench.data.record import Record, RetrievalDataset
from rsbench.errors import DataError

SHOWN = 5
"""How many examples a problem line or an error message names before '... and N more'."""


@dataclass
class AnnotatedImage:
    """One image as an annotation file describes it, before any check.

    ``image_id`` is the path the annotation names, relative to the image folder; ``where`` says
    where the entry is (``dataset_RSITMD.json images[12]``) for messages.
    """

    image_id: str
    captions: list[str]
    split: str
    scene: str | None
    where: str


class DataProblems(DataError):
    """The errors a dataset's checks found (every unsafe path, every bad image under ``on_bad_image=error``),
    raised after all of them were looked for; ``dataset`` holds the entries that passed, for ``rsbench data
    inspect`` to report on, and ``errors`` one line per kind of error."""

    def __init__(self, errors: list[str], dataset: RetrievalDataset) -> None:
        super().__init__(" ".join(errors))
        self.errors, self.dataset = errors, dataset


def examples(items: Sequence[str], shown: int = SHOWN) -> str:
    """``a, b, c`` for a short list; the first ``shown`` and '... and N more' for a long one."""
    head = ", ".join(items[:shown])
    return head if len(items) <= shown else f"{head} ... and {len(items) - shown} more"


def describe_folder(folder: Path, limit: int = 20) -> str:
    """What a folder holds, for an error message saying a file was not found there."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return "(cannot list it)"
    if not entries:
        return "(it is empty)"
    names = [p.name + ("/" if p.is_dir() else "") for p in entries]
    return examples(names, limit)


def require_folder(path: Path, what: str) -> Path:
    """``path`` when it is an existing folder; a DataError naming ``what`` otherwise."""
    if not path.exists():
        raise DataError(f"{what} {path} does not exist")
    if not path.is_dir():
        raise DataError(f"{what} {path} is not a folder")
    return path


def require_file(root: Path, name: str, what: str) -> Path:
    """The file ``name`` inside ``root``; a DataError listing what ``root`` holds when it is missing."""
    path = root / name
    if not path.is_file():
        raise DataError(
            f"{what} {name} not found in {root}. The folder holds: {describe_folder(root)}. "
            f"Point dataset.data_root at the folder that holds it, or name the file with dataset.annotation."
        )
    return path


def read_json(path: Path) -> Any:
    """Parse a JSON annotation file; a DataError with the line and column when it is not valid JSON."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err}); is this really the annotation file?") from err
    except OSError as err:
        raise DataError(f"cannot read {path}: {err}") from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from err
    except RecursionError as err:
        raise DataError(f"{path}: JSON nested too deeply to be an annotation file") from err


def image_folder(root: Path, image_dir: str | None, candidates: Sequence[str] = ("images",)) -> Path:
    """The folder images are read from: ``image_dir`` when given, else the first candidate present, else root."""
    if image_dir:
        folder = (root / image_dir).resolve()
        if not folder.is_dir():
            raise DataError(
                f"image folder {folder} (dataset.image_dir={image_dir!r}) does not exist. "
                f"{root} holds: {describe_folder(root)}"
            )
        return folder
    for name in candidates:
        if (root / name).is_dir():
            return (root / name).resolve()
    return root


def resolve_inside(base: Path, name: str, *, where: str) -> Path:
    """The absolute path of image ``name`` under ``base``; a DataError when it would leave ``base``.

    Catches absolute names, ``..`` components and symlinks pointing out of the folder: an
    annotation file must never make rsbench read files outside the dataset.
    """
    if Path(name).is_absolute():
        raise DataError(
            f"{where}: image path {name!r} is absolute; annotation files must name images relative to {base}"
        )
    try:
        path = (base / name).resolve()
    except (OSError, RuntimeError) as err:  # symlink loops
        raise DataError(f"{where}: cannot resolve image path {name!r}: {err}") from err
    if not path.is_relative_to(base):
        raise DataError(
            f"{where}: image path {name!r} resolves to {path}, outside the image folder {base}. "
            f"Annotation files must name images inside the data root; fix the entry or the link."
        )
    return path


def image_defect(path: Path) -> str | None:
    """Why an existing image file cannot be used (``corrupt (...)``), or None when PIL decodes it."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF and palette warnings are not defects
            with Image.open(path) as image:
                image.verify()
            # verify() checks little for JPEG; decoding finds truncated files too, and JPEG's
            # reduced-scale decoding (draft) still reads the whole stream, at a fraction of the cost
            with Image.open(path) as image:
                image.draft(image.mode, (1, 1))
                image.load()
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError, struct.error... for bad files
        reason = str(err).replace(str(path), path.name)  # the path is in the message already
        return f"corrupt ({type(err).__name__}: {reason})"
    return None


def find_bad_images(paths: Iterable[Path], *, check_images: bool = True) -> dict[Path, str]:
    """Missing, non-file and (with ``check_images``) undecodable images, with the reason for each."""
    bad: dict[Path, str] = {}
    present: list[Path] = []
    for path in dict.fromkeys(paths):
        if not path.exists():
            bad[path] = "missing"
        elif not path.is_file():
            bad[path] = "not a file"
        else:
            present.append(path)
    if check_images and present:
        workers = min(8, os.cpu_count() or 1)  # decoding releases the GIL
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for path, reason in zip(present, pool.map(image_defect, present), strict=True):
                if reason is not None:
                    bad[path] = reason
    return bad


def clean_captions(
    images: list[AnnotatedImage], dropped: dict[str, int] | None = None
) -> tuple[list[AnnotatedImage], list[str]]:
    """Strip captions, drop empty ones and then images left with none; problem lines for both.

    ``dropped``, when given, receives the counts (``empty_captions``, ``images_without_captions``).

    Duplicate captions of one image are kept: the protocol counts each caption as a query.
    """
    kept: list[AnnotatedImage] = []
    empty: list[str] = []
    captionless: list[str] = []
    for image in images:
        captions = []
        for k, caption in enumerate(image.captions):
            text = caption.strip()
            if text:
                captions.append(text)
            else:
                empty.append(f"{image.image_id} (caption {k + 1})")
        if captions:
            kept.append(AnnotatedImage(image.image_id, captions, image.split, image.scene, image.where))
        else:
            captionless.append(image.image_id)
    if dropped is not None:
        dropped["empty_captions"] = len(empty)
        dropped["images_without_captions"] = len(captionless)
    problems = []
    if empty:
        problems.append(f"dropped {len(empty)} empty caption(s): {examples(empty)}")
    if captionless:
        problems.append(f"dropped {len(captionless)} image(s) left with no captions: {examples(captionless)}")
    return kept, problems


def checked_dataset(
    images: list[AnnotatedImage],
    *,
    name: str,
    root: Path,
    image_base: Path,
    source: str,
    on_bad_image: str,
    check_images: bool,
    scene_hint: str | None = None,
    synthetic: bool = False,
    problems: Sequence[str] = (),
) -> RetrievalDataset:
    """Run every check on a loader's parsed entries and build the dataset.

    ``source`` names the annotation file(s) in messages; ``scene_hint``, when given, means every
    image should have a scene, and explains why one has none in the problem line.
    """
    if on_bad_image not in ("error", "skip"):
        raise DataError(f"on_bad_image must be 'error' or 'skip'; got {on_bad_image!r}")
    image_base = image_base.resolve()
    paths, unsafe = _safe_paths(images, image_base)
    images = [image for image in images if image.image_id in paths]
    errors = [_unsafe_paths_error(unsafe, image_base)] if unsafe else []
    found = list(problems)
    dropped: dict[str, int] = {}
    kept, caption_problems = clean_captions(images, dropped)
    dropped["unreadable_images"] = 0
    found += caption_problems

    kept = _drop_bad_images(kept, paths, image_base, source, on_bad_image, check_images, dropped, errors, found)
    in_several_splits = _repeated_images(kept, paths, image_base, found)

    if scene_hint is not None:
        unlabelled = [image.image_id for image in kept if image.scene is None]
        if unlabelled:
            found.append(f"{len(unlabelled)} image(s) have no scene label ({scene_hint}): {examples(unlabelled)}")

    records = [
        Record(paths[image.image_id], image.image_id, tuple(image.captions), image.scene, image.split) for image in kept
    ]
    dataset = RetrievalDataset(name=name, root=root, records=records, synthetic=synthetic, problems=found,
                               dropped=dropped, images_in_several_splits=in_several_splits)
    if errors:  # raised once every check has run, so that `rsbench data inspect` can report them all
        raise DataProblems(errors, dataset)
    return dataset


def _drop_bad_images(kept: list[AnnotatedImage], paths: dict[str, Path], image_base: Path, source: str,
                     on_bad_image: str, check_images: bool, dropped: dict[str, int], errors: list[str],
                     found: list[str]) -> list[AnnotatedImage]:
    """``kept`` without the images that are missing or unreadable: an error line under ``on_bad_image=error``,
    a problem line (and a count in ``dropped``) under ``skip``."""
    bad = find_bad_images((paths[image.image_id] for image in kept), check_images=check_images)
    if not bad:
        return kept
    listed = [f"{path.relative_to(image_base)} ({reason})" for path, reason in bad.items()]
    dropped["unreadable_images"] = len(bad)
    if on_bad_image == "error":
        errors.append(f"{len(bad)} image(s) named in {source} are missing or unreadable under {image_base}: "
                      f"{examples(listed)}. Restore them, or set dataset.on_bad_image=skip to drop them "
                      f"(each is then listed in the dataset's problems).")
    else:
        found.append(f"skipped {len(bad)} missing or unreadable image(s): {examples(listed)}")
    return [image for image in kept if paths[image.image_id] not in bad]


def _repeated_images(kept: list[AnnotatedImage], paths: dict[str, Path], image_base: Path, found: list[str]) -> int:
    """Add a problem line for images listed more than once; return how many sit in several splits. Compared by
    resolved path, so that 'a.tif' and './a.tif' count as the same image."""
    splits_of: dict[Path, list[str]] = defaultdict(list)
    for image in kept:
        splits_of[paths[image.image_id]].append(image.split)
    repeated = [
        f"{path.relative_to(image_base)} ({', '.join(splits)})" for path, splits in splits_of.items() if len(splits) > 1
    ]
    if repeated:
        found.append(f"{len(repeated)} image(s) listed more than once: {examples(repeated)}")
    return sum(len(set(splits)) > 1 for splits in splits_of.values())


def _unsafe_paths_error(unsafe: list[str], image_base: Path) -> str:
    if len(unsafe) == 1:
        return unsafe[0]
    more = f"; ... and {len(unsafe) - SHOWN} more" if len(unsafe) > SHOWN else ""
    return (f"{len(unsafe)} image paths leave the image folder {image_base} (annotation files must name images "
            f"inside the data root; fix the entries or the links): {'; '.join(unsafe[:SHOWN])}{more}")


def _safe_paths(images: list[AnnotatedImage], image_base: Path) -> tuple[dict[str, Path], list[str]]:
    """Each image's resolved path when it stays inside ``image_base``, and a line for each that does not."""
    paths: dict[str, Path] = {}
    unsafe: list[str] = []
    for image in images:
        try:
            paths[image.image_id] = resolve_inside(image_base, image.image_id, where=image.where)
        except DataError as err:
            unsafe.append(str(err))
    return paths, unsafe
