"""Third-party plugins: a real install of plugins/rsbench-synonyms used through its entry point, and the
plugin manager's errors (duplicate names, misspelt hooks, disabling)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "plugins" / "rsbench-synonyms"


def rsbench(*argv: str, site: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), **(env or {})}
    return subprocess.run([sys.executable, "-m", "rsbench", *argv], capture_output=True, text=True, env=full_env)


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """rsbench-synonyms installed with pip into a folder of its own (the package's real metadata)."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(PLUGIN)],
        check=True,
    )
    return site


def fake_dist(site: Path, name: str, module_source: str) -> None:
    """A minimal installed distribution: a module plus dist-info with an ``rsbench`` entry point."""
    (site / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[rsbench]\n{name} = {name}\n")


@pytest.mark.slow  # processes of their own (torch imports in each): CI runs it with the slow tests
def test_installed_plugin_is_listed_and_used(plugin_site, tmp_path, small_run):
    listed = rsbench("plugins", "--json", site=plugin_site)
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    assert plugins["synonyms"]["version"] == "0.1.0"
    assert "rsbench-synonyms" in plugins["synonyms"]["source"]
    assert plugins["synonyms"]["hooks"] == ["register_augmenters"]

    components = json.loads(rsbench("list", "augmenter", "--json", site=plugin_site).stdout)
    synonym = next(c for c in components if c["name"] == "synonym")
    assert synonym["source"] == "synonyms"
    assert {o["name"] for o in synonym["options"]} == {"probability", "max_replacements"}

    sets = [arg for s in small_run for arg in ("--set", s)]
    run = rsbench("run", "--aug", "synonym", "--set", "augmenter.probability=0.5", *sets, "--json", site=plugin_site)
    assert run.returncode == 0, run.stderr
    record = json.loads(Path(json.loads(run.stdout)["record"]).read_text())
    assert record["config"]["augmenter"] == {"name": "synonym", "probability": 0.5, "max_replacements": 2}


@pytest.mark.slow  # shares the slow test's processes (fixture above)
def test_disabling_third_party_plugins(plugin_site):
    off = rsbench("list", "augmenter", "--json", site=plugin_site, env={"RSBENCH_DISABLE_PLUGINS": "1"})
    assert "synonym" not in {c["name"] for c in json.loads(off.stdout)}
    by_name = rsbench("plugins", "--json", site=plugin_site, env={"RSBENCH_DISABLE_PLUGINS": "synonyms"})
    assert "synonyms" not in {p["name"] for p in json.loads(by_name.stdout)}
    run = rsbench("run", "--aug", "synonym", "--print-config", site=plugin_site, env={"RSBENCH_DISABLE_PLUGINS": "1"})
    assert run.returncode == 2 and "unknown augmenter 'synonym'" in run.stderr


def test_a_built_in_name_is_reserved(tmp_path):
    fake_dist(tmp_path, "dupplugin", """
        from rsbench.hooks import hookimpl

        @hookimpl
        def register_adapters(register):
            register("full", lambda config, backbone: None, description="another full")
    """)
    result = rsbench("run", "--print-config", site=tmp_path)
    assert result.returncode == 2
    assert "plugin 'dupplugin' is broken: it registers adapter 'full', a name reserved for rsbench's built-in " \
           "adapter" in " ".join(result.stderr.split())
    listed = rsbench("list", "adapter", "--json", site=tmp_path)  # still lists the names that are taken
    assert listed.returncode == 0 and "full" in {c["name"] for c in json.loads(listed.stdout)}


def test_misspelt_hook_is_an_error_not_silence(tmp_path):
    fake_dist(tmp_path, "typoplugin", """
        from rsbench.hooks import hookimpl

        @hookimpl
        def register_adapter(register):
            pass
    """)
    result = rsbench("run", "--print-config", site=tmp_path)
    assert result.returncode == 2
    assert "implements hook 'register_adapter'" in result.stderr and "Traceback" not in result.stderr
    shown = rsbench("plugins", "--json", site=tmp_path)  # the command that shows the fault still works
    assert shown.returncode == 0, shown.stderr
    typo = next(p for p in json.loads(shown.stdout) if p["name"] == "typoplugin")
    assert typo["status"] == "broken" and "register_adapters" in typo["problems"][0]


def test_broken_plugin_import_names_the_plugin(tmp_path):
    fake_dist(tmp_path, "brokenplugin", "import not_a_module_anywhere\n")
    result = rsbench("run", "--print-config", site=tmp_path)
    assert result.returncode == 2
    assert "plugin 'brokenplugin'" in result.stderr and "RSBENCH_DISABLE_PLUGINS=brokenplugin" in result.stderr
    listed = rsbench("list", site=tmp_path)  # lists what works, and says which plugin is left out
    assert listed.returncode == 0 and "warning: plugin 'brokenplugin' is broken" in listed.stderr
    shown = rsbench("plugins", "--json", site=tmp_path)
    assert shown.returncode == 0, shown.stderr
    broken = next(p for p in json.loads(shown.stdout) if p["name"] == "brokenplugin")
    assert broken["status"] == "broken" and "not_a_module_anywhere" in broken["problems"][0]


def test_synonym_augmenter_rewrites_only_known_words():
    import random

    sys.path.insert(0, str(PLUGIN))
    try:
        from rsbench_synonyms.plugin import SYNONYMS, SynonymAugmenter, SynonymConfig
    finally:
        sys.path.remove(str(PLUGIN))
    from rsbench.data.record import Record

    record = Record(Path("x.png"), "x.png", ("",), None, "train")
    caption = "Many planes are parked near the big building"
    always = SynonymAugmenter(SynonymConfig(probability=1.0, max_replacements=10))
    out = always.augment(caption, record, random.Random(0))
    assert out != caption
    kept = [w for w in caption.split() if w.lower() not in SYNONYMS]
    assert all(w in out.split() for w in kept)
    assert always.augment(caption, record, random.Random(0)) == out  # seeded
    never = SynonymAugmenter(SynonymConfig(probability=0.0))
    assert never.augment(caption, record, random.Random(0)) == caption
    capped = SynonymAugmenter(SynonymConfig(probability=1.0, max_replacements=1))
    single_words = "The big plane and the green house"  # every synonym of these is one word
    rewritten = capped.augment(single_words, record, random.Random(1)).split()
    assert sum(a != b for a, b in zip(single_words.split(), rewritten, strict=True)) == 1
    assert always.at_query(caption, record) == caption
