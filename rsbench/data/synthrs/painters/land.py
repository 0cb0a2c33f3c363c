"""Painters of the open-land scenes: desert, farmland, forest and meadow."""

from __future__ import annotations

import math

import numpy as np

import rsbench.data.synthrs.textures as tx
from rsbench.data.synthrs.canvas import MEASURE_SIZE, Canvas, Point
from rsbench.data.synthrs.objects import (
    ObjectGroup,
    Scene,
    colour_of,
    draw_house,
    draw_rock,
    draw_tree,
    shade,
)
from rsbench.data.synthrs.painters.geometry import (
    ROOF_COLOURS,
    blob,
    flow_words,
    free_spots,
    meander,
    new_canvas,
    pick,
    pick_rgb,
    plant_trees,
    region_centre,
)


def paint_desert(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    colour = pick_rgb(rng, [(214, 178, 120), (204, 156, 104), (224, 196, 142)])
    wind = float(rng.uniform(0, math.pi))
    canvas, scene = new_canvas(tx.dunes(rng, size, colour, wind), rng), Scene("desert")
    scene.facts["dunes"] = flow_words(wind + math.pi / 2)
    scene.facts["sand"] = {(214, 178, 120): "yellow", (204, 156, 104): "orange", (224, 196, 142): "light yellow"}[
        colour
    ]
    if rng.random() < 0.6:
        rocks = scene.add("rock", pick(rng, {"brown": 0.6, "black": 0.4}))
        for p in free_spots(rng, int(rng.integers(1, 6)), 0.04):
            with canvas.measure() as m:
                draw_rock(canvas, rng, *p, float(rng.uniform(0.015, 0.035)), colour_of(rng, rocks.colour, 8))
            rocks.record(m)
    if rng.random() < 0.3:
        bushes = scene.add("bush", "green")
        spots = free_spots(rng, int(rng.integers(2, 7)), 0.03)
        plant_trees(canvas, rng, bushes, spots, radius=(0.01, 0.016), greens=((84, 96, 52), (96, 104, 60)))
    if rng.random() < 0.25:
        road = scene.add("road")
        with canvas.measure() as m:
            canvas.line(meander(rng, (0.5, 0.5), float(rng.uniform(0, 3.1)), 0.05, 1.0), 0.02, (120, 110, 96))
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
            name = pick(rng, {k: (0.2 if k == previous else 1.0) for k in FIELD_COLOURS})
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
                group.record_area(float(measured.mean()), region_centre(measured))
                boundaries.append((u0, u1, v0, v1))
    canvas = new_canvas(background, rng)
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
        houses = scene.add("house", pick(rng, ROOF_COLOURS))
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
        plant_trees(canvas, rng, trees, [(base[0] + dx, base[1] + 0.07) for dx in (-0.05, 0.0, 0.05)])
        for field in fields[:1]:
            scene.relate(houses, "among", field)
    return canvas, scene


def paint_forest(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    shades = {"dark green": (34, 62, 34), "green": (48, 86, 42)}
    scene = Scene("forest")
    scene.facts["shade"] = pick(rng, {"dark green": 0.5, "green": 0.5})
    base = shades[scene.facts["shade"]]
    canvas = new_canvas(tx.canopy(rng, size, base), rng)
    clearing: list[Point] = []
    if rng.random() < 0.3:
        clearing = blob(
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
    plant_trees(canvas, rng, trees, spots, radius=(spacing * 0.5, spacing * 0.72), greens=greens, measure_every=9)
    if rng.random() < 0.2:
        autumn = scene.add("tree", pick(rng, {"yellow": 0.6, "orange": 0.4}))
        colour = shade(colour_of(rng, autumn.colour), 0.8)
        for p in free_spots(rng, int(rng.integers(1, 6)), 0.05, region=(0.1, 0.1, 0.9, 0.9)):
            with canvas.measure() as m:
                draw_tree(canvas, *p, spacing * 0.7, colour)
            autumn.record(m)
    if rng.random() < 0.4:
        road = scene.add("road")
        with canvas.measure() as m:
            line = meander(rng, (0.5, 0.5), float(rng.uniform(0, math.pi)), 0.08, 1.0)
            canvas.line(line, float(rng.uniform(0.022, 0.032)), pick_rgb(rng, [(150, 132, 100), (120, 120, 116)]))
        road.record(m)
    return canvas, scene


def paint_meadow(rng: np.random.Generator, size: int) -> tuple[Canvas, Scene]:
    grasses = {"light green": (132, 168, 82), "yellow green": (156, 162, 86), "dark green": (92, 128, 64)}
    name = pick(rng, {k: 1.0 for k in grasses})
    colour = grasses[name]
    ground = tx.blend(
        tx.grass(rng, size, colour, 0.1),
        tx.grass(rng, size, shade(colour, 1.12), 0.08),
        tx.value_noise(rng, size, 2, 2),
    )
    canvas, scene = new_canvas(ground, rng), Scene("meadow")
    scene.facts["grass"] = name
    if rng.random() < 0.3:
        path = scene.add("path")
        with canvas.measure() as m:
            canvas.line(meander(rng, (0.5, 0.5), float(rng.uniform(0, 3.1)), 0.08, 1.2), 0.014, (190, 172, 132))
        path.record(m)
    if rng.random() < 0.8:
        trees = scene.add("tree", "green")
        plant_trees(canvas, rng, trees, free_spots(rng, int(rng.integers(1, 7)), 0.06), radius=(0.026, 0.042))
    return canvas, scene
