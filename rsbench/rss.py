"""Peak resident memory of this process over a block of work: what ``peak_memory_bytes`` means on CPU.

``getrusage``'s ``ru_maxrss`` is the peak over the process's whole life, so "its growth over a block" is 0 for
every block after one that went higher: the second training of a sweep that runs in one process, or a reranker
benchmarked after a bigger one, reported a peak of 0. On Linux the kernel's high-water mark of the resident set
can be reset (``/proc/self/clear_refs``, value 5; ``VmHWM`` in ``/proc/self/status``), so a block here reports
its own peak: the highest resident set it reached, less the resident set it started with. Blocks nest: an outer
block keeps the peak reached before an inner one reset the mark. Where ``/proc`` cannot do this (macOS, a
read-only ``/proc``) the figure falls back to the growth of ``ru_maxrss``, a lower bound, and says so
(``RssPeak.exact``).

Ground floor: imports nothing of rsbench.
"""

from __future__ import annotations

import contextlib
import resource
import sys
from collections.abc import Iterator

STATUS = "/proc/self/status"
CLEAR_REFS = "/proc/self/clear_refs"
RESET_PEAK = "5"  # proc(5): "reset the peak resident set size ("high water mark") to the process's current value"


def _status_bytes(field: str) -> int:
    with open(STATUS, encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024  # kB
    raise OSError(f"{STATUS} has no {field}")


def _lifetime_peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def _reset_high_water_mark() -> bool:
    try:
        with open(CLEAR_REFS, "w", encoding="ascii") as clear_refs:
            clear_refs.write(RESET_PEAK)
        _status_bytes("VmHWM")
    except (OSError, ValueError):
        return False
    return True


class RssPeak:
    """One block's peak: ``growth()`` is the highest resident set so far (up to the block's end, once it has
    ended), less the one the block started with."""

    def __init__(self, exact: bool) -> None:
        self.exact = exact
        self.start = _status_bytes("VmRSS") if exact else _lifetime_peak()
        self.carried = 0  # the high-water mark an inner block reset, kept for this one
        self.final: int | None = None  # the high-water mark when the block ended (a later block may reset it)

    def high_water(self) -> int:
        if self.final is not None:
            return self.final
        return max(self.carried, _status_bytes("VmHWM")) if self.exact else _lifetime_peak()

    def growth(self) -> int:
        return max(0, self.high_water() - self.start)


_OPEN: list[RssPeak] = []


@contextlib.contextmanager
def rss_peak() -> Iterator[RssPeak]:
    """Measure the block's peak resident-set growth (see the module text); read it with ``.growth()``."""
    for outer in _OPEN:
        if outer.exact:
            outer.carried = outer.high_water()  # resetting the mark must not lose an enclosing block's peak
    block = RssPeak(exact=_reset_high_water_mark())
    _OPEN.append(block)
    try:
        yield block
    finally:
        block.final = block.high_water()
        _OPEN.remove(block)
