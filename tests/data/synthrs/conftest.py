"""A small SynthRS build shared by the SynthRS tests (60 images of 32 px, well under a second to paint)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rsbench.data.synthrs import SynthRSConfig, build_synthrs

SMALL = {"num_images": 60, "image_size": 32}


@pytest.fixture(scope="session")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthrs") / "small"
    return build_synthrs(SynthRSConfig(data_root=str(root), **SMALL))


@pytest.fixture(scope="session")
def small_dataset(small_build: Path) -> dict:
    return json.loads((small_build / "dataset.json").read_text())


@pytest.fixture(scope="session")
def small_meta(small_build: Path) -> dict:
    return json.loads((small_build / "synthrs_meta.json").read_text())
