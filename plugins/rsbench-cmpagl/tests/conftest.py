"""Lets the plugin's tests run from a checkout of rsbench without installing the plugin first.

``registered`` makes rsbench's plugin manager see the plugin through its entry point: when the package is not
installed, a minimal dist-info (the pyproject's name, version and entry point) is put on ``sys.path`` for the
test and removed afterwards, so other tests see the registries as they were.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
if str(PLUGIN_ROOT) not in sys.path:
    sys.path.insert(0, str(PLUGIN_ROOT))


def _installed() -> bool:
    return any(ep.name == "cmpagl" for ep in importlib.metadata.entry_points(group="rsbench"))


@pytest.fixture
def registered(tmp_path):
    from rsbench.hooks import manager

    if _installed():
        manager.reset()
        yield
        return
    version = re.search(r'^version = "([^"]+)"', (PLUGIN_ROOT / "pyproject.toml").read_text(), re.M).group(1)
    info = tmp_path / f"rsbench_cmpagl-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: rsbench-cmpagl\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[rsbench]\ncmpagl = rsbench_cmpagl.plugin\n")
    sys.path.insert(0, str(tmp_path))
    manager.reset()
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        manager.reset()
