"""Options of the dataset loaders of this folder (karpathy.py, precomp.py, nwpu.py), kept free of heavy imports so
that `rsbench list` stays fast; rsbench/builtin.py registers each loader with its config class."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rsbench.errors import ConfigError
from rsbench.options import Options, option

ON_BAD_IMAGE = ("error", "skip")
SCENE_RULES = ("prefix", "ucm", "sydney", "none")

_ROOT_HELP = "folder holding the annotation file(s) and the images"
_IMAGE_DIR_HELP = (
    "folder of images, relative to data_root (or absolute); default: the dataset's usual folder "
    "('images' and the like) when present, else data_root itself"
)
_ON_BAD_HELP = (
    "what to do with missing or corrupt images: 'error' stops with a list of them, "
    "'skip' drops them and records each in the dataset's problems"
)
_CHECK_HELP = "open every image once at load time to find corrupt files (missing files are always found)"
_SCENE_HELP = (
    "how to read the scene class from a file name: 'prefix' (<class>_<n>.<ext>), 'ucm' (UC Merced ids), "
    "'sydney' (Sydney-captions ids) or 'none'"
)


# The procedural datasets (SynthRS, SynthShapes) paint square images of one side, within these bounds.
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 512


def image_size_option(default: int = 64) -> int:
    """The ``image_size`` option of a procedurally painted dataset: the side of its square images."""
    return option(default, f"Side of the square images in pixels ({MIN_IMAGE_SIZE}-{MAX_IMAGE_SIZE}; 64-256 usual).",
                  ge=MIN_IMAGE_SIZE, le=MAX_IMAGE_SIZE)


@dataclass
class KarpathyConfig(Options):
    """Options of a dataset stored as one Karpathy-style JSON file (RSITMD, RSICD, UCM, Sydney)."""

    data_root: str = option("", _ROOT_HELP)
    annotation: str | None = option(None, "annotation file name inside data_root; default: the dataset's usual name")
    image_dir: str | None = option(None, _IMAGE_DIR_HELP)
    on_bad_image: Literal["error", "skip"] = option("error", _ON_BAD_HELP)
    check_images: bool = option(True, _CHECK_HELP)


@dataclass
class RsicdConfig(KarpathyConfig):
    """RSICD (dataset_rsicd.json, 30 scene classes; numeric files labelled by txtclasses_rsicd/)

    RSICD options: a Karpathy file plus the per-class file lists that label its numeric file names.
    """

    class_lists: str = option(
        "txtclasses_rsicd", "folder (inside data_root) of <Class>.txt files listing each class's image file names"
    )


@dataclass
class GenericKarpathyConfig(KarpathyConfig):
    """any Karpathy-style JSON (images[].filename/split/sentences[].raw)

    Any Karpathy-style JSON: the annotation file must be named; the scene rule is chosen.
    """

    scene_rule: Literal["prefix", "ucm", "sydney", "none"] = option("prefix", _SCENE_HELP)


@dataclass
class PrecompConfig(Options):
    """AMFMN/GaLR precomp folder (<split>_caps.txt with <split>_filename.txt)

    Options of an AMFMN/GaLR "precomp" folder (``<split>_caps.txt`` + ``<split>_filename.txt``).
    """

    data_root: str = option("", "folder holding the <split>_caps.txt and <split>_filename.txt files")
    image_dir: str | None = option(None, _IMAGE_DIR_HELP)
    scene_rule: Literal["prefix", "ucm", "sydney", "none"] = option("prefix", _SCENE_HELP)
    on_bad_image: Literal["error", "skip"] = option("error", _ON_BAD_HELP)
    check_images: bool = option(True, _CHECK_HELP)


@dataclass
class NwpuConfig(Options):
    """NWPU-Captions (dataset_nwpu.json keyed by category, 45 classes)

    Options of NWPU-Captions: one JSON keyed by category, images in ``<category>/<filename>``.
    """

    data_root: str = option("", _ROOT_HELP)
    annotation: str = option("dataset_nwpu.json", "annotation file name inside data_root")
    image_dir: str | None = option(None, _IMAGE_DIR_HELP)
    on_bad_image: Literal["error", "skip"] = option("error", _ON_BAD_HELP)
    check_images: bool = option(True, _CHECK_HELP)


def require_data_root(config: object, dataset: str) -> Path:
    """The config's data_root as an absolute path; a ConfigError when it was left empty.

    Checked when the dataset is built rather than by the config's own rules, so a config with its
    defaults can still be made (to list options, or to apply overrides one by one).
    """
    data_root = str(getattr(config, "data_root", "") or "").strip()
    if not data_root:
        raise ConfigError(
            f"dataset.data_root is required for dataset '{dataset}': pass --data-root DIR "
            f"(or --set dataset.data_root=DIR), the folder holding its annotation file and images"
        )
    return Path(data_root).expanduser().resolve()

