"""The ``rsbench`` command line: one module per command; heavy imports happen inside commands.

``main`` is the only place that turns failures into exit statuses: a user error (``RsbenchError``
or a usage error of the command line) is one ``error:`` line and status 2, Ctrl-C is status 130,
a reader that closed stdout early (``rsbench ... | head``) is a quiet status 141, anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import os
import sys

import typer

from rsbench.errors import RsbenchError

app = typer.Typer(
    name="rsbench",
    help="Benchmark transfer-learning methods for remote-sensing text-image retrieval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Commands that train save a checkpoint per epoch: Ctrl-C tells how to continue.
RESUMABLE = {
    "run": "interrupted: no result record was written for the unfinished run; its last finished epoch is in "
           "checkpoint_dir, and the same command with --resume continues it",
    "pretrain": "interrupted: no weights were written; the last finished epoch is in the output folder's "
                "checkpoint, and the same command with --resume continues it",
    "caption": "interrupted: every finished batch of captions is in the caption cache; the same command continues "
               "after them",
    "sweep": "interrupted: the finished runs' records are written; the interrupted run's last finished epoch is in "
             "checkpoint_dir, and running the same sweep again skips the finished runs and resumes that one from "
             "its checkpoint",
    "eval": "interrupted: the records of the settings that finished are written (each whole); nothing else was; "
            "the model is untouched",
}


def _mount() -> None:
    from rsbench.cli import (
        bench,
        caption,
        data,
        eval,
        leaderboard,
        listing,
        plugins,
        pretrain,
        profile,
        run,
        search,
        sweep,
        transfer,
    )

    app.command("run")(run.run_command)
    app.command("eval")(eval.eval_command)
    app.command("profile")(profile.profile_command)
    app.command("pretrain")(pretrain.pretrain_command)
    app.command("pretrain-captioner")(pretrain.pretrain_captioner_command)
    app.command("transfer")(transfer.transfer_command)
    app.command("list")(listing.list_command)
    app.command("plugins")(plugins.plugins_command)
    app.command("sweep")(sweep.sweep_command)
    app.command("leaderboard")(leaderboard.leaderboard_command)
    app.add_typer(data.app, name="data")
    app.add_typer(bench.app, name="bench")
    app.add_typer(search.index_app, name="index")
    app.command("search")(search.search_command)
    app.command("caption")(caption.caption_command)


_mount()


def usage_error_message(exc: typer.TyperException) -> str:
    """A command-line usage error as one line that says where to look: ``...; see `rsbench run --help```."""
    ctx = getattr(exc, "ctx", None)
    command_path = getattr(ctx, "command_path", None) or "rsbench"
    return f"{exc.format_message().rstrip('. ')}; see `{command_path} --help`"


def _invoke(argv: list[str] | None) -> None:
    """Parse ``argv`` and run the command, letting every exception out (typer's own runner would
    turn Ctrl-C into a silent return and usage errors into tracebacks in non-standalone mode)."""
    from rsbench.cli.messages import print_warning
    from rsbench.hooks.manager import add_plugin_commands

    for warning in add_plugin_commands(app):
        print_warning(warning)
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    with command.make_context("rsbench", args, obj={"argv": args}) as ctx:  # `run --nproc` relaunches argv
        command.invoke(ctx)


# 128 + SIGPIPE: what a shell reports for a writer whose reader left (`yes | head -1`), so a pipeline under
# `set -o pipefail` sees rsbench as it sees any other tool; 0 would claim the whole output was delivered.
BROKEN_PIPE_STATUS = 141


def _exit_reader_left() -> None:
    """Exit quietly after stdout's reader closed the pipe: stdout points at devnull first, so the interpreter's
    last flush of it cannot raise again at shutdown (https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(BROKEN_PIPE_STATUS)


class Terminated(KeyboardInterrupt):
    """SIGTERM (Slurm's time limit, Kubernetes, ``timeout``) raised in the main thread: it unwinds as Ctrl-C
    does (the last finished epoch stays in its checkpoint, nothing is half-written), then exits 143."""


def _terminate(signum, frame) -> None:
    raise Terminated


def _catch_sigterm() -> None:
    """Turn SIGTERM into ``Terminated`` when it has Python's default action (not in a thread, nor when a
    launcher installed its own handler)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one red line and exit status 2; Ctrl-C exits 130, SIGTERM 143."""
    from rsbench.cli.messages import print_error

    _catch_sigterm()
    try:
        _invoke(argv)
    except RsbenchError as exc:
        print_error(str(exc))
        sys.exit(2)
    except BrokenPipeError:
        _exit_reader_left()
    except SystemExit as exc:
        if isinstance(exc.__context__, BrokenPipeError):  # rich's own handler (help, tables) exits 1 on it
            _exit_reader_left()
        raise
    except KeyboardInterrupt as exc:
        from rich.console import Console
        from rich.text import Text

        args = sys.argv[1:] if argv is None else argv
        command = next((a for a in args if not a.startswith("-")), "")
        message = RESUMABLE.get(command, "interrupted: the command stopped before it finished; "
                                         "files it writes appear whole or not at all")
        if isinstance(exc, Terminated):
            message = message.replace("interrupted:", "terminated (SIGTERM):", 1)
        Console(stderr=True).print(Text(message, style="yellow"), soft_wrap=True, highlight=False)
        sys.exit(143 if isinstance(exc, Terminated) else 130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print_error("aborted")
        sys.exit(1)
    except typer.TyperException as exc:  # click's errors: unknown command or flag, bad value
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())
            sys.exit(0)
        print_error(usage_error_message(exc))
        sys.exit(2)
    sys.exit(0)
