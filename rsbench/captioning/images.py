"""Image files as captioners need them: a content digest (the cache's key) and an inline data URL (for endpoints)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from rsbench.errors import DataError
from rsbench.safe_load import file_sha256

DATA_URL_FORMATS = {"jpeg": "image/jpeg", "png": "image/png"}


def image_sha256(path: str | Path) -> str:
    """SHA-256 of the file's bytes: the same picture under another name or folder finds the same cached captions."""
    try:
        return file_sha256(Path(path))
    except OSError as exc:
        raise DataError(f"cannot read image {path}: {exc.strerror or exc}") from exc


def open_rgb(path: str | Path):
    """The image as an RGB PIL image; DataError when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from exc


def image_data_url(path: str | Path, image_format: str = "jpeg", quality: int = 90) -> str:
    """``data:image/jpeg;base64,...``: the image re-encoded as RGB (JPEG at ``quality``, as TRSLLaVA's code)."""
    if image_format not in DATA_URL_FORMATS:
        raise ValueError(f"image_format must be one of {', '.join(DATA_URL_FORMATS)}")
    buffer = io.BytesIO()
    image = open_rgb(path)
    if image_format == "jpeg":
        image.save(buffer, format="JPEG", quality=quality)
    else:
        image.save(buffer, format="PNG")
    payload = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:{DATA_URL_FORMATS[image_format]};base64,{payload}"
