"""What the SynthRS painters share: colour palettes, unit-coordinate geometry, random placement, tree planting,
the per-pixel edge maps of the sea-side scenes, and the river that the river and bridge scenes draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import rsbench.data.synthrs.textures as tx
from rsbench.data.synthrs.canvas import Canvas, Point
from rsbench.data.synthrs.objects import ObjectGroup, Scene, draw_tree

TREE_GREENS = ((58, 96, 50), (70, 110, 56), (50, 86, 46), (82, 116, 60))
CAR_COLOURS = {"white": 0.3, "black": 0.15, "grey": 0.2, "red": 0.12, "blue": 0.12, "yellow": 0.05, "green": 0.06}
ROOF_COLOURS = {"red": 0.4, "grey": 0.3, "brown": 0.2, "blue": 0.1}


# --- small geometric helpers ---


def pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.asarray(list(weights.values()), dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def pick_rgb(rng: np.random.Generator, options: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    return options[int(rng.integers(len(options)))]


def new_canvas(background: np.ndarray, rng: np.random.Generator) -> Canvas:
    canvas = Canvas.from_array(background)
    sun = rng.uniform(0, 2 * math.pi)
    canvas.sun = (math.cos(sun), math.sin(sun))
    return canvas


def unit_vectors(angle: float) -> tuple[Point, Point]:
    """Direction along ``angle`` and its left normal."""
    return (math.cos(angle), math.sin(angle)), (-math.sin(angle), math.cos(angle))


def point_at(p: Point, d: Point, t: float, n: Point = (0.0, 0.0), s: float = 0.0) -> Point:
    return (p[0] + d[0] * t + n[0] * s, p[1] + d[1] * t + n[1] * s)


def is_inside(p: Point, margin: float = 0.0) -> bool:
    return margin <= p[0] <= 1 - margin and margin <= p[1] <= 1 - margin


def meander(rng: np.random.Generator, centre: Point, angle: float, amplitude: float, waves: float) -> list[Point]:
    """A gently curving centre line crossing the whole image through ``centre`` (rivers, roads, paths)."""
    d, n = unit_vectors(angle)
    phase = rng.uniform(0, 2 * math.pi)
    ts = np.linspace(-0.9, 0.9, 48)
    offsets = amplitude * (np.sin(2 * math.pi * waves * ts / 1.8 + phase) - math.sin(phase))
    return [point_at(centre, d, float(t), n, float(o)) for t, o in zip(ts, offsets, strict=True)]


def distance_to_line(p: Point, line: list[Point]) -> float:
    """Distance from a point to a densely sampled polyline (its nearest vertex is close enough here)."""
    pts = np.asarray(line)
    return float(np.min(np.hypot(pts[:, 0] - p[0], pts[:, 1] - p[1])))


def blob(rng: np.random.Generator, cx: float, cy: float, radius: float, roughness: float = 0.14) -> list[Point]:
    """An irregular round outline (ponds, clearings)."""
    angles = np.linspace(0, 2 * math.pi, 40, endpoint=False)
    r = np.ones_like(angles)
    for k in (2, 3, 5):
        r += roughness / k**0.5 * np.sin(k * angles + rng.uniform(0, 2 * math.pi))
    return [(cx + radius * ri * math.cos(a), cy + radius * ri * math.sin(a)) for a, ri in zip(angles, r, strict=True)]


def free_spots(
    rng: np.random.Generator,
    count: int,
    radius: float,
    ok: Callable[[Point], bool] = lambda p: True,
    taken: list[tuple[Point, float]] | None = None,
    region: tuple[float, float, float, float] = (0.05, 0.05, 0.95, 0.95),
    tries: int = 60,
) -> list[Point]:
    """Up to ``count`` points in ``region`` where a disc of ``radius`` fits without touching ``taken`` discs."""
    taken = taken if taken is not None else []
    spots: list[Point] = []
    x0, y0, x1, y1 = region
    for _ in range(count):
        for _ in range(tries):
            p = (float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)))
            if ok(p) and all(math.hypot(p[0] - q[0], p[1] - q[1]) > radius + r for q, r in taken):
                spots.append(p)
                taken.append((p, radius))
                break
    return spots


def colour_groups(
    rng: np.random.Generator, scene: Scene, kind: str, count: int, palette: dict[str, float], mix: float = 0.3
) -> list[ObjectGroup]:
    """The group of each of ``count`` instances: all one colour, or (with chance ``mix``) two colours."""
    first = pick(rng, palette)
    main = scene.add(kind, first)
    if count < 2 or rng.random() >= mix:
        return [main] * count
    other = scene.add(kind, pick(rng, {k: v for k, v in palette.items() if k != first}))
    n_other = int(rng.integers(1, count))
    order = rng.permutation(count)
    return [other if int(i) < n_other else main for i in order]


def plant_trees(
    canvas: Canvas,
    rng: np.random.Generator,
    group: ObjectGroup,
    spots: list[Point],
    radius: tuple[float, float] = (0.022, 0.034),
    greens: tuple[tuple[int, int, int], ...] = TREE_GREENS,
    measure_every: int = 1,
) -> None:
    for i, (x, y) in enumerate(spots):
        r = float(rng.uniform(*radius))
        colour = tx.jitter(rng, greens[int(rng.integers(len(greens)))], 8)
        if i % measure_every == 0:
            with canvas.measure() as m:
                draw_tree(canvas, x, y, r, tuple(int(c) for c in colour))
            group.record(m)
        else:
            draw_tree(canvas, x, y, r, tuple(int(c) for c in colour))
            group.unmeasured += 1


def side_frame(side: str) -> Callable[[float, float], Point]:
    """Map (depth from the ``side`` edge, position along that edge) to image coordinates."""
    return {
        "left": lambda s, t: (s, t),
        "right": lambda s, t: (1 - s, t),
        "top": lambda s, t: (t, s),
        "bottom": lambda s, t: (t, 1 - s),
    }[side]


INWARD = {"left": 0.0, "right": math.pi, "top": math.pi / 2, "bottom": -math.pi / 2}


def depth_map(side: str, size: int) -> np.ndarray:
    """Per-pixel distance from the ``side`` edge, in unit lengths."""
    x, y = tx.grid(size)
    return {"left": x, "right": 1 - x, "top": y, "bottom": 1 - y}[side]


def along_map(side: str, size: int) -> np.ndarray:
    x, y = tx.grid(size)
    return y if side in ("left", "right") else x


def region_centre(mask: np.ndarray) -> Point:
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return (0.5, 0.5)
    return (float(xs.mean() + 0.5) / mask.shape[1], float(ys.mean() + 0.5) / mask.shape[0])


def river_course(
    canvas: Canvas, rng: np.random.Generator, scene: Scene, line: list[Point], width: float, colour: tuple
) -> ObjectGroup:
    canvas.line(line, width + 0.03, tx.jitter(rng, (150, 138, 104), 8), counted=False)  # muddy banks
    river = scene.add("river")
    flow = math.atan2(line[-1][1] - line[0][1], line[-1][0] - line[0][0])
    with canvas.measure() as m, canvas.textured(tx.water(rng, canvas.size, colour, flow + math.pi / 2, 0.6), 0.004):
        canvas.line(line, width)
    river.record(m)
    return river


def flow_words(angle: float) -> str:
    c, s = abs(math.cos(angle)), abs(math.sin(angle))
    return "from left to right" if c > 0.8 else "from top to bottom" if s > 0.8 else "diagonally"
