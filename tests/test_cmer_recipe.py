"""configs/cmer/: the paper's recipe where it says something, and every other value labelled with its source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rsbench.config import build_config

CMER = Path(__file__).resolve().parents[1] / "configs" / "cmer"
RECIPE = CMER / "recipe.yaml"
# What a comment must say about a value: the paper's section/equation/table, or where else the value comes from.
SOURCES = re.compile(r"paper|HVSA|open_clip default|our reading|our choice|ASSUMPTION|^\(")
LOCATION_KEYS = {"data_root"}  # set per machine (--set dataset.data_root=...)


def value_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, key, comment) of every ``key: value`` line that holds a value (not a section header)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"^\s*([A-Za-z_]+):\s*([^#\s][^#]*?|\"[^\"]*\")?\s*(?:#\s*(.*))?$", line)
        if match and match.group(2) is not None:
            found.append((number, match.group(1), match.group(3) or ""))
    return found


def leaves(config: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in config.items():
        if isinstance(value, dict) and value:
            keys |= leaves(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def test_the_recipe_is_the_papers_where_the_paper_says_something():
    config = build_config(RECIPE)
    assert config.train.captions_per_epoch == "all"  # §4.1: 4,743 x 5 pairs
    assert (config.train.epochs, config.train.batch_size, config.train.lr) == (20, 256, 5e-4)  # §4.2
    assert config.eval.select_on == "val" and config.eval.report_on == "test"  # §4.2
    sampler = config.options("sampler")
    assert (sampler.queue_multiple, sampler.weight, sampler.exclude_same_scene) == (4, 1.0, True)  # Table 6, Eq. 22
    adapter = config.options("adapter")
    assert (adapter.hidden_dim, adapter.focus_field) == (192, 2)  # Table 5


def test_every_value_of_the_recipe_says_where_it_comes_from():
    lines = value_lines(RECIPE.read_text(encoding="utf-8"))
    assert len(lines) > 50
    unlabelled = [f"line {n}: {key}" for n, key, comment in lines if not SOURCES.search(comment)]
    assert not unlabelled, "values without a source comment:\n" + "\n".join(unlabelled)


def test_the_recipe_spells_out_every_option_so_none_comes_silently_from_a_code_default():
    written = leaves(yaml.safe_load(RECIPE.read_text(encoding="utf-8")))
    resolved = leaves({k: v for k, v in build_config(RECIPE).to_dict().items()})
    missing = sorted(k for k in resolved - written if k.split(".")[-1] not in LOCATION_KEYS
                     and k not in {"seed", "checkpoint_dir"})
    assert not missing, f"options the recipe leaves to rsbench's defaults: {missing}"


def test_the_checks_bite():
    assert value_lines("train:\n  epochs: 20\n") == [(2, "epochs", "")]  # a value without a comment is seen
    assert not SOURCES.search("a value from nowhere")
    assert value_lines("adapter:   # a section header\n") == []


@pytest.mark.parametrize("table", sorted(CMER.glob("table*.yaml")))
def test_every_table_config_says_what_it_covers(table):
    text = table.read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "every method" not in header  # Tables 1-2 also list nine published methods rsbench cannot run
    assert re.search(r"CMER Table \d", header)
    if table.name in ("table1.yaml", "table2.yaml"):
        assert "not run" in header.lower() and "AMFMN" in header
