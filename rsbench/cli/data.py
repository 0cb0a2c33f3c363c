"""`rsbench data`: look at a dataset before training on it (split sizes, scenes, problems)."""

from __future__ import annotations

import json
from typing import Any

import typer

from rsbench.errors import RsbenchError

app = typer.Typer(help="Inspect datasets.", no_args_is_help=True)


@app.callback()
def data() -> None:
    """Inspect datasets."""


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    import yaml

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RsbenchError(f"--option expects KEY=VALUE (e.g. annotation=dataset.json); got {pair!r}")
        # YAML scalars so that check_images=false is a bool and a path stays a string
        try:
            options[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError as exc:
            raise RsbenchError(f"--option {pair}: cannot read the value as YAML ({exc})") from exc
    return options


def _supported(defaults: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The defaults this command sets that the dataset's config has (the synthetic one may not read images)."""
    import dataclasses

    try:
        from rsbench.hooks import get_registry

        fields = {f.name for f in dataclasses.fields(get_registry("dataset").get(dataset).config_cls)}
    except RsbenchError:
        return dict(defaults)  # an unknown name is reported by load_dataset, with suggestions
    return {key: value for key, value in defaults.items() if key in fields}


@app.command()
def inspect(
    dataset: str = typer.Option("rsitmd", "--dataset", "-d", metavar="NAME", help="registered dataset name"),
    data_root: str | None = typer.Option(
        None, "--data-root", metavar="DIR", help="folder holding the annotation file and images"
    ),
    on_bad_image: str = typer.Option(
        "skip",
        "--on-bad-image",
        metavar="error|skip",
        help="skip: list missing/corrupt images as problems and go on; error: stop at them. Unsafe paths always stop.",
    ),
    check_images: bool = typer.Option(
        True, "--check-images/--no-check-images", help="open every image to find corrupt files"
    ),
    option: list[str] = typer.Option(
        [],
        "--option",
        "-o",
        metavar="KEY=VALUE",
        help="any other dataset option as KEY=VALUE (e.g. annotation=dataset.json); repeatable",
    ),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """Load a dataset and report split sizes, captions per image, scene counts and every problem found; exit
    status 2 when any of them is an error (a path leaving the data root, a bad image with --on-bad-image error)."""
    try:
        if on_bad_image not in ("error", "skip"):
            raise RsbenchError(f"--on-bad-image must be 'error' or 'skip'; got {on_bad_image!r}")
        options = _supported({"on_bad_image": on_bad_image, "check_images": check_images}, dataset)
        options |= _parse_options(option)
        if data_root is not None:
            options["data_root"] = data_root
        from rsbench.data import load_dataset
        from rsbench.data.checks import DataProblems
        from rsbench.data.inspect import inspect_dataset

        try:
            report = inspect_dataset(load_dataset(dataset, options))
        except DataProblems as found:  # every check ran: report what loaded, the errors with it, then exit 2
            report = inspect_dataset(found.dataset, errors=found.errors)
    except RsbenchError as err:  # printed here too, so that the sub-app alone behaves as `rsbench data`
        from rsbench.cli.messages import print_error

        print_error(str(err))
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        from rich.console import Console

        from rsbench.data.inspect import render_inspection

        render_inspection(report, Console())
    if report["errors"]:
        from rsbench.cli.messages import print_error

        for line in report["errors"]:
            print_error(line)
        raise typer.Exit(2)
