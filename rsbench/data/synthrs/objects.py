"""What a SynthRS scene contains (object groups, their relations) and how each object kind is drawn from above.

Every drawing function paints one instance in unit coordinates; callers wrap it in ``Canvas.measure()``
and record the result in an ``ObjectGroup`` so that captions and the size metadata come from what was drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rsbench.data.synthrs.canvas import Canvas, Measured, Point, place, rectangle

# Named colours the captions may use, with the RGB they are drawn in.
COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (228, 228, 224),
    "grey": (140, 142, 146),
    "black": (38, 38, 42),
    "red": (184, 52, 44),
    "blue": (48, 92, 176),
    "green": (62, 140, 70),
    "yellow": (222, 192, 58),
    "orange": (222, 122, 40),
    "brown": (128, 84, 52),
}

SHADOW = (0, 0, 0, 80)


def colour_of(rng: np.random.Generator, name: str, amount: float = 10.0) -> tuple[int, int, int]:
    """The RGB of a named colour, nudged a little so instances of one group are not pixel-identical."""
    base = np.asarray(COLOURS[name], dtype=np.float64)
    return tuple(int(v) for v in np.clip(base + rng.uniform(-amount, amount, 3), 0, 255))


def shade(colour: tuple[int, ...], factor: float) -> tuple[int, int, int]:
    """The same colour darker (factor < 1) or lighter (factor > 1)."""
    return tuple(int(max(0, min(255, c * factor))) for c in colour[:3])


def position_label(x: float, y: float) -> str:
    """Where a point lies in the image, in caption words ("top left", "center", "bottom").

    The middle band is narrower than a third (0.4-0.6), as a person would call a thing at 0.35 "at the top".
    """
    col = "left" if x < 0.4 else "right" if x > 0.6 else ""
    row = "top" if y < 0.4 else "bottom" if y > 0.6 else ""
    return f"{row} {col}".strip() or "center"


@dataclass
class ObjectGroup:
    """Instances of one object kind and colour in a scene, with each instance's area and centre."""

    kind: str
    colour: str | None = None  # None: colour is not described; "mixed": instances differ
    areas: list[float] = field(default_factory=list)
    centres: list[Point] = field(default_factory=list)
    unmeasured: int = 0  # instances counted but not measured (bulk trees), assumed of the mean area

    def record(self, measured: Measured) -> None:
        if measured.fraction <= 0:  # drawn wholly outside the image: not in the picture, so not in the captions
            return
        self.areas.append(measured.fraction)
        self.centres.append(measured.centre)

    def record_area(self, fraction: float, centre: Point) -> None:
        """Record a region painted as texture (water, sand, fields) rather than drawn shape by shape."""
        self.areas.append(float(fraction))
        self.centres.append(centre)

    @property
    def count(self) -> int:
        return len(self.areas) + self.unmeasured

    @property
    def area_fraction(self) -> float:
        """Mean area of one instance, as a fraction of the image."""
        return float(np.mean(self.areas)) if self.areas else 0.0

    @property
    def total_area_fraction(self) -> float:
        return self.area_fraction * self.count

    @property
    def position(self) -> str | None:
        """Where the group is, or None when it is spread out or covers much of the image."""
        if not self.centres or self.total_area_fraction > 0.35:
            return None
        xs, ys = zip(*self.centres, strict=True)
        cx, cy = float(np.mean(xs)), float(np.mean(ys))
        if max(math.hypot(x - cx, y - cy) for x, y in self.centres) > 0.22:
            return None
        return position_label(cx, cy)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "colour": self.colour,
            "area_fraction": round(self.area_fraction, 6),
            "total_area_fraction": round(self.total_area_fraction, 6),
            "position": self.position,
        }


@dataclass
class Relation:
    """A spatial fact between two groups, in the grammar's relation vocabulary ("near", "crosses", ...)."""

    subject: ObjectGroup
    name: str
    object: ObjectGroup

    def to_json(self) -> dict[str, str]:
        return {"subject": self.subject.kind, "relation": self.name, "object": self.object.kind}


@dataclass
class Scene:
    """Everything a caption may say about one painted image."""

    name: str
    groups: list[ObjectGroup] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # scene-level attributes, e.g. {"dense": True}

    def add(self, kind: str, colour: str | None = None) -> ObjectGroup:
        group = ObjectGroup(kind, colour)
        self.groups.append(group)
        return group

    def relate(self, subject: ObjectGroup, name: str, obj: ObjectGroup) -> None:
        if subject.count and obj.count:
            self.relations.append(Relation(subject, name, obj))

    def present(self) -> list[ObjectGroup]:
        """Groups with at least one instance (painters may create a group and then draw nothing into it)."""
        return [g for g in self.groups if g.count]

    def find(self, kind: str) -> list[ObjectGroup]:
        return [g for g in self.present() if g.kind == kind]

    def to_json(self) -> dict[str, Any]:
        return {
            "scene": self.name,
            "objects": [g.to_json() for g in self.present()],
            "relations": [r.to_json() for r in self.relations],
            "facts": self.facts,
        }


def shadow_of(canvas: Canvas, points: list[Point], height: float) -> list[Point]:
    """The outline cast by a shape of the given height (unit lengths) under the scene's sun."""
    dx, dy = canvas.sun
    return [(x + dx * height, y + dy * height) for x, y in points]


# --- the object kinds, one drawing function each; lengths are unit fractions of the image side ---

_FUSELAGE = [(0.5, 0.0), (0.44, 0.035), (-0.44, 0.03), (-0.5, 0.0), (-0.44, -0.03), (0.44, -0.035)]
_WING = [(0.1, 0.03), (-0.12, 0.48), (-0.21, 0.48), (-0.07, 0.03)]
_TAIL = [(-0.36, 0.025), (-0.47, 0.17), (-0.52, 0.17), (-0.47, 0.02)]


def _mirror(points: list[Point]) -> list[Point]:
    return [(x, -y) for x, y in points]


def draw_plane(canvas: Canvas, cx: float, cy: float, length: float, angle: float, colour: tuple[int, ...]) -> None:
    """An airliner seen from above, nose along ``angle``: swept wings, tailplane, engine pods."""
    parts = [_FUSELAGE, _WING, _mirror(_WING), _TAIL, _mirror(_TAIL)]
    for part in parts:
        canvas.polygon(shadow_of(canvas, place(part, cx, cy, length, angle), 0.02), SHADOW, counted=False)
    for part in parts:
        canvas.polygon(place(part, cx, cy, length, angle), colour)
    for side in (1, -1):  # engines hang under the wings, slightly darker
        ex, ey = place([(0.02, side * 0.17)], cx, cy, length, angle)[0]
        canvas.ellipse(ex, ey, 0.035 * length, 0.035 * length, shade(colour, 0.75))
    canvas.polygon(place(_FUSELAGE[:3] + [(0.44, 0.0)], cx, cy, length * 0.98, angle), shade(colour, 1.06))


_HULL = [(0.5, 0.0), (0.3, 0.15), (-0.5, 0.14), (-0.5, -0.14), (0.3, -0.15)]


def draw_boat(
    canvas: Canvas, cx: float, cy: float, length: float, angle: float, colour: tuple[int, ...], wake: bool = False
) -> None:
    """A boat seen from above, bow along ``angle``, with a white cabin and optionally a wake behind it."""
    if wake:
        tail = place([(-0.5, 0.0), (-2.2, 0.35), (-2.2, -0.35)], cx, cy, length, angle)
        canvas.polygon(tail, (235, 240, 240, 70), counted=False)
    canvas.polygon(shadow_of(canvas, place(_HULL, cx, cy, length, angle), 0.01), SHADOW, counted=False)
    canvas.polygon(place(_HULL, cx, cy, length, angle), colour)
    cabin_colour = (240, 240, 236) if sum(colour[:3]) < 600 else (120, 124, 130)
    canvas.polygon(
        place([(-0.38, 0.08), (0.05, 0.08), (0.05, -0.08), (-0.38, -0.08)], cx, cy, length, angle), cabin_colour
    )


def draw_car(canvas: Canvas, cx: float, cy: float, length: float, angle: float, colour: tuple[int, ...]) -> None:
    """A car seen from above: a rounded box with a dark windscreen towards the front."""
    canvas.polygon(shadow_of(canvas, rectangle(cx, cy, length, length * 0.48, angle), 0.006), SHADOW, counted=False)
    body = place(
        [
            (0.5, -0.18),
            (0.42, -0.24),
            (-0.46, -0.24),
            (-0.5, -0.18),
            (-0.5, 0.18),
            (-0.46, 0.24),
            (0.42, 0.24),
            (0.5, 0.18),
        ],
        cx,
        cy,
        length,
        angle,
    )
    canvas.polygon(body, colour)
    canvas.polygon(
        place([(0.22, -0.19), (0.08, -0.19), (0.08, 0.19), (0.22, 0.19)], cx, cy, length, angle), (30, 34, 40)
    )


def draw_truck(canvas: Canvas, cx: float, cy: float, length: float, angle: float, colour: tuple[int, ...]) -> None:
    """A lorry: a long cargo box behind a short cab."""
    canvas.polygon(shadow_of(canvas, rectangle(cx, cy, length, length * 0.3, angle), 0.01), SHADOW, counted=False)
    canvas.polygon(place([(-0.5, -0.15), (0.22, -0.15), (0.22, 0.15), (-0.5, 0.15)], cx, cy, length, angle), colour)
    canvas.polygon(place([(0.26, -0.13), (0.5, -0.13), (0.5, 0.13), (0.26, 0.13)], cx, cy, length, angle), (70, 74, 80))


def draw_tank(canvas: Canvas, cx: float, cy: float, radius: float, colour: tuple[int, ...]) -> None:
    """A cylindrical storage tank from above: a disc with a rim, a floating roof and a long shadow."""
    sx, sy = canvas.sun
    for step in range(1, 5):  # the shadow of a cylinder is a swept disc
        t = step * radius * 0.18
        canvas.ellipse(cx + sx * t, cy + sy * t, radius, radius, (0, 0, 0, 45), counted=False)
    canvas.ellipse(cx, cy, radius, radius, shade(colour, 0.82))
    canvas.ellipse(cx, cy, radius * 0.86, radius * 0.86, colour)
    canvas.ellipse(cx - sx * radius * 0.08, cy - sy * radius * 0.08, radius * 0.55, radius * 0.55, shade(colour, 1.07))
    canvas.ellipse(cx, cy, radius * 0.08, radius * 0.08, shade(colour, 0.7))


def draw_house(canvas: Canvas, cx: float, cy: float, length: float, width: float, angle: float, colour) -> None:
    """A house with a gable roof: two roof halves, the sunlit one lighter, split by the ridge."""
    canvas.polygon(shadow_of(canvas, rectangle(cx, cy, length, width, angle), 0.012), SHADOW, counted=False)
    hl, hw = length / 2, width / 2
    canvas.polygon(place([(-hl, -hw), (hl, -hw), (hl, 0), (-hl, 0)], cx, cy, 1.0, angle), shade(colour, 1.12))
    canvas.polygon(place([(-hl, 0), (hl, 0), (hl, hw), (-hl, hw)], cx, cy, 1.0, angle), shade(colour, 0.86))


def draw_building(canvas: Canvas, cx: float, cy: float, length: float, width: float, angle: float, colour) -> None:
    """A large flat-roofed hall (factory, terminal, school): a roof with skylight strips and a deep shadow."""
    canvas.polygon(shadow_of(canvas, rectangle(cx, cy, length, width, angle), 0.03), SHADOW, counted=False)
    canvas.polygon(rectangle(cx, cy, length, width, angle), colour)
    strips = max(2, int(length / 0.05))
    for i in range(1, strips):
        x = -length / 2 + length * i / strips
        seam = place([(x, -width * 0.42), (x, width * 0.42)], cx, cy, 1.0, angle)
        canvas.line(seam, max(0.004, width * 0.03), shade(colour, 0.88))


def draw_tree(canvas: Canvas, cx: float, cy: float, radius: float, colour: tuple[int, ...]) -> None:
    """A tree crown from above: a shaded disc with a sunlit highlight and a shadow on the ground."""
    sx, sy = canvas.sun
    canvas.ellipse(cx + sx * radius * 0.9, cy + sy * radius * 0.9, radius, radius, (0, 0, 0, 70), counted=False)
    canvas.ellipse(cx, cy, radius, radius, shade(colour, 0.8))
    canvas.ellipse(cx - sx * radius * 0.3, cy - sy * radius * 0.3, radius * 0.6, radius * 0.6, shade(colour, 1.15))


def draw_umbrella(canvas: Canvas, cx: float, cy: float, radius: float, colour: tuple[int, ...]) -> None:
    """A beach umbrella: a bright disc with a pale centre."""
    sx, sy = canvas.sun
    canvas.ellipse(cx + sx * radius, cy + sy * radius, radius, radius, (0, 0, 0, 60), counted=False)
    canvas.ellipse(cx, cy, radius, radius, colour)
    canvas.ellipse(cx, cy, radius * 0.3, radius * 0.3, shade(colour, 1.3))


def draw_court(canvas: Canvas, cx: float, cy: float, length: float, angle: float, colour: tuple[int, ...]) -> None:
    """A tennis or basketball court: a coloured rectangle with a white outline and centre line."""
    width = length * 0.55
    canvas.polygon(rectangle(cx, cy, length, width, angle), colour)
    line = max(0.004, length * 0.03)
    outline = rectangle(cx, cy, length * 0.84, width * 0.76, angle)
    canvas.line(outline + outline[:1], line, (235, 235, 235))
    canvas.line(place([(0, -width * 0.38), (0, width * 0.38)], cx, cy, 1.0, angle), line, (235, 235, 235))


def draw_rock(canvas: Canvas, rng: np.random.Generator, cx: float, cy: float, radius: float, colour) -> None:
    """A boulder or rock outcrop: an irregular dark polygon with a shadow."""
    steps = 9
    radii = radius * rng.uniform(0.65, 1.15, steps)
    pts = [
        (cx + r * math.cos(2 * math.pi * i / steps), cy + r * math.sin(2 * math.pi * i / steps))
        for i, r in enumerate(radii)
    ]
    canvas.polygon(shadow_of(canvas, pts, radius * 0.5), SHADOW, counted=False)
    canvas.polygon(pts, colour)
