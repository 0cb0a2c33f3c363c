"""The caption grammar of SynthRS: five short English sentences per image, derived from what was painted.

Fine-grained sentences come from the scene's object groups (counts, colours, positions) and relations
("a bridge crosses the river"); generic ones are shared by many images of a class ("this is a busy
airport"), as in RSITMD and RSICD, whose captions mix both kinds.
"""

from __future__ import annotations

import random

from rsbench.data.caption_grammar import (
    WHERE,
    article,
    capital,
    tokens,  # noqa: F401  (re-exported: the grammar's tokenizer)
)
from rsbench.data.synthrs.generic_captions import count, generic_sentences
from rsbench.data.synthrs.objects import ObjectGroup, Relation, Scene

# Caption words for each object kind: (singular, plural).
NOUNS: dict[str, tuple[str, str]] = {
    "apron": ("apron", "aprons"),
    "beach": ("beach", "beaches"),
    "boat": ("boat", "boats"),
    "bridge": ("bridge", "bridges"),
    "building": ("building", "buildings"),
    "bush": ("bush", "bushes"),
    "car": ("car", "cars"),
    "clearing": ("clearing", "clearings"),
    "court": ("court", "courts"),
    "diamond": ("baseball field", "baseball fields"),
    "factory": ("factory", "factories"),
    "field": ("field", "fields"),
    "house": ("house", "houses"),
    "parking lot": ("parking lot", "parking lots"),
    "path": ("path", "paths"),
    "pier": ("pier", "piers"),
    "pitch": ("football field", "football fields"),
    "plane": ("plane", "planes"),
    "pond": ("pond", "ponds"),
    "pool": ("swimming pool", "swimming pools"),
    "river": ("river", "rivers"),
    "road": ("road", "roads"),
    "rock": ("rock", "rocks"),
    "runway": ("runway", "runways"),
    "sea": ("sea", "seas"),
    "tank": ("storage tank", "storage tanks"),
    "terminal": ("terminal building", "terminal buildings"),
    "track": ("running track", "running tracks"),
    "tree": ("tree", "trees"),
    "truck": ("truck", "trucks"),
    "umbrella": ("umbrella", "umbrellas"),
    "water": ("water", "waters"),
}

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
MANY = ("many", "lots of", "a lot of")  # used for more than six instances, never for six or fewer

# Where each scene takes place, for "there are three planes in the airport".
PLACES: dict[str, tuple[str, ...]] = {
    "airport": ("airport",),
    "baseballfield": ("sports ground", "park"),
    "beach": ("beach area", "coastal area"),
    "bridge": ("area", "image"),
    "desert": ("desert",),
    "farmland": ("farmland",),
    "forest": ("forest",),
    "harbor": ("harbor", "port"),
    "industrial": ("industrial area", "factory area"),
    "intersection": ("area", "image"),
    "meadow": ("meadow", "grassland"),
    "parking": ("area", "image"),
    "playground": ("playground",),
    "pond": ("area", "green land"),
    "residential": ("residential area", "neighborhood"),
    "river": ("area", "image"),
    "storagetanks": ("depot", "oil depot"),
}

# Kinds that are the ground of a scene rather than things in it: no counting or locating sentences.
BACKGROUND_KINDS = frozenset({"apron", "beach", "parking lot", "sea", "water"})

# Kinds that have a place worth saying ("a pond in the top left corner"); roads and rivers cross the image.
LOCATABLE_KINDS = frozenset(
    {
        "boat",
        "building",
        "bush",
        "car",
        "clearing",
        "court",
        "diamond",
        "factory",
        "house",
        "plane",
        "pond",
        "pool",
        "rock",
        "tank",
        "terminal",
        "track",
        "tree",
        "truck",
        "umbrella",
    }
)

# A class's defining objects, not counted while they hold no more than this many instances in one group:
# "there is a bridge in the area" would only repeat the generic captions of the bridge class.
OBVIOUS_COUNTS: dict[str, dict[str, float]] = {
    "airport": {"runway": 1},
    "baseballfield": {"diamond": 1},
    "bridge": {"bridge": 1, "river": 1, "road": 1},
    "forest": {"tree": float("inf")},
    "intersection": {"road": 2},
    "parking": {"car": float("inf")},
    "playground": {"pitch": 1},
    "pond": {"pond": 1},
    "residential": {"road": float("inf")},
    "river": {"river": 1},
}

SIDES = {"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom"}

# Relation templates. {S}: subject with count and colour; {Sd}: definite subject ("the pond");
# {O}: definite object ("the river"); {On}: object with count ("many green trees"); {be}/{s}/{es}:
# agreement with the subject; {be_o}: with the object.
RELATIONS: dict[str, tuple[str, ...]] = {
    "parked near": ("{S} {be} parked near {O}", "{S} {be} parked next to {O}", "{S} {be} beside {O}"),
    "parked on": ("{S} {be} parked on {O}", "{S} {be} standing on {O}", "there {be} {S} on {O}"),
    "in front of": ("{S} {be} parked in front of {O}", "{S} {be} lined up in front of {O}"),
    "crosses": ("{S} cross{es} {O}", "{S} span{s} {O}", "{S} {be} built over {O}"),
    "on": ("{S} {be} on {O}", "there {be} {S} on {O}"),
    "in": ("{S} {be} in {O}", "there {be} {S} in {O}"),
    "along": ("{S} {be} along {O}", "{S} {be} on the banks of {O}", "{S} stand{s} along {O}"),
    "surrounded by": ("{S} {be} surrounded by {On}", "{On} {be_o} around {Sd}", "{Sd} {be} ringed by {On}"),
    "moored next to": ("{S} {be} moored next to {O}", "{S} {be} docked at {O}", "{S} {be} berthed along {O}"),
    "extend into": ("{S} extend{s} into {O}", "{S} stretch{es} out into {O}"),
    "next to": ("{S} {be} next to {O}", "{S} {be} beside {O}", "{S} {be} close to {O}"),
    "near": ("{S} {be} near {O}", "{S} {be} close to {O}"),
    "around": ("{S} {be} around {O}", "{S} surround{s} {O}"),
    "among": ("{S} {be} among {O}", "{S} {be} scattered among {O}"),
    "at the corners of": (
        "{S} {be} at the corners of the intersection",
        "{S} stand{s} at the corners of the crossroads",
    ),
}

def _quantity(count: int, following: str, rng: random.Random, contrast: bool = False) -> str:
    if count == 1:  # "one" reads naturally only next to other counts: "one red boat and two white boats"
        return "one" if contrast and rng.random() < 0.5 else article(following)
    if count <= 6:
        return NUMBER_WORDS[count]
    return rng.choice(MANY)


def _describes_colour(group: ObjectGroup) -> bool:
    return group.colour not in (None, "mixed")


def noun_phrase(groups: list[ObjectGroup], rng: random.Random, colour: bool = True) -> str:
    """ "three white planes", "two white boats and a red boat", "many cars": counted, coloured, joined."""
    parts = []
    for group in groups:
        singular, plural = NOUNS[group.kind]
        words = plural if group.count > 1 else singular
        if colour and _describes_colour(group):
            words = f"{group.colour} {words}"
        parts.append(f"{_quantity(group.count, words, rng, contrast=len(groups) > 1)} {words}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def definite(groups: list[ObjectGroup], rng: random.Random, one: bool = False) -> str:
    """ "the runway", "the red running track", "the fields": all groups of one kind as a definite phrase.

    ``one`` names a single instance even when there are several ("a car is on the road").
    """
    singular, plural = NOUNS[groups[0].kind]
    words = plural if sum(g.count for g in groups) > 1 and not one else singular
    if len(groups) == 1 and _describes_colour(groups[0]) and rng.random() < 0.5:
        words = f"{groups[0].colour} {words}"
    return f"the {words}"


def _agreement(groups: list[ObjectGroup]) -> dict[str, str]:
    singular = len(groups) == 1 and groups[0].count == 1
    return {"be": "is" if singular else "are", "s": "s" if singular else "", "es": "es" if singular else ""}


def _relation_sentences(scene: Scene, rng: random.Random) -> dict[str, str]:
    """One sentence per (subject kind, relation, object kind), subjects of several colours joined."""
    merged: dict[tuple[str, str, str], list[Relation]] = {}
    for relation in scene.relations:
        merged.setdefault((relation.subject.kind, relation.name, relation.object.kind), []).append(relation)
    sentences = {}
    for (kind, name, object_kind), relations in merged.items():
        subjects = [r.subject for r in relations]
        objects = scene.find(object_kind)
        agree = _agreement(subjects)
        template = rng.choice(RELATIONS[name])
        # the ground of a scene is named, not counted: "the sea is next to the beach"
        subject = definite(subjects, rng) if kind in BACKGROUND_KINDS else noun_phrase(subjects, rng)
        sentence = template.format(
            S=subject,
            Sd=definite(scene.find(kind), rng),
            O=definite(objects, rng, one=name == "on"),
            On=noun_phrase(objects, rng),
            be_o=_agreement(objects)["be"],
            **agree,
        )
        sentences[f"relation:{kind}:{name}:{object_kind}"] = capital(sentence) + "."
    return sentences


def _count_sentence(scene: Scene, groups: list[ObjectGroup], rng: random.Random) -> str:
    phrase = noun_phrase(groups, rng)
    be = _agreement(groups)["be"]
    place = rng.choice(PLACES[scene.name])
    template = rng.choice(
        (
            "there {be} {S} in the {place}",
            "{S} {be} in the {place}",
            "we can see {S} in the {place}",
            "the {place} has {S}",
        )
    )
    return capital(template.format(S=phrase, be=be, place=place)) + "."


def _position_sentence(groups: list[ObjectGroup], where: str, rng: random.Random) -> str:
    phrase = noun_phrase(groups, rng)
    be = _agreement(groups)["be"]
    spot = rng.choice(WHERE[where])
    template = rng.choice(("{S} {be} {spot}", "there {be} {S} {spot}", "{spot}, there {be} {S}"))
    return capital(template.format(S=phrase, be=be, spot=spot)) + "."


def _scene_sentences(scene: Scene, rng: random.Random) -> dict[str, str]:
    """Sentences about scene-level facts the painters record (rows of cars, where the sea is, ...)."""
    facts, out = scene.facts, {}
    if "flow" in facts:
        if facts["flow"] == "diagonally":
            out["flow"] = rng.choice(("The river flows diagonally across the image.", "A river runs diagonally."))
        else:
            out["flow"] = rng.choice((f"The river flows {facts['flow']}.", f"A river runs {facts['flow']}."))
    if facts.get("winding"):
        out["winding"] = rng.choice(("A winding river flows through the green land.", "The river is curved."))
    elif facts.get("winding") is False:
        out["winding"] = "The river is fairly straight."
    if "sea_side" in facts:
        side = facts["sea_side"]
        out["side"] = rng.choice((f"The sea is {SIDES[side]} of the image.", f"Waves come in from the {side}."))
    if "water_side" in facts:
        side = SIDES[facts["water_side"]]
        out["side"] = rng.choice((f"The water of the harbor is {side}.", f"There is water {side} of the image."))
    if "sand" in facts:
        out["sand"] = rng.choice((f"This is a piece of {facts['sand']} desert.", f"The sand is {facts['sand']}."))
    if facts.get("road_between_fields"):
        out["road"] = "A road runs between the fields."
    if "rows" in facts:
        kind = "car" if scene.name == "parking" else "tank"
        groups = scene.find(kind)
        n = sum(g.count for g in groups)
        if n > 1:
            rows = facts["rows"]
            arrangement = "in a row" if rows == 1 else f"in {NUMBER_WORDS.get(rows, 'several')} rows"
            out["rows"] = capital(f"{noun_phrase(groups, rng)} are arranged {arrangement}.")
    if "full" in facts:
        out["full"] = "The parking lot is full of cars." if facts["full"] else "There are some empty parking spaces."
    if "dense" in facts:
        out["dense"] = (
            rng.choice(("Houses are densely packed along the streets.", "The houses are dense and neat."))
            if facts["dense"]
            else rng.choice(("A few houses are scattered along a road.", "The houses have large gardens."))
        )
        houses = scene.find("house")
        if len(houses) == 1 and _describes_colour(houses[0]) and houses[0].count > 1:
            out["roofs"] = f"All houses have {houses[0].colour} roofs."
    if facts.get("urban") is False:
        out["urban"] = "Trees stand at the corners of the crossroads."
    if scene.name == "meadow" and not scene.find("tree"):
        out["empty"] = "There are no trees on the meadow."
    if scene.name == "forest" and scene.find("road"):
        out["road"] = rng.choice(("A road goes through the forest.", "A narrow road crosses the forest."))
    if scene.name == "meadow" and scene.find("path"):
        out["path"] = "A narrow path crosses the meadow."
    if "dunes" in facts:
        out["dunes"] = rng.choice((f"The dunes run {facts['dunes']}.", f"Ridges of sand run {facts['dunes']}."))
    if "crowns" in facts:
        out["crowns"] = (
            rng.choice(("The trees are small and close together.", "The forest is made of small trees."))
            if facts["crowns"] == "small"
            else rng.choice(("The trees have large crowns.", "The forest is made of big trees."))
        )
    if "shade" in facts:
        out["shade"] = rng.choice((f"The trees are {facts['shade']}.", f"The forest is {facts['shade']}."))
    if "grass" in facts:
        out["grass"] = rng.choice((f"The grass is {facts['grass']}.", f"The meadow is {facts['grass']}."))
    if scene.name == "desert" and scene.find("road"):
        out["road"] = "A road crosses the desert."
    if count(scene, "diamond") == 2:
        out["pair"] = "Two baseball fields are next to each other."
    return out


def fine_sentences(scene: Scene, rng: random.Random) -> dict[str, str]:
    """Candidate fine-grained sentences keyed by topic; at most one sentence per topic is used."""
    out = _relation_sentences(scene, rng)
    kinds = sorted({g.kind for g in scene.present()} - BACKGROUND_KINDS)
    for kind in kinds:
        groups = scene.find(kind)
        obvious = OBVIOUS_COUNTS.get(scene.name, {}).get(kind, 0)
        if len(groups) > 1 or groups[0].count > obvious:
            out[f"count:{kind}"] = _count_sentence(scene, groups, rng)
        positions = {g.position for g in groups}
        if kind in LOCATABLE_KINDS and len(groups) == 1 and None not in positions:
            out[f"position:{kind}"] = _position_sentence(groups, positions.pop(), rng)
    out.update(_scene_sentences(scene, rng))
    return out


def _varied(topics: dict[str, str], rng: random.Random, per_subject: int = 2) -> tuple[list[str], list[str]]:
    """Fine sentences in random order, split into the first two about each kind and the rest."""
    items = list(topics.items())
    rng.shuffle(items)
    first, later, said = [], [], {}
    for topic, sentence in items:
        subject = topic.split(":")[1] if ":" in topic else topic  # "count:plane" and "relation:plane:..." share one
        said[subject] = said.get(subject, 0) + 1
        (first if said[subject] <= per_subject else later).append(sentence)
    return first, later


def captions_for(scene: Scene, rng: random.Random, count: int = 5) -> list[str]:
    """``count`` captions for a painted scene: one or two generic, the rest fine-grained, shuffled."""
    fine, repetitive = _varied(fine_sentences(scene, rng), rng)
    generic = generic_sentences(scene)
    rng.shuffle(generic)
    n_generic = min(len(generic), rng.choice((1, 2, 2)), count)
    chosen = generic[:n_generic] + fine[: count - n_generic]
    spare = fine[count - n_generic :] + generic[n_generic:] + repetitive
    chosen += spare[: count - len(chosen)]
    while len(chosen) < count:  # very plain scenes repeat a sentence, as real datasets sometimes do
        chosen.append(rng.choice(chosen))
    rng.shuffle(chosen)
    return chosen
