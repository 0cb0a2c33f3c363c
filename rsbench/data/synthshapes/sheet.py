"""One SynthShapes image: 1-5 objects laid out on a patterned background, measured, related and painted.

``lay_out`` makes every random choice (background, kinds, colours, sizes, places) and measures each object
on a fixed-resolution mask; ``relations`` reads the spatial facts off those masks; ``paint`` renders the
sheet at any size without random draws. Captions are written from the measured sheet, never from intent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

import rsbench.data.synthshapes.backgrounds as backgrounds
from rsbench.data.synthshapes.shapes import COLOURS, KINDS, Pen, Target

MEASURE_SIZE = 128  # resolution of the masks that measure objects, independent of image_size
SMALL_EXTENT, LARGE_EXTENT = 0.2, 0.36  # an object's longer bbox side, in image widths, for "small"/"large"
HALF_SIZES = {"small": (0.065, 0.095), "medium": (0.12, 0.16), "large": (0.2, 0.26)}
STYLES = ("sticker", "outlined", "flat")  # white border, dark border, or none; all but outlined cast a shadow
MIN_CONTRAST = 130.0  # RGB distance an object's colour keeps from the background's (and an inner one from its host)
MAX_OVERLAP = 0.15  # share of the smaller of two objects they may have in common (except one inside another)
MIN_VISIBLE = 0.75  # share of an object that later objects must leave uncovered
INSIDE = 0.98  # share of an object within another for "inside"
NEAR = 0.08  # gap between bounding boxes, in image widths, under which side-by-side objects are "next to"
KIND_NAMES = tuple(KINDS)
MASK_FILLS = {"body": 255, "dark": 255, "light": 255, "ink": 255, "cut": 0}
SOLID_FILLS = MASK_FILLS | {"cut": 255}


@dataclass
class PlacedObject:
    """One drawn object: what it is, where its local frame lies, its painted RGB and its measured mask."""

    kind: str
    colour: str
    cx: float
    cy: float
    half: float
    angle: float
    rgb: tuple[int, int, int]
    mask: np.ndarray = field(repr=False)  # the painted pixels
    solid: np.ndarray = field(repr=False)  # the pixels within its outline, holes filled: what it takes up
    visible_fraction: float = 1.0

    @property
    def area_fraction(self) -> float:
        return float(self.mask.sum()) / MEASURE_SIZE**2

    @cached_property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the drawn pixels, in image widths."""
        rows, cols = np.flatnonzero(self.mask.any(axis=1)), np.flatnonzero(self.mask.any(axis=0))
        m = MEASURE_SIZE
        return (cols[0] / m, rows[0] / m, (cols[-1] + 1) / m, (rows[-1] + 1) / m)

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.bbox
        return ((x0 + x1) / 2, (y0 + y1) / 2)

    @property
    def size(self) -> str:
        x0, y0, x1, y1 = self.bbox
        extent = max(x1 - x0, y1 - y0)
        return "small" if extent <= SMALL_EXTENT else "large" if extent >= LARGE_EXTENT else "medium"

    @property
    def position(self) -> str | None:
        return position_label(*self.centre)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "colour": self.colour,
            "size": self.size,
            "bbox": [round(v, 4) for v in self.bbox],
            "area_fraction": round(self.area_fraction, 6),
            "visible_fraction": round(self.visible_fraction, 4),
            "position": self.position,
        }


@dataclass
class Sheet:
    """Everything a caption may say about one image: its background and its objects in drawing order."""

    background: backgrounds.Background
    style: str
    objects: list[PlacedObject] = field(default_factory=list)
    relations: list[tuple[int, str, int]] = field(default_factory=list)  # (subject, relation, object) indices

    def to_json(self) -> dict[str, Any]:
        return {
            "background": self.background.to_json(),
            "style": self.style,
            "objects": [o.to_json() for o in self.objects],
            "relations": [{"subject": s, "relation": r, "object": o} for s, r, o in self.relations],
        }


def _band(value: float) -> str | None:
    # thirds with a dead zone around each border, so a described place is never a close call
    if value < 0.3:
        return "low"
    if value > 0.7:
        return "high"
    if 0.4 <= value <= 0.6:
        return "mid"
    return None


def position_label(x: float, y: float) -> str | None:
    """Where a point lies ("top left", "left", "center", ...), or None when it is near a border between places."""
    col, row = _band(x), _band(y)
    if col is None or row is None:
        return None
    words = {"low": "top", "high": "bottom", "mid": ""}[row], {"low": "left", "high": "right", "mid": ""}[col]
    return " ".join(w for w in words if w) or "center"


def draw_mask(kind: str, cx: float, cy: float, half: float, angle: float, solid: bool = False) -> np.ndarray:
    """The object's painted pixels on the measuring grid as a boolean array; ``solid`` fills its holes."""
    fills = SOLID_FILLS if solid and KINDS[kind].holes else MASK_FILLS
    mask = Image.new("L", (MEASURE_SIZE, MEASURE_SIZE), 0)
    KINDS[kind].draw(Pen([Target(ImageDraw.Draw(mask), MEASURE_SIZE, fills)], cx, cy, half, angle))
    return np.asarray(mask) > 0


def _distance(a: Any, b: Any) -> float:
    return math.dist(tuple(map(float, a)), tuple(map(float, b)))


def _choice(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _fits(solid: np.ndarray, placed: list[PlacedObject], host: int | None) -> bool:
    """Whether a new object keeps clear of the border and of the objects already placed (but for its host).

    Objects are compared by their solid outlines, so nothing is tucked into a ring's hole unless placed there
    on purpose, as the thing inside it.
    """
    area = solid.sum()
    if area == 0 or solid[:2].any() or solid[-2:].any() or solid[:, :2].any() or solid[:, -2:].any():
        return False
    if host is not None and (solid & placed[host].solid).sum() < INSIDE * area:
        return False
    cover = solid.copy()
    for index in range(len(placed) - 1, -1, -1):  # later objects first: they cover the earlier ones
        other = placed[index]
        if index != host:
            if (solid & other.solid).sum() > MAX_OVERLAP * min(area, other.solid.sum()):
                return False
            if (other.mask & ~cover).sum() < MIN_VISIBLE * other.mask.sum():
                return False
        cover |= other.solid
    return True


def _place(
    rng: np.random.Generator, placed: list[PlacedObject], kind: str, colour: str, size: str, host: int | None
) -> PlacedObject | None:
    turn = KINDS[kind].turn
    for attempt in range(36):
        angle = float(rng.uniform(-turn, turn)) if turn else 0.0
        if host is not None:
            outer = placed[host]
            half = outer.half * float(rng.uniform(0.3, 0.42)) * (0.85 ** (attempt // 6))
            # a heart's room is above its centre; other hosts are symmetric
            lift = 0.12 * outer.half if outer.kind == "heart" else 0.0
            cx, cy = outer.cx + lift * math.sin(outer.angle), outer.cy - lift * math.cos(outer.angle)
        else:
            # a crowded sheet gets smaller objects: large ones first shrink to medium, then to small
            if size == "large" and attempt < 12:
                low, high = HALF_SIZES["large"]
            else:
                low, high = HALF_SIZES["medium" if size != "small" and attempt < 24 else "small"]
            half = float(rng.uniform(low, high))
            cx, cy = (float(rng.uniform(half + 0.02, 1 - half - 0.02)) for _ in range(2))
        solid = draw_mask(kind, cx, cy, half, angle, solid=True)
        if _fits(solid, placed, host):
            jitter = rng.uniform(-10, 10, 3)
            rgb = tuple(int(v) for v in np.clip(np.asarray(COLOURS[colour]) + jitter, 0, 255))
            mask = draw_mask(kind, cx, cy, half, angle) if KINDS[kind].holes else solid
            return PlacedObject(kind, colour, cx, cy, half, angle, rgb, mask, solid)  # type: ignore[arg-type]
    return None


def lay_out(rng: np.random.Generator) -> Sheet:
    """Choose a background and place 1-5 objects on it; every random draw of an image happens here."""
    background = backgrounds.choose(rng)
    sheet = Sheet(background, _choice(rng, STYLES))
    palette = [name for name, rgb in COLOURS.items() if _distance(rgb, background.mean_colour) >= MIN_CONTRAST]
    n = int(rng.choice([1, 2, 3, 4, 5], p=[0.14, 0.24, 0.26, 0.21, 0.15]))
    size_odds = [0.4, 0.35, 0.25] if n >= 4 else [0.3, 0.3, 0.4]
    placed = sheet.objects
    hosted: set[int] = set()
    for _ in range(n):
        host = None
        last = len(placed) - 1
        if (
            placed
            and last not in hosted
            and KINDS[placed[last].kind].container
            and placed[last].size == "large"
            and rng.random() < 0.5
        ):
            host = last
        if host is not None:
            contrast = [c for c in palette if _distance(COLOURS[c], placed[host].rgb) >= MIN_CONTRAST]
            kind, colour, size = _choice(rng, KIND_NAMES), _choice(rng, contrast or palette), "small"
        elif placed and rng.random() < 0.35:  # another of a kind already drawn, so that counts go above one
            twin = placed[int(rng.integers(len(placed)))]
            kind, colour = twin.kind, twin.colour
            size = str(rng.choice(["small", "medium", "large"], p=size_odds))
        else:
            kind, colour = _choice(rng, KIND_NAMES), _choice(rng, palette)
            size = str(rng.choice(["small", "medium", "large"], p=size_odds))
        new = _place(rng, placed, kind, colour, size, host)
        if new is not None:
            placed.append(new)
            if host is not None:
                hosted.add(host)
    for index, obj in enumerate(placed):
        later = np.zeros_like(obj.mask)
        for other in placed[index + 1 :]:
            later |= other.mask
        obj.visible_fraction = float((obj.mask & ~later).sum() / obj.mask.sum())
    sheet.relations = relations(placed)
    return sheet


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def relations(objects: list[PlacedObject]) -> list[tuple[int, str, int]]:
    """The spatial facts between objects: "inside", "left of", "above" and "next to" (side by side, close).

    "inside" holds for an object drawn over another and lying within its outline (a ring's hole included).
    "left of" and "above" need the two boxes apart along that axis and sharing a third of the smaller box
    across it, the way a person would say "the cup is left of the key" only when they are in one row.
    """
    out = []
    boxes = [o.bbox for o in objects]
    for i, a in enumerate(objects):
        for j, b in enumerate(objects):
            if j == i:
                continue
            if i > j and (a.mask & b.solid).sum() >= INSIDE * a.mask.sum():
                out.append((i, "inside", j))
    nested = {(i, j) for i, _, j in out} | {(j, i) for i, _, j in out}
    for i, (ax0, ay0, ax1, ay1) in enumerate(boxes):
        for j, (bx0, by0, bx1, by1) in enumerate(boxes):
            if j == i or (i, j) in nested:
                continue
            if ax1 <= bx0 + 0.01 and _overlap(ay0, ay1, by0, by1) >= min(ay1 - ay0, by1 - by0) / 3:
                out.append((i, "left of", j))
                if bx0 - ax1 < NEAR:
                    out.append((i, "next to", j))
            if ay1 <= by0 + 0.01 and _overlap(ax0, ax1, bx0, bx1) >= min(ax1 - ax0, bx1 - bx0) / 3:
                out.append((i, "above", j))
    return out


def _shade(rgb: tuple[int, ...], factor: float) -> tuple[int, int, int, int]:
    r, g, b = (int(max(0, min(255, c * factor))) for c in rgb[:3])
    return (r, g, b, 255)


def _lighter(rgb: tuple[int, ...]) -> tuple[int, int, int, int]:
    r, g, b = (int(c + (255 - c) * 0.5) for c in rgb[:3])
    return (r, g, b, 255)


def paint(sheet: Sheet, image_size: int) -> Image.Image:
    """Render the sheet: background, then each object with its shadow and border, supersampled and downsampled."""
    render = max(128, 2 * image_size)  # supersampling smooths edges at small sizes
    canvas = backgrounds.paint(sheet.background, render)
    border = {"sticker": (250, 250, 248), "outlined": (22, 22, 26)}.get(sheet.style)
    spread = 2 * max(1, round(0.012 * render)) + 1
    offset = max(1, round(0.018 * render))
    for obj in sheet.objects:
        layer = Image.new("RGBA", (render, render), (0, 0, 0, 0))
        fills = {
            "body": (*obj.rgb, 255),
            "dark": _shade(obj.rgb, 0.7),
            "light": _lighter(obj.rgb),
            "ink": (30, 30, 34, 255),
            "cut": (0, 0, 0, 0),
        }
        KINDS[obj.kind].draw(Pen([Target(ImageDraw.Draw(layer), render, fills)], obj.cx, obj.cy, obj.half, obj.angle))
        # shadow and border are filtered on the object's neighbourhood only: a whole-canvas filter is slow
        x0, y0, x1, y1 = obj.bbox
        margin = 3 * offset + spread
        box = (
            max(0, int(x0 * render) - margin),
            max(0, int(y0 * render) - margin),
            min(render, int(math.ceil(x1 * render)) + margin),
            min(render, int(math.ceil(y1 * render)) + margin),
        )
        alpha = layer.getchannel("A").crop(box)
        if sheet.style != "outlined":
            shadow = Image.new("L", alpha.size, 0)
            shadow.paste(alpha.filter(ImageFilter.GaussianBlur(offset)).point(lambda v: v * 2 // 5), (offset, offset))
            canvas.paste((0, 0, 0), box, shadow)
        if border is not None:
            canvas.paste(border, box, alpha.filter(ImageFilter.MaxFilter(spread)))
        canvas.paste(layer, (0, 0), layer)
    return canvas.resize((image_size, image_size), Image.Resampling.LANCZOS)
