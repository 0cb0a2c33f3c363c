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

from rsbench.errors import RsbenchError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
MANIFEST = "manifest.json"
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
    marker = parts / "model.json"
    if marker.exists() and json.loads(marker.read_text()) != {"digest": model.digest, "count": len(paths)}:
        shutil.rmtree(parts)  # a build with another model or folder content: start over
        parts.mkdir(parents=True)
    marker.write_text(json.dumps({"digest": model.digest, "count": len(paths)}))
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
            temp = parts / f".{number:06d}.npy.tmp"
            with open(temp, "wb") as handle:
                np.save(handle, encoder.pil_images(batch).numpy(), allow_pickle=False)
            temp.replace(chunk_file)
        chunks.append(np.load(chunk_file))
        if progress is not None:
            progress(min(len(paths), start + CHUNK), len(paths))
    embeddings = np.concatenate(chunks).astype(np.float32)
    index = make_index(index_kind, embeddings.shape[1])
    index.add(embeddings)
    index.save(out / f"index.{index_kind}")
    _write_atomically(out / "embeddings.npy", lambda handle: np.save(handle, embeddings, allow_pickle=False))
    manifest = {"format": "rsbench-archive-1", "images": str(Path(images).resolve()),
                "paths": [str(p) for p in paths], "model": spec, "model_digest": model.digest,
                "dim": int(embeddings.shape[1]), "index": index_kind}
    _write_atomically(out / MANIFEST, lambda handle: handle.write(json.dumps(manifest, indent=1).encode()))
    shutil.rmtree(parts)
    return manifest


def _write_atomically(path: Path, write) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as handle:
        write(handle)
    temp.replace(path)


def read_manifest(archive: Path) -> dict[str, Any]:
    archive = Path(archive)
    if not (archive / MANIFEST).is_file():
        raise RsbenchError(f"{archive} holds no archive index ({MANIFEST} missing); build one with "
                           f"rsbench index build --images DIR --out {archive}")
    return json.loads((archive / MANIFEST).read_text(encoding="utf-8"))


def load_index(archive: Path, manifest: dict[str, Any]):
    from rsbench.retrieval.index import make_index

    path = Path(archive) / f"index.{manifest['index']}"
    if not path.is_file():
        raise RsbenchError(f"index file {path} is missing; rebuild with rsbench index build")
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
    model = model or load_model_spec(manifest["model"], device)
    if model.digest != manifest["model_digest"] or model.embed_dim != manifest["dim"]:
        raise RsbenchError(f"the index in {archive} was built with model {manifest['model_digest']} "
                           f"(width {manifest['dim']}), not with this one ({model.digest}, width {model.embed_dim})")
    index = load_index(archive, manifest)
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
    _write_atomically(out, lambda handle: sheet.save(handle, format="PNG"))
    return out
