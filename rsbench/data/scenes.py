"""Scene-class rules of the public datasets: file-name prefixes, UC Merced and Sydney id ranges, RSICD class lists.

Each rule maps an image file name to its scene class, or None when the name carries no class.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from rsbench.errors import DataError

SceneRule = Callable[[str], "str | None"]

_PREFIX = re.compile(r"^(?P<scene>.+)_\d+$")

# UC Merced Land Use, alphabetical: UCM-captions numbers its images 1..2100, 100 per class in this order.
UCM_CLASSES: tuple[str, ...] = (
    "agricultural",
    "airplane",
    "baseballdiamond",
    "beach",
    "buildings",
    "chaparral",
    "denseresidential",
    "forest",
    "freeway",
    "golfcourse",
    "harbor",
    "intersection",
    "mediumresidential",
    "mobilehomepark",
    "overpass",
    "parkinglot",
    "river",
    "runway",
    "sparseresidential",
    "storagetanks",
    "tenniscourt",
)
UCM_IMAGES_PER_CLASS = 100

# Sydney-captions (Qu et al. 2016) numbers its 613 images 1..613. No public source we could find states
# the id ranges of its 7 classes; we assume the images are numbered class by class in the order the
# release lists the classes, with the release's class sizes. Edit this table if the ranges turn out
# otherwise: the rule below reads nothing else.
SYDNEY_CLASS_SIZES: tuple[tuple[str, int], ...] = (
    ("residential", 242),
    ("airport", 22),
    ("meadow", 50),
    ("river", 45),
    ("ocean", 92),
    ("industrial", 96),
    ("runway", 66),
)


def _ranges(sizes: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int, int], ...]:
    rows, first = [], 1
    for scene, size in sizes:
        rows.append((scene, first, first + size - 1))
        first += size
    return tuple(rows)


SYDNEY_RANGES: tuple[tuple[str, int, int], ...] = _ranges(SYDNEY_CLASS_SIZES)
"""(scene, first id, last id), both ends included: residential 1-242, ..., runway 548-613."""


def _base_name(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).name


def _numeric_id(filename: str) -> int | None:
    stem = PurePosixPath(_base_name(filename)).stem
    return int(stem) if stem.isdigit() else None


def scene_from_prefix(filename: str) -> str | None:
    """The class of a ``<class>_<n>.<ext>`` file name (``storagetanks_12.tif`` -> ``storagetanks``).

    Everything before the last ``_<digits>`` is the class, so class names may contain underscores.
    Names without that suffix (RSICD's ``00001.jpg``) have no class: None.
    """
    match = _PREFIX.match(PurePosixPath(_base_name(filename)).stem)
    return match.group("scene") if match else None


def ucm_scene(filename: str) -> str | None:
    """The UC Merced class of ``<id>.tif``: ``UCM_CLASSES[(id - 1) // 100]`` for ids 1..2100, else None."""
    image_id = _numeric_id(filename)
    if image_id is None or not 1 <= image_id <= len(UCM_CLASSES) * UCM_IMAGES_PER_CLASS:
        return None
    return UCM_CLASSES[(image_id - 1) // UCM_IMAGES_PER_CLASS]


def sydney_scene(filename: str) -> str | None:
    """The Sydney-captions class of ``<id>.tif`` from ``SYDNEY_RANGES``; None outside 1..613."""
    image_id = _numeric_id(filename)
    if image_id is None:
        return None
    for scene, first, last in SYDNEY_RANGES:
        if first <= image_id <= last:
            return scene
    return None


SCENE_RULES: dict[str, SceneRule | None] = {
    "prefix": scene_from_prefix,
    "ucm": ucm_scene,
    "sydney": sydney_scene,
    "none": None,
}


def load_rsicd_classes(directory: Path) -> dict[str, str | None]:
    """Read RSICD's ``txtclasses_rsicd/``: one ``<Class>.txt`` per class, one image file name per line.

    Returns file name -> class, the class being the list's name lower-cased (``BareLand.txt`` ->
    ``bareland``) so that it matches the ``<class>_<n>`` prefixes of the other RSICD files. A file
    listed under two different classes maps to None: its class is unknown. The release unpacks
    to ``txtclasses_rsicd/`` and sometimes to ``txtclasses_rsicd/txtclasses_rsicd/``; both are read.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"RSICD class lists not found: {directory} is not a folder")
    lists = sorted(p for p in directory.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
    nested = directory / directory.name
    if not lists and nested.is_dir():
        return load_rsicd_classes(nested)
    if not lists:
        raise DataError(f"RSICD class lists: {directory} holds no <Class>.txt files")
    classes: dict[str, str | None] = {}
    for path in lists:
        scene = path.stem.lower()
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"cannot read RSICD class list {path}: {err}") from err
        for line in lines:
            name = line.strip()
            if not name:
                continue
            if name in classes and classes[name] != scene:
                classes[name] = None
            else:
                classes[name] = scene
    return classes


def rsicd_class_of(classes: dict[str, str | None], filename: str) -> str | None:
    """Look a file up in the RSICD lists by its name, then by its stem (lists may omit the extension)."""
    base = _base_name(filename)
    if base in classes:
        return classes[base]
    return classes.get(PurePosixPath(base).stem)
