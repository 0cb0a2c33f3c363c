"""The object kinds of SynthShapes, seen flat like stickers: geometric shapes and everyday things.

Each kind is a drawing function in local coordinates (both axes -1..1, y down) over a ``Pen``, which places
the local frame in the image and draws every primitive onto several targets at once: the object's colour
layer and the fixed-resolution mask that measures it. Parts have roles instead of colours: ``body`` is the
object's named colour, ``dark``/``light`` shades of it, ``ink`` near-black details, ``cut`` a hole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import ImageDraw

Point = tuple[float, float]
Fill = tuple[int, ...] | int

# Named colours the captions use, with the RGB they are painted in: saturated, unlike SynthRS's earthy tones.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (230, 36, 48),
    "orange": (255, 136, 10),
    "yellow": (255, 218, 20),
    "green": (44, 186, 64),
    "blue": (34, 90, 232),
    "purple": (142, 52, 200),
    "pink": (255, 108, 182),
    "white": (248, 248, 246),
    "black": (28, 28, 30),
}

ROLES = ("body", "dark", "light", "ink", "cut")


@dataclass
class Target:
    """One surface a pen draws on: an ImageDraw of ``size`` pixels and the fill of each role on it."""

    draw: ImageDraw.ImageDraw
    size: int
    fills: dict[str, Fill]


class Pen:
    """Draws primitives given in an object's local frame (centre, half-extent, angle) onto every target."""

    def __init__(self, targets: Sequence[Target], cx: float, cy: float, half: float, angle: float) -> None:
        self.targets = list(targets)
        self.cx, self.cy, self.half = cx, cy, half
        self.cos, self.sin = math.cos(angle), math.sin(angle)

    def _unit(self, points: Sequence[Point]) -> list[Point]:
        c, s, h = self.cos, self.sin, self.half
        return [(self.cx + h * (c * x - s * y), self.cy + h * (s * x + c * y)) for x, y in points]

    def polygon(self, points: Sequence[Point], role: str = "body") -> None:
        unit = self._unit(points)
        for target in self.targets:
            target.draw.polygon([(x * target.size, y * target.size) for x, y in unit], fill=target.fills[role])

    def ellipse(self, cx: float, cy: float, rx: float, ry: float | None = None, role: str = "body") -> None:
        """An ellipse in the local frame, as a 48-gon so that it turns with the object."""
        ry = rx if ry is None else ry
        turns = [2 * math.pi * k / 48 for k in range(48)]
        self.polygon([(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in turns], role)

    def bar(self, start: Point, end: Point, width: float, role: str = "body") -> None:
        """A straight band ``width`` wide (local units) from ``start`` to ``end``."""
        (x0, y0), (x1, y1) = start, end
        length = math.hypot(x1 - x0, y1 - y0)
        nx, ny = -(y1 - y0) / length * width / 2, (x1 - x0) / length * width / 2
        self.polygon([(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)], role)


def regular(n: int, radius: float, turn: float = -math.pi / 2) -> list[Point]:
    """Corners of a regular n-gon of ``radius``, the first one straight up."""
    turns = [turn + 2 * math.pi * k / n for k in range(n)]
    return [(radius * math.cos(a), radius * math.sin(a)) for a in turns]


def draw_circle(pen: Pen) -> None:
    pen.ellipse(0, 0, 1)


def draw_square(pen: Pen) -> None:
    pen.polygon([(-0.9, -0.9), (0.9, -0.9), (0.9, 0.9), (-0.9, 0.9)])


def draw_triangle(pen: Pen) -> None:
    pen.polygon([(0, -1), (0.98, 0.8), (-0.98, 0.8)])


def draw_star(pen: Pen) -> None:
    outer, inner = regular(5, 1.0), regular(5, 0.42, -math.pi / 2 + math.pi / 5)
    pen.polygon([p for pair in zip(outer, inner, strict=True) for p in pair])


def draw_ring(pen: Pen) -> None:
    pen.ellipse(0, 0, 1)
    pen.ellipse(0, 0, 0.56, role="cut")


def draw_cross(pen: Pen) -> None:
    pen.polygon([(-0.3, -0.95), (0.3, -0.95), (0.3, 0.95), (-0.3, 0.95)])
    pen.polygon([(-0.95, -0.3), (0.95, -0.3), (0.95, 0.3), (-0.95, 0.3)])


def draw_heart(pen: Pen) -> None:
    for side in (-1, 1):
        pen.ellipse(side * 0.46, -0.38, 0.52)
    pen.polygon([(-0.96, -0.22), (0.96, -0.22), (0.0, 0.95)])


def draw_hexagon(pen: Pen) -> None:
    pen.polygon(regular(6, 1.0, 0.0))


def draw_moon(pen: Pen) -> None:
    pen.ellipse(0, 0, 1)
    pen.ellipse(0.46, -0.22, 0.84, role="cut")


def draw_arrow(pen: Pen) -> None:
    pen.polygon([(-0.95, -0.2), (0.2, -0.2), (0.2, 0.2), (-0.95, 0.2)])
    pen.polygon([(0.1, -0.62), (0.98, 0.0), (0.1, 0.62)])


def draw_ball(pen: Pen) -> None:
    pen.ellipse(0, 0, 1)
    pen.bar((-0.9, 0.12), (0.9, 0.12), 0.2, "light")
    pen.bar((0.12, -0.9), (0.12, 0.9), 0.2, "dark")
    pen.ellipse(-0.42, -0.42, 0.2, role="light")


def draw_cup(pen: Pen) -> None:
    pen.ellipse(0.58, 0.0, 0.4, 0.44)  # the handle, drawn first so the body covers its inner edge
    pen.ellipse(0.62, 0.0, 0.2, 0.24, role="cut")
    pen.polygon([(-0.8, -0.75), (0.5, -0.75), (0.38, 0.9), (-0.68, 0.9)])
    pen.polygon([(-0.8, -0.75), (0.5, -0.75), (0.49, -0.6), (-0.79, -0.6)], "dark")


def draw_box(pen: Pen) -> None:
    pen.polygon([(-0.85, -0.6), (0.85, -0.6), (0.85, 0.95), (-0.85, 0.95)])
    pen.polygon([(-0.12, -0.6), (0.12, -0.6), (0.12, 0.95), (-0.12, 0.95)], "light")
    pen.polygon([(-0.85, 0.05), (0.85, 0.05), (0.85, 0.25), (-0.85, 0.25)], "light")
    for side in (-1, 1):  # the bow
        pen.polygon([(0, -0.6), (side * 0.5, -0.98), (side * 0.55, -0.62)], "light")


def draw_leaf(pen: Pen) -> None:
    steps = 16
    upper = [(-0.9 + 1.8 * k / steps, -0.5 * math.sin(math.pi * k / steps)) for k in range(steps + 1)]
    lower = [(x, -y) for x, y in reversed(upper[1:-1])]
    pen.polygon(upper + lower)
    pen.bar((-0.98, 0.0), (0.75, 0.0), 0.07, "dark")


def draw_key(pen: Pen) -> None:
    pen.ellipse(-0.58, 0.0, 0.4)
    pen.ellipse(-0.58, 0.0, 0.17, role="cut")
    pen.polygon([(-0.22, -0.12), (0.98, -0.12), (0.98, 0.12), (-0.22, 0.12)])
    for x in (0.58, 0.82):
        pen.polygon([(x, 0.1), (x + 0.13, 0.1), (x + 0.13, 0.42), (x, 0.42)])


def draw_bell(pen: Pen) -> None:
    pen.ellipse(0.0, -0.86, 0.14)
    pen.polygon([(-0.42, -0.72), (0.42, -0.72), (0.55, -0.1), (0.92, 0.62), (-0.92, 0.62), (-0.55, -0.1)])
    pen.ellipse(0.0, 0.74, 0.2, role="dark")


def draw_flower(pen: Pen) -> None:
    for k in range(5):
        a = -math.pi / 2 + 2 * math.pi * k / 5
        pen.ellipse(0.55 * math.cos(a), 0.55 * math.sin(a), 0.42)
    pen.ellipse(0, 0, 0.3, role="dark")


def draw_apple(pen: Pen) -> None:
    for side in (-1, 1):
        pen.ellipse(side * 0.3, 0.12, 0.62, 0.78)
    pen.bar((0.0, -0.5), (0.1, -0.98), 0.12, "ink")
    pen.polygon([(0.12, -0.72), (0.55, -0.95), (0.45, -0.62)], "dark")


def draw_button(pen: Pen) -> None:
    pen.ellipse(0, 0, 1)
    pen.ellipse(0, 0, 0.74, role="dark")
    pen.ellipse(0, 0, 0.66)
    for x, y in ((-0.22, -0.22), (0.22, -0.22), (-0.22, 0.22), (0.22, 0.22)):
        pen.ellipse(x, y, 0.11, role="cut")


def draw_bottle(pen: Pen) -> None:
    pen.polygon([(-0.45, -0.3), (0.45, -0.3), (0.45, 0.98), (-0.45, 0.98)])
    pen.polygon([(-0.16, -0.8), (0.16, -0.8), (0.45, -0.3), (-0.45, -0.3)])
    pen.polygon([(-0.2, -1.0), (0.2, -1.0), (0.2, -0.78), (-0.2, -0.78)], "ink")
    pen.polygon([(-0.45, 0.15), (0.45, 0.15), (0.45, 0.55), (-0.45, 0.55)], "light")


@dataclass(frozen=True)
class Kind:
    """An object kind: caption nouns, how it is drawn, how far it may turn, and whether things fit inside it."""

    singular: str
    plural: str
    draw: Callable[[Pen], None]
    turn: float  # largest rotation in radians either way (pi: any direction)
    container: bool = False
    holes: bool = False  # its cut parts are holes inside its outline (a ring's), not bites out of it (a moon's)


KINDS: dict[str, Kind] = {
    "circle": Kind("circle", "circles", draw_circle, 0.0, container=True),
    "square": Kind("square", "squares", draw_square, 0.3, container=True),
    "triangle": Kind("triangle", "triangles", draw_triangle, 0.3),
    "star": Kind("star", "stars", draw_star, 0.6),
    "ring": Kind("ring", "rings", draw_ring, 0.0, container=True, holes=True),
    "cross": Kind("cross", "crosses", draw_cross, 0.4),
    "heart": Kind("heart", "hearts", draw_heart, 0.3, container=True),
    "hexagon": Kind("hexagon", "hexagons", draw_hexagon, 0.5, container=True),
    "moon": Kind("moon", "moons", draw_moon, 0.8),
    "arrow": Kind("arrow", "arrows", draw_arrow, math.pi),
    "ball": Kind("ball", "balls", draw_ball, math.pi),
    "cup": Kind("cup", "cups", draw_cup, 0.25, holes=True),
    "box": Kind("box", "boxes", draw_box, 0.25),
    "leaf": Kind("leaf", "leaves", draw_leaf, math.pi),
    "key": Kind("key", "keys", draw_key, math.pi, holes=True),
    "bell": Kind("bell", "bells", draw_bell, 0.3),
    "flower": Kind("flower", "flowers", draw_flower, 0.6),
    "apple": Kind("apple", "apples", draw_apple, 0.25),
    "button": Kind("button", "buttons", draw_button, 0.3, holes=True),
    "bottle": Kind("bottle", "bottles", draw_bottle, 0.3),
}
