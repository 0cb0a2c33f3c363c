"""An image archive made searchable: embed a folder once, then answer text queries against it.

``build_archive`` embeds every image under a folder with a model (a saved one or a config), in chunks whose
embeddings are written as they finish, so an interrupted build resumes where it stopped; then it builds a
gallery index and writes, atomically, ``index.<kind>``, ``embeddings.npy`` and ``manifest.json`` (the
image paths relative to the folder, the model's digest and how to rebuild it, the width, the index kind).
``search_archive`` loads the same model, checks its digest against the manifest, embeds the query and
returns the top k paths with their scores; ``contact_sheet`` draws them.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rsbench.atomic import write_atomically, write_text_atomically
from rsbench.errors import RsbenchError
from rsbench.safe_load import ArtefactError, artefact_error, file_sha256, read_json, read_npy, require_fields

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
MANIFEST = "manifest.json"
ARCHIVE_FORMAT = "rsbench-archive-1"
CHUNK = 256


@dataclass
class Hit:
    rank: int
    path: Path
    score: float


def list_images(folder: Path) -> list[Path]:
    """Every image file under ``folder`` (recursively), in sorted order, as paths relative to it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RsbenchError(f"image folder {folder} does not exist")
    paths = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise RsbenchError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {folder}")
    return paths


def load_model_spec(spec: dict[str, Any], device: str = "auto"):
    """The model a manifest names: ``{"model_dir": ...}`` (a saved model) or ``{"config": ...}``."""
    from rsbench.retrieval.saved_model import load_model, model_from_config

    if "model_dir" in spec:
        return load_model(Path(spec["model_dir"]), device)
    return model_from_config(spec["config"], device)


def build_archive(images: Path, out: Path, spec: dict[str, Any], index_kind: str = "exact",
                  device: str = "auto", progress=None) -> dict[str, Any]:
    """Embed ``images`` with the model of ``spec`` into ``out`` (see the module text); returns the manifest."""
    from PIL import Image

    from rsbench.retrieval.index import make_index

    make_index(index_kind, 1)  # an unknown name, or faiss missing, is an error before any embedding
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RsbenchError(f"--out {out} is a file; an archive index is a folder")
    paths = list_images(images)
    model = load_model_spec(spec, device)
    encoder = model.encoder()
    parts = out / ".parts"
    parts.mkdir(parents=True, exist_ok=True)
    marker, expected = parts / "model.json", {"digest": model.digest, "count": len(paths)}
    if marker.exists() and _read_marker(marker) != expected:
        shutil.rmtree(parts)  # a build with another model or folder content (or a damaged one): start over
        parts.mkdir(parents=True)
    write_text_atomically(marker, json.dumps(expected))
    chunks = []
    for number, start in enumerate(range(0, len(paths), CHUNK)):
        chunk_file = parts / f"{number:06d}.npy"
        if not chunk_file.exists():  # a finished chunk is never embedded twice
            batch = []
            for relative in paths[start : start + CHUNK]:
                try:
                    with Image.open(Path(images) / relative) as image:
                        batch.append(image.convert("RGB"))
                except OSError as exc:
                    raise RsbenchError(f"cannot read image {Path(images) / relative}: {exc}") from exc
            vectors = encoder.pil_images(batch).numpy()
            write_atomically(chunk_file, lambda handle, v=vectors: np.save(handle, v, allow_pickle=False))
        chunks.append(read_npy(chunk_file, "archive index chunk", f"remove {parts} and build again", ndim=2))
        if progress is not None:
            progress(min(len(paths), start + CHUNK), len(paths))
    embeddings = np.concatenate(chunks).astype(np.float32)
    index = make_index(index_kind, embeddings.shape[1])
    index.add(embeddings)
    index.save(out / f"index.{index_kind}")
    write_atomically(out / "embeddings.npy", lambda handle: np.save(handle, embeddings, allow_pickle=False))
    manifest = {"format": ARCHIVE_FORMAT, "images": str(Path(images).resolve()),
                "paths": [str(p) for p in paths], "model": spec, "model_digest": model.digest,
                "dim": int(embeddings.shape[1]), "index": index_kind,
                "index_sha256": file_sha256(out / f"index.{index_kind}")}
    write_text_atomically(out / MANIFEST, json.dumps(manifest, indent=1))
    shutil.rmtree(parts)
    return manifest


def _read_marker(marker: Path) -> Any:
    """What an interrupted build recorded in ``.parts``; None when it is unreadable (the build then starts over)."""
    try:
        return read_json(marker, "archive build marker", "")
    except ArtefactError:
        return None


def read_manifest(archive: Path) -> dict[str, Any]:
    """The archive's manifest, checked field by field (an edited or damaged one is one clear error)."""
    archive = Path(archive)
    if not (archive / MANIFEST).is_file():
        raise RsbenchError(f"{archive} holds no archive index ({MANIFEST} missing); build one with "
                           f"rsbench index build --images DIR --out {archive}")
    path, fix = archive / MANIFEST, f"build the index again with rsbench index build --images DIR --out {archive}"
    manifest = read_json(path, "archive index manifest", fix)
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise artefact_error("archive index manifest", path, f"has format {manifest.get('format')!r}, not "
                             f"{ARCHIVE_FORMAT!r} (made by another rsbench version, or not by rsbench)", fix)
    require_fields(manifest, {"images": str, "paths": list, "model": dict, "model_digest": str, "dim": int,
                              "index": str}, path, "archive index manifest", fix)
    if not all(isinstance(p, str) for p in manifest["paths"]) or manifest["dim"] < 1 or \
            not re.fullmatch(r"[A-Za-z0-9_.-]+", manifest["index"]) or ".." in manifest["index"]:
        raise artefact_error("archive index manifest", path, "lists image paths that are not strings, a width "
                             "below 1 or an index kind that is not a plain name", fix)
    model = manifest["model"]
    if not (isinstance(model.get("model_dir"), str) or isinstance(model.get("config"), dict)):
        raise artefact_error("archive index manifest", path, "names no model (model_dir or config)", fix)
    return manifest


def load_index(archive: Path, manifest: dict[str, Any]):
    from rsbench.retrieval.index import make_index

    path = Path(archive) / f"index.{manifest['index']}"
    if not path.is_file():
        raise RsbenchError(f"index file {path} is missing; rebuild with rsbench index build")
    # a native index file (faiss) is handed to its library only when it is the file the build wrote: a damaged
    # one can make faiss allocate without bound or read out of bounds instead of raising
    expected = manifest.get("index_sha256")  # absent in archives built before it was recorded
    if expected is not None and file_sha256(path) != expected:
        raise artefact_error("index file", path, "is not the file its manifest records (damaged, or changed after "
                             "the build)", f"build the index again with rsbench index build --out {archive}")
    index = make_index(manifest["index"], manifest["dim"]).load(path)  # the registered index of that name
    if index.dim != manifest["dim"] or index.ntotal != len(manifest["paths"]):
        raise RsbenchError(f"{path} holds {index.ntotal} vectors of width {index.dim}, but the manifest lists "
                           f"{len(manifest['paths'])} images of width {manifest['dim']}; rebuild the index")
    return index


def search_archive(archive: Path, query: str, k: int = 10, device: str = "auto", model=None) -> list[Hit]:
    """The ``k`` images of the archive that best match ``query``, best first."""
    manifest = read_manifest(archive)
    if not re.search(r"\w", query):
        raise RsbenchError(f"the query {query!r} has no words to search for")
    if not 1 <= k <= len(manifest["paths"]):
        raise RsbenchError(f"-k {k} must be between 1 and the archive's {len(manifest['paths'])} images")
    index = load_index(archive, manifest)  # every file is checked before the model is built
    model = model or load_model_spec(manifest["model"], device)
    if model.digest != manifest["model_digest"] or model.embed_dim != manifest["dim"]:
        raise RsbenchError(f"the index in {archive} was built with model {manifest['model_digest']} "
                           f"(width {manifest['dim']}), not with this one ({model.digest}, width {model.embed_dim})")
    scores, ids = index.search(model.encoder().texts([query]).embeddings.numpy(), k)
    root = Path(manifest["images"])
    return [Hit(rank + 1, root / manifest["paths"][i], float(s)) for rank, (s, i) in enumerate(zip(scores[0], ids[0],
                                                                                                   strict=True))]


def middle_ellipsis(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``text`` if it fits ``width`` (as ``measure`` gives a string's width), else its start and end around "...":
    a file name keeps its distinguishing number and extension ("denseresidential_4.tif" -> "dense...al_4.tif").
    ASCII dots: PIL's fallback bitmap font has no ellipsis character."""
    if measure(text) <= width:
        return text
    keep = len(text) - 1
    while keep > 1:
        head, tail = (keep + 1) // 2, keep // 2
        short = f"{text[:head]}...{text[len(text) - tail:]}"
        if measure(short) <= width:
            return short
        keep -= 1
    return "..."


def contact_sheet(query: str, hits: list[Hit], out: Path, outlined: set[Path] | None = None,
                  thumb: int = 160, columns: int = 5) -> Path:
    """Write a PNG of the hits' thumbnails (rank and score under each) with the query as its title.

    Paths in ``outlined`` (the true matches of an evaluation query) get a green frame.
    """
    from PIL import Image, ImageDraw

    rows = (len(hits) + columns - 1) // columns
    title, label = 28, 30  # two lines under each thumbnail: rank and score, then the file name
    sheet = Image.new("RGB", (columns * (thumb + 8) + 8, title + rows * (thumb + label + 8) + 8), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((8, 8), query[:140], fill="black")
    for n, hit in enumerate(hits):
        x, y = 8 + (n % columns) * (thumb + 8), title + (n // columns) * (thumb + label + 8)
        with Image.open(hit.path) as image:
            sheet.paste(image.convert("RGB").resize((thumb, thumb)), (x, y))
        if outlined and hit.path in outlined:
            draw.rectangle([x - 3, y - 3, x + thumb + 2, y + thumb + 2], outline=(0, 170, 0), width=4)
        draw.text((x, y + thumb + 3), f"#{hit.rank}  {hit.score:.3f}", fill="black")
        draw.text((x, y + thumb + 16), middle_ellipsis(hit.path.name, thumb, draw.textlength), fill="black")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, lambda handle: sheet.save(handle, format="PNG"))
    return out
