"""The surface SynthRS paints on: unit coordinates, supersampled drawing, and the measured area of each object.

Geometry is expressed in unit coordinates (x right, y down, both 0..1), so a scene's layout does not depend
on the rendered resolution; object areas are measured on a fixed-resolution mask for the same reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Point = tuple[float, float]
Colour = tuple[int, ...]

MEASURE_SIZE = 256  # resolution of the masks that measure object areas, independent of image_size


def place(points: Sequence[Point], cx: float, cy: float, scale: float, angle: float) -> list[Point]:
    """Rotate local points by ``angle`` (radians), scale them and move their origin to (cx, cy)."""
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + scale * (c * x - s * y), cy + scale * (s * x + c * y)) for x, y in points]


def rectangle(cx: float, cy: float, length: float, width: float, angle: float = 0.0) -> list[Point]:
    """Corners of a rectangle centred on (cx, cy) whose long side points along ``angle``."""
    hl, hw = length / 2, width / 2
    return place([(-hl, -hw), (hl, -hw), (hl, hw), (-hl, hw)], cx, cy, 1.0, angle)


def stadium(cx: float, cy: float, length: float, radius: float, angle: float = 0.0, steps: int = 24) -> list[Point]:
    """Outline of a running-track shape: a rectangle of ``length`` with half-discs of ``radius`` at both ends."""
    half = length / 2
    local: list[Point] = []
    for i in range(steps + 1):
        a = -math.pi / 2 + math.pi * i / steps
        local.append((half + radius * math.cos(a), radius * math.sin(a)))
    for i in range(steps + 1):
        a = math.pi / 2 + math.pi * i / steps
        local.append((-half + radius * math.cos(a), radius * math.sin(a)))
    return place(local, cx, cy, 1.0, angle)


@dataclass
class Measured:
    """Area of what was drawn inside one ``Canvas.measure()`` block, as a fraction of the image."""

    fraction: float = 0.0
    centre: Point = (0.5, 0.5)


@dataclass
class Canvas:
    """An RGB image in unit coordinates; draws are mirrored onto the masks of open ``measure()`` blocks."""

    image: Image.Image
    sun: Point = (0.6, 0.8)  # direction shadows fall in, unit length
    _draw: ImageDraw.ImageDraw = field(init=False, repr=False)
    _masks: list[ImageDraw.ImageDraw] = field(default_factory=list, init=False, repr=False)
    _stencil: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self._draw = ImageDraw.Draw(self.image, "RGBA")  # RGBA mode so shadows and haze blend

    @classmethod
    def from_array(cls, background: np.ndarray) -> Canvas:
        return cls(Image.fromarray(np.clip(background, 0, 255).astype(np.uint8)))

    @property
    def size(self) -> int:
        return self.image.size[0]

    def _px(self, points: Sequence[Point], size: int) -> list[Point]:
        return [(x * size, y * size) for x, y in points]

    @contextmanager
    def measure(self) -> Iterator[Measured]:
        """Measure the area covered by the counted draws inside the block (shadows are not counted)."""
        mask = Image.new("L", (MEASURE_SIZE, MEASURE_SIZE), 0)
        self._masks.append(ImageDraw.Draw(mask))
        result = Measured()
        try:
            yield result
        finally:
            self._masks.pop()
        result.fraction = float(np.count_nonzero(np.asarray(mask))) / MEASURE_SIZE**2
        box = mask.getbbox()
        if box is not None:
            result.centre = ((box[0] + box[2]) / 2 / MEASURE_SIZE, (box[1] + box[3]) / 2 / MEASURE_SIZE)

    @contextmanager
    def textured(self, texture: np.ndarray, soften: float = 0.0) -> Iterator[None]:
        """Inside the block, draws cut a stencil instead of painting; on exit ``texture`` shows through it.

        This is how water, sand and fields get their texture inside an outline; ``soften`` blurs the
        stencil's edge (in unit lengths) for shorelines.
        """
        stencil = Image.new("L", self.image.size, 0)
        painter = self._draw
        self._draw = ImageDraw.Draw(stencil)
        self._stencil = True
        try:
            yield
        finally:
            self._draw = painter
            self._stencil = False
        if soften > 0:
            stencil = stencil.filter(ImageFilter.GaussianBlur(soften * self.size))
        self.image.paste(Image.fromarray(np.clip(texture, 0, 255).astype(np.uint8)), mask=stencil)

    def _fill(self, fill: Colour) -> Colour | int:
        return 255 if self._stencil else tuple(int(c) for c in fill)

    def polygon(self, points: Sequence[Point], fill: Colour = (0, 0, 0), counted: bool = True) -> None:
        self._draw.polygon(self._px(points, self.size), fill=self._fill(fill))
        if counted:
            for mask in self._masks:
                mask.polygon(self._px(points, MEASURE_SIZE), fill=255)

    def ellipse(
        self, cx: float, cy: float, rx: float, ry: float, fill: Colour = (0, 0, 0), counted: bool = True
    ) -> None:
        box = [(cx - rx, cy - ry), (cx + rx, cy + ry)]
        self._draw.ellipse(self._px(box, self.size), fill=self._fill(fill))
        if counted:
            for mask in self._masks:
                mask.ellipse(self._px(box, MEASURE_SIZE), fill=255)

    def line(self, points: Sequence[Point], width: float, fill: Colour = (0, 0, 0), counted: bool = True) -> None:
        """A polyline ``width`` units wide, with round joints so bends have no gaps."""
        self._stroke(self._draw, points, width, self.size, self._fill(fill))
        if counted:
            for mask in self._masks:
                self._stroke(mask, points, width, MEASURE_SIZE, 255)

    def _stroke(self, draw: ImageDraw.ImageDraw, points: Sequence[Point], width: float, size: int, fill) -> None:
        w = max(1, round(width * size))
        px = self._px(points, size)
        if w <= 3:
            draw.line(px, fill=fill, width=w)
            return
        # PIL's wide-line joints leave notches at every vertex; a quad per segment plus a disc per
        # vertex gives clean round joints and caps for rivers and roads.
        r = width * size / 2
        for (x0, y0), (x1, y1) in zip(px[:-1], px[1:], strict=True):
            length = math.hypot(x1 - x0, y1 - y0)
            if length == 0:
                continue
            nx, ny = -(y1 - y0) / length * r, (x1 - x0) / length * r
            draw.polygon([(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)], fill=fill)
        for x, y in px:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)

    def to_array(self) -> np.ndarray:
        return np.asarray(self.image, dtype=np.float32)
