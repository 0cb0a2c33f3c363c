"""Documentation that cannot drift (after datasette's test_docs): every component, option, hook and
command that exists is described, and README.md names it.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import click
import pytest
import typer

from rsbench.cli import app
from rsbench.hooks import registries, specs
from rsbench.hooks.manager import BUILTIN_NAME

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

COMPONENTS = [component for registry in registries().values() for component in registry.list()]
BUILTIN_COMPONENTS = [component for component in COMPONENTS if component.source == BUILTIN_NAME]
HOOKSPECS = sorted(
    name for name, obj in vars(specs).items() if name.startswith("register_") and inspect.isfunction(obj)
)


def component_id(component) -> str:
    return f"{component.kind}:{component.name}"


def command_paths(command: click.Command, prefix: str = "rsbench") -> list[str]:
    """``rsbench run``, ``rsbench data inspect``, ...: every command line a user can type, groups included."""
    paths = []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if sub.hidden:
            continue
        path = f"{prefix} {name}"
        paths.append(path)
        paths += command_paths(sub, path)
    return paths


# Commands and groups registered on the typer app, as click sees them (names derived the way typer does).
CLI_COMMANDS = command_paths(typer.main.get_command(app))


def test_registries_and_cli_are_not_empty() -> None:
    # Guards the parametrized tests below against passing vacuously on an empty collection.
    assert BUILTIN_COMPONENTS and HOOKSPECS and CLI_COMMANDS
    assert len(CLI_COMMANDS) >= len(app.registered_commands) + len(app.registered_groups)


@pytest.mark.parametrize("component", COMPONENTS, ids=component_id)
def test_component_has_a_one_line_description(component) -> None:
    description = component.description.strip()
    assert description, f"{component.kind} '{component.name}' ({component.source}) has no description"
    assert "\n" not in description, f"{component.kind} '{component.name}': description must be one line"


@pytest.mark.parametrize("component", COMPONENTS, ids=component_id)
def test_every_config_field_has_help(component) -> None:
    missing = [row["name"] for row in component.config_fields() if not str(row["help"]).strip()]
    assert not missing, (
        f"{component.kind} '{component.name}' ({component.config_cls.__module__}.{component.config_cls.__qualname__}): "
        f"fields without help text: {', '.join(missing)}. Add field(metadata={{'help': ...}})."
    )


@pytest.mark.parametrize("hook", HOOKSPECS)
def test_hookspec_is_documented(hook: str) -> None:
    assert (getattr(specs, hook).__doc__ or "").strip(), f"hookspec {hook} in specs.py needs a docstring"
    assert f"`{hook}(" in README, f"hookspec {hook} is not in README.md's plugin section"


@pytest.mark.parametrize("component", BUILTIN_COMPONENTS, ids=component_id)
def test_builtin_component_is_named_in_readme(component) -> None:
    assert f"`{component.name}`" in README, (
        f"built-in {component.kind} '{component.name}' is not named in README.md (as `{component.name}`)"
    )


@pytest.mark.parametrize("command", CLI_COMMANDS)
def test_cli_command_is_in_readme(command: str) -> None:
    assert re.search(rf"{re.escape(command)}\b", README), f"CLI command '{command}' is not documented in README.md"
