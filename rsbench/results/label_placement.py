"""Point labels that never overlap: each label goes to the nearest free spot around its point, with a leader line
when that spot is not next to the point.

Greedy and deterministic, in display pixels: the label's box is measured once with the figure's renderer, then tried
at offsets of growing radius in a fixed order of directions; a spot is free when the box stays inside the axes and
meets no label placed before it and no obstacle (every marker and error bar of the panel). Call it after the
figure's layout is final (``tight_layout`` moves the axes, and with them every pixel).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Offsets tried, in points: nearest rings first; in each ring right, left, then the diagonals, then up and down.
RADII_PT: tuple[float, ...] = (5, 11, 18, 26, 36, 48, 62, 78, 96, 118, 144, 175, 210)
ANGLES_DEG: tuple[float, ...] = (0, 180, 25, -25, 155, -155, 50, -50, 130, -130, 90, -90)
LEADER_FROM_PT = 12.0  # a label further than this from its point gets a line to it
PAD_PX = 2.0  # clearance kept around every box, so rounding in the renderer never makes two boxes touch


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in display pixels."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, other: Box) -> bool:
        return other.x0 <= self.x0 and self.x1 <= other.x1 and other.y0 <= self.y0 and self.y1 <= other.y1

    def grown(self, pad: float) -> Box:
        return Box(self.x0 - pad, self.y0 - pad, self.x1 + pad, self.y1 + pad)


def box_of(bbox) -> Box:
    """A matplotlib ``Bbox`` (as ``get_window_extent`` gives it) as a Box."""
    return Box(float(bbox.x0), float(bbox.y0), float(bbox.x1), float(bbox.y1))


def _alignment(dx: float, dy: float) -> tuple[str, str]:
    ha = "left" if dx > 1e-9 else "right" if dx < -1e-9 else "center"
    va = "bottom" if dy > 1e-9 else "top" if dy < -1e-9 else "center"
    return ha, va


def _box_at(x: float, y: float, width: float, height: float, ha: str, va: str) -> Box:
    x0 = {"left": x, "right": x - width, "center": x - width / 2}[ha]
    y0 = {"bottom": y, "top": y - height, "center": y - height / 2}[va]
    return Box(x0, y0, x0 + width, y0 + height)


def place_labels(ax, points: Sequence[tuple[float, float]], labels: Sequence[str], obstacles: Sequence[Box],
                 fontsize: float = 7.5, color: str = "0.15") -> list:
    """Annotate each data point of ``points`` with its label at a free spot; returns the annotations.

    ``obstacles`` are pixel boxes no label may cover (markers, error bars). A label that finds no free spot within
    the largest ring goes to the spot that overlaps least, so the caller's overlap test names it.
    """
    renderer = ax.figure.canvas.get_renderer()
    px_per_pt = ax.figure.dpi / 72.0
    frame = box_of(ax.get_window_extent(renderer))
    taken: list[Box] = [b.grown(PAD_PX) for b in obstacles]
    annotations = []
    # Top to bottom, then left to right: crowded columns of points fill their spots in reading order.
    order = sorted(range(len(points)), key=lambda i: (-ax.transData.transform(points[i])[1], points[i][0]))
    for i in order:
        px, py = ax.transData.transform(points[i])
        probe = ax.text(0, 0, labels[i], fontsize=fontsize, transform=ax.transAxes)
        extent = probe.get_window_extent(renderer)
        probe.remove()
        best: tuple[float, float, float, str, str, Box] | None = None
        for radius in RADII_PT:
            for angle in ANGLES_DEG:
                dx, dy = radius * math.cos(math.radians(angle)), radius * math.sin(math.radians(angle))
                ha, va = _alignment(round(dx, 6), round(dy, 6))
                box = _box_at(px + dx * px_per_pt, py + dy * px_per_pt, extent.width, extent.height, ha, va)
                grown = box.grown(PAD_PX)
                clash = sum(_area(grown, other) for other in taken) + (0.0 if grown.inside(frame) else 1e9)
                if best is None or clash < best[0]:
                    best = (clash, dx, dy, ha, va, grown)
                if clash == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        _, dx, dy, ha, va, grown = best
        taken.append(grown)
        far = math.hypot(dx, dy) > LEADER_FROM_PT
        annotations.append(ax.annotate(
            labels[i], points[i], xytext=(dx, dy), textcoords="offset points", ha=ha, va=va, fontsize=fontsize,
            color=color, zorder=5,
            arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.6, "shrinkA": 0, "shrinkB": 3} if far else None,
        ))
    return annotations


def _area(a: Box, b: Box) -> float:
    if not a.overlaps(b):
        return 0.0
    return (min(a.x1, b.x1) - max(a.x0, b.x0)) * (min(a.y1, b.y1) - max(a.y0, b.y0))
