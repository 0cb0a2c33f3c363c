"""SynthRSConfig: defaults, validation errors, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rsbench.data.synthrs.config import SCENE_CLASSES, SPLIT_FRACTIONS, SynthRSConfig
from rsbench.errors import ConfigError


def test_defaults_are_the_embedded_default() -> None:
    cfg = SynthRSConfig()
    assert (cfg.seed, cfg.num_images, cfg.image_size, cfg.data_root) == (0, 1600, 64, "")
    assert len(SCENE_CLASSES) >= 15
    assert abs(sum(SPLIT_FRACTIONS.values()) - 1) < 1e-9


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_images": 3 * len(SCENE_CLASSES) - 1}, "num_images"),
        ({"num_images": 10**9}, "num_images"),
        ({"image_size": 16}, "image_size"),
        ({"image_size": 1024}, "image_size"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"num_images": True}, "num_images"),
        ({"image_size": "64"}, "image_size"),
        ({"data_root": None}, "data_root must be a string"),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SynthRSConfig(**options)


def test_every_field_has_help_text() -> None:
    import dataclasses

    for f in dataclasses.fields(SynthRSConfig):
        assert f.metadata.get("help"), f.name


def test_config_import_does_not_load_numpy_or_pil() -> None:
    code = (
        "import sys; import rsbench.data.synthrs; from rsbench.data.synthrs import SynthRSConfig; "
        "SynthRSConfig(); print(sorted(m for m in ('numpy', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_scene_names_fit_the_filename_rule() -> None:
    # the scene of `<scene>_<n>.png` is everything before the last underscore
    for name in SCENE_CLASSES:
        assert name.isalpha() and name.islower(), name
