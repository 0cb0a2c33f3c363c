"""Painters of the transport scenes: airport, bridge, intersection and parking."""

from __future__ import annotations

import math

import numpy as np

import rsbench.data.synthrs.textures as tx
from rsbench.data.synthrs.canvas import Canvas, Point, rectangle
from rsbench.data.synthrs.objects import (
    Scene,
    colour_of,
    draw_boat,
    draw_building,
    draw_car,
    draw_plane,
    shade,
)
from rsbench.data.synthrs.painters.geometry import (
    CAR_COLOURS,
    colour_groups,
    distance_to_line,
    flow_words,
    free_spots,
    is_inside,
    meander,
    new_canvas,
    pick,
    plant_trees,
    point_at,
    river_course,
    unit_vectors,
)


def paint_airport(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    ground = tx.blend(
        tx.grass(rng, size, (122, 128, 88), 0.14),
        tx.bare_ground(rng, size, (158, 150, 126)),
        tx.value_noise(rng, size, 2),
    )
    canvas, scene = new_canvas(ground, rng), Scene("airport")
    angle = float(rng.uniform(-0.45, 0.45)) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    d, n = unit_vectors(angle)
    offset = float(rng.uniform(0.1, 0.22)) * (1 if rng.random() < 0.5 else -1)
    side = -1.0 if offset > 0 else 1.0  # the apron goes on the roomier side
    width = float(rng.uniform(0.07, 0.095))
    centre = point_at((0.5, 0.5), d, 0.0, n, offset)
    runways = scene.add("runway")

    def runway(c: Point) -> None:
        ends = [point_at(c, d, -0.95), point_at(c, d, 0.95)]
        with canvas.measure() as m:
            canvas.line(ends, width, (72, 74, 78))
        runways.record(m)
        for edge in (-0.42, 0.42):
            canvas.line(
                [point_at(c, d, -0.95, n, edge * width), point_at(c, d, 0.95, n, edge * width)],
                width * 0.04,
                (200, 200, 196),
                counted=False,
            )
        for t in np.arange(-0.9, 0.9, 0.09):
            canvas.line(
                [point_at(c, d, float(t)), point_at(c, d, float(t) + 0.045)],
                width * 0.07,
                (232, 232, 228),
                counted=False,
            )

    runway(centre)
    second = point_at(centre, d, 0.0, n, -side * (width + float(rng.uniform(0.07, 0.1))))
    if rng.random() < 0.3 and is_inside(second, 0.08):
        runway(second)
    gap = float(rng.uniform(0.04, 0.07))
    depth = float(rng.uniform(0.2, 0.25))
    apron_length = float(rng.uniform(0.55, 0.78))
    apron_centre = point_at(centre, d, float(rng.uniform(-0.1, 0.1)), n, side * (width / 2 + gap + depth / 2))
    along = (apron_centre[0] - centre[0]) * d[0] + (apron_centre[1] - centre[1]) * d[1]
    for t in (-apron_length / 3, apron_length / 3):  # taxiways from the runway to the apron
        start = point_at(centre, d, along + t)
        canvas.line([start, point_at(start, n, side * (width / 2 + gap + 0.01))], 0.022, (112, 114, 116), counted=False)
    aprons = scene.add("apron")
    with canvas.measure() as m:
        canvas.polygon(rectangle(*apron_centre, apron_length, depth, angle), tx.jitter(rng, (168, 168, 162), 6))
    aprons.record(m)
    if rng.random() < 0.7:
        terminal = scene.add("terminal", pick(rng, {"white": 0.6, "grey": 0.4}))
        where = point_at(apron_centre, n, side * (depth / 2 + 0.045))
        with canvas.measure() as m:
            draw_building(canvas, *where, apron_length * 0.75, 0.07, angle, colour_of(rng, terminal.colour))
        terminal.record(m)
    count = int(rng.integers(1, 7))
    groups = colour_groups(rng, scene, "plane", count, {"white": 0.75, "grey": 0.25}, mix=0.25)
    slot = apron_length / count
    length = min(float(rng.uniform(0.11, 0.17)), slot * 0.95, depth * 0.85)
    heading = math.atan2(-side * n[1], -side * n[0]) + float(rng.uniform(-0.15, 0.15))
    for i, group in enumerate(groups):
        where = point_at(apron_centre, d, -apron_length / 2 + slot * (i + 0.5), n, float(rng.uniform(-0.02, 0.02)))
        with canvas.measure() as m:
            draw_plane(canvas, *where, length, heading, colour_of(rng, group.colour, 6))
        group.record(m)
    for group in scene.find("plane"):
        scene.relate(group, "parked near", runways)
        scene.relate(group, "parked on", aprons)
        for terminal in scene.find("terminal"):
            scene.relate(group, "in front of", terminal)
    return canvas, scene


def paint_bridge(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    land = tx.blend(tx.grass(rng, size, (100, 124, 70)), tx.bare_ground(rng, size), tx.value_noise(rng, size, 2))
    canvas, scene = new_canvas(land, rng), Scene("bridge")
    flow = float(rng.uniform(0, math.pi))
    width = float(rng.uniform(0.22, 0.32))
    centre = (0.5 + float(rng.uniform(-0.08, 0.08)), 0.5 + float(rng.uniform(-0.08, 0.08)))
    line = meander(rng, centre, flow, float(rng.uniform(0.0, 0.04)), 1.0)
    river = river_course(canvas, rng, scene, line, width, (46, 92, 108))
    cross = flow + math.pi / 2 + float(rng.uniform(-0.25, 0.25))
    d, n = unit_vectors(cross)
    mid = line[len(line) // 2]
    road = scene.add("road")
    with canvas.measure() as m:
        canvas.line([point_at(mid, d, -1.0), point_at(mid, d, 1.0)], 0.036, (104, 104, 102))
    road.record(m)
    span = width / max(0.5, abs(math.cos(cross - flow - math.pi / 2))) + 0.08
    deck_width = float(rng.uniform(0.045, 0.065))
    bridge = scene.add("bridge", pick(rng, {"grey": 0.5, "white": 0.3, "red": 0.2}))
    deck = rectangle(*mid, span, deck_width, cross)
    canvas.polygon(
        [(x + canvas.sun[0] * 0.025, y + canvas.sun[1] * 0.025) for x, y in deck], (0, 0, 0, 90), counted=False
    )
    with canvas.measure() as m:
        canvas.polygon(deck, colour_of(rng, bridge.colour, 6))
    bridge.record(m)
    for edge in (-0.45, 0.45):
        canvas.line(
            [point_at(mid, d, -span / 2, n, edge * deck_width), point_at(mid, d, span / 2, n, edge * deck_width)],
            deck_width * 0.1,
            shade(colour_of(rng, bridge.colour), 0.75),
            counted=False,
        )
    scene.relate(bridge, "crosses", river)
    cars = int(rng.choice([0, 0, 1, 2, 3]))
    if cars:
        groups = colour_groups(rng, scene, "car", cars, CAR_COLOURS, mix=0.3)
        ts = rng.permutation(np.linspace(-span / 2 + 0.04, span / 2 - 0.04, 5))[:cars]
        for group, t in zip(groups, ts, strict=True):
            lane = deck_width * 0.22 * (1 if rng.random() < 0.5 else -1)
            heading = cross if lane > 0 else cross + math.pi
            with canvas.measure() as m:
                draw_car(canvas, *point_at(mid, d, float(t), n, lane), 0.036, heading, colour_of(rng, group.colour))
            group.record(m)
        for group in scene.find("car"):
            scene.relate(group, "on", bridge)
    boats = int(rng.choice([0, 0, 1, 2]))
    if boats:
        group = scene.add("boat", pick(rng, {"white": 0.7, "red": 0.15, "blue": 0.15}))
        visible = [i for i in range(len(line) - 1) if is_inside(line[i], 0.1) and abs(i - len(line) // 2) > 6]
        for i in rng.permutation(visible)[:boats]:
            p, q = line[int(i)], line[int(i) + 1]
            heading = math.atan2(q[1] - p[1], q[0] - p[0]) + (math.pi if rng.random() < 0.5 else 0.0)
            with canvas.measure() as m:
                draw_boat(canvas, *p, float(rng.uniform(0.06, 0.09)), heading, colour_of(rng, group.colour), wake=True)
            group.record(m)
        scene.relate(group, "in", river)
    road_line = [point_at(mid, d, float(t)) for t in np.linspace(-1, 1, 41)]
    trees = scene.add("tree", "green")
    spots = free_spots(
        rng,
        int(rng.integers(6, 18)),
        0.03,
        ok=lambda p: distance_to_line(p, line) > width / 2 + 0.05 and distance_to_line(p, road_line) > 0.05,
    )
    plant_trees(canvas, rng, trees, spots)
    scene.relate(trees, "along", river)
    scene.facts["flow"] = flow_words(flow)
    return canvas, scene


def paint_intersection(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    urban = rng.random() < 0.5
    ground = tx.asphalt(rng, size, (150, 148, 144)) if urban else tx.grass(rng, size, (102, 130, 76))
    canvas, scene = new_canvas(ground, rng), Scene("intersection")
    centre = (0.5 + float(rng.uniform(-0.1, 0.1)), 0.5 + float(rng.uniform(-0.1, 0.1)))
    first = float(rng.uniform(-0.3, 0.3))
    angles = (first, first + math.pi / 2 + float(rng.uniform(-0.2, 0.2)))
    width = float(rng.uniform(0.1, 0.13))
    # corner blocks first, so the roads are drawn over their edges
    corners = scene.add("building", pick(rng, {"grey": 0.4, "white": 0.35, "brown": 0.25})) if urban else None
    trees = scene.add("tree", "green")
    for q in range(4):
        a = angles[0] + math.pi / 2 * q + math.pi / 4
        where = (centre[0] + 0.3 * math.cos(a), centre[1] + 0.3 * math.sin(a))
        if corners is not None:
            with canvas.measure() as m:
                draw_building(canvas, *where, 0.22, 0.16, angles[0], colour_of(rng, corners.colour, 8))
            corners.record(m)
        else:
            plant_trees(
                canvas,
                rng,
                trees,
                free_spots(rng, 2, 0.04, region=(where[0] - 0.1, where[1] - 0.1, where[0] + 0.1, where[1] + 0.1)),
            )
    roads = scene.add("road")
    for a in angles:
        d, n = unit_vectors(a)
        with canvas.measure() as m:
            canvas.line([point_at(centre, d, -1), point_at(centre, d, 1)], width, (82, 84, 88))
        roads.record(m)
    for a in angles:
        d, n = unit_vectors(a)
        for t in np.arange(width * 0.9, 1.0, 0.07):  # dashed centre line, broken at the junction
            for sgn in (-1, 1):
                canvas.line(
                    [point_at(centre, d, sgn * t), point_at(centre, d, sgn * (t + 0.035))],
                    0.005,
                    (230, 220, 140),
                    False,
                )
        for sgn in (-1, 1):  # zebra crossings just before the junction
            for k in np.linspace(-0.4, 0.4, 6):
                at = point_at(centre, d, sgn * width * 0.75, n, float(k) * width)
                canvas.line([point_at(at, d, -0.015), point_at(at, d, 0.015)], 0.008, (235, 235, 232), counted=False)
    count = int(rng.integers(1, 7))
    groups = colour_groups(rng, scene, "car", count, CAR_COLOURS, mix=0.35)
    slots = [(k, sgn, t) for k in (0, 1) for sgn in (-1, 1) for t in (0.16, 0.26, 0.36)]
    for group, i in zip(groups, rng.permutation(len(slots)), strict=False):
        k, sgn, t = slots[int(i)]
        d, n = unit_vectors(angles[k])
        lane = sgn * width / 4
        heading = angles[k] + (0 if sgn > 0 else math.pi)
        where = point_at(centre, d, -sgn * t if rng.random() < 0.5 else sgn * t, n, lane)
        with canvas.measure() as m:
            draw_car(canvas, *where, 0.05, heading, colour_of(rng, group.colour))
        group.record(m)
    for group in scene.find("car"):
        scene.relate(group, "on", roads)
    if corners is not None:
        scene.relate(corners, "at the corners of", roads)
    scene.facts["urban"] = urban
    return canvas, scene


def paint_parking(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = new_canvas(tx.grass(rng, size, (100, 128, 74)), rng), Scene("parking")
    angle = float(rng.uniform(-0.2, 0.2)) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    d, n = unit_vectors(angle)
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
                [point_at(centre, d, t, n, s - depth / 2), point_at(centre, d, t, n, s + depth / 2)],
                0.004,
                (220, 220, 214),
                counted=False,
            )
        for i in range(stalls):
            if rng.random() < fill:
                name = pick(rng, CAR_COLOURS)
                colours.add(name)
                where = point_at(centre, d, -lot_length / 2 + (i + 0.5) * stall, n, s)
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
    spots = [point_at(centre, d, float(t), n, edge * sgn) for t in np.linspace(-0.4, 0.4, 6) for sgn in (-1, 1)]
    plant_trees(canvas, rng, trees, [p for p in spots if is_inside(p, 0.02) and rng.random() < 0.4])
    if trees.count:
        scene.relate(trees, "around", lot)
    return canvas, scene
