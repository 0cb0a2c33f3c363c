"""Benchmarks live outside the default test run: ``pytest benchmarks -o addopts=""`` runs them.

``RSBENCH_BENCH_BACKBONE`` picks the model (default ``ViT-B-16``: the real architecture, random
weights) and ``RSBENCH_BENCH_BATCH`` the batch (default 2), so a quick look on a laptop can use
``rsbench-tiny-vit16`` (ViT-B/16 widths, 2 blocks per tower).
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def rsbench_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("RSBENCH_CACHE", str(tmp_path_factory.mktemp("rsbench-cache")))
    yield
    mp.undo()
