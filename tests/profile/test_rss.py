"""Peak resident memory per block (``rsbench.rss``): a block after a bigger one measures its own peak, and an
enclosing block keeps the peak an inner one reset. Sizes are allocations the test makes, so the bounds hold on
any Linux machine; the figures are RSS, so they are checked against wide margins, not exactly."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from rsbench.profile.cost import peak_memory
from rsbench.rss import rss_peak

MIB = 2**20


def allocate(mib: int) -> None:
    """Touch ``mib`` MiB, then free them (numpy maps big arrays, so the resident set falls back)."""
    block = np.ones(mib * MIB // 8)
    assert block.sum() > 0
    del block


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="only Linux can reset the resident-set high-water mark (/proc/self/clear_refs)")


def test_a_block_after_a_bigger_one_measures_its_own_peak():
    with rss_peak() as first:
        allocate(300)
    with rss_peak() as second:  # the lifetime peak (ru_maxrss) does not move here: its growth would be 0
        allocate(100)
    assert first.growth() >= 250 * MIB
    assert 80 * MIB <= second.growth() < 200 * MIB


def test_an_enclosing_block_keeps_the_peak_that_an_inner_block_reset():
    with rss_peak() as outer:
        allocate(300)
        with rss_peak() as inner:
            allocate(100)
        assert 80 * MIB <= inner.growth() < 200 * MIB
        assert outer.growth() >= 250 * MIB


def test_two_trainings_in_one_process_each_report_their_peak_on_cpu():
    peaks = []
    for mib in (300, 100):
        with peak_memory(torch.device("cpu")) as result:
            allocate(mib)
            assert result["so_far"]() >= 0.8 * mib * MIB
        peaks.append(result["peak_memory_bytes"])
    assert result["rss_exact"] and peaks[0] >= 250 * MIB and 80 * MIB <= peaks[1] < 200 * MIB
