"""One painter per SynthRS scene class: a procedural background plus the class's characteristic objects.

A painter takes a seeded ``numpy.random.Generator`` and the render size and returns the canvas and the
``Scene`` listing what it drew. All geometry is in unit coordinates and every random draw is independent
of the render size, so one seed gives the same layout (and captions) at every image size.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image

from rsbench.data.synthrs import textures as tx
from rsbench.data.synthrs.canvas import MEASURE_SIZE, Canvas, Point, place, rectangle, stadium
from rsbench.data.synthrs.objects import (
    ObjectGroup,
    Scene,
    colour_of,
    draw_boat,
    draw_building,
    draw_car,
    draw_court,
    draw_house,
    draw_plane,
    draw_rock,
    draw_tank,
    draw_tree,
    draw_truck,
    draw_umbrella,
    shade,
)

Painter = Callable[[np.random.Generator, int], tuple[Canvas, Scene]]

TREE_GREENS = ((58, 96, 50), (70, 110, 56), (50, 86, 46), (82, 116, 60))
CAR_COLOURS = {"white": 0.3, "black": 0.15, "grey": 0.2, "red": 0.12, "blue": 0.12, "yellow": 0.05, "green": 0.06}
ROOF_COLOURS = {"red": 0.4, "grey": 0.3, "brown": 0.2, "blue": 0.1}


# --- small geometric helpers ---


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.asarray(list(weights.values()), dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _pick_rgb(rng: np.random.Generator, options: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    return options[int(rng.integers(len(options)))]


def _canvas(background: np.ndarray, rng: np.random.Generator) -> Canvas:
    canvas = Canvas.from_array(background)
    sun = rng.uniform(0, 2 * math.pi)
    canvas.sun = (math.cos(sun), math.sin(sun))
    return canvas


def _unit(angle: float) -> tuple[Point, Point]:
    """Direction along ``angle`` and its left normal."""
    return (math.cos(angle), math.sin(angle)), (-math.sin(angle), math.cos(angle))


def _at(p: Point, d: Point, t: float, n: Point = (0.0, 0.0), s: float = 0.0) -> Point:
    return (p[0] + d[0] * t + n[0] * s, p[1] + d[1] * t + n[1] * s)


def _inside(p: Point, margin: float = 0.0) -> bool:
    return margin <= p[0] <= 1 - margin and margin <= p[1] <= 1 - margin


def _meander(rng: np.random.Generator, centre: Point, angle: float, amplitude: float, waves: float) -> list[Point]:
    """A gently curving centre line crossing the whole image through ``centre`` (rivers, roads, paths)."""
    d, n = _unit(angle)
    phase = rng.uniform(0, 2 * math.pi)
    ts = np.linspace(-0.9, 0.9, 48)
    offsets = amplitude * (np.sin(2 * math.pi * waves * ts / 1.8 + phase) - math.sin(phase))
    return [_at(centre, d, float(t), n, float(o)) for t, o in zip(ts, offsets, strict=True)]


def _distance(p: Point, line: list[Point]) -> float:
    """Distance from a point to a densely sampled polyline (its nearest vertex is close enough here)."""
    pts = np.asarray(line)
    return float(np.min(np.hypot(pts[:, 0] - p[0], pts[:, 1] - p[1])))


def _blob(rng: np.random.Generator, cx: float, cy: float, radius: float, roughness: float = 0.14) -> list[Point]:
    """An irregular round outline (ponds, clearings)."""
    angles = np.linspace(0, 2 * math.pi, 40, endpoint=False)
    r = np.ones_like(angles)
    for k in (2, 3, 5):
        r += roughness / k**0.5 * np.sin(k * angles + rng.uniform(0, 2 * math.pi))
    return [(cx + radius * ri * math.cos(a), cy + radius * ri * math.sin(a)) for a, ri in zip(angles, r, strict=True)]


def _free_spots(
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


def _colour_groups(
    rng: np.random.Generator, scene: Scene, kind: str, count: int, palette: dict[str, float], mix: float = 0.3
) -> list[ObjectGroup]:
    """The group of each of ``count`` instances: all one colour, or (with chance ``mix``) two colours."""
    first = _pick(rng, palette)
    main = scene.add(kind, first)
    if count < 2 or rng.random() >= mix:
        return [main] * count
    other = scene.add(kind, _pick(rng, {k: v for k, v in palette.items() if k != first}))
    n_other = int(rng.integers(1, count))
    order = rng.permutation(count)
    return [other if int(i) < n_other else main for i in order]


def _trees(
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


def _side_frame(side: str) -> Callable[[float, float], Point]:
    """Map (depth from the ``side`` edge, position along that edge) to image coordinates."""
    return {
        "left": lambda s, t: (s, t),
        "right": lambda s, t: (1 - s, t),
        "top": lambda s, t: (t, s),
        "bottom": lambda s, t: (t, 1 - s),
    }[side]


_INWARD = {"left": 0.0, "right": math.pi, "top": math.pi / 2, "bottom": -math.pi / 2}


def _depth(side: str, size: int) -> np.ndarray:
    """Per-pixel distance from the ``side`` edge, in unit lengths."""
    x, y = tx.grid(size)
    return {"left": x, "right": 1 - x, "top": y, "bottom": 1 - y}[side]


def _along(side: str, size: int) -> np.ndarray:
    x, y = tx.grid(size)
    return y if side in ("left", "right") else x


def _region_centre(mask: np.ndarray) -> Point:
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return (0.5, 0.5)
    return (float(xs.mean() + 0.5) / mask.shape[1], float(ys.mean() + 0.5) / mask.shape[0])


# --- the painters ---


def paint_airport(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    ground = tx.blend(
        tx.grass(rng, size, (122, 128, 88), 0.14),
        tx.bare_ground(rng, size, (158, 150, 126)),
        tx.value_noise(rng, size, 2),
    )
    canvas, scene = _canvas(ground, rng), Scene("airport")
    angle = float(rng.uniform(-0.45, 0.45)) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    d, n = _unit(angle)
    offset = float(rng.uniform(0.1, 0.22)) * (1 if rng.random() < 0.5 else -1)
    side = -1.0 if offset > 0 else 1.0  # the apron goes on the roomier side
    width = float(rng.uniform(0.07, 0.095))
    centre = _at((0.5, 0.5), d, 0.0, n, offset)
    runways = scene.add("runway")

    def runway(c: Point) -> None:
        ends = [_at(c, d, -0.95), _at(c, d, 0.95)]
        with canvas.measure() as m:
            canvas.line(ends, width, (72, 74, 78))
        runways.record(m)
        for edge in (-0.42, 0.42):
            canvas.line(
                [_at(c, d, -0.95, n, edge * width), _at(c, d, 0.95, n, edge * width)],
                width * 0.04,
                (200, 200, 196),
                counted=False,
            )
        for t in np.arange(-0.9, 0.9, 0.09):
            canvas.line(
                [_at(c, d, float(t)), _at(c, d, float(t) + 0.045)], width * 0.07, (232, 232, 228), counted=False
            )

    runway(centre)
    second = _at(centre, d, 0.0, n, -side * (width + float(rng.uniform(0.07, 0.1))))
    if rng.random() < 0.3 and _inside(second, 0.08):
        runway(second)
    gap = float(rng.uniform(0.04, 0.07))
    depth = float(rng.uniform(0.2, 0.25))
    apron_length = float(rng.uniform(0.55, 0.78))
    apron_centre = _at(centre, d, float(rng.uniform(-0.1, 0.1)), n, side * (width / 2 + gap + depth / 2))
    along = (apron_centre[0] - centre[0]) * d[0] + (apron_centre[1] - centre[1]) * d[1]
    for t in (-apron_length / 3, apron_length / 3):  # taxiways from the runway to the apron
        start = _at(centre, d, along + t)
        canvas.line([start, _at(start, n, side * (width / 2 + gap + 0.01))], 0.022, (112, 114, 116), counted=False)
    aprons = scene.add("apron")
    with canvas.measure() as m:
        canvas.polygon(rectangle(*apron_centre, apron_length, depth, angle), tx.jitter(rng, (168, 168, 162), 6))
    aprons.record(m)
    if rng.random() < 0.7:
        terminal = scene.add("terminal", _pick(rng, {"white": 0.6, "grey": 0.4}))
        where = _at(apron_centre, n, side * (depth / 2 + 0.045))
        with canvas.measure() as m:
            draw_building(canvas, *where, apron_length * 0.75, 0.07, angle, colour_of(rng, terminal.colour))
        terminal.record(m)
    count = int(rng.integers(1, 7))
    groups = _colour_groups(rng, scene, "plane", count, {"white": 0.75, "grey": 0.25}, mix=0.25)
    slot = apron_length / count
    length = min(float(rng.uniform(0.11, 0.17)), slot * 0.95, depth * 0.85)
    heading = math.atan2(-side * n[1], -side * n[0]) + float(rng.uniform(-0.15, 0.15))
    for i, group in enumerate(groups):
        where = _at(apron_centre, d, -apron_length / 2 + slot * (i + 0.5), n, float(rng.uniform(-0.02, 0.02)))
        with canvas.measure() as m:
            draw_plane(canvas, *where, length, heading, colour_of(rng, group.colour, 6))
        group.record(m)
    for group in scene.find("plane"):
        scene.relate(group, "parked near", runways)
        scene.relate(group, "parked on", aprons)
        for terminal in scene.find("terminal"):
            scene.relate(group, "in front of", terminal)
    return canvas, scene


def _river(
    canvas: Canvas, rng: np.random.Generator, scene: Scene, line: list[Point], width: float, colour: tuple
) -> ObjectGroup:
    canvas.line(line, width + 0.03, tx.jitter(rng, (150, 138, 104), 8), counted=False)  # muddy banks
    river = scene.add("river")
    flow = math.atan2(line[-1][1] - line[0][1], line[-1][0] - line[0][0])
    with canvas.measure() as m, canvas.textured(tx.water(rng, canvas.size, colour, flow + math.pi / 2, 0.6), 0.004):
        canvas.line(line, width)
    river.record(m)
    return river


def _flow_words(angle: float) -> str:
    c, s = abs(math.cos(angle)), abs(math.sin(angle))
    return "from left to right" if c > 0.8 else "from top to bottom" if s > 0.8 else "diagonally"


def paint_bridge(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    land = tx.blend(tx.grass(rng, size, (100, 124, 70)), tx.bare_ground(rng, size), tx.value_noise(rng, size, 2))
    canvas, scene = _canvas(land, rng), Scene("bridge")
    flow = float(rng.uniform(0, math.pi))
    width = float(rng.uniform(0.22, 0.32))
    centre = (0.5 + float(rng.uniform(-0.08, 0.08)), 0.5 + float(rng.uniform(-0.08, 0.08)))
    line = _meander(rng, centre, flow, float(rng.uniform(0.0, 0.04)), 1.0)
    river = _river(canvas, rng, scene, line, width, (46, 92, 108))
    cross = flow + math.pi / 2 + float(rng.uniform(-0.25, 0.25))
    d, n = _unit(cross)
    mid = line[len(line) // 2]
    road = scene.add("road")
    with canvas.measure() as m:
        canvas.line([_at(mid, d, -1.0), _at(mid, d, 1.0)], 0.036, (104, 104, 102))
    road.record(m)
    span = width / max(0.5, abs(math.cos(cross - flow - math.pi / 2))) + 0.08
    deck_width = float(rng.uniform(0.045, 0.065))
    bridge = scene.add("bridge", _pick(rng, {"grey": 0.5, "white": 0.3, "red": 0.2}))
    deck = rectangle(*mid, span, deck_width, cross)
    canvas.polygon(
        [(x + canvas.sun[0] * 0.025, y + canvas.sun[1] * 0.025) for x, y in deck], (0, 0, 0, 90), counted=False
    )
    with canvas.measure() as m:
        canvas.polygon(deck, colour_of(rng, bridge.colour, 6))
    bridge.record(m)
    for edge in (-0.45, 0.45):
        canvas.line(
            [_at(mid, d, -span / 2, n, edge * deck_width), _at(mid, d, span / 2, n, edge * deck_width)],
            deck_width * 0.1,
            shade(colour_of(rng, bridge.colour), 0.75),
            counted=False,
        )
    scene.relate(bridge, "crosses", river)
    cars = int(rng.choice([0, 0, 1, 2, 3]))
    if cars:
        groups = _colour_groups(rng, scene, "car", cars, CAR_COLOURS, mix=0.3)
        ts = rng.permutation(np.linspace(-span / 2 + 0.04, span / 2 - 0.04, 5))[:cars]
        for group, t in zip(groups, ts, strict=True):
            lane = deck_width * 0.22 * (1 if rng.random() < 0.5 else -1)
            heading = cross if lane > 0 else cross + math.pi
            with canvas.measure() as m:
                draw_car(canvas, *_at(mid, d, float(t), n, lane), 0.036, heading, colour_of(rng, group.colour))
            group.record(m)
        for group in scene.find("car"):
            scene.relate(group, "on", bridge)
    boats = int(rng.choice([0, 0, 1, 2]))
    if boats:
        group = scene.add("boat", _pick(rng, {"white": 0.7, "red": 0.15, "blue": 0.15}))
        visible = [i for i in range(len(line) - 1) if _inside(line[i], 0.1) and abs(i - len(line) // 2) > 6]
        for i in rng.permutation(visible)[:boats]:
            p, q = line[int(i)], line[int(i) + 1]
            heading = math.atan2(q[1] - p[1], q[0] - p[0]) + (math.pi if rng.random() < 0.5 else 0.0)
            with canvas.measure() as m:
                draw_boat(canvas, *p, float(rng.uniform(0.06, 0.09)), heading, colour_of(rng, group.colour), wake=True)
            group.record(m)
        scene.relate(group, "in", river)
    road_line = [_at(mid, d, float(t)) for t in np.linspace(-1, 1, 41)]
    trees = scene.add("tree", "green")
    spots = _free_spots(
        rng,
        int(rng.integers(6, 18)),
        0.03,
        ok=lambda p: _distance(p, line) > width / 2 + 0.05 and _distance(p, road_line) > 0.05,
    )
    _trees(canvas, rng, trees, spots)
    scene.relate(trees, "along", river)
    scene.facts["flow"] = _flow_words(flow)
    return canvas, scene


def paint_river(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    land = tx.blend(
        tx.grass(rng, size, (92, 122, 64)), tx.grass(rng, size, (128, 136, 84)), tx.value_noise(rng, size, 2, 2)
    )
    canvas, scene = _canvas(land, rng), Scene("river")
    flow = float(rng.uniform(0, math.pi))
    width = float(rng.uniform(0.1, 0.18))
    centre = (0.5 + float(rng.uniform(-0.12, 0.12)), 0.5 + float(rng.uniform(-0.12, 0.12)))
    amplitude = float(rng.uniform(0.04, 0.16))
    line = _meander(rng, centre, flow, amplitude, float(rng.uniform(1.0, 1.6)))
    river = _river(canvas, rng, scene, line, width, _pick_rgb(rng, [(52, 94, 104), (70, 100, 88), (44, 76, 110)]))
    trees = scene.add("tree", "green")
    spots = _free_spots(
        rng,
        int(rng.integers(8, 22)),
        0.028,
        ok=lambda p: width / 2 + 0.035 < _distance(p, line) < width / 2 + 0.14,
    )
    _trees(canvas, rng, trees, spots, radius=(0.02, 0.032))
    scene.relate(trees, "along", river)
    if rng.random() < 0.35:
        boats = scene.add("boat", _pick(rng, {"white": 0.7, "red": 0.15, "yellow": 0.15}))
        visible = [i for i in range(0, len(line) - 1, 4) if _inside(line[i], 0.1)]
        for i in rng.permutation(visible)[: int(rng.integers(1, 3))]:
            p, q = line[int(i)], line[int(i) + 1]
            with canvas.measure() as m:
                draw_boat(canvas, *p, 0.06, math.atan2(q[1] - p[1], q[0] - p[0]), colour_of(rng, boats.colour), True)
            boats.record(m)
        scene.relate(boats, "in", river)
    scene.facts["flow"] = _flow_words(flow)
    scene.facts["winding"] = amplitude > 0.1
    return canvas, scene


def paint_pond(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = _canvas(tx.grass(rng, size, (104, 136, 72), 0.16), rng), Scene("pond")
    count = 1 if rng.random() < 0.8 else 2
    cells = rng.permutation([(cx, cy) for cx in (0.28, 0.5, 0.72) for cy in (0.28, 0.5, 0.72)])
    if count == 2:  # two ponds sit in opposite corners so they do not merge
        first = [(0.3, 0.3), (0.7, 0.3)][int(rng.integers(2))]
        cells = [first, (1 - first[0], 0.7)]
    ponds = scene.add("pond")
    colour = _pick_rgb(rng, [(52, 96, 92), (42, 74, 108), (70, 104, 80)])
    shapes: list[tuple[Point, float]] = []
    for cx, cy in cells[:count]:
        radius = float(rng.uniform(0.12, 0.2) if count == 1 else rng.uniform(0.1, 0.14))
        outline = _blob(rng, float(cx), float(cy), radius)
        canvas.polygon(_blob(rng, float(cx), float(cy), radius + 0.02), tx.jitter(rng, (150, 140, 100), 8), False)
        with canvas.measure() as m, canvas.textured(tx.water(rng, size, colour, float(rng.uniform(0, 3)), 0.3), 0.004):
            canvas.polygon(outline)
        ponds.record(m)
        shapes.append(((float(cx), float(cy)), radius))
    trees = scene.add("tree", "green")
    if rng.random() < 0.5:
        ring = []
        for (cx, cy), radius in shapes:
            for a in np.linspace(0, 2 * math.pi, int(rng.integers(9, 15)), endpoint=False):
                r = radius * 1.3 + 0.045
                ring.append((cx + r * math.cos(a + rng.uniform(-0.1, 0.1)), cy + r * math.sin(a)))
        _trees(canvas, rng, trees, ring, radius=(0.024, 0.032))
        scene.relate(ponds, "surrounded by", trees)
    else:
        spots = _free_spots(rng, int(rng.integers(0, 6)), 0.035, taken=[(c, r * 1.3 + 0.02) for c, r in shapes])
        _trees(canvas, rng, trees, spots, radius=(0.024, 0.034))
    if rng.random() < 0.3:
        house = scene.add("house", _pick(rng, ROOF_COLOURS))
        (cx, cy), radius = shapes[0]
        a = math.atan2(0.5 - cy, 0.5 - cx)
        spot = (cx + (radius + 0.09) * math.cos(a), cy + (radius + 0.09) * math.sin(a))
        with canvas.measure() as m:
            draw_house(canvas, *spot, 0.07, 0.05, float(rng.uniform(0, 3)), colour_of(rng, house.colour))
        house.record(m)
        scene.relate(house, "next to", ponds)
    return canvas, scene


def paint_beach(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    side = ["left", "right", "top", "bottom"][int(rng.integers(4))]
    # the shoreline is defined on the measuring grid, so areas and positions do not depend on the size
    fixed = MEASURE_SIZE
    shore_fixed = float(rng.uniform(0.3, 0.45)) + 0.06 * (tx.value_noise(rng, fixed, 2, 2) - 0.5)
    shore_fixed += 0.01 * np.sin(_along(side, fixed) * 40)
    depth, shore = _depth(side, size), tx.resize(shore_fixed, size)
    sand_width = float(rng.uniform(0.2, 0.3))
    near = np.clip((shore - depth) / 0.25, 0, 1)
    sea_colour = tx.blend(
        tx.water(rng, size, (62, 156, 168), _INWARD[side] + math.pi / 2, 0.5), tx.water(rng, size, (28, 78, 118)), near
    )
    foam = np.exp(-(((depth - shore) / 0.012) ** 2)) + 0.4 * np.exp(-(((depth - shore + 0.06) / 0.01) ** 2))
    sea_colour = sea_colour + 120 * foam[..., None] * tx.value_noise(rng, size, 10, 1)[..., None]
    sand = tx.tinted(tx.jitter(rng, (222, 204, 160), 8), tx.value_noise(rng, size, 16, 2), 0.06)
    wet = np.clip(1 - (depth - shore) / 0.03, 0, 1)[..., None] * (depth >= shore)[..., None]
    sand = sand * (1 - 0.18 * wet)
    land = tx.grass(rng, size, (84, 118, 62))
    is_sea = depth < shore
    is_sand = (~is_sea) & (depth < shore + sand_width)
    background = np.where(is_sea[..., None], sea_colour, np.where(is_sand[..., None], sand, land))
    canvas, scene = _canvas(background, rng), Scene("beach")
    sea, beach = scene.add("sea"), scene.add("beach", "yellow")
    sea_fixed = _depth(side, fixed) < shore_fixed
    sand_fixed = ~sea_fixed & (_depth(side, fixed) < shore_fixed + sand_width)
    sea.record_area(float(sea_fixed.mean()), _region_centre(sea_fixed))
    beach.record_area(float(sand_fixed.mean()), _region_centre(sand_fixed))
    frame = _side_frame(side)
    base = float(np.mean(shore_fixed))
    count = int(rng.integers(1, 7))
    groups = _colour_groups(rng, scene, "umbrella", count, {"red": 1, "yellow": 1, "blue": 1, "orange": 1}, 0.35)
    row = base + sand_width * float(rng.uniform(0.35, 0.6))
    start = float(rng.uniform(0.12, 0.6))
    spacing = float(rng.uniform(0.05, 0.07))
    for i, group in enumerate(groups):
        with canvas.measure() as m:
            draw_umbrella(
                canvas,
                *frame(row + float(rng.uniform(-0.03, 0.03)), start + i * spacing),
                0.018,
                colour_of(rng, group.colour),
            )
        group.record(m)
    for group in scene.find("umbrella"):
        scene.relate(group, "on", beach)
    if rng.random() < 0.4:
        boats = scene.add("boat", _pick(rng, {"white": 0.8, "red": 0.2}))
        for t in rng.choice([0.2, 0.45, 0.7], int(rng.integers(1, 3)), replace=False):
            with canvas.measure() as m:
                draw_boat(
                    canvas,
                    *frame(base * float(rng.uniform(0.3, 0.6)), float(t)),
                    0.07,
                    float(rng.uniform(0, 6.3)),
                    colour_of(rng, boats.colour),
                    wake=True,
                )
            boats.record(m)
        scene.relate(boats, "in", sea)
    trees = scene.add("tree", "green")
    far = base + sand_width + 0.06
    if far < 0.95:
        spots = [frame(float(rng.uniform(far, min(0.97, far + 0.2))), float(t)) for t in np.linspace(0.05, 0.95, 9)]
        _trees(canvas, rng, trees, [p for p in spots if rng.random() < 0.7])
    scene.relate(sea, "next to", beach)
    scene.facts["sea_side"] = side
    return canvas, scene


def paint_desert(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    colour = _pick_rgb(rng, [(214, 178, 120), (204, 156, 104), (224, 196, 142)])
    wind = float(rng.uniform(0, math.pi))
    canvas, scene = _canvas(tx.dunes(rng, size, colour, wind), rng), Scene("desert")
    scene.facts["dunes"] = _flow_words(wind + math.pi / 2)
    scene.facts["sand"] = {(214, 178, 120): "yellow", (204, 156, 104): "orange", (224, 196, 142): "light yellow"}[
        colour
    ]
    if rng.random() < 0.6:
        rocks = scene.add("rock", _pick(rng, {"brown": 0.6, "black": 0.4}))
        for p in _free_spots(rng, int(rng.integers(1, 6)), 0.04):
            with canvas.measure() as m:
                draw_rock(canvas, rng, *p, float(rng.uniform(0.015, 0.035)), colour_of(rng, rocks.colour, 8))
            rocks.record(m)
    if rng.random() < 0.3:
        bushes = scene.add("bush", "green")
        spots = _free_spots(rng, int(rng.integers(2, 7)), 0.03)
        _trees(canvas, rng, bushes, spots, radius=(0.01, 0.016), greens=((84, 96, 52), (96, 104, 60)))
    if rng.random() < 0.25:
        road = scene.add("road")
        with canvas.measure() as m:
            canvas.line(_meander(rng, (0.5, 0.5), float(rng.uniform(0, 3.1)), 0.05, 1.0), 0.02, (120, 110, 96))
        road.record(m)
    return canvas, scene


FIELD_COLOURS = {"green": (84, 126, 58), "yellow": (196, 174, 96), "brown": (138, 108, 74)}


def paint_farmland(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    angle = float(rng.uniform(-0.3, 0.3)) + (math.pi / 2 if rng.random() < 0.5 else 0.0)

    def frame(n: int) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates rotated into the field grid: u across the strips, v along them."""
        x, y = tx.grid(n)
        x, y = x - 0.5, y - 0.5
        return x * math.cos(angle) + y * math.sin(angle), -x * math.sin(angle) + y * math.cos(angle)

    u, v = frame(size)
    u_fixed, v_fixed = frame(MEASURE_SIZE)  # fields are measured on the fixed grid
    cuts_u = [-0.75]
    while cuts_u[-1] < 0.75:
        cuts_u.append(cuts_u[-1] + float(rng.uniform(0.22, 0.5)))
    background = np.zeros((size, size, 3), dtype=np.float32)
    scene = Scene("farmland")
    groups: dict[str, ObjectGroup] = {}
    boundaries: list[tuple[float, float, float, float]] = []  # (u0, u1, v0, v1) of every field
    previous = ""
    for u0, u1 in zip(cuts_u[:-1], cuts_u[1:], strict=True):
        cuts_v = [-0.75]
        while cuts_v[-1] < 0.75:
            cuts_v.append(cuts_v[-1] + float(rng.uniform(0.3, 1.2)))
        for v0, v1 in zip(cuts_v[:-1], cuts_v[1:], strict=True):
            name = _pick(rng, {k: (0.2 if k == previous else 1.0) for k in FIELD_COLOURS})
            previous = name
            rows = angle + (0 if rng.random() < 0.6 else math.pi / 2)
            texture = tx.crop_rows(
                rng, size, tx.jitter(rng, FIELD_COLOURS[name], 10), rows, float(rng.uniform(0.014, 0.03))
            )
            inside = (u >= u0) & (u < u1) & (v >= v0) & (v < v1)
            background[inside] = texture[inside]
            measured = (u_fixed >= u0) & (u_fixed < u1) & (v_fixed >= v0) & (v_fixed < v1)
            if measured.mean() >= 0.015:  # slivers at the border are not counted as fields
                group = groups.setdefault(name, scene.add("field", name))
                group.record_area(float(measured.mean()), _region_centre(measured))
                boundaries.append((u0, u1, v0, v1))
    canvas = _canvas(background, rng)
    c, s = math.cos(angle), math.sin(angle)

    def to_xy(uu: float, vv: float) -> Point:
        return (0.5 + uu * c - vv * s, 0.5 + uu * s + vv * c)

    for u0, u1, v0, v1 in boundaries:  # dirt tracks between fields
        outline = [to_xy(u0, v0), to_xy(u1, v0), to_xy(u1, v1), to_xy(u0, v1), to_xy(u0, v0)]
        canvas.line(outline, 0.008, (168, 150, 116), counted=False)
    fields = scene.find("field")
    central = [cut for cut in cuts_u[1:-1] if abs(cut) < 0.4]
    if rng.random() < 0.4 and central:
        road = scene.add("road")
        cut = central[int(rng.integers(len(central)))]
        with canvas.measure() as m:
            canvas.line([to_xy(cut, -0.8), to_xy(cut, 0.8)], 0.026, (112, 112, 108))
        road.record(m)
        scene.facts["road_between_fields"] = True
    if rng.random() < 0.35:
        houses = scene.add("house", _pick(rng, ROOF_COLOURS))
        base = (float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8)))
        for i in range(int(rng.integers(1, 3))):
            with canvas.measure() as m:
                draw_house(
                    canvas,
                    base[0] + 0.09 * i * c,
                    base[1] + 0.09 * i * s,
                    0.07,
                    0.05,
                    angle,
                    colour_of(rng, houses.colour),
                )
            houses.record(m)
        trees = scene.add("tree", "green")
        _trees(canvas, rng, trees, [(base[0] + dx, base[1] + 0.07) for dx in (-0.05, 0.0, 0.05)])
        for field in fields[:1]:
            scene.relate(houses, "among", field)
    return canvas, scene


def paint_forest(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    shades = {"dark green": (34, 62, 34), "green": (48, 86, 42)}
    scene = Scene("forest")
    scene.facts["shade"] = _pick(rng, {"dark green": 0.5, "green": 0.5})
    base = shades[scene.facts["shade"]]
    canvas = _canvas(tx.canopy(rng, size, base), rng)
    clearing: list[Point] = []
    if rng.random() < 0.3:
        clearing = _blob(
            rng, float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.1, 0.16))
        )
        group = scene.add("clearing")
        with canvas.measure() as m, canvas.textured(tx.grass(rng, size, (136, 140, 86)), 0.004):
            canvas.polygon(clearing)
        group.record(m)
    cx = np.mean([p[0] for p in clearing]) if clearing else -1.0
    cy = np.mean([p[1] for p in clearing]) if clearing else -1.0
    r_clear = max((math.hypot(p[0] - cx, p[1] - cy) for p in clearing), default=0.0)
    trees = scene.add("tree", "green")
    greens = tuple(tuple(int(v) for v in shade(base, f)) for f in (1.1, 1.3, 1.5, 1.2))
    spacing = float(rng.choice([0.045, 0.07])) * float(rng.uniform(0.95, 1.05))
    scene.facts["crowns"] = "small" if spacing < 0.055 else "large"
    spots = []
    for gy in np.arange(0.0, 1.0 + spacing, spacing):
        for gx in np.arange(0.0, 1.0 + spacing, spacing):
            p = (float(gx + rng.uniform(-0.4, 0.4) * spacing), float(gy + rng.uniform(-0.4, 0.4) * spacing))
            if math.hypot(p[0] - cx, p[1] - cy) > r_clear * 0.85 + 0.02:
                spots.append(p)
    _trees(canvas, rng, trees, spots, radius=(spacing * 0.5, spacing * 0.72), greens=greens, measure_every=9)
    if rng.random() < 0.2:
        autumn = scene.add("tree", _pick(rng, {"yellow": 0.6, "orange": 0.4}))
        colour = shade(colour_of(rng, autumn.colour), 0.8)
        for p in _free_spots(rng, int(rng.integers(1, 6)), 0.05, region=(0.1, 0.1, 0.9, 0.9)):
            with canvas.measure() as m:
                draw_tree(canvas, *p, spacing * 0.7, colour)
            autumn.record(m)
    if rng.random() < 0.4:
        road = scene.add("road")
        with canvas.measure() as m:
            line = _meander(rng, (0.5, 0.5), float(rng.uniform(0, math.pi)), 0.08, 1.0)
            canvas.line(line, float(rng.uniform(0.022, 0.032)), _pick_rgb(rng, [(150, 132, 100), (120, 120, 116)]))
        road.record(m)
    return canvas, scene


def paint_meadow(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    grasses = {"light green": (132, 168, 82), "yellow green": (156, 162, 86), "dark green": (92, 128, 64)}
    name = _pick(rng, {k: 1.0 for k in grasses})
    colour = grasses[name]
    ground = tx.blend(
        tx.grass(rng, size, colour, 0.1),
        tx.grass(rng, size, shade(colour, 1.12), 0.08),
        tx.value_noise(rng, size, 2, 2),
    )
    canvas, scene = _canvas(ground, rng), Scene("meadow")
    scene.facts["grass"] = name
    if rng.random() < 0.3:
        path = scene.add("path")
        with canvas.measure() as m:
            canvas.line(_meander(rng, (0.5, 0.5), float(rng.uniform(0, 3.1)), 0.08, 1.2), 0.014, (190, 172, 132))
        path.record(m)
    if rng.random() < 0.8:
        trees = scene.add("tree", "green")
        _trees(canvas, rng, trees, _free_spots(rng, int(rng.integers(1, 7)), 0.06), radius=(0.026, 0.042))
    return canvas, scene


def paint_harbor(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    side = ["left", "right", "top", "bottom"][int(rng.integers(4))]
    quay = float(rng.uniform(0.45, 0.58))
    depth = _depth(side, size)
    is_water = depth < quay
    land = tx.asphalt(rng, size, (150, 148, 142))
    sea = tx.water(rng, size, _pick_rgb(rng, [(36, 78, 104), (44, 88, 96)]), _INWARD[side] + math.pi / 2, 0.4)
    canvas, scene = _canvas(np.where(is_water[..., None], sea, land), rng), Scene("harbor")
    frame = _side_frame(side)
    inward = _INWARD[side]
    canvas.line([frame(quay, -0.1), frame(quay, 1.1)], 0.012, (88, 88, 86), counted=False)  # quay wall
    water = scene.add("water")
    water_fixed = _depth(side, MEASURE_SIZE) < quay
    water.record_area(float(water_fixed.mean()), _region_centre(water_fixed))
    piers = scene.add("pier")
    count = int(rng.integers(1, 5))
    positions = np.linspace(0.1, 0.9, count + 2)[1:-1] + rng.uniform(-0.03, 0.03, count)
    length = float(rng.uniform(0.2, 0.32))
    pier_width = float(rng.uniform(0.03, 0.04))
    for t in positions:
        with canvas.measure() as m:
            canvas.line([frame(quay, float(t)), frame(quay - length, float(t))], pier_width, (128, 128, 124))
        piers.record(m)
    boats = int(rng.integers(1, 7))
    groups = _colour_groups(rng, scene, "boat", boats, {"white": 0.6, "red": 0.15, "blue": 0.15, "yellow": 0.1}, 0.35)
    slots = [(float(t), sgn, k) for t in positions for sgn in (-1, 1) for k in range(2)]
    order = rng.permutation(len(slots))
    boat_length = min(float(rng.uniform(0.07, 0.12)), length * 0.48)
    boat_width = boat_length * 0.3
    for group, i in zip(groups, order, strict=False):
        t, sgn, k = slots[int(i)]
        offset = sgn * (pier_width / 2 + boat_width / 2 + 0.006)
        where = frame(quay - 0.01 - boat_length * (0.5 + 1.05 * k), t + offset)
        heading = inward + (math.pi if rng.random() < 0.5 else 0.0)
        with canvas.measure() as m:
            draw_boat(canvas, *where, boat_length, heading, colour_of(rng, group.colour))
        group.record(m)
    for group in scene.find("boat"):
        scene.relate(group, "moored next to", piers)
    scene.relate(piers, "extend into", water)
    if rng.random() < 0.7:
        sheds = scene.add("building", _pick(rng, {"white": 0.4, "blue": 0.3, "grey": 0.3}))
        for t in np.linspace(0.2, 0.8, int(rng.integers(1, 4))):
            if quay + 0.2 < 0.98:
                with canvas.measure() as m:
                    draw_building(
                        canvas,
                        *frame(quay + 0.14, float(t)),
                        0.18,
                        0.1,
                        inward + math.pi / 2,
                        colour_of(rng, sheds.colour),
                    )
                sheds.record(m)
    scene.facts["water_side"] = side
    return canvas, scene


def _boxes_placed(
    rng: np.random.Generator, count: int, sizes: Callable[[], tuple[float, float]], margin: float = 0.04
) -> list[tuple[float, float, float, float]]:
    """Non-overlapping axis-aligned boxes (cx, cy, length, width) in a frame centred on the image."""
    boxes: list[tuple[float, float, float, float]] = []
    for _ in range(count):
        for _ in range(50):
            length, width = sizes()
            cx = float(rng.uniform(-0.42 + length / 2, 0.42 - length / 2))
            cy = float(rng.uniform(-0.42 + width / 2, 0.42 - width / 2))
            if all(
                abs(cx - b[0]) > (length + b[2]) / 2 + margin or abs(cy - b[1]) > (width + b[3]) / 2 + margin
                for b in boxes
            ):
                boxes.append((cx, cy, length, width))
                break
    return boxes


def paint_industrial(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    ground = tx.blend(
        tx.bare_ground(rng, size, (150, 142, 126)), tx.asphalt(rng, size, (136, 136, 132)), tx.value_noise(rng, size, 3)
    )
    canvas, scene = _canvas(ground, rng), Scene("industrial")
    angle = float(rng.uniform(-0.3, 0.3))
    c, s = math.cos(angle), math.sin(angle)

    def to_xy(u: float, v: float) -> Point:
        return (0.5 + u * c - v * s, 0.5 + u * s + v * c)

    road = scene.add("road")
    road_v = float(rng.choice([-0.46, 0.46]))
    with canvas.measure() as m:
        canvas.line([to_xy(-0.8, road_v), to_xy(0.8, road_v)], 0.045, (96, 96, 96))
    road.record(m)
    if rng.random() < 0.5:  # a second road along another edge of the estate
        road_u = float(rng.choice([-0.46, 0.46]))
        with canvas.measure() as m:
            canvas.line([to_xy(road_u, -0.8), to_xy(road_u, 0.8)], 0.045, (96, 96, 96))
        road.record(m)
    count = int(rng.integers(1, 7))
    boxes = _boxes_placed(rng, count, lambda: (float(rng.uniform(0.16, 0.32)), float(rng.uniform(0.1, 0.18))))
    groups = _colour_groups(rng, scene, "factory", len(boxes), {"white": 0.4, "blue": 0.3, "grey": 0.3}, mix=0.3)
    yard = tx.jitter(rng, (172, 170, 164), 6)
    for bu, bv, length, width in boxes:  # concrete yards around the halls
        canvas.polygon(rectangle(*to_xy(bu, bv), length + 0.05, width + 0.05, angle), yard, counted=False)
    for group, (bu, bv, length, width) in zip(groups, boxes, strict=True):
        with canvas.measure() as m:
            draw_building(canvas, *to_xy(bu, bv), length, width, angle, colour_of(rng, group.colour, 6))
        group.record(m)
    for group in scene.find("factory"):
        scene.relate(group, "near", road)
    if rng.random() < 0.6 and boxes:
        trucks = scene.add("truck", _pick(rng, {"white": 0.6, "red": 0.2, "blue": 0.2}))
        bu, bv, length, width = boxes[0]
        for i in range(int(rng.integers(1, 5))):
            where = to_xy(bu - length / 2 + 0.03 + 0.045 * i, bv + width / 2 + 0.05)
            if _inside(where, 0.03):
                with canvas.measure() as m:
                    draw_truck(canvas, *where, 0.075, angle + math.pi / 2, colour_of(rng, trucks.colour))
                trucks.record(m)
        first = scene.find("factory")
        if first:
            scene.relate(trucks, "next to", first[0])
    return canvas, scene


def paint_storagetanks(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = _canvas(tx.bare_ground(rng, size, (160, 150, 130)), rng), Scene("storagetanks")
    count = int(rng.integers(1, 7)) if rng.random() < 0.75 else int(rng.integers(8, 13))
    rows = 1 if count <= 3 else 2 if count <= 8 else 3
    cols = math.ceil(count / rows)
    cell = min(0.72 / cols, 0.72 / rows)
    radius = min(0.13, cell * float(rng.uniform(0.32, 0.42)))
    cell = min(cell, radius * 2.6)
    angle = float(rng.uniform(-0.25, 0.25))
    d, n = _unit(angle)
    centre = (0.5 + float(rng.uniform(-0.05, 0.05)), 0.47 + float(rng.uniform(-0.05, 0.05)))
    pad = rectangle(*centre, cols * cell + 0.06, rows * cell + 0.06, angle)
    with canvas.textured(tx.asphalt(rng, size, (176, 172, 164))):
        canvas.polygon(pad)
    canvas.line(pad + pad[:1], 0.01, (120, 116, 108), counted=False)  # the bund wall around the tanks
    tanks = scene.add("tank", _pick(rng, {"white": 0.7, "grey": 0.3}))
    placed = 0
    for r in range(rows):
        in_row = min(cols, count - placed)
        ts = [(i - (in_row - 1) / 2) * cell for i in range(in_row)]
        s = (r - (rows - 1) / 2) * cell
        if in_row > 1:
            canvas.line(
                [_at(centre, d, ts[0], n, s + radius * 1.05), _at(centre, d, ts[-1], n, s + radius * 1.05)],
                0.006,
                (90, 90, 88),
                counted=False,
            )  # pipes along the row
        for t in ts:
            with canvas.measure() as m:
                draw_tank(canvas, *_at(centre, d, t, n, s), radius, colour_of(rng, tanks.colour, 6))
            tanks.record(m)
        placed += in_row
    road = scene.add("road")
    with canvas.measure() as m:
        canvas.line(
            [_at(centre, d, -1, n, rows * cell / 2 + 0.1), _at(centre, d, 1, n, rows * cell / 2 + 0.1)],
            0.04,
            (96, 96, 94),
        )
    road.record(m)
    scene.relate(tanks, "next to", road)
    scene.facts["rows"] = rows
    return canvas, scene


def paint_parking(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = _canvas(tx.grass(rng, size, (100, 128, 74)), rng), Scene("parking")
    angle = float(rng.uniform(-0.2, 0.2)) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    d, n = _unit(angle)
    rows = int(rng.integers(2, 5))
    stall, depth, aisle = 0.05, 0.085, 0.07
    lot_length = float(rng.uniform(0.6, 0.8))
    lot_depth = rows * depth + (rows + 1) * aisle / 2
    centre = (0.5 + float(rng.uniform(-0.06, 0.06)), 0.5 + float(rng.uniform(-0.06, 0.06)))
    lot = scene.add("parking lot")
    with canvas.measure() as m, canvas.textured(tx.asphalt(rng, size, (86, 88, 92))):
        canvas.polygon(rectangle(*centre, lot_length + 0.04, lot_depth, angle))
    lot.record(m)
    fill = float(rng.uniform(0.45, 0.97))
    stalls = int(lot_length / stall)
    colours: set[str] = set()
    group = scene.add("car", "mixed")
    for r in range(rows):
        s = -lot_depth / 2 + aisle / 2 + depth / 2 + r * (depth + aisle / 2)
        for i in range(stalls + 1):
            t = -lot_length / 2 + i * stall
            canvas.line(
                [_at(centre, d, t, n, s - depth / 2), _at(centre, d, t, n, s + depth / 2)],
                0.004,
                (220, 220, 214),
                counted=False,
            )
        for i in range(stalls):
            if rng.random() < fill:
                name = _pick(rng, CAR_COLOURS)
                colours.add(name)
                where = _at(centre, d, -lot_length / 2 + (i + 0.5) * stall, n, s)
                heading = angle + math.pi / 2 + (math.pi if rng.random() < 0.5 else 0)
                with canvas.measure() as m:
                    draw_car(canvas, *where, 0.068, heading, colour_of(rng, name))
                group.record(m)
    scene.facts["rows"] = rows
    scene.facts["full"] = fill > 0.85
    if len(colours) == 1:
        group.colour = colours.pop()
    scene.relate(group, "in", lot)
    trees = scene.add("tree", "green")
    edge = lot_depth / 2 + 0.06
    spots = [_at(centre, d, float(t), n, edge * sgn) for t in np.linspace(-0.4, 0.4, 6) for sgn in (-1, 1)]
    _trees(canvas, rng, trees, [p for p in spots if _inside(p, 0.02) and rng.random() < 0.4])
    if trees.count:
        scene.relate(trees, "around", lot)
    return canvas, scene


def paint_playground(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = _canvas(tx.grass(rng, size, (106, 128, 80), 0.12), rng), Scene("playground")
    angle = float(rng.uniform(-0.25, 0.25)) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    d, n = _unit(angle)
    straight = float(rng.uniform(0.26, 0.36))
    radius = float(rng.uniform(0.15, 0.19))
    lane = float(rng.uniform(0.045, 0.06))
    shift = float(rng.uniform(0.05, 0.12)) * (1 if rng.random() < 0.5 else -1)
    centre = _at((0.5, 0.5), n, shift)
    track = scene.add("track", _pick(rng, {"red": 0.7, "green": 0.15, "blue": 0.15}))
    with canvas.measure() as m:
        canvas.polygon(stadium(*centre, straight, radius, angle), colour_of(rng, track.colour, 8))
    track.record(m)
    for k in range(1, 4):
        canvas.line(stadium(*centre, straight, radius - lane * k / 4, angle), 0.003, (236, 232, 226), counted=False)
    pitch = scene.add("pitch")
    stripes = tx.crop_rows(rng, size, (70, 136, 64), angle, 0.05)
    with canvas.measure() as m, canvas.textured(stripes):
        canvas.polygon(stadium(*centre, straight, radius - lane, angle))
    pitch.record(m)
    white = (238, 238, 234)
    field = rectangle(*centre, straight + radius * 0.9, (radius - lane) * 1.5, angle)
    canvas.line(field + field[:1], 0.004, white, counted=False)
    canvas.line([_at(centre, n, -(radius - lane) * 0.75), _at(centre, n, (radius - lane) * 0.75)], 0.004, white, False)
    ring = [_at(centre, d, 0.05 * math.cos(a), n, 0.05 * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 20)]
    canvas.line(ring, 0.004, white, counted=False)
    scene.relate(pitch, "surrounded by", track)
    other_side = -1 if shift > 0 else 1
    if rng.random() < 0.7:
        count = int(rng.integers(1, 5))
        groups = _colour_groups(rng, scene, "court", count, {"blue": 0.4, "green": 0.35, "red": 0.25}, mix=0.3)
        length = min(0.14, 0.8 / count)
        for i, group in enumerate(groups):
            where = _at(centre, d, (i - (count - 1) / 2) * (length + 0.02), n, other_side * (radius + 0.1))
            with canvas.measure() as m:
                draw_court(canvas, *where, length, angle + math.pi / 2, colour_of(rng, group.colour))
            group.record(m)
        for group in scene.find("court"):
            scene.relate(group, "next to", track)
    if rng.random() < 0.5:
        school = scene.add("building", _pick(rng, {"white": 0.5, "grey": 0.3, "red": 0.2}))
        where = _at(centre, n, -other_side * (radius + 0.09))
        if _inside(where, 0.02):
            with canvas.measure() as m:
                draw_building(canvas, *where, 0.4, 0.08, angle, colour_of(rng, school.colour))
            school.record(m)
            scene.relate(school, "next to", track)
    return canvas, scene


def paint_baseballfield(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    grass = tx.crop_rows(rng, size, tx.jitter(rng, (92, 136, 66), 8), float(rng.uniform(0, 3)), 0.06)
    canvas, scene = _canvas(grass, rng), Scene("baseballfield")
    count = 1 if rng.random() < 0.75 else 2
    diamonds = scene.add("diamond")
    homes = [(0.5, 0.5)] if count == 1 else [(0.3, 0.3), (0.7, 0.7)]
    reach = 0.5 if count == 1 else 0.32
    for hx, hy in homes:
        facing = float(rng.uniform(0, 2 * math.pi))
        home = (
            hx - 0.6 * reach * math.cos(facing) + float(rng.uniform(-0.03, 0.03)),
            hy - 0.6 * reach * math.sin(facing) + float(rng.uniform(-0.03, 0.03)),
        )
        d, n = _unit(facing)
        arc = [place([(math.cos(a), math.sin(a))], *home, 1.0, facing)[0] for a in np.linspace(-0.79, 0.79, 24)]

        def fan(r: float, centre: Point = home, arc: list[Point] = arc) -> list[Point]:
            return [centre] + [(centre[0] + (x - centre[0]) * r, centre[1] + (y - centre[1]) * r) for x, y in arc]

        with canvas.measure() as m:
            canvas.polygon(fan(reach * 1.15), tx.jitter(rng, (112, 160, 76), 6))
            canvas.polygon(fan(reach * 0.52), tx.jitter(rng, (176, 126, 86), 6))
        diamonds.record(m)
        a = reach * 0.2  # home to first base, along each axis of the facing frame
        bases = [(0.0, 0.0), (a, -a), (2 * a, 0.0), (a, a)]
        square = place([(a + (x - a) * 0.72, y * 0.72) for x, y in bases], *home, 1.0, facing)
        canvas.polygon(square, (100, 150, 70), counted=False)  # the grass inside the base paths
        canvas.ellipse(*_at(home, d, a), a * 0.22, a * 0.22, (176, 126, 86), counted=False)  # pitcher's mound
        for x, y in place(bases, *home, 1.0, facing):
            canvas.ellipse(x, y, 0.008, 0.008, (240, 240, 236), counted=False)
        for a in (-0.79, 0.79):
            canvas.line([home, place([(reach * 1.15, 0.0)], *home, 1.0, facing + a)[0]], 0.004, (240, 240, 236), False)
    trees = scene.add("tree", "green")
    far = [(float(x), float(y)) for x in (0.06, 0.94) for y in np.linspace(0.1, 0.9, 5)]
    _trees(canvas, rng, trees, [p for p in far if rng.random() < 0.45])
    if trees.count:
        scene.relate(trees, "around", diamonds)
    return canvas, scene


def paint_residential(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = _canvas(tx.grass(rng, size, (100, 130, 76), 0.16), rng), Scene("residential")
    angle = float(rng.uniform(-0.3, 0.3))
    c, s = math.cos(angle), math.sin(angle)

    def to_xy(u: float, v: float) -> Point:
        return (0.5 + u * c - v * s, 0.5 + u * s + v * c)

    dense = rng.random() < 0.6
    scene.facts["dense"] = dense
    streets = scene.add("road")
    one_colour = rng.random() < 0.5
    houses_colour = _pick(rng, ROOF_COLOURS) if one_colour else "mixed"
    houses = scene.add("house", houses_colour)
    trees = scene.add("tree", "green")
    street_colour = (108, 108, 106)
    if dense:
        spacing = float(rng.uniform(0.26, 0.34))
        offset = float(rng.uniform(0, spacing))
        lines = [offset - 0.8 + k * spacing for k in range(int(1.6 / spacing) + 2)]
        for v in lines:
            with canvas.measure() as m:
                canvas.line([to_xy(-0.8, v), to_xy(0.8, v)], 0.03, street_colour)
            streets.record(m)
        for u in lines[:: 2 if spacing < 0.3 else 1]:
            with canvas.measure() as m:
                canvas.line([to_xy(u, -0.8), to_xy(u, 0.8)], 0.03, street_colour)
            streets.record(m)
        length, width = float(rng.uniform(0.055, 0.07)), float(rng.uniform(0.045, 0.052))
        for v0, v1 in zip(lines[:-1], lines[1:], strict=True):
            for v, facing in ((v0 + 0.015 + width / 2 + 0.008, 0), (v1 - 0.015 - width / 2 - 0.008, 1)):
                for u in np.arange(-0.8, 0.8, length + 0.014):
                    where = to_xy(float(u), v)
                    if not _inside(where, -0.02) or rng.random() < 0.08:
                        continue
                    name = houses_colour if one_colour else _pick(rng, ROOF_COLOURS)
                    with canvas.measure() as m:
                        draw_house(canvas, *where, length, width, angle + math.pi * facing, colour_of(rng, name))
                    houses.record(m)
            mid = to_xy(float(rng.uniform(-0.4, 0.4)), (v0 + v1) / 2)
            if _inside(mid, 0.02) and v1 - v0 > 2 * width + 0.08:
                _trees(canvas, rng, trees, [mid], radius=(0.018, 0.026))
    else:
        road_line = _meander(rng, (0.5, 0.5), angle, 0.05, 1.0)
        with canvas.measure() as m:
            canvas.line(road_line, 0.034, street_colour)
        streets.record(m)
        n_houses = int(rng.integers(2, 7))
        _, nrm = _unit(angle)
        pools = scene.add("pool", "blue")
        for i in range(n_houses):
            t = -0.36 + 0.72 * (i // 2) / max(1, (n_houses - 1) // 2)
            sgn = 1 if i % 2 == 0 else -1
            base = road_line[int(round((t + 0.9) / 1.8 * (len(road_line) - 1)))]
            where = (base[0] + nrm[0] * sgn * 0.14, base[1] + nrm[1] * sgn * 0.14)
            name = houses_colour if one_colour else _pick(rng, ROOF_COLOURS)
            canvas.line([base, where], 0.014, (150, 150, 146), counted=False)  # the driveway
            with canvas.measure() as m:
                draw_house(canvas, *where, float(rng.uniform(0.1, 0.13)), 0.075, angle, colour_of(rng, name))
            houses.record(m)
            if rng.random() < 0.4:
                pool_at = (where[0] + nrm[0] * sgn * 0.1, where[1] + nrm[1] * sgn * 0.1)
                with canvas.measure() as m:
                    canvas.polygon(rectangle(*pool_at, 0.05, 0.03, angle), (70, 170, 210))
                pools.record(m)
        taken = [(p, 0.07) for p in houses.centres] + [(p, 0.05) for p in road_line[::3]]
        _trees(canvas, rng, trees, _free_spots(rng, int(rng.integers(4, 12)), 0.03, taken=taken))
        scene.relate(pools, "next to", houses)
    scene.relate(houses, "along", streets)
    if trees.count:
        scene.relate(trees, "among", houses)
    return canvas, scene


def paint_intersection(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    urban = rng.random() < 0.5
    ground = tx.asphalt(rng, size, (150, 148, 144)) if urban else tx.grass(rng, size, (102, 130, 76))
    canvas, scene = _canvas(ground, rng), Scene("intersection")
    centre = (0.5 + float(rng.uniform(-0.1, 0.1)), 0.5 + float(rng.uniform(-0.1, 0.1)))
    first = float(rng.uniform(-0.3, 0.3))
    angles = (first, first + math.pi / 2 + float(rng.uniform(-0.2, 0.2)))
    width = float(rng.uniform(0.1, 0.13))
    # corner blocks first, so the roads are drawn over their edges
    corners = scene.add("building", _pick(rng, {"grey": 0.4, "white": 0.35, "brown": 0.25})) if urban else None
    trees = scene.add("tree", "green")
    for q in range(4):
        a = angles[0] + math.pi / 2 * q + math.pi / 4
        where = (centre[0] + 0.3 * math.cos(a), centre[1] + 0.3 * math.sin(a))
        if corners is not None:
            with canvas.measure() as m:
                draw_building(canvas, *where, 0.22, 0.16, angles[0], colour_of(rng, corners.colour, 8))
            corners.record(m)
        else:
            _trees(
                canvas,
                rng,
                trees,
                _free_spots(rng, 2, 0.04, region=(where[0] - 0.1, where[1] - 0.1, where[0] + 0.1, where[1] + 0.1)),
            )
    roads = scene.add("road")
    for a in angles:
        d, n = _unit(a)
        with canvas.measure() as m:
            canvas.line([_at(centre, d, -1), _at(centre, d, 1)], width, (82, 84, 88))
        roads.record(m)
    for a in angles:
        d, n = _unit(a)
        for t in np.arange(width * 0.9, 1.0, 0.07):  # dashed centre line, broken at the junction
            for sgn in (-1, 1):
                canvas.line([_at(centre, d, sgn * t), _at(centre, d, sgn * (t + 0.035))], 0.005, (230, 220, 140), False)
        for sgn in (-1, 1):  # zebra crossings just before the junction
            for k in np.linspace(-0.4, 0.4, 6):
                at = _at(centre, d, sgn * width * 0.75, n, float(k) * width)
                canvas.line([_at(at, d, -0.015), _at(at, d, 0.015)], 0.008, (235, 235, 232), counted=False)
    count = int(rng.integers(1, 7))
    groups = _colour_groups(rng, scene, "car", count, CAR_COLOURS, mix=0.35)
    slots = [(k, sgn, t) for k in (0, 1) for sgn in (-1, 1) for t in (0.16, 0.26, 0.36)]
    for group, i in zip(groups, rng.permutation(len(slots)), strict=False):
        k, sgn, t = slots[int(i)]
        d, n = _unit(angles[k])
        lane = sgn * width / 4
        heading = angles[k] + (0 if sgn > 0 else math.pi)
        where = _at(centre, d, -sgn * t if rng.random() < 0.5 else sgn * t, n, lane)
        with canvas.measure() as m:
            draw_car(canvas, *where, 0.05, heading, colour_of(rng, group.colour))
        group.record(m)
    for group in scene.find("car"):
        scene.relate(group, "on", roads)
    if corners is not None:
        scene.relate(corners, "at the corners of", roads)
    scene.facts["urban"] = urban
    return canvas, scene


PAINTERS: dict[str, Painter] = {
    "airport": paint_airport,
    "baseballfield": paint_baseballfield,
    "beach": paint_beach,
    "bridge": paint_bridge,
    "desert": paint_desert,
    "farmland": paint_farmland,
    "forest": paint_forest,
    "harbor": paint_harbor,
    "industrial": paint_industrial,
    "intersection": paint_intersection,
    "meadow": paint_meadow,
    "parking": paint_parking,
    "playground": paint_playground,
    "pond": paint_pond,
    "residential": paint_residential,
    "river": paint_river,
    "storagetanks": paint_storagetanks,
}


def paint(
    name: str, rng: np.random.Generator, grain_rng: np.random.Generator, image_size: int
) -> tuple[Image.Image, Scene]:
    """Paint one image of scene class ``name``: supersampled drawing, lighting and haze, sensor grain, downsampling.

    ``grain_rng`` supplies the per-pixel noise, whose number of draws depends on the size; keeping it apart
    from ``rng`` is what makes the layout independent of ``image_size``.
    """
    render = max(128, 2 * image_size)  # supersampling smooths the edges of small objects
    canvas, scene = PAINTERS[name](rng, render)
    pixels = canvas.to_array()
    brightness = float(rng.uniform(0.86, 1.12))
    tint = rng.uniform(0.95, 1.05, 3).astype(np.float32)
    haze = float(rng.uniform(0.0, 0.12))  # a thin atmospheric veil, as in images taken on hazy days
    pixels = pixels * brightness * tint[None, None, :]
    pixels = pixels * (1 - haze) + haze * np.float32(200.0)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize(
        (image_size, image_size), Image.Resampling.LANCZOS
    )
    grain = grain_rng.normal(0.0, 2.0, (image_size, image_size, 1)).astype(np.float32)
    noisy = np.asarray(image, dtype=np.float32) + grain
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8)), scene
