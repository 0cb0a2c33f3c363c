"""Plugins that misbehave: ``rsbench plugins`` still shows everything, commands never replace each other,
``RSBENCH_DISABLE_PLUGINS`` means what it says, and records name the plugin (and version) behind a component."""

from __future__ import annotations

import json
import sys

import pytest

from rsbench.hooks import manager

RAISER = """
    from rsbench.hooks import hookimpl

    @hookimpl
    def register_losses(register):
        raise RuntimeError("boom")
"""
DUPLICATE = """
    from rsbench.hooks import hookimpl

    @hookimpl
    def register_samplers(register):
        register("batch", lambda config, loss: None, description="another batch")
"""
COMMANDS = """
    import typer
    from rsbench.hooks import hookimpl

    @hookimpl
    def register_commands(cli):
        @cli.command("run")
        def run():
            print("the plugin's run")

        @cli.command("{name}")
        def hello():
            print("hello from {plugin}")
"""
TAKES_CSLS = """
    from rsbench.hooks import hookimpl

    @hookimpl
    def register_rerankers(register):
        register("mine", "rsbench.retrieval.rerankers.base:build_none", description="registered before the clash")
        register("csls", "rsbench.retrieval.rerankers.base:build_none", description="another csls")
"""
SHARED_LOSS = """
    from rsbench.hooks import hookimpl

    @hookimpl
    def register_losses(register):
        register("shared", "rsbench.train.losses.infonce:build")
"""
LOSS = """
    from rsbench.hooks import hookimpl

    @hookimpl
    def register_losses(register):
        register("fake-infonce", "rsbench.train.losses.infonce:build", description="InfoNCE under another name")
"""


def test_plugins_lists_broken_plugins_instead_of_failing(cli, plugin_site):
    plugin_site("raiser", RAISER)
    site = plugin_site("dupplugin", DUPLICATE)
    out = cli("plugins", "--json", site=site)
    assert out.returncode == 0, out.output
    shown = {p["name"]: p for p in json.loads(out.stdout)}
    assert shown["rsbench.builtin"]["status"] == "ok"
    assert shown["raiser"]["status"] == "broken" and "RuntimeError: boom" in shown["raiser"]["problems"][0]
    assert shown["dupplugin"]["status"] == "broken"
    assert "registers sampler 'batch', a name reserved for rsbench's built-in" in shown["dupplugin"]["problems"][0]
    table = cli("plugins", site=site)  # the table too
    assert table.returncode == 0 and "broken" in table.stdout and "Traceback" not in table.output


def test_a_plugin_command_never_replaces_another(cli, plugin_site):
    plugin_site("first", COMMANDS.replace("{name}", "hello").replace("{plugin}", "first"))
    site = plugin_site("second", COMMANDS.replace("{name}", "hello").replace("{plugin}", "second"))
    out = cli("run", "--print-config", site=site)
    assert out.returncode == 0, out.output
    assert "adapter:" in out.stdout and "the plugin's run" not in out.stdout  # the built-in run ran
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert any("plugin 'first' registers command 'run'" in w for w in warnings), out.stderr
    hello = cli("hello", site=site)
    assert hello.returncode == 0 and hello.stdout.strip() == "hello from first"  # entry points load sorted
    assert "plugin 'second' registers command 'hello', which is plugin 'first'" in " ".join(hello.stderr.split())
    listed = {p["name"]: p for p in json.loads(cli("plugins", "--json", site=site).stdout)}
    assert listed["second"]["status"] == "ok" and listed["second"]["warnings"]


@pytest.mark.parametrize("value", ["1", "true", "raiser"])
def test_disabling_plugins_turns_them_off(cli, plugin_site, value):
    site = plugin_site("raiser", RAISER)
    out = cli("list", "loss", "--json", site=site, env={"RSBENCH_DISABLE_PLUGINS": value})
    assert out.returncode == 0, out.output
    shown = [p["name"] for p in json.loads(cli("plugins", "--json", site=site,
                                               env={"RSBENCH_DISABLE_PLUGINS": value}).stdout)]
    assert "rsbench.builtin" in shown and "raiser" not in shown
    if value != "raiser":  # "1"/"true" turn every plugin off, installed ones (rsbench-synonyms in CI) too
        assert shown == ["rsbench.builtin"]


def test_records_name_the_plugin_and_version_behind_a_component(plugin_site, monkeypatch):
    site = plugin_site("fakeloss", LOSS, version="2.0")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("RSBENCH_DISABLE_PLUGINS", raising=False)
    manager.reset()
    try:
        component = manager.get_registry("loss").get("fake-infonce")
        assert manager.provider(component) == {"provider": "fakeloss", "version": "2.0"}
        builtin = manager.get_registry("loss").get("infonce")
        version = sys.modules["rsbench"].__version__
        assert manager.provider(builtin) == {"provider": "rsbench.builtin", "version": version}
    finally:
        manager.reset()

CONFIG_MISTAKES = """
    from dataclasses import dataclass
    from rsbench.options import option
    from rsbench.hooks import hookimpl

    @dataclass
    class BetaConfig:
        \"\"\"A reranker with one option.\"\"\"

        {field}

    @hookimpl
    def register_rerankers(register):
        register("beta", "rsbench.retrieval.rerankers.base:build_none", BetaConfig)
"""


@pytest.mark.parametrize(("plugin", "field", "problem"), [
    ("unannotated", "beta = 5", "attribute 'beta' has no type annotation"),
    ("nodefault", "beta: float = option(help='inverse temperature')", "field 'beta' has no default"),
    ("wrongtype", "beta: int = option(0.5, 'inverse temperature')",
     "the default of field 'beta' is wrong: beta must be an integer; got 0.5"),
    ("nohelp", "beta: float = 5.0", "field 'beta' has no help text"),
    ("outofrange", "beta: float = option(-1.0, 'inverse temperature', gt=0)",
     "the default of field 'beta' is wrong: beta must be > 0; got -1.0"),
])
def test_a_config_mistake_breaks_its_plugin_with_one_line_naming_plugin_and_field(installed, capsys, plugin, field,
                                                                                   problem):
    installed(plugin, CONFIG_MISTAKES.replace("{field}", field))  # a module name of its own: imported once
    code, _, err = _main("run", "--print-config", capsys=capsys)
    assert code == 2 and err.count("error:") == 1 and "Traceback" not in err
    assert err.startswith(f"error: plugin '{plugin}' is broken: reranker 'beta': config BetaConfig: {problem}"), err
    code, out, err = _main("plugins", "--json", capsys=capsys)  # still listed, as broken, with the reason
    shown = {p["name"]: p for p in json.loads(out)}
    assert code == 0 and shown[plugin]["status"] == "broken" and problem in shown[plugin]["problems"][0]


def test_a_correct_config_registers(installed, capsys):
    right = "beta: float = option(5.0, 'inverse temperature', gt=0)"
    installed("rightconfig", CONFIG_MISTAKES.replace("{field}", right))
    code, out, err = _main("list", "reranker", "--json", capsys=capsys)
    assert code == 0 and "beta" in {c["name"] for c in json.loads(out)}, err


def _main(*argv: str, capsys) -> tuple[int, str, str]:
    """``rsbench *argv`` in this process, through the real entry point: (exit status, stdout, stderr)."""
    from rsbench.cli import main

    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out = capsys.readouterr()
    return exited.value.code, out.out, " ".join(out.err.split())


@pytest.fixture
def installed(plugin_site, monkeypatch):
    """``installed(name, source)``: fake plugins importable in this process, the plugin manager reloaded."""
    monkeypatch.delenv("RSBENCH_DISABLE_PLUGINS", raising=False)

    def install(name: str, source: str) -> None:
        monkeypatch.syspath_prepend(str(plugin_site(name, source)))
        manager.reset()

    yield install
    manager.reset()


def test_a_plugin_taking_a_built_in_name_is_broken_with_one_correct_line(installed, capsys):
    installed("takescsls", TAKES_CSLS)
    code, _, err = _main("run", "--print-config", capsys=capsys)
    assert code == 2 and err.count("error:") == 1 and "Traceback" not in err
    assert err.startswith("error: plugin 'takescsls' is broken: it registers reranker 'csls', a name reserved for "
                          "rsbench's built-in reranker; rename the plugin's reranker")  # no "dataset.name:" prefix
    assert ".." not in err and "Rename one" not in err and "RSBENCH_DISABLE_PLUGINS=takescsls" in err

    code, out, err = _main("list", "reranker", "--json", capsys=capsys)  # the user can see which names are taken
    assert code == 0, err
    listed = {c["name"]: c["source"] for c in json.loads(out)}
    assert listed["csls"] == "rsbench.builtin" and "mine" not in listed  # a broken plugin provides nothing
    assert err.startswith("warning: plugin 'takescsls' is broken") and "none of its components is listed" in err
    code, out, _ = _main("plugins", "--json", capsys=capsys)
    shown = {p["name"]: p for p in json.loads(out)}
    assert code == 0 and shown["takescsls"]["status"] == "broken" and shown["rsbench.builtin"]["status"] == "ok"


def test_two_plugins_with_one_name_are_told_to_rename_one(installed, capsys):
    installed("alpha", SHARED_LOSS)
    installed("beta", SHARED_LOSS)
    code, out, _ = _main("plugins", "--json", capsys=capsys)
    shown = {p["name"]: p for p in json.loads(out)}
    assert shown["alpha"]["status"] == "ok"
    assert shown["beta"]["problems"] == ["loss 'shared' is registered twice: by alpha and by beta; rename one of "
                                         "them (`rsbench list loss` shows the names taken)"]
    code, out, err = _main("list", "loss", "--json", capsys=capsys)
    assert code == 0 and {c["name"]: c["source"] for c in json.loads(out)}["shared"] == "alpha"
    assert "plugin 'beta' is broken" in err
