"""Painters of the built-up scenes: industrial, storage tanks, playground, baseball field and residential."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import rsbench.data.synthrs.textures as tx
from rsbench.data.synthrs.canvas import Canvas, Point, place, rectangle, stadium
from rsbench.data.synthrs.objects import (
    Scene,
    colour_of,
    draw_building,
    draw_court,
    draw_house,
    draw_tank,
    draw_truck,
)
from rsbench.data.synthrs.painters.geometry import (
    ROOF_COLOURS,
    colour_groups,
    free_spots,
    is_inside,
    meander,
    new_canvas,
    pick,
    plant_trees,
    point_at,
    unit_vectors,
)


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
    canvas, scene = new_canvas(ground, rng), Scene("industrial")
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
    groups = colour_groups(rng, scene, "factory", len(boxes), {"white": 0.4, "blue": 0.3, "grey": 0.3}, mix=0.3)
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
        trucks = scene.add("truck", pick(rng, {"white": 0.6, "red": 0.2, "blue": 0.2}))
        bu, bv, length, width = boxes[0]
        for i in range(int(rng.integers(1, 5))):
            where = to_xy(bu - length / 2 + 0.03 + 0.045 * i, bv + width / 2 + 0.05)
            if is_inside(where, 0.03):
                with canvas.measure() as m:
                    draw_truck(canvas, *where, 0.075, angle + math.pi / 2, colour_of(rng, trucks.colour))
                trucks.record(m)
        first = scene.find("factory")
        if first:
            scene.relate(trucks, "next to", first[0])
    return canvas, scene


def paint_storagetanks(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = new_canvas(tx.bare_ground(rng, size, (160, 150, 130)), rng), Scene("storagetanks")
    count = int(rng.integers(1, 7)) if rng.random() < 0.75 else int(rng.integers(8, 13))
    rows = 1 if count <= 3 else 2 if count <= 8 else 3
    cols = math.ceil(count / rows)
    cell = min(0.72 / cols, 0.72 / rows)
    radius = min(0.13, cell * float(rng.uniform(0.32, 0.42)))
    cell = min(cell, radius * 2.6)
    angle = float(rng.uniform(-0.25, 0.25))
    d, n = unit_vectors(angle)
    centre = (0.5 + float(rng.uniform(-0.05, 0.05)), 0.47 + float(rng.uniform(-0.05, 0.05)))
    pad = rectangle(*centre, cols * cell + 0.06, rows * cell + 0.06, angle)
    with canvas.textured(tx.asphalt(rng, size, (176, 172, 164))):
        canvas.polygon(pad)
    canvas.line(pad + pad[:1], 0.01, (120, 116, 108), counted=False)  # the bund wall around the tanks
    tanks = scene.add("tank", pick(rng, {"white": 0.7, "grey": 0.3}))
    placed = 0
    for r in range(rows):
        in_row = min(cols, count - placed)
        ts = [(i - (in_row - 1) / 2) * cell for i in range(in_row)]
        s = (r - (rows - 1) / 2) * cell
        if in_row > 1:
            canvas.line(
                [point_at(centre, d, ts[0], n, s + radius * 1.05), point_at(centre, d, ts[-1], n, s + radius * 1.05)],
                0.006,
                (90, 90, 88),
                counted=False,
            )  # pipes along the row
        for t in ts:
            with canvas.measure() as m:
                draw_tank(canvas, *point_at(centre, d, t, n, s), radius, colour_of(rng, tanks.colour, 6))
            tanks.record(m)
        placed += in_row
    road = scene.add("road")
    with canvas.measure() as m:
        canvas.line(
            [point_at(centre, d, -1, n, rows * cell / 2 + 0.1), point_at(centre, d, 1, n, rows * cell / 2 + 0.1)],
            0.04,
            (96, 96, 94),
        )
    road.record(m)
    scene.relate(tanks, "next to", road)
    scene.facts["rows"] = rows
    return canvas, scene


def paint_playground(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = new_canvas(tx.grass(rng, size, (106, 128, 80), 0.12), rng), Scene("playground")
    angle = float(rng.uniform(-0.25, 0.25)) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    d, n = unit_vectors(angle)
    straight = float(rng.uniform(0.26, 0.36))
    radius = float(rng.uniform(0.15, 0.19))
    lane = float(rng.uniform(0.045, 0.06))
    shift = float(rng.uniform(0.05, 0.12)) * (1 if rng.random() < 0.5 else -1)
    centre = point_at((0.5, 0.5), n, shift)
    track = scene.add("track", pick(rng, {"red": 0.7, "green": 0.15, "blue": 0.15}))
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
    canvas.line(
        [point_at(centre, n, -(radius - lane) * 0.75), point_at(centre, n, (radius - lane) * 0.75)], 0.004, white, False
    )
    ring = [point_at(centre, d, 0.05 * math.cos(a), n, 0.05 * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 20)]
    canvas.line(ring, 0.004, white, counted=False)
    scene.relate(pitch, "surrounded by", track)
    other_side = -1 if shift > 0 else 1
    if rng.random() < 0.7:
        count = int(rng.integers(1, 5))
        groups = colour_groups(rng, scene, "court", count, {"blue": 0.4, "green": 0.35, "red": 0.25}, mix=0.3)
        length = min(0.14, 0.8 / count)
        for i, group in enumerate(groups):
            where = point_at(centre, d, (i - (count - 1) / 2) * (length + 0.02), n, other_side * (radius + 0.1))
            with canvas.measure() as m:
                draw_court(canvas, *where, length, angle + math.pi / 2, colour_of(rng, group.colour))
            group.record(m)
        for group in scene.find("court"):
            scene.relate(group, "next to", track)
    if rng.random() < 0.5:
        school = scene.add("building", pick(rng, {"white": 0.5, "grey": 0.3, "red": 0.2}))
        where = point_at(centre, n, -other_side * (radius + 0.09))
        if is_inside(where, 0.02):
            with canvas.measure() as m:
                draw_building(canvas, *where, 0.4, 0.08, angle, colour_of(rng, school.colour))
            school.record(m)
            scene.relate(school, "next to", track)
    return canvas, scene


def paint_baseballfield(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    grass = tx.crop_rows(rng, size, tx.jitter(rng, (92, 136, 66), 8), float(rng.uniform(0, 3)), 0.06)
    canvas, scene = new_canvas(grass, rng), Scene("baseballfield")
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
        d, n = unit_vectors(facing)
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
        canvas.ellipse(*point_at(home, d, a), a * 0.22, a * 0.22, (176, 126, 86), counted=False)  # pitcher's mound
        for x, y in place(bases, *home, 1.0, facing):
            canvas.ellipse(x, y, 0.008, 0.008, (240, 240, 236), counted=False)
        for a in (-0.79, 0.79):
            canvas.line([home, place([(reach * 1.15, 0.0)], *home, 1.0, facing + a)[0]], 0.004, (240, 240, 236), False)
    trees = scene.add("tree", "green")
    far = [(float(x), float(y)) for x in (0.06, 0.94) for y in np.linspace(0.1, 0.9, 5)]
    plant_trees(canvas, rng, trees, [p for p in far if rng.random() < 0.45])
    if trees.count:
        scene.relate(trees, "around", diamonds)
    return canvas, scene


def paint_residential(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = new_canvas(tx.grass(rng, size, (100, 130, 76), 0.16), rng), Scene("residential")
    angle = float(rng.uniform(-0.3, 0.3))
    c, s = math.cos(angle), math.sin(angle)

    def to_xy(u: float, v: float) -> Point:
        return (0.5 + u * c - v * s, 0.5 + u * s + v * c)

    dense = rng.random() < 0.6
    scene.facts["dense"] = dense
    streets = scene.add("road")
    one_colour = rng.random() < 0.5
    houses_colour = pick(rng, ROOF_COLOURS) if one_colour else "mixed"
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
                    if not is_inside(where, -0.02) or rng.random() < 0.08:
                        continue
                    name = houses_colour if one_colour else pick(rng, ROOF_COLOURS)
                    with canvas.measure() as m:
                        draw_house(canvas, *where, length, width, angle + math.pi * facing, colour_of(rng, name))
                    houses.record(m)
            mid = to_xy(float(rng.uniform(-0.4, 0.4)), (v0 + v1) / 2)
            if is_inside(mid, 0.02) and v1 - v0 > 2 * width + 0.08:
                plant_trees(canvas, rng, trees, [mid], radius=(0.018, 0.026))
    else:
        road_line = meander(rng, (0.5, 0.5), angle, 0.05, 1.0)
        with canvas.measure() as m:
            canvas.line(road_line, 0.034, street_colour)
        streets.record(m)
        n_houses = int(rng.integers(2, 7))
        _, nrm = unit_vectors(angle)
        pools = scene.add("pool", "blue")
        for i in range(n_houses):
            t = -0.36 + 0.72 * (i // 2) / max(1, (n_houses - 1) // 2)
            sgn = 1 if i % 2 == 0 else -1
            base = road_line[int(round((t + 0.9) / 1.8 * (len(road_line) - 1)))]
            where = (base[0] + nrm[0] * sgn * 0.14, base[1] + nrm[1] * sgn * 0.14)
            name = houses_colour if one_colour else pick(rng, ROOF_COLOURS)
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
        plant_trees(canvas, rng, trees, free_spots(rng, int(rng.integers(4, 12)), 0.03, taken=taken))
        scene.relate(pools, "next to", houses)
    scene.relate(houses, "along", streets)
    if trees.count:
        scene.relate(trees, "among", houses)
    return canvas, scene
