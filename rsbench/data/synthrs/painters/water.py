"""Painters of the water scenes: river, pond, beach and harbor."""

from __future__ import annotations

import math

import numpy as np

import rsbench.data.synthrs.textures as tx
from rsbench.data.synthrs.canvas import MEASURE_SIZE, Canvas, Point
from rsbench.data.synthrs.objects import (
    Scene,
    colour_of,
    draw_boat,
    draw_building,
    draw_house,
    draw_umbrella,
)
from rsbench.data.synthrs.painters.geometry import (
    INWARD,
    ROOF_COLOURS,
    along_map,
    blob,
    colour_groups,
    depth_map,
    distance_to_line,
    flow_words,
    free_spots,
    is_inside,
    meander,
    new_canvas,
    pick,
    pick_rgb,
    plant_trees,
    region_centre,
    river_course,
    side_frame,
)


def paint_river(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    land = tx.blend(
        tx.grass(rng, size, (92, 122, 64)), tx.grass(rng, size, (128, 136, 84)), tx.value_noise(rng, size, 2, 2)
    )
    canvas, scene = new_canvas(land, rng), Scene("river")
    flow = float(rng.uniform(0, math.pi))
    width = float(rng.uniform(0.1, 0.18))
    centre = (0.5 + float(rng.uniform(-0.12, 0.12)), 0.5 + float(rng.uniform(-0.12, 0.12)))
    amplitude = float(rng.uniform(0.04, 0.16))
    line = meander(rng, centre, flow, amplitude, float(rng.uniform(1.0, 1.6)))
    river = river_course(canvas, rng, scene, line, width, pick_rgb(rng, [(52, 94, 104), (70, 100, 88), (44, 76, 110)]))
    trees = scene.add("tree", "green")
    spots = free_spots(
        rng,
        int(rng.integers(8, 22)),
        0.028,
        ok=lambda p: width / 2 + 0.035 < distance_to_line(p, line) < width / 2 + 0.14,
    )
    plant_trees(canvas, rng, trees, spots, radius=(0.02, 0.032))
    scene.relate(trees, "along", river)
    if rng.random() < 0.35:
        boats = scene.add("boat", pick(rng, {"white": 0.7, "red": 0.15, "yellow": 0.15}))
        visible = [i for i in range(0, len(line) - 1, 4) if is_inside(line[i], 0.1)]
        for i in rng.permutation(visible)[: int(rng.integers(1, 3))]:
            p, q = line[int(i)], line[int(i) + 1]
            with canvas.measure() as m:
                draw_boat(canvas, *p, 0.06, math.atan2(q[1] - p[1], q[0] - p[0]), colour_of(rng, boats.colour), True)
            boats.record(m)
        scene.relate(boats, "in", river)
    scene.facts["flow"] = flow_words(flow)
    scene.facts["winding"] = amplitude > 0.1
    return canvas, scene


def paint_pond(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    canvas, scene = new_canvas(tx.grass(rng, size, (104, 136, 72), 0.16), rng), Scene("pond")
    count = 1 if rng.random() < 0.8 else 2
    cells = rng.permutation([(cx, cy) for cx in (0.28, 0.5, 0.72) for cy in (0.28, 0.5, 0.72)])
    if count == 2:  # two ponds sit in opposite corners so they do not merge
        first = [(0.3, 0.3), (0.7, 0.3)][int(rng.integers(2))]
        cells = [first, (1 - first[0], 0.7)]
    ponds = scene.add("pond")
    colour = pick_rgb(rng, [(52, 96, 92), (42, 74, 108), (70, 104, 80)])
    shapes: list[tuple[Point, float]] = []
    for cx, cy in cells[:count]:
        radius = float(rng.uniform(0.12, 0.2) if count == 1 else rng.uniform(0.1, 0.14))
        outline = blob(rng, float(cx), float(cy), radius)
        canvas.polygon(blob(rng, float(cx), float(cy), radius + 0.02), tx.jitter(rng, (150, 140, 100), 8), False)
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
        plant_trees(canvas, rng, trees, ring, radius=(0.024, 0.032))
        scene.relate(ponds, "surrounded by", trees)
    else:
        spots = free_spots(rng, int(rng.integers(0, 6)), 0.035, taken=[(c, r * 1.3 + 0.02) for c, r in shapes])
        plant_trees(canvas, rng, trees, spots, radius=(0.024, 0.034))
    if rng.random() < 0.3:
        house = scene.add("house", pick(rng, ROOF_COLOURS))
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
    shore_fixed += 0.01 * np.sin(along_map(side, fixed) * 40)
    depth, shore = depth_map(side, size), tx.resize(shore_fixed, size)
    sand_width = float(rng.uniform(0.2, 0.3))
    near = np.clip((shore - depth) / 0.25, 0, 1)
    sea_colour = tx.blend(
        tx.water(rng, size, (62, 156, 168), INWARD[side] + math.pi / 2, 0.5), tx.water(rng, size, (28, 78, 118)), near
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
    canvas, scene = new_canvas(background, rng), Scene("beach")
    sea, beach = scene.add("sea"), scene.add("beach", "yellow")
    sea_fixed = depth_map(side, fixed) < shore_fixed
    sand_fixed = ~sea_fixed & (depth_map(side, fixed) < shore_fixed + sand_width)
    sea.record_area(float(sea_fixed.mean()), region_centre(sea_fixed))
    beach.record_area(float(sand_fixed.mean()), region_centre(sand_fixed))
    frame = side_frame(side)
    base = float(np.mean(shore_fixed))
    count = int(rng.integers(1, 7))
    groups = colour_groups(rng, scene, "umbrella", count, {"red": 1, "yellow": 1, "blue": 1, "orange": 1}, 0.35)
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
        boats = scene.add("boat", pick(rng, {"white": 0.8, "red": 0.2}))
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
        plant_trees(canvas, rng, trees, [p for p in spots if rng.random() < 0.7])
    scene.relate(sea, "next to", beach)
    scene.facts["sea_side"] = side
    return canvas, scene


def paint_harbor(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    side = ["left", "right", "top", "bottom"][int(rng.integers(4))]
    quay = float(rng.uniform(0.45, 0.58))
    depth = depth_map(side, size)
    is_water = depth < quay
    land = tx.asphalt(rng, size, (150, 148, 142))
    sea = tx.water(rng, size, pick_rgb(rng, [(36, 78, 104), (44, 88, 96)]), INWARD[side] + math.pi / 2, 0.4)
    canvas, scene = new_canvas(np.where(is_water[..., None], sea, land), rng), Scene("harbor")
    frame = side_frame(side)
    inward = INWARD[side]
    canvas.line([frame(quay, -0.1), frame(quay, 1.1)], 0.012, (88, 88, 86), counted=False)  # quay wall
    water = scene.add("water")
    water_fixed = depth_map(side, MEASURE_SIZE) < quay
    water.record_area(float(water_fixed.mean()), region_centre(water_fixed))
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
    groups = colour_groups(rng, scene, "boat", boats, {"white": 0.6, "red": 0.15, "blue": 0.15, "yellow": 0.1}, 0.35)
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
        sheds = scene.add("building", pick(rng, {"white": 0.4, "blue": 0.3, "grey": 0.3}))
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
