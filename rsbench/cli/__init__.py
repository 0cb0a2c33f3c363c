"""The ``rsbench`` command line: one module per command; heavy imports happen inside commands."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from rsbench.errors import RsbenchError

app = typer.Typer(
    name="rsbench",
    help="Benchmark transfer-learning methods for remote-sensing text-image retrieval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _mount() -> None:
    from rsbench.cli import bench, data, leaderboard, listing, plugins, pretrain, profile, run, search, sweep, transfer

    app.command("run")(run.run_command)
    app.command("profile")(profile.profile_command)
    app.command("pretrain")(pretrain.pretrain_command)
    app.command("transfer")(transfer.transfer_command)
    app.command("list")(listing.list_command)
    app.command("plugins")(plugins.plugins_command)
    app.command("sweep")(sweep.sweep_command)
    app.command("leaderboard")(leaderboard.leaderboard_command)
    app.add_typer(data.app, name="data")
    app.add_typer(bench.app, name="bench")
    app.add_typer(search.index_app, name="index")
    app.command("search")(search.search_command)


_mount()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one red line and exit status 2."""
    err = Console(stderr=True)
    try:
        from rsbench.hooks.manager import add_plugin_commands

        add_plugin_commands(app)
        app(args=argv, standalone_mode=False)
    except RsbenchError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("[bold yellow]interrupted:[/] no result record was written for the unfinished run; "
                  "its last finished epoch is in checkpoint_dir, and the same command with --resume continues it")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click's usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
