"""The generic sentences of SynthRS: those shared by many images of a class ("this is a busy airport"), as in
RSITMD and RSICD. Each sentence carries a check, and an image gets it only where the check holds for what was
painted ("It is a busy airport." needs three planes or more)."""

from __future__ import annotations

from collections.abc import Callable

from rsbench.data.synthrs.objects import Scene

Check = Callable[[Scene], bool]


def count(scene: Scene, kind: str) -> int:
    """How many objects of ``kind`` the scene holds, over all its groups."""
    return sum(g.count for g in scene.find(kind))


def _at_least(kind: str, n: int) -> Check:
    return lambda scene: count(scene, kind) >= n


def _always(scene: Scene) -> bool:
    return True


# Sentences shared by many images of a class; each holds for every image its check accepts.
GENERIC: dict[str, tuple[tuple[str, Check], ...]] = {
    "airport": (
        ("This is an airport.", _always),
        ("It is a busy airport.", _at_least("plane", 3)),
        ("An airport with a runway and planes.", _at_least("plane", 2)),
        ("The airport has a long runway.", _always),
        ("There is an airport here.", _always),
        ("Planes are parked at the airport.", _at_least("plane", 2)),
        ("A plane is parked at the airport.", lambda scene: count(scene, "plane") == 1),
    ),
    "baseballfield": (
        ("This is a baseball field.", _always),
        ("A baseball field is on the green lawn.", _always),
        ("There is a baseball field with a brown infield.", _always),
        ("The baseball field is shaped like a fan.", _always),
        ("White lines mark the baseball field.", _always),
        ("It is a baseball field on green grass.", _always),
    ),
    "beach": (
        ("This is a beach.", _always),
        ("Waves break on the yellow beach.", _always),
        ("The sea is next to a long beach.", _always),
        ("A beach lies between the sea and the land.", _always),
        ("White waves wash the sand.", _always),
        ("It is a sandy beach by the sea.", _always),
    ),
    "bridge": (
        ("A bridge is over the river.", _always),
        ("This is a bridge across a river.", _always),
        ("There is a bridge here.", _always),
        ("A road goes over the river on a bridge.", _always),
        ("A bridge connects the two banks of the river.", _always),
        ("It is a bridge on a river.", _always),
    ),
    "desert": (
        ("This is a desert.", _always),
        ("Dunes cover the whole desert.", _always),
        ("It is a large piece of desert.", _always),
        ("The desert is full of sand dunes.", _always),
        ("There are ripples of sand in the desert.", _always),
        ("It is a dry and empty desert.", _always),
    ),
    "farmland": (
        ("This is a farmland.", _always),
        ("The farmland is divided into fields.", _always),
        ("Many pieces of farmland are arranged neatly.", _always),
        ("It is a piece of farmland with crops.", _always),
        ("Crops grow in rows in the fields.", _always),
        ("Narrow dirt tracks separate the fields.", _always),
    ),
    "forest": (
        ("This is a dense forest.", _always),
        ("Many green trees are in the forest.", _always),
        ("It is a large forest.", _always),
        ("The forest is thick and green.", _always),
        ("Trees cover the whole image.", _always),
        ("It is a forest full of trees.", _always),
    ),
    "harbor": (
        ("This is a harbor.", _always),
        ("The harbor is next to the water.", _always),
        ("There is a port with boats.", _at_least("boat", 2)),
        ("A boat is in the harbor.", lambda scene: count(scene, "boat") == 1),
        ("Many boats are in the harbor.", _at_least("boat", 7)),
        ("Boats are moored in the port.", _at_least("boat", 2)),
        ("It is a port by the water.", _always),
        ("Piers stretch into the water of the harbor.", _at_least("pier", 2)),
    ),
    "industrial": (
        ("This is an industrial area.", _always),
        ("It is a factory area.", _always),
        ("The industrial area has large flat roofs.", _always),
        ("Factories are in the industrial area.", _at_least("factory", 2)),
        ("There is a factory in the industrial area.", lambda scene: count(scene, "factory") == 1),
        ("It is an industrial area with a road.", _always),
    ),
    "intersection": (
        ("This is an intersection.", _always),
        ("Two roads cross each other.", _always),
        ("It is a crossroads.", _always),
        ("There are zebra crossings at the crossroads.", _always),
        ("Two roads meet at the intersection.", _always),
        ("It is a busy crossroads.", _at_least("car", 3)),
    ),
    "meadow": (
        ("This is a meadow.", _always),
        ("It is a large piece of green meadow.", _always),
        ("The meadow is flat and green.", _always),
        ("There is a lot of grass here.", _always),
        ("It is an open grassland.", _always),
        ("Grass covers the whole meadow.", _always),
    ),
    "parking": (
        ("This is a parking lot.", _always),
        ("Many cars are parked in the parking lot.", _at_least("car", 7)),
        ("The parking lot has white lines.", _always),
        ("It is a parking lot with cars.", _at_least("car", 2)),
        ("Cars of different colors are parked neatly.", lambda scene: scene.find("car")[0].colour == "mixed"),
        ("It is a parking lot with rows of cars.", _at_least("car", 2)),
    ),
    "playground": (
        ("This is a playground.", _always),
        ("A playground with a running track.", _always),
        ("There is a football field in the playground.", _always),
        ("It is a playground of a school.", _always),
        ("A running track goes around a football field.", _always),
        ("It is a sports ground with a track.", _always),
    ),
    "pond": (
        ("This is a pond.", _always),
        ("There is a pond in the green land.", _always),
        ("It is a pond with calm water.", _always),
        ("Green grass is around the pond.", _always),
        ("The water of the pond is still.", _always),
        ("It is a small pond on grassland.", _always),
    ),
    "residential": (
        ("This is a residential area.", _always),
        ("Many houses are in the residential area.", _at_least("house", 7)),
        ("It is a residential area with roads.", _at_least("road", 2)),
        ("A road passes through the residential area.", lambda scene: count(scene, "road") == 1),
        ("Houses are in the residential area.", _at_least("house", 2)),
        ("People live in the houses of this area.", _always),
        ("Roads pass through the residential area.", _at_least("road", 2)),
    ),
    "river": (
        ("This is a river.", _always),
        ("A river flows through the land.", _always),
        ("It is a long river.", _always),
        ("Green trees grow along the river.", _at_least("tree", 2)),
        ("A river runs across the image.", _always),
        ("The river has green banks.", _always),
    ),
    "storagetanks": (
        ("This is an oil depot.", _always),
        ("These are storage tanks.", _at_least("tank", 2)),
        ("Round storage tanks are in the depot.", _at_least("tank", 2)),
        ("It is a tank farm.", _always),
        ("There is a storage tank here.", lambda scene: count(scene, "tank") == 1),
        ("The tanks stand on a concrete pad.", _always),
        ("It is a depot with round tanks.", _always),
    ),
}


def generic_sentences(scene: Scene) -> list[str]:
    return [sentence for sentence, holds in GENERIC[scene.name] if holds(scene)]
